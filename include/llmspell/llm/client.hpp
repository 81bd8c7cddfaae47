// The LLM client: providers by name, model names "provider/model", chat and streaming over the
// net layer's HttpClient with retries and backoff, the deterministic mock provider, embeddings
// and model listing.
//
// Usage (on the loop thread):
//   llm::LlmClient client(loop);                 // providers configured from the environment
//   llm::ChatRequest req; req.messages = {llm::Message::user("hi")};
//   PromisePtr p = client.chat("openai/gpt-4o-mini", req, {});
//   p->onSettle([](const Promise& p) { auto r = llm::chatResponseFromValue(p.value()); ... });
//
// Thread-safety: loop-affine. Create, configure and call a client on its loop's thread only.
// Failure: calls never throw; promises reject with API.md codes (invalid_argument, auth_error,
// rate_limited, provider_error, network_error, timeout, cancelled, not_found). API keys never
// appear in errors or logs: every key and credential header a client is given is registered
// with addSecret, so redactSecrets masks it by value. Provider calls never follow redirects.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/llm/codec.hpp"
#include "llmspell/llm/types.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell::llm {

struct CallOptions {
  double timeoutSeconds = 0;  // per attempt; 0 = the provider's configured timeout
  int maxRetries = -1;        // -1 = the provider's configured retries
  // Streaming when set: called on the loop thread for every delta, in order.
  std::function<void(const StreamChunk&)> onChunk;
};

// One scripted mock reply (API.md: {text, tool_calls, usage, delay, error}).
struct MockReply {
  std::string text;
  std::string reasoning;
  std::vector<ToolCall> toolCalls;
  Usage usage;          // present=false: estimated from the words
  double delaySeconds = 0;
  std::optional<Error> error;
  std::string finishReason;  // "" = stop, or tool_calls when calls are present
};
// Reads {text, reasoning, tool_calls = {{name, arguments, id}}, usage, delay, error = {code,
// message}, finish_reason}; a plain string is a text reply. Throws invalid_argument.
MockReply mockReplyFromValue(const Value& v);
// One reply per non-empty line of JSON Lines text; errors name `shown`:line. Throws invalid_argument.
std::vector<MockReply> parseMockReplies(std::string_view text, std::string_view shown);
// The same for the operator's file (--mock-replies); throws invalid_argument / not_found. A file a
// spell names is read under its grants instead (llm.configure's replies_file, in the bridge).
std::vector<MockReply> loadMockReplies(const std::string& path);

// "openai/gpt-4o-mini" -> {"openai", "gpt-4o-mini"}; the model part may contain '/'
// ("openrouter/openai/gpt-4o"). A name without '/' is looked up in the catalog ("gpt-4o-mini"
// -> openai). Throws invalid_argument.
std::pair<std::string, std::string> splitModelName(std::string_view name);

// Remembers the providers' variables (keys and base URLs) as they are now, before any spell
// runs: clients made later read those, so a spell that changes the process's environment cannot
// point a provider (and its key) elsewhere. The CLI calls it first thing. Not thread-safe: call
// before starting threads.
void captureOperatorEnvironment();

// True when `name` is the variable the built-in provider `provider` takes its key from
// (OPENAI_API_KEY for openai, GEMINI_API_KEY or GOOGLE_API_KEY for gemini, ...). A spell may
// point a provider at any other variable only with --allow-env for it.
bool isStandardKeyEnv(std::string_view provider, std::string_view name);

// True when a call to `cfg` cannot succeed for want of a key: the provider needs one
// (keyRequired) and has neither a key nor a credential header.
bool providerNeedsKey(const ProviderConfig& cfg);
// The config_error for that: names the variable to set ("openai has no API key: set
// OPENAI_API_KEY, ...").
Error missingKeyError(const ProviderConfig& cfg);

class LlmClient {
 public:
  // Reads provider keys and base URLs from the environment (as captured by
  // captureOperatorEnvironment, when it was called): OPENAI_API_KEY / OPENAI_BASE_URL,
  // ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL, GEMINI_API_KEY (or GOOGLE_API_KEY) /
  // GEMINI_BASE_URL, OLLAMA_HOST / OLLAMA_API_KEY, OPENAI_COMPATIBLE_BASE_URL /
  // OPENAI_COMPATIBLE_API_KEY, and the presets (groq, openrouter, together, mistral, deepseek,
  // lmstudio, llamacpp, vllm) with their *_API_KEY / *_BASE_URL.
  explicit LlmClient(Loop& loop);
  ~LlmClient();
  LlmClient(const LlmClient&) = delete;
  LlmClient& operator=(const LlmClient&) = delete;

  Loop& loop() { return loop_; }

  // Adds or updates a provider from a script config table: {kind, base_url, api_key_env,
  // api_key (tests only), headers, timeout, connect_timeout, idle_timeout, retries, retry_base,
  // max_retry_after, max_completion_tokens, stream_usage, replies (mock), replies_file (mock)}.
  // Throws invalid_argument on a bad field.
  void configure(const std::string& provider, const Value& config);
  // The provider's config; throws invalid_argument naming the known providers.
  const ProviderConfig& provider(const std::string& name) const;
  bool hasProvider(const std::string& name) const;
  // [{name, kind, base_url, has_key, key_env}] in name order (keys never included).
  Value providers() const;

  // Mock script: replies served in order by mock/script.
  void setMockReplies(std::vector<MockReply> replies);
  size_t mockRepliesLeft() const { return mockReplies_.size(); }

