// Provider codecs: pure functions between the neutral chat types and each provider's wire format
// (request encoding, response and stream-event decoding, error classification, retry delays).
// No I/O here, so every codec is unit-tested with recorded payloads. Codecs are stateless and
// thread-safe; a StreamDecoder holds the state of one stream and is used by one thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/llm/types.hpp"

namespace llmspell::llm {

// Header list; lookups are case-insensitive.
using Headers = std::vector<std::pair<std::string, std::string>>;
// The value of the first header named `name` (any case), or "" when absent.
std::string headerValue(const Headers& h, std::string_view name);

enum class Framing { kJson, kSse, kNdjson };

// One HTTP request as a codec wants it sent. Headers may hold secrets: never log them.
struct WireRequest {
  std::string method = "POST";
  std::string url;
  Headers headers;
  std::string body;
  Framing framing = Framing::kJson;
};

// How to reach one provider. `kind` picks the codec; `name` is what model ids start with
// ("openai", "groq", "local"...).
struct ProviderConfig {
  std::string name;
  std::string kind;  // openai | anthropic | gemini | ollama | openai-compatible | mock
  std::string baseUrl;
  std::string apiKey;     // never logged, never put in an error message
  std::string apiKeyEnv;  // where the key came from, for messages ("OPENAI_API_KEY")
  // A hosted API that refuses calls without a key (the built-in cloud providers): a call
  // without one fails before it is sent (config_error naming apiKeyEnv).
  bool keyRequired = false;
  Headers headers;        // extra headers sent with every request
  double timeoutSeconds = 300;        // whole request, per attempt
  double connectTimeoutSeconds = 15;
  double idleTimeoutSeconds = 120;    // max silence inside a response (a stalled stream)
  int maxRetries = 2;
  double retryBaseSeconds = 0.5;      // backoff base: base * 2^n, capped, jittered x(0.75-1.0)
  double retryMaxSeconds = 8;
  double maxRetryAfterSeconds = 60;   // a longer server-requested wait fails instead of sleeping
  // OpenAI: send max_completion_tokens (required by reasoning models); compatible servers
  // default to max_tokens.
  bool useMaxCompletionTokens = false;
  bool streamUsage = true;  // OpenAI-style stream_options.include_usage
  std::string anthropicVersion = "2023-06-01";
  int defaultMaxTokens = 4096;  // Anthropic requires max_tokens
};

// The default base URL for a codec kind ("" for openai-compatible, which needs one).
std::string defaultBaseUrl(std::string_view kind);

// State of one streamed response.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Feeds one SSE event (`event` is the SSE event name, possibly "") or one NDJSON line (`event`
  // is ""). Appends the deltas it carries to `out`. An in-band error throws Exception with the
  // provider's message (code provider_error / rate_limited, retryable when the provider says so).
  virtual void feed(std::string_view event, std::string_view data, std::vector<StreamChunk>& out) = 0;
  // True once the provider's terminator was seen ([DONE], message_stop, done:true). Gemini has
  // none: there the end of the body is the end.
  virtual bool finished() const = 0;
  // At the end of the body: the assembled response. Throws provider_error "stream ended before
  // the response was complete" when the terminator (or, for Gemini, a finish reason) is missing.
  virtual ChatResponse finish() = 0;
};

class Codec {
 public:
  virtual ~Codec() = default;
  virtual std::string_view kind() const = 0;
  // Throws invalid_argument for requests the provider cannot express.
  virtual WireRequest encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const = 0;
  // A complete (non-streamed) 200 body. Throws for an error object inside a 200 body.
  virtual ChatResponse decodeChat(std::string_view body) const = 0;
  virtual std::unique_ptr<StreamDecoder> streamDecoder() const = 0;

  // Embeddings. Default: invalid_argument "provider X has no embeddings endpoint".
  virtual WireRequest encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                                  const Value& opts, const ProviderConfig& cfg) const;
  // Vectors in input order.
  virtual std::vector<std::vector<double>> decodeEmbed(std::string_view body) const;
  // Model listing: an array of {id, display_name?, context_window?, max_output?}.
  virtual WireRequest encodeListModels(const ProviderConfig& cfg) const;
  virtual Value decodeListModels(std::string_view body) const;
};

// The codec for a kind; throws invalid_argument for an unknown kind. The references are to
// static instances (thread-safe, never destroyed before exit).
const Codec& codecFor(std::string_view kind);

// A failed HTTP exchange mapped to an API.md error. `error.details` holds {status, provider,
// type, provider_code, request_id, retry_after}. The provider's own message is kept.
struct HttpFailure {
  Error error;
  std::optional<double> retryAfterSeconds;  // the server's requested delay, when it gave one
};
// 400/404/422 -> invalid_argument (404 -> not_found), 401/403 (and Gemini's 400 API_KEY_INVALID)
// -> auth_error, 408 -> timeout, 429 -> rate_limited, 5xx/529/409 -> provider_error. Retryable:
// 408, 409, 429 (except quota/spend-limit exhaustion), 5xx, 529; `x-should-retry` overrides.
// A 3xx (provider calls do not follow redirects) -> provider_error naming the location.
HttpFailure classifyHttpError(std::string_view providerName, int status, const Headers& headers,
                              std::string_view body);

// The server-requested delay: `retry-after-ms`, then `retry-after` (seconds, fractional allowed,
// or an HTTP date relative to `now`), then a Gemini RetryInfo `retryDelay` in the body.
std::optional<double> parseRetryAfter(const Headers& headers, std::string_view body,
                                      std::chrono::system_clock::time_point now =
                                          std::chrono::system_clock::now());

// The error object inside a 200 body or stream event ({"error": {...}} / {"error": "..."} /
// vLLM's {"object":"error",...}), as an Error; nullopt when `json` holds none.
std::optional<Error> inBandError(std::string_view providerName, std::string_view json);

}  // namespace llmspell::llm
