// FakeProvider: a real HTTP server on 127.0.0.1 that speaks the OpenAI Chat Completions,
// Anthropic Messages, Gemini generateContent and Ollama /api/chat wire protocols (plus the
// OpenAI-compatible variants), scripted per test, with faults on demand. Used in-process by
// gtests and as the `fake_provider` executable (which prints its port when ready).
//
// Routes (base URLs to configure: openai = url("/v1"), anthropic = url(""), gemini =
// url("/v1beta"), ollama = url("")):
//   POST /v1/chat/completions, /chat/completions     OpenAI (stream: SSE + [DONE])
//   POST /v1/messages                                Anthropic (needs anthropic-version, max_tokens)
//   POST /v1beta/models/M:generateContent | :streamGenerateContent?alt=sse   Gemini
//   POST /api/chat                                   Ollama (NDJSON when stream != false)
//   POST /v1/embeddings, /v1beta/models/M:batchEmbedContents, /api/embed   embeddings
//   GET  /v1/models, /v1beta/models, /api/tags       model lists
//   (a queued {models = [...]} reply answers the next model list; with `location` it redirects
//   there, with `status` it fails)
//   POST /_control/replies  (a reply object or an array: queued)   POST /_control/reset
//   GET  /_control/requests (the requests seen, as JSON)
//
// A reply (JSON object; queued replies are served in order to chat calls; with none queued the
// server echoes the last user message):
//   text, reasoning, tool_calls [{id?, name, arguments}], json (structured output: text is its
//   JSON; Anthropic gets it as the forced tool's input), usage {input_tokens, output_tokens},
//   finish_reason ("stop" | "length"), refusal (OpenAI: the model declines; streamed as refusal
//   deltas), server_tools [{name, input, result}] (Anthropic server_tool_use + result blocks),
//   no_usage (true: the response carries no usage at all), variant ("groq" | "openrouter" | "llamacpp" for
//   OpenAI-compatible quirks), delay (seconds before the first byte), chunk_delay,
//   status + body + headers (a raw response: a 302 with a location, a 200 text/html page...),
//   fault: "rate_limit" (with retry: "ms" | "seconds" | "date" | "retryinfo" and retry_after
//   seconds), "quota", "server_error", "overloaded" (529 / 503), "auth", "malformed",
//   "truncate", "reset", "stall", "stream_error" (the last four after `after_chunks` events).
// Streams are split at random byte boundaries (seeded) and every quirk of providers.md §10 is
// emitted (usage:null + choices:[] usage chunk, obfuscation, Anthropic ping and padding, Gemini
// CRLF CRLF, Ollama omitted zero metrics, `: comment` lines).
//
// Thread-safety: all methods are thread-safe; the server runs on its own thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace llmspell::fake {

struct RecordedRequest {
  std::string method, path, query;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const;
  nlohmann::json json() const;  // body parsed (null when not JSON)
};

class FakeProvider {
 public:
  explicit FakeProvider(uint64_t seed = 1);
  ~FakeProvider();
  FakeProvider(const FakeProvider&) = delete;
  FakeProvider& operator=(const FakeProvider&) = delete;

  int port() const;
  // "http://127.0.0.1:<port><path>"
  std::string url(std::string_view path = "") const;
  // The base URL to configure for a provider kind (openai, openai-compatible, anthropic,
  // gemini, ollama).
  std::string baseUrl(std::string_view kind) const;

  void push(nlohmann::json reply);  // an object, or an array of replies
  // Write each stream event whole (one write, so usually one TCP segment) instead of split at
  // random byte boundaries: what a real provider does, for benchmarks. Off by default.
  void setWholeEvents(bool on);
  // Seconds between stream events for replies that give no chunk_delay (default 0).
  void setChunkDelay(double seconds);
  void clear();                     // drop queued replies and recorded requests
  size_t queued() const;
  std::vector<RecordedRequest> requests() const;
  // Connections the server saw closed by the client before the response ended (cancellation).
  uint64_t peerCloses() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace llmspell::fake