  // One chat call. `model` is "provider/model". Resolves with toValue(ChatResponse) plus
  // cost_usd when the catalog knows the model's price.
  PromisePtr chat(const std::string& model, ChatRequest req, CallOptions opts);
  // Resolves with an array of vectors (arrays of numbers), in input order. Retries 429 / 5xx /
  // network errors like chat calls.
  PromisePtr embed(const std::string& model, std::vector<std::string> texts, const Value& opts);
  // Resolves with the provider's model list: [{id, ...}]. Retries 429 / 5xx / network errors
  // like chat calls (the provider's retries and backoff, honouring retry-after).
  PromisePtr listModels(const std::string& provider);
  // A cheap reachability check: GET of the provider's model-list endpoint, no retries, with
  // `timeoutSeconds` for connect and total. Never rejects; resolves with {reachable (an HTTP
  // answer came back, whatever its status), status, latency_ms, error (message, or absent)}.
  // mock answers reachable at once.
  PromisePtr probe(const std::string& provider, double timeoutSeconds);

  // Record / replay (JSON Lines; one line per call: {request, response, chunks}). The request is
  // the canonical form (canonicalRequest) so no header or key is ever written. Replay answers a
  // call from the first unused recording whose request is equal; a miss fails with not_found and
  // a diff against the nearest recording. Throws invalid_argument / not_found for a bad file.
  void recordTo(const std::string& path);
  void replayFrom(const std::string& path);
  bool replaying() const { return !replay_.empty() || replayLoaded_; }
  // The recording replayFrom loaded ("" when none); stopReplaying goes back to the providers
  // (test.it's per-test `replay` puts the run's own recording back, or none, after the test).
  const std::string& replayPath() const { return replayPath_; }
  void stopReplaying() {
    replay_.clear();
    replayLoaded_ = false;
    replayPath_.clear();
  }

  // Pools: a virtual model "pool/<name>" over several models. strategy "fallback" tries them in
  // order until one succeeds (invalid_argument and cancelled stop the walk); "round_robin"
  // starts each call at the next model (and falls back from there); "fastest" asks all at once,
  // the first success (when streaming: the first to deliver a chunk) wins and the rest are
  // cancelled; "consensus" asks all (not streamed: the winning text arrives as one chunk) and
  // returns the most common answer by normalizeAnswer, with `consensus = {agreement, votes,
  // answered, models, answers}` and usage / cost_usd summed over every answer. Every result has
  // `pool_model`. Throws invalid_argument.
  std::string definePool(const std::string& name, std::vector<std::string> models, const std::string& strategy);

  // Total calls made through this client (attempts included) and retries, for tests/metrics.
  uint64_t attempts() const { return attempts_; }
  uint64_t retries() const { return retries_; }

  // Seeds the backoff jitter (tests).
  void setJitterSeed(uint64_t seed) { rng_ = seed ? seed : 1; }
  double jitter();  // in [0.75, 1.0]

 private:
  PromisePtr chatMock(const std::string& model, ChatRequest req, CallOptions opts);
  PromisePtr chatHttp(const ProviderConfig& cfg, ChatRequest req, CallOptions opts);

  PromisePtr chatReplay(const std::string& model, const ChatRequest& req, const CallOptions& opts);
  PromisePtr chatPool(const std::string& name, ChatRequest req, CallOptions opts);
  PromisePtr chatFastest(const std::vector<std::string>& models, ChatRequest req, CallOptions opts);
  PromisePtr chatConsensus(const std::vector<std::string>& models, ChatRequest req, CallOptions opts);
  void record(const Value& request, const Value& response, const Value& chunks);
  std::function<double()> jitterFn();  // the client's jitter while it lives, else 1

  struct Recording {
    Value request;
    Value response;
    Value chunks;
    bool used = false;
  };
  struct Pool {
    std::vector<std::string> models;
    std::string strategy;
    size_t next = 0;
  };

  Loop& loop_;
  std::string recordPath_;
  std::vector<Recording> replay_;
  bool replayLoaded_ = false;
  std::string replayPath_;
  std::map<std::string, Pool> pools_;
  // Shared with every client made from the same operator environment until one is configured
  // (copied on write): building the fourteen presets was a twentieth of a short serve run.
  std::shared_ptr<const std::map<std::string, ProviderConfig>> providers_;
  std::deque<MockReply> mockReplies_;
  size_t mockServed_ = 0;
  uint64_t attempts_ = 0, retries_ = 0;
  uint64_t rng_ = 0x9E3779B97F4A7C15ull;
  std::shared_ptr<bool> alive_;
  std::shared_ptr<void> http_;  // keeps the loop's HttpClient (and its connections) alive
};

// The backoff before retry `attempt` (0-based): the server's delay when given, else
// base * 2^attempt capped at max, times `jitter`.
double retryDelay(const ProviderConfig& cfg, int attempt, std::optional<double> serverDelay,
                  double jitter);

// The canonical, secret-free form of a call used by record/replay: {model, messages, options}.
Value canonicalRequest(const std::string& model, const ChatRequest& req);
// Differences between two values as "path: recorded X, got Y" lines (at most `limit`).
std::vector<std::string> valueDiff(const Value& recorded, const Value& got, size_t limit = 5);

// The answer text as consensus compares it: lower case, whitespace collapsed, trailing . ! ?
// and enclosing quotes removed.
std::string normalizeAnswer(std::string_view text);

// Rough token estimate (no tokenizer): max(words, ceil(chars / 4)).
int64_t estimateTokens(std::string_view text);

}  // namespace llmspell::llm
