// LlmClient: provider table from the environment and llm.configure, chat calls over HttpClient
// (retries with backoff and jitter, server-requested delays, streaming through SSE / NDJSON
// parsers into the codecs' stream decoders, cancellation), the mock provider, embeddings and
// model lists.
#include "llmspell/llm/client.hpp"

#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/llm/catalog.hpp"
#include "llmspell/net/http.hpp"
#include "llmspell/net/ndjson.hpp"
#include "llmspell/net/sse.hpp"

namespace llmspell::llm {

namespace {

struct Preset {
  const char* name;
  const char* kind;
  const char* baseUrl;
  const char* keyEnv;
  const char* baseEnv;
  bool keyRequired;  // a hosted API: a call without a key fails before it is sent
};

constexpr Preset kPresets[] = {
    {"openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_BASE_URL", true},
    {"anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", true},
    {"gemini", "gemini", "https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY", "GEMINI_BASE_URL", true},
    {"ollama", "ollama", "http://localhost:11434", "OLLAMA_API_KEY", "OLLAMA_HOST", false},
    {"openai-compatible", "openai-compatible", "", "OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_BASE_URL", false},
    {"groq", "openai-compatible", "https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_BASE_URL", true},
    {"openrouter", "openai-compatible", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL", true},
    {"together", "openai-compatible", "https://api.together.xyz/v1", "TOGETHER_API_KEY", "TOGETHER_BASE_URL", true},
    {"mistral", "openai-compatible", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_BASE_URL", true},
    {"deepseek", "openai-compatible", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_BASE_URL", true},
    {"lmstudio", "openai-compatible", "http://localhost:1234/v1", "LMSTUDIO_API_KEY", "LMSTUDIO_BASE_URL", false},
    {"llamacpp", "openai-compatible", "http://localhost:8080/v1", "LLAMACPP_API_KEY", "LLAMACPP_BASE_URL", false},
    {"vllm", "openai-compatible", "http://localhost:8000/v1", "VLLM_API_KEY", "VLLM_BASE_URL", false},
    {"mock", "mock", "", "", "", false},
};

// The provider variables as the operator set them (captureOperatorEnvironment), or empty when
// never captured (library use: the environment is read when a client is made).
std::map<std::string, std::string>& operatorEnv() {
  static std::map<std::string, std::string> vars;
  return vars;
}
bool& operatorEnvCaptured() {
  static bool captured = false;
  return captured;
}

std::string env(const char* name) {
  if (!name || !*name) return "";
  if (operatorEnvCaptured()) {
    auto it = operatorEnv().find(name);
    if (it != operatorEnv().end()) return it->second;
  }
  const char* v = std::getenv(name);
  return v ? v : "";
}

// Makes redactSecrets mask a credential header's value, and the token of "Bearer <token>".
void addHeaderSecret(std::string_view value) {
  addSecret(value);
  auto sp = value.find(' ');
  if (sp != std::string_view::npos) addSecret(value.substr(sp + 1));
}

// The HTTP request for one provider exchange. Provider calls never follow redirects: the
// provider's key would be sent on to wherever a redirect points, a host nobody granted.
net::HttpRequest providerRequest(WireRequest w) {
  net::HttpRequest hr;
  hr.method = std::move(w.method);
  hr.url = std::move(w.url);
  hr.headers = std::move(w.headers);
  hr.body = std::move(w.body);
  hr.followRedirects = false;
  return hr;
}

std::vector<std::string> wordChunks(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : text) {
    bool space = ch == ' ' || ch == '\n' || ch == '\t';
    if (space && !cur.empty() && cur.find_first_not_of(" \n\t") != std::string::npos) {
      out.push_back(cur);
      cur.clear();
    }
    cur += ch;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

int64_t estimateMessages(const std::vector<Message>& ms) {
  int64_t n = 0;
  for (const auto& m : ms) {
    n += 4 + estimateTokens(m.text());
    for (const auto& p : m.parts) {
      if (p.kind == ContentPart::Kind::kToolResult) n += estimateTokens(p.text);
    }
  }
  return n;
}

Value withCost(const ChatResponse& r, const std::string& catalogId) {
  Value v = toValue(r);
  if (!r.usage.present) {  // no usage reported: the cost is unknown, not 0
    v.asObject().set("cost_usd", Value());
    return v;
  }
  auto c = costUsd(r.usage, catalogId);
  v.asObject().set("cost_usd", c ? Value(*c) : Value(0.0));
  return v;
}

std::string secondsText(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

// A response that is a web page rather than the provider's API (a proxy's, login or captive
// portal page, a wrong base URL): said as such, not retried, instead of failing as a broken
// stream or malformed JSON.
std::optional<Error> markupInsteadOfApi(const ProviderConfig& cfg, const Headers& headers, std::string_view body,
                                        bool stream) {
  std::string ct = headerValue(headers, "content-type");
  std::string media = ct.substr(0, ct.find(';'));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  for (auto& ch : media) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (media != "text/html" && media != "application/xhtml+xml" && media != "text/xml" && media != "application/xml") {
    return std::nullopt;
  }
  std::string head;
  for (char ch : body.substr(0, 120)) head += (ch == '\n' || ch == '\r' || ch == '\t') ? ' ' : ch;
  Error err(codes::kProviderError,
            cfg.name + " answered HTTP 200 with a " + media + " page instead of " +
                (stream ? "an event stream" : "JSON") + " (a proxy, login or captive-portal page, or a wrong base URL?); " +
                "check the base URL " + cfg.baseUrl + (head.empty() ? "" : "; the page starts: " + redactSecrets(head)),
            false);
  err.details = Value::object({{"status", 200}, {"provider", cfg.name}, {"content_type", ct}});
  return err;
}

// Appends why an error that could be retried is not: the server asked for a longer wait than
// the provider's max_retry_after.
void refuseLongRetryAfter(Error& err, const ProviderConfig& cfg, std::optional<double> serverDelay) {
  if (!err.retryable || !serverDelay || *serverDelay <= cfg.maxRetryAfterSeconds) return;
  err.retryable = false;
  err.message += " (not retried: the provider asked to wait " + secondsText(*serverDelay) +
                 ", more than max_retry_after " + secondsText(cfg.maxRetryAfterSeconds) + ")";
}

}  // namespace

bool providerNeedsKey(const ProviderConfig& cfg) {
  if (!cfg.keyRequired || !cfg.apiKey.empty()) return false;
  for (const auto& [k, v] : cfg.headers) {
    if (net::isCredentialHeader(k) && !v.empty()) return false;
  }
  return true;
}

Error missingKeyError(const ProviderConfig& cfg) {
  std::string var = cfg.apiKeyEnv.empty() || cfg.apiKeyEnv == "(configured)" ? "" : cfg.apiKeyEnv;
  if (cfg.name == "gemini" && var == "GEMINI_API_KEY") var = "GEMINI_API_KEY (or GOOGLE_API_KEY)";
  Error err(std::string(codes::kConfigError),
            cfg.name + " has no API key: set " + (var.empty() ? "its key variable (llm.configure api_key_env)" : var) +
                ", or choose another model with --model (mock/echo needs no key)",
            false);
  err.details = Value::object({{"provider", cfg.name}, {"key_env", cfg.apiKeyEnv}});
  return err;
}

int64_t estimateTokens(std::string_view text) {
  int64_t words = 0;
  bool in = false;
  for (char c : text) {
    bool sp = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!sp && !in) ++words;
    in = !sp;
  }
  int64_t chars = static_cast<int64_t>((text.size() + 3) / 4);
  return std::max(words, chars);
}

double retryDelay(const ProviderConfig& cfg, int attempt, std::optional<double> serverDelay,
                  double jitter) {
  if (serverDelay && *serverDelay >= 0) return *serverDelay;
  double d = cfg.retryBaseSeconds * std::pow(2.0, attempt);
  if (d > cfg.retryMaxSeconds) d = cfg.retryMaxSeconds;
  return d * jitter;
}

std::pair<std::string, std::string> splitModelName(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos) {
    std::string p = providerOfBareModel(name);
    if (p.empty()) {
      fail(codes::kInvalidArgument, "model \"" + std::string(name) +
                                        "\" has no provider; write it as provider/model "
                                        "(openai/gpt-4o-mini, anthropic/claude-sonnet-4-5, mock/echo)");
    }
    return {p, std::string(name)};
  }
  if (slash == 0 || slash + 1 == name.size()) {
    fail(codes::kInvalidArgument, "model name \"" + std::string(name) + "\" must be provider/model");
  }
  return {std::string(name.substr(0, slash)), std::string(name.substr(slash + 1))};
}

MockReply mockReplyFromValue(const Value& v) {
  MockReply r;
  if (v.isString()) {
    r.text = v.asString();
    return r;
  }
  if (!v.isObject()) fail(codes::kInvalidArgument, "a mock reply must be a string or a table, got " + v.describe());
  r.text = v.getString("text");
  r.reasoning = v.getString("reasoning");
  const Value& calls = v.get("tool_calls");
  if (calls.isArray()) {
    for (const auto& c : calls.asArray()) r.toolCalls.push_back(toolCallFromValue(c));
  }
  if (v.get("usage").isObject()) r.usage = usageFromValue(v.get("usage"));
  r.delaySeconds = v.getNumber("delay", 0);
  const Value& e = v.get("error");
  if (e.isObject()) {
    Error err(e.getString("code", std::string(codes::kProviderError)), e.getString("message", "mock error"),
              e.getBool("retryable"));
    r.error = err;
  } else if (e.isString()) {
    r.error = Error(codes::kProviderError, e.asString());
  }
  r.finishReason = v.getString("finish_reason");
  return r;
}

std::vector<MockReply> parseMockReplies(std::string_view text, std::string_view shown) {
  std::vector<MockReply> out;
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      out.push_back(mockReplyFromValue(parseJson(line)));
    } catch (const Exception& e) {
      fail(codes::kInvalidArgument, std::string(shown) + ":" + std::to_string(n) + ": " + e.error().message);
    }
  }
  return out;
}

std::vector<MockReply> loadMockReplies(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(codes::kNotFound, "cannot read mock replies file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return parseMockReplies(ss.str(), path);
}

// ---------------- LlmClient ----------------

namespace {

using Providers = std::map<std::string, ProviderConfig>;

std::shared_ptr<const Providers> buildPresets() {
  auto out = std::make_shared<Providers>();
  for (const auto& p : kPresets) {
    ProviderConfig c;
    c.name = p.name;
    c.kind = p.kind;
    c.baseUrl = env(p.baseEnv);
    if (c.baseUrl.empty()) c.baseUrl = p.baseUrl;
    c.apiKeyEnv = p.keyEnv;
    c.apiKey = env(p.keyEnv);
    c.keyRequired = p.keyRequired;
    if (c.name == "gemini" && c.apiKey.empty() && !env("GOOGLE_API_KEY").empty()) {
      c.apiKey = env("GOOGLE_API_KEY");
      c.apiKeyEnv = "GOOGLE_API_KEY";
    }
    addSecret(c.apiKey);
    if (c.kind == "openai") c.useMaxCompletionTokens = true;
    (*out)[c.name] = c;
  }
  return out;
}

std::mutex presetsMu;
std::shared_ptr<const Providers>& capturedPresets() {  // built from the captured environment
  static std::shared_ptr<const Providers> p;
  return p;
}

// The built-in providers as the environment configures them: from the operator's captured
// environment, built once; otherwise read afresh (an embedding program may change it).
std::shared_ptr<const Providers> presetProviders() {
  if (!operatorEnvCaptured()) return buildPresets();
  std::lock_guard lk(presetsMu);
  auto& p = capturedPresets();
  if (!p) p = buildPresets();
  return p;
}

}  // namespace

LlmClient::LlmClient(Loop& loop) : loop_(loop), providers_(presetProviders()), alive_(std::make_shared<bool>(true)) {}

LlmClient::~LlmClient() { *alive_ = false; }

double LlmClient::jitter() {
  // xorshift64: deterministic when seeded, good enough for spreading retries.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  return 0.75 + 0.25 * static_cast<double>(rng_ % 10000) / 10000.0;
}

void captureOperatorEnvironment() {
  auto& vars = operatorEnv();
  vars.clear();
  auto keep = [&](const char* name) {
    if (!*name) return;
    const char* v = std::getenv(name);
    vars[name] = v ? v : "";
  };
  for (const auto& p : kPresets) {
    keep(p.keyEnv);
    keep(p.baseEnv);
    if (*p.keyEnv) addSecret(vars[p.keyEnv]);
  }
  keep("GOOGLE_API_KEY");
  // Masked from the start, not only once a run builds its LlmClient: `tool call`, `check`,
  // `logs` and runs that never touch llm print errors too.
  addSecret(vars["GOOGLE_API_KEY"]);
  operatorEnvCaptured() = true;
  std::lock_guard lk(presetsMu);
  capturedPresets().reset();  // built again from what was just captured
}

bool isStandardKeyEnv(std::string_view provider, std::string_view name) {
  for (const auto& p : kPresets) {
    if (provider == p.name && *p.keyEnv && name == p.keyEnv) return true;
  }
  return provider == "gemini" && name == "GOOGLE_API_KEY";
}

bool LlmClient::hasProvider(const std::string& name) const { return providers_->count(name) > 0; }

const ProviderConfig& LlmClient::provider(const std::string& name) const {
  auto it = providers_->find(name);
  if (it == providers_->end()) {
    std::string known;
    for (const auto& [k, v] : *providers_) known += (known.empty() ? "" : ", ") + k;
    fail(codes::kInvalidArgument, "unknown provider \"" + name + "\" (known: " + known +
                                      "; add one with llm.configure(name, {kind=..., base_url=...}))");
  }
  return it->second;
}

void LlmClient::configure(const std::string& name, const Value& config) {
  if (name.empty()) fail(codes::kInvalidArgument, "llm.configure: provider name is empty");
  if (!config.isObject()) fail(codes::kInvalidArgument, "llm.configure: config must be a table");
  ProviderConfig c;
  auto it = providers_->find(name);
  if (it != providers_->end()) {
    c = it->second;
  } else {
    c.name = name;
    c.kind = "openai-compatible";
  }
  for (const auto& entry : config.asObject()) {
    // Named references, not a structured binding: clang 14 (the fuzz preset) cannot capture one.
    const std::string& k = entry.first;
    const Value& v = entry.second;
    auto needString = [&]() -> const std::string& {
      if (!v.isString()) fail(codes::kInvalidArgument, "llm.configure: `" + k + "` must be a string");
      return v.asString();
    };
    auto needNumber = [&]() -> double {
      if (!v.isNumber() || v.asNumber() < 0) {
        fail(codes::kInvalidArgument, "llm.configure: `" + k + "` must be a non-negative number");
      }
      return v.asNumber();
    };
    if (k == "kind") {
      std::string kind = needString();
      if (kind != "mock") (void)codecFor(kind);  // validates
      c.kind = kind;
    } else if (k == "base_url") {
      c.baseUrl = needString();
    } else if (k == "api_key_env") {
      c.apiKeyEnv = needString();
      c.apiKey = env(c.apiKeyEnv.c_str());
    } else if (k == "api_key") {
      c.apiKey = needString();
      c.apiKeyEnv = "(configured)";
    } else if (k == "headers") {
      if (!v.isObject()) fail(codes::kInvalidArgument, "llm.configure: `headers` must be a table");
      for (const auto& [hk, hv] : v.asObject()) {
        if (!hv.isString()) fail(codes::kInvalidArgument, "llm.configure: header " + hk + " must be a string");
        c.headers.emplace_back(hk, hv.asString());
      }
    } else if (k == "timeout") {
      c.timeoutSeconds = needNumber();
    } else if (k == "connect_timeout") {
      c.connectTimeoutSeconds = needNumber();
    } else if (k == "idle_timeout") {
      c.idleTimeoutSeconds = needNumber();
    } else if (k == "retries") {
      c.maxRetries = static_cast<int>(needNumber());
    } else if (k == "retry_base") {
      c.retryBaseSeconds = needNumber();
    } else if (k == "retry_max") {
      c.retryMaxSeconds = needNumber();
    } else if (k == "max_retry_after") {
      c.maxRetryAfterSeconds = needNumber();
    } else if (k == "max_completion_tokens") {
      c.useMaxCompletionTokens = v.truthy();
    } else if (k == "stream_usage") {
      c.streamUsage = v.truthy();
    } else if (k == "default_max_tokens") {
      c.defaultMaxTokens = static_cast<int>(needNumber());
    } else if (k == "replies") {
      if (!v.isArray()) fail(codes::kInvalidArgument, "llm.configure: `replies` must be a list");
      std::vector<MockReply> rs;
      for (const auto& r : v.asArray()) rs.push_back(mockReplyFromValue(r));
      setMockReplies(std::move(rs));
    } else if (k == "replies_file") {
      // A file a spell names is read by the bridge under the spell's read grant (parseMockReplies).
      fail(codes::kInvalidArgument, "llm.configure: `replies_file` is read by the caller; pass `replies`");
    } else {
      fail(codes::kInvalidArgument, "llm.configure: unknown option `" + k +
                                        "` (kind, base_url, api_key_env, headers, timeout, "
                                        "connect_timeout, idle_timeout, retries, retry_base, retry_max, "
                                        "max_retry_after, max_completion_tokens, stream_usage, replies, "
                                        "replies_file)");
    }
  }
  if (c.kind != "mock" && c.kind != "ollama" && c.baseUrl.empty() && c.kind == "openai-compatible") {
    fail(codes::kInvalidArgument, "llm.configure: provider " + name + " needs a base_url");
  }
  addSecret(c.apiKey);
  for (const auto& [hk, hv] : c.headers) {
    if (net::isCredentialHeader(hk)) addHeaderSecret(hv);
  }
  auto changed = std::make_shared<Providers>(*providers_);
  (*changed)[name] = c;
  providers_ = std::move(changed);
}

Value LlmClient::providers() const {
  Value out = Value::array();
  for (const auto& [name, c] : *providers_) {
    Value row = Value::object({{"name", name},
                               {"kind", c.kind},
                               {"base_url", c.baseUrl},
                               {"has_key", !c.apiKey.empty()},
                               {"key_env", c.apiKeyEnv}});
    // The variable that moves a built-in provider's base URL (a provider the spell configured
    // under a new name has none).
    for (const Preset& p : kPresets) {
      if (name == p.name && *p.baseEnv) row.asObject().set("base_url_env", p.baseEnv);
    }
    out.asArray().push(std::move(row));
  }
  return out;
}

void LlmClient::setMockReplies(std::vector<MockReply> replies) {
  mockReplies_.assign(replies.begin(), replies.end());
  mockServed_ = 0;
}

PromisePtr LlmClient::chat(const std::string& model, ChatRequest req, CallOptions opts) {
  try {
    auto [prov, id] = splitModelName(model);
    if (prov == "pool") return chatPool(id, std::move(req), std::move(opts));
    if (replaying()) return chatReplay(model, req, opts);
    const ProviderConfig& cfg = provider(prov);
    req.model = id;
    if (opts.onChunk) req.stream = true;
    Value canon = recordPath_.empty() ? Value() : canonicalRequest(model, req);
    std::shared_ptr<Value> chunks;
    if (!recordPath_.empty() && opts.onChunk) {
      chunks = std::make_shared<Value>(Value::array());
      auto user = opts.onChunk;
      opts.onChunk = [chunks, user](const StreamChunk& c) {
        chunks->asArray().push(toValue(c));
        user(c);
      };
    }
    if (providerNeedsKey(cfg)) return Promise::rejected(missingKeyError(cfg));
    PromisePtr p = cfg.kind == "mock" ? chatMock(id, std::move(req), std::move(opts))
                                      : chatHttp(cfg, std::move(req), std::move(opts));
    if (!recordPath_.empty()) {
      std::weak_ptr<bool> alive = alive_;
      p->onSettle([this, alive, canon, chunks](const Promise& q) {
        if (alive.expired() || !q.fulfilled()) return;
        record(canon, q.value(), chunks ? *chunks : Value());
      });
    }
    return p;
  } catch (const Exception& e) {
    return Promise::rejected(e.error());
  }
}

// ---------------- record / replay ----------------

Value canonicalRequest(const std::string& model, const ChatRequest& req) {
  Value msgs = Value::array();
  for (const auto& m : req.messages) msgs.asArray().push(toValue(m));
  Value o = Value::object({{"model", model}, {"messages", msgs}});
  auto& obj = o.asObject();
  if (req.temperature) obj.set("temperature", *req.temperature);
  if (req.topP) obj.set("top_p", *req.topP);
  if (req.maxTokens) obj.set("max_tokens", *req.maxTokens);
  if (!req.stop.empty()) {
    Value s = Value::array();
    for (const auto& x : req.stop) s.asArray().push(x);
    obj.set("stop", s);
  }
  if (req.seed) obj.set("seed", *req.seed);
  if (!req.tools.empty()) {
    Value t = Value::array();
    for (const auto& x : req.tools) t.asArray().push(toValue(x));
    obj.set("tools", t);
  }
  if (!req.toolChoice.mode.empty()) obj.set("tool_choice", req.toolChoice.mode == "tool" ? req.toolChoice.name : req.toolChoice.mode);
  if (!req.responseSchema.isNull()) obj.set("schema", req.responseSchema);
  if (req.jsonMode) obj.set("json", true);
  return o;
}

std::vector<std::string> valueDiff(const Value& a, const Value& b, size_t limit) {
  std::vector<std::string> out;
  std::function<void(const Value&, const Value&, const std::string&)> walk =
      [&](const Value& x, const Value& y, const std::string& path) {
        if (out.size() >= limit || x == y) return;
        if (x.isObject() && y.isObject()) {
          for (const auto& [k, v] : x.asObject()) walk(v, y.get(k), path + "." + k);
          for (const auto& [k, v] : y.asObject()) {
            if (!x.asObject().contains(k)) walk(Value(), v, path + "." + k);
          }
          return;
        }
        if (x.isArray() && y.isArray() && x.asArray().size() == y.asArray().size()) {
          for (size_t i = 0; i < x.asArray().size(); ++i) walk(x.asArray()[i], y.asArray()[i], path + "[" + std::to_string(i) + "]");
          return;
        }
        auto show = [](const Value& v) {
          if (v.isNull()) return std::string("(absent)");
          std::string t = toJsonText(v);
          return t.size() > 80 ? t.substr(0, 77) + "..." : t;
        };
        out.push_back(path + ": recorded " + show(x) + ", got " + show(y));
      };
  walk(a, b, "$");
  return out;
}

void LlmClient::recordTo(const std::string& path) {
  std::ofstream f(path, std::ios::app);
  if (!f) fail(codes::kInvalidArgument, "cannot write the recording file " + path);
  recordPath_ = path;
}

void LlmClient::record(const Value& request, const Value& response, const Value& chunks) {
  // One short append per call, done inline: small and rare next to the network call it records.
  Value line = Value::object({{"request", request}, {"response", response}});
  if (chunks.isArray()) line.asObject().set("chunks", chunks);
  std::ofstream f(recordPath_, std::ios::app);
  f << redactSecrets(toJsonText(line)) << "\n";
}

void LlmClient::replayFrom(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(codes::kNotFound, "cannot read the recording " + path);
  std::string line;
  int n = 0;
  replay_.clear();
  while (std::getline(in, line)) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Value v;
    try {
      v = parseJson(line);
    } catch (const Exception& e) {
      fail(codes::kInvalidArgument, path + ":" + std::to_string(n) + ": " + e.error().message);
    }
    replay_.push_back({v.get("request"), v.get("response"), v.get("chunks")});
  }
  replayPath_ = path;
  replayLoaded_ = true;
}

PromisePtr LlmClient::chatReplay(const std::string& model, const ChatRequest& reqIn, const CallOptions& opts) {
  ChatRequest req = reqIn;
  auto [prov, id] = splitModelName(model);
  req.model = id;
  Value canon = canonicalRequest(model, req);
  Recording* hit = nullptr;
  for (auto& r : replay_) {
    if (!r.used && r.request == canon) {
      hit = &r;
      break;
    }
  }
  if (!hit) {
    for (auto& r : replay_) {
      if (r.request == canon) hit = &r;  // all used: the last identical one answers again
    }
  }
  if (!hit) {
    std::vector<std::string> best;
    size_t bestN = SIZE_MAX;
    for (const auto& r : replay_) {
      auto d = valueDiff(r.request, canon, 1000);
      if (d.size() < bestN) {
        bestN = d.size();
        best = std::move(d);
      }
    }
    std::string msg = "--replay " + replayPath_ + ": no recorded call matches this " + model + " request";
    if (!best.empty()) {
      msg += "; the nearest recording differs at:";
      for (size_t i = 0; i < best.size() && i < 5; ++i) msg += "\n  " + best[i];
    }
    return Promise::rejected(Error(codes::kNotFound, msg));
  }
  hit->used = true;
  Value response = hit->response;
  Value chunks = hit->chunks;
  PromisePtr out = Promise::create();
  auto onChunk = opts.onChunk;
  loop_.post([out, response, chunks, onChunk] {
    if (!out->pending()) return;
    if (onChunk) {
      if (chunks.isArray()) {
        for (const auto& c : chunks.asArray()) onChunk(streamChunkFromValue(c));
      } else {
        for (auto& w : wordChunks(response.getString("text"))) onChunk(StreamChunk{w, "", std::nullopt});
      }
    }
    out->resolve(response);
  });
  return out;
}

// ---------------- pools ----------------

std::string LlmClient::definePool(const std::string& name, std::vector<std::string> models, const std::string& strategy) {
  if (models.empty()) fail(codes::kInvalidArgument, "a pool needs at least one model");
  if (strategy != "fallback" && strategy != "round_robin" && strategy != "fastest" && strategy != "consensus") {
    fail(codes::kInvalidArgument, "pool strategy must be \"fallback\", \"fastest\", \"round_robin\" or \"consensus\" (got \"" +
                                      strategy + "\")");
  }
  for (const auto& m : models) {
    auto [p, id] = splitModelName(m);
    if (p == "pool") fail(codes::kInvalidArgument, "a pool cannot contain another pool");
    (void)provider(p);
  }
  pools_[name] = Pool{std::move(models), strategy, 0};
  return "pool/" + name;
}

PromisePtr LlmClient::chatPool(const std::string& name, ChatRequest req, CallOptions opts) {
  auto it = pools_.find(name);
  if (it == pools_.end()) return Promise::rejected(Error(codes::kInvalidArgument, "no pool named " + name + " (create it with llm.pool)"));
  Pool& pool = it->second;
  if (pool.strategy == "fastest") return chatFastest(pool.models, std::move(req), std::move(opts));
  if (pool.strategy == "consensus") return chatConsensus(pool.models, std::move(req), std::move(opts));
  size_t start = 0;
  if (pool.strategy == "round_robin") start = pool.next++ % pool.models.size();
  struct Walk : std::enable_shared_from_this<Walk> {
    LlmClient* client;
    std::vector<std::string> order;
    size_t i = 0;
    ChatRequest req;
    CallOptions opts;
    PromisePtr out = Promise::create();
    PromisePtr current;
    std::vector<std::string> failures;
    void next() {
      auto self = shared_from_this();
      current = client->chat(order[i], req, opts);
      current->onSettle([self](const Promise& p) {
        if (!self->out->pending()) return;
        if (p.fulfilled()) {
          Value v = p.value();
          v.asObject().set("pool_model", self->order[self->i]);
          self->out->resolve(v);
          return;
        }
        const Error& e = p.error();
        self->failures.push_back(self->order[self->i] + ": " + e.message);
        bool stop = e.code == codes::kCancelled || e.code == codes::kInvalidArgument;
        if (stop || ++self->i >= self->order.size()) {
          Error all = e;
          if (!stop && self->failures.size() > 1) {
            all.message = "every model of the pool failed: ";
            for (size_t k = 0; k < self->failures.size(); ++k) all.message += (k ? "; " : "") + self->failures[k];
          }
          self->out->reject(all);
          return;
        }
        self->next();
      });
    }
  };
  auto w = std::make_shared<Walk>();
  w->client = this;
  for (size_t k = 0; k < pool.models.size(); ++k) w->order.push_back(pool.models[(start + k) % pool.models.size()]);
  w->req = std::move(req);
  w->opts = std::move(opts);
  w->next();
  std::weak_ptr<Walk> weak = w;
  w->out->setCanceller([weak] {
    if (auto x = weak.lock()) {
      if (x->current) x->current->cancel();
    }
  });
  return w->out;
}

namespace {

std::string poolFailure(const std::vector<std::string>& failures) {
  std::string m = "every model of the pool failed: ";
  for (size_t k = 0; k < failures.size(); ++k) m += (k ? "; " : "") + failures[k];
  return m;
}

}  // namespace

std::string normalizeAnswer(std::string_view text) {
  std::string out;
  bool space = false;
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(static_cast<char>(std::tolower(c)));
  }
  for (bool changed = true; changed;) {
    changed = false;
    while (!out.empty() && (out.back() == '.' || out.back() == '!' || out.back() == '?' || out.back() == ' ')) {
      out.pop_back();
      changed = true;
    }
    if (out.size() >= 2 && ((out.front() == '"' && out.back() == '"') || (out.front() == '\'' && out.back() == '\''))) {
      out = out.substr(1, out.size() - 2);
      changed = true;
    }
  }
  return out;
}

PromisePtr LlmClient::chatFastest(const std::vector<std::string>& models, ChatRequest req, CallOptions opts) {
  // Every model at once; the first to succeed (or, when streaming, to deliver a first chunk)
  // wins and the others are cancelled.
  struct Race {
    std::vector<std::string> models;
    std::vector<PromisePtr> calls;
    std::vector<std::string> failures;
    size_t failed = 0;
    int winner = -1;
    PromisePtr out = Promise::create();
    void cancelOthers() {
      for (size_t k = 0; k < calls.size(); ++k) {
        if (static_cast<int>(k) != winner && calls[k] && calls[k]->pending()) calls[k]->cancel();
      }
    }
  };
  auto race = std::make_shared<Race>();
  race->models = models;
  race->calls.resize(models.size());
  auto user = opts.onChunk;
  for (size_t i = 0; i < models.size(); ++i) {
    CallOptions o = opts;
    std::weak_ptr<Race> weak = race;
    if (user) {
      o.onChunk = [weak, i, user](const StreamChunk& c) {
        auto r = weak.lock();
        if (!r || !r->out->pending()) return;
        if (r->winner < 0) {
          r->winner = static_cast<int>(i);
          r->cancelOthers();
        }
        if (r->winner == static_cast<int>(i)) user(c);
      };
    }
    race->calls[i] = chat(models[i], req, std::move(o));
  }
  for (size_t i = 0; i < models.size(); ++i) {
    race->calls[i]->onSettle([race, i](const Promise& p) {
      if (!race->out->pending()) return;
      bool mine = race->winner == static_cast<int>(i);
      if (p.fulfilled() && (race->winner < 0 || mine)) {
        race->winner = static_cast<int>(i);
        Value v = p.value();
        v.asObject().set("pool_model", race->models[i]);
        race->out->resolve(v);
        race->cancelOthers();
        return;
      }
      if (p.fulfilled()) return;
      race->failures.push_back(race->models[i] + ": " + p.error().message);
      if (mine) {  // the streaming winner failed after its first chunk: nothing to fall back on
        race->out->reject(p.error());
        return;
      }
      if (++race->failed == race->models.size()) {
        Error all = p.error();
        if (race->failures.size() > 1) all.message = poolFailure(race->failures);
        race->out->reject(all);
      }
    });
  }
  std::weak_ptr<Race> weak = race;
  race->out->setCanceller([weak] {
    if (auto r = weak.lock()) {
      for (auto& c : r->calls) if (c && c->pending()) c->cancel();
    }
  });
  return race->out;
}

PromisePtr LlmClient::chatConsensus(const std::vector<std::string>& models, ChatRequest req, CallOptions opts) {
  // Every model answers (not streamed); the most common normalized answer wins (ties: the earlier
  // model of the pool). Usage and cost are the totals of every answer, so budgets see them all.
  auto user = opts.onChunk;
  opts.onChunk = nullptr;
  std::vector<PromisePtr> calls;
  for (const auto& m : models) calls.push_back(chat(m, req, opts));
  PromisePtr out = Promise::create();
  promiseAllSettled(calls)->onSettle([out, models, user](const Promise& all) {
    if (!out->pending()) return;
    const auto& rows = all.value().asArray();
    std::vector<std::string> keys(models.size());
    std::vector<std::string> failures;
    std::map<std::string, size_t> votes;
    size_t answered = 0;
    for (size_t i = 0; i < models.size(); ++i) {
      const Value& v = rows[i].get("value");
      if (!v.isObject()) {
        const Value& e = rows[i].get("error");
        failures.push_back(models[i] + ": " + (e.isError() ? e.asError()->message : e.describe()));
        continue;
      }
      ++answered;
      keys[i] = normalizeAnswer(v.getString("text"));
      ++votes[keys[i]];
    }
    if (answered == 0) {
      const Value& e = rows[0].get("error");
      Error err = e.isError() ? *e.asError() : Error(codes::kProviderError, "no model of the pool answered");
      if (failures.size() > 1) err.message = poolFailure(failures);
      out->reject(err);
      return;
    }
    int best = -1;
    for (size_t i = 0; i < models.size(); ++i) {
      if (!rows[i].get("value").isObject()) continue;
      if (best < 0 || votes[keys[i]] > votes[keys[static_cast<size_t>(best)]]) best = static_cast<int>(i);
    }
    Value result = rows[static_cast<size_t>(best)].get("value").deepCopy();
    Value agreeing = Value::array(), answers = Value::array();
    Usage total;
    total.present = true;
    double cost = 0;
    for (size_t i = 0; i < models.size(); ++i) {
      const Value& v = rows[i].get("value");
      Value row = Value::object({{"model", models[i]}});
      if (v.isObject()) {
        row.asObject().set("text", v.get("text"));
        if (keys[i] == keys[static_cast<size_t>(best)]) agreeing.asArray().push(Value(models[i]));
        Usage u = usageFromValue(v.get("usage"));
        total.inputTokens += u.inputTokens;
        total.outputTokens += u.outputTokens;
        total.totalTokens += u.totalTokens;
        total.cachedTokens += u.cachedTokens;
        total.reasoningTokens += u.reasoningTokens;
        cost += v.getNumber("cost_usd");
      } else {
        row.asObject().set("error", rows[i].get("error"));
      }
      answers.asArray().push(row);
    }
    size_t n = votes[keys[static_cast<size_t>(best)]];
    result.asObject().set("pool_model", models[static_cast<size_t>(best)]);
    result.asObject().set("usage", toValue(total));
    result.asObject().set("cost_usd", cost);
    result.asObject().set("consensus", Value::object({{"agreement", static_cast<double>(n) / static_cast<double>(answered)},
                                                      {"votes", static_cast<int64_t>(n)},
                                                      {"answered", static_cast<int64_t>(answered)},
                                                      {"models", agreeing},
                                                      {"answers", answers}}));
    if (user) {
      StreamChunk c;
      c.text = result.getString("text");
      user(c);
    }
    out->resolve(result);
  });
  out->setCanceller([calls] {
    for (auto& c : calls) if (c->pending()) c->cancel();
  });
  return out;
}

// ---------------- mock ----------------

PromisePtr LlmClient::chatMock(const std::string& model, ChatRequest req, CallOptions opts) {
  MockReply reply;
  if (model == "echo") {
    for (auto it = req.messages.rbegin(); it != req.messages.rend(); ++it) {
      if (it->role == Role::kUser) {
        reply.text = it->text();
        break;
      }
    }
  } else if (model == "script") {
    if (mockReplies_.empty()) {
      return Promise::rejected(Error(
          codes::kProviderError,
          "mock/script has no more scripted replies (" + std::to_string(mockServed_) +
              " served); give them with llm.configure(\"mock\", {replies = {...}}) or --mock-replies FILE"));
    }
    reply = mockReplies_.front();
    mockReplies_.pop_front();
    ++mockServed_;
  } else {
    return Promise::rejected(Error(codes::kInvalidArgument,
                                   "unknown mock model \"mock/" + model + "\" (use mock/echo or mock/script)"));
  }
  ++attempts_;
  ChatResponse r;
  r.text = reply.text;
  r.reasoning = reply.reasoning;
  r.model = "mock/" + model;
  r.rawModel = model;
  r.provider = "mock";
  int n = 0;
  for (auto c : reply.toolCalls) {
    if (c.id.empty()) c.id = "call_mock_" + std::to_string(mockServed_) + "_" + std::to_string(n);
    ++n;
    r.toolCalls.push_back(c);
  }
  if (reply.usage.present) {
    r.usage = reply.usage;
  } else {
    r.usage.present = true;
    r.usage.inputTokens = estimateMessages(req.messages);
    r.usage.outputTokens = estimateTokens(r.text);
    r.usage.totalTokens = r.usage.inputTokens + r.usage.outputTokens;
  }
  r.rawFinishReason = !reply.finishReason.empty() ? reply.finishReason
                      : r.toolCalls.empty()       ? "stop"
                                                  : "tool_calls";
  r.finishReason = parseFinishReason(r.rawFinishReason);
  r.message.role = Role::kAssistant;
  if (!r.reasoning.empty()) {
    ContentPart p;
    p.kind = ContentPart::Kind::kReasoning;
    p.text = r.reasoning;
    r.message.parts.push_back(p);
  }
  if (!r.text.empty() || r.toolCalls.empty()) r.message.parts.push_back(ContentPart::textPart(r.text));
  for (const auto& c : r.toolCalls) r.message.parts.push_back(ContentPart::toolCallPart(c));

  // Deliver asynchronously (like a real provider): after the delay, chunks one loop turn each.
  struct MockCall : std::enable_shared_from_this<MockCall> {
    PromisePtr promise = Promise::create();
    Loop* loop = nullptr;
    std::vector<StreamChunk> chunks;
    size_t next = 0;
    Loop::TimerHandle timer;
    std::function<void(const StreamChunk&)> onChunk;
    std::optional<Error> error;
    Value result;
    void step() {
      if (!promise->pending()) return;
      if (error) {
        promise->reject(*error);
        return;
      }
      if (next < chunks.size()) {
        if (onChunk) onChunk(chunks[next]);
        ++next;
        auto self = shared_from_this();
        loop->post([self] { self->step(); });
        return;
      }
      promise->resolve(result);
    }
  };
  auto st = std::make_shared<MockCall>();
  st->loop = &loop_;
  st->onChunk = opts.onChunk;
  st->error = reply.error;
  if (req.stream) {
    if (!r.reasoning.empty()) st->chunks.push_back(StreamChunk{"", r.reasoning, std::nullopt});
    for (auto& w : wordChunks(r.text)) st->chunks.push_back(StreamChunk{w, "", std::nullopt});
    int64_t i = 0;
    for (const auto& c : r.toolCalls) {
      StreamChunk ch;
      ch.toolCall = ToolCallDelta{i++, c.id, c.name, toJsonText(c.arguments)};
      st->chunks.push_back(ch);
    }
  }
  st->result = withCost(r, "mock/" + model);
  // No delay: the next loop turn, without a timer (whose arming and firing were three system
  // calls per call).
  if (reply.delaySeconds > 0) st->timer = loop_.setTimeout(reply.delaySeconds, [st] { st->step(); });
  else loop_.post([st] { st->step(); });
  std::weak_ptr<MockCall> weak = st;
  st->promise->setCanceller([weak] {
    if (auto s = weak.lock()) s->timer.cancel();
  });
  return st->promise;
}

// ---------------- HTTP providers ----------------

namespace {

struct HttpCall : std::enable_shared_from_this<HttpCall> {
  LlmClient* client = nullptr;
  std::shared_ptr<bool> alive;
  Loop* loop = nullptr;
  ProviderConfig cfg;
  const Codec* codec = nullptr;
  ChatRequest req;
  CallOptions opts;
  PromisePtr outer = Promise::create();
  PromisePtr inner;
  Loop::TimerHandle timer;
  int attempt = 0;
  int maxRetries = 2;
  bool delivered = false;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  // Per attempt.
  std::unique_ptr<StreamDecoder> dec;
  std::unique_ptr<net::SseParser> sse;
  std::unique_ptr<net::NdjsonParser> nd;
  std::string head;  // first bytes of a streamed body, to explain a body that was not a stream
  uint64_t events = 0;
  std::vector<StreamChunk> chunks;  // one event's chunks (onEvent)
  uint64_t* attemptsCounter = nullptr;
  uint64_t* retriesCounter = nullptr;

  void begin() {
    if (!outer->pending()) return;
    if (*alive) ++*attemptsCounter;
    WireRequest w;
    try {
      w = codec->encodeChat(req, cfg);
    } catch (const Exception& e) {
      outer->reject(e.error());
      return;
    } catch (const std::exception& e) {
      outer->reject(Error(codes::kInternal, e.what()));
      return;
    }
    net::HttpRequest hr = providerRequest(std::move(w));
    hr.connectTimeout = cfg.connectTimeoutSeconds;
    hr.totalTimeout = opts.timeoutSeconds > 0 ? opts.timeoutSeconds : cfg.timeoutSeconds;
    hr.idleTimeout = cfg.idleTimeoutSeconds;
    dec.reset();
    sse.reset();
    nd.reset();
    head.clear();
    events = 0;
    auto self = shared_from_this();
    if (w.framing != Framing::kJson) {
      dec = codec->streamDecoder();
      HttpCall* raw = this;
      if (w.framing == Framing::kSse) {
        sse = std::make_unique<net::SseParser>([raw](const net::SseEvent& e) { raw->onEvent(e.event, e.data); });
      } else {
        nd = std::make_unique<net::NdjsonParser>([raw](std::string_view line) { raw->onEvent("", line); });
      }
      hr.onData = [self](std::string_view chunk) {
        if (self->head.size() < 2048) self->head.append(chunk.substr(0, 2048 - self->head.size()));
        if (self->sse) self->sse->feed(chunk);
        else self->nd->feed(chunk);
      };
    }
    inner = net::HttpClient::forLoop(*loop)->request(std::move(hr));
    inner->onSettle([self](const Promise& p) { self->done(p); });
  }

  void onEvent(std::string_view event, std::string_view data) {
    ++events;
    if (dec->finished()) return;
    std::vector<StreamChunk>& out = chunks;  // reused: its capacity stays between events
    out.clear();
    try {
      dec->feed(event, data, out);  // an in-band error throws: the transfer is aborted with it
    } catch (const Exception&) {
      throw;
    } catch (const std::exception& e) {
      // A JSON shape the decoder did not expect: report it as the provider's fault.
      fail(codes::kProviderError, cfg.name + " sent an unexpected stream event: " + e.what());
    }
    for (const auto& c : out) {
      delivered = true;
      if (opts.onChunk) opts.onChunk(c);
      if (!outer->pending()) return;
    }
  }

  void done(const Promise& p) {
    if (!outer->pending()) return;
    if (p.rejected()) {
      retryOr(p.error(), std::nullopt);
      return;
    }
    const net::HttpResponse& resp = net::responseOf(p.value());
    if (resp.status >= 300) {
      HttpFailure f = classifyHttpError(cfg.name, resp.status, resp.headers, resp.body);
      retryOr(f.error, f.retryAfterSeconds);
      return;
    }
    if (auto e = markupInsteadOfApi(cfg, resp.headers, dec ? std::string_view(head) : std::string_view(resp.body), dec != nullptr)) {
      retryOr(*e, std::nullopt);
      return;
    }
    try {
      ChatResponse r;
      if (dec) {
        if (sse) sse->finish();
        if (nd) nd->finish();
        if (!dec->finished() && events == 0) {
          // Not a stream at all: maybe an error object on a 200 (LM Studio) or plain JSON.
          if (auto e = inBandError(cfg.name, head)) throw Exception(*e);
        }
        r = dec->finish();
      } else {
        r = codec->decodeChat(resp.body);
      }
      succeed(std::move(r));
    } catch (const Exception& e) {
      retryOr(e.error(), std::nullopt);
    } catch (const std::exception& e) {
      retryOr(Error(codes::kProviderError, cfg.name + ": " + e.what()), std::nullopt);
    }
  }

  void retryOr(Error err, std::optional<double> serverDelay) {
    if (err.code == codes::kCancelled) {
      outer->reject(err);
      return;
    }
    refuseLongRetryAfter(err, cfg, serverDelay);
    bool can = err.retryable && !delivered && attempt < maxRetries;
    if (!can) {
      if (err.details.isNull()) err.details = Value::object();
      if (err.details.isObject()) {
        err.details.asObject().set("provider", cfg.name);
        err.details.asObject().set("attempts", attempt + 1);
        if (delivered) err.details.asObject().set("partial", true);
      }
      err.message = redactSecrets(err.message);
      err.details = redactValue(err.details);
      outer->reject(err);
      return;
    }
    double d = retryDelay(cfg, attempt, serverDelay, *alive ? client->jitter() : 1.0);
    ++attempt;
    if (*alive) ++*retriesCounter;
    logMessage(LogLevel::kDebug, "llm: retrying after error",
               Value::object({{"provider", cfg.name}, {"code", err.code}, {"attempt", attempt}, {"delay_s", d}}));
    auto self = shared_from_this();
    timer = loop->setTimeout(d, [self] { self->begin(); });
  }

  void succeed(ChatResponse r) {
    r.provider = cfg.name;
    r.rawModel = r.model.empty() ? req.model : r.model;
    r.model = cfg.name + "/" + req.model;  // the name the spell would pass back
    r.latencyMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    // Anthropic structured output came back as the forced tool's input: make it the text.
    if (!req.responseSchema.isNull() && cfg.kind == "anthropic") {
      for (size_t i = 0; i < r.toolCalls.size(); ++i) {
        if (r.toolCalls[i].name == req.responseSchemaName) {
          r.text = toJsonText(r.toolCalls[i].arguments);
          r.toolCalls.erase(r.toolCalls.begin() + static_cast<std::ptrdiff_t>(i));
          if (r.finishReason == FinishReason::kToolCalls) r.finishReason = FinishReason::kStop;
          r.message = Message::assistant(r.text);
          break;
        }
      }
    }
    outer->resolve(withCost(r, cfg.name + "/" + req.model));
  }
};

}  // namespace

PromisePtr LlmClient::chatHttp(const ProviderConfig& cfg, ChatRequest req, CallOptions opts) {
  if (!http_) http_ = net::HttpClient::forLoop(loop_);
  auto call = std::make_shared<HttpCall>();
  call->client = this;
  call->alive = alive_;
  call->loop = &loop_;
  call->cfg = cfg;
  call->codec = &codecFor(cfg.kind);
  call->req = std::move(req);
  call->maxRetries = opts.maxRetries >= 0 ? opts.maxRetries : cfg.maxRetries;
  call->opts = std::move(opts);
  call->attemptsCounter = &attempts_;
  call->retriesCounter = &retries_;
  std::weak_ptr<HttpCall> weak = call;
  call->outer->setCanceller([weak] {
    if (auto c = weak.lock()) {
      c->timer.cancel();
      if (c->inner && c->inner->pending()) c->inner->cancel();
    }
  });
  call->begin();
  return call->outer;
}

namespace {

// One JSON exchange (embeddings, model lists): no streaming; 429 / 5xx / 529 / network errors
// are retried up to `maxRetries` times with the chat calls' backoff (honouring retry-after).
struct Exchange : std::enable_shared_from_this<Exchange> {
  Loop* loop = nullptr;
  ProviderConfig cfg;
  WireRequest w;
  std::function<Value(const std::string&)> decode;
  std::function<double()> jitter;
  int maxRetries = 0;
  int attempt = 0;
  PromisePtr out = Promise::create();
  PromisePtr inner;
  Loop::TimerHandle timer;

  void begin() {
    net::HttpRequest hr = providerRequest(w);
    hr.connectTimeout = cfg.connectTimeoutSeconds;
    hr.totalTimeout = cfg.timeoutSeconds;
    inner = net::HttpClient::forLoop(*loop)->request(std::move(hr));
    auto self = shared_from_this();
    inner->onSettle([self](const Promise& p) { self->done(p); });
  }

  void done(const Promise& p) {
    if (!out->pending()) return;
    if (p.rejected()) {
      retryOr(p.error(), std::nullopt);
      return;
    }
    const net::HttpResponse& r = net::responseOf(p.value());
    if (r.status >= 300) {
      HttpFailure f = classifyHttpError(cfg.name, r.status, r.headers, r.body);
      retryOr(f.error, f.retryAfterSeconds);
      return;
    }
    if (auto e = markupInsteadOfApi(cfg, r.headers, r.body, false)) {
      reject(*e);
      return;
    }
    try {
      out->resolve(decode(r.body));
    } catch (const Exception& e) {
      reject(e.error());
    } catch (const std::exception& e) {
      reject(Error(codes::kProviderError, cfg.name + " sent a response of an unexpected shape: " + e.what()));
    }
  }

  void reject(Error err) {
    err.message = redactSecrets(err.message);
    err.details = redactValue(err.details);
    out->reject(err);
  }

  void retryOr(Error err, std::optional<double> serverDelay) {
    refuseLongRetryAfter(err, cfg, serverDelay);
    bool can = err.code != codes::kCancelled && err.retryable && attempt < maxRetries;
    if (!can) {
      reject(std::move(err));
      return;
    }
    double d = retryDelay(cfg, attempt, serverDelay, jitter ? jitter() : 1.0);
    ++attempt;
    auto self = shared_from_this();
    timer = loop->setTimeout(d, [self] {
      if (self->out->pending()) self->begin();
    });
  }
};

PromisePtr exchange(Loop& loop, const ProviderConfig& cfg, WireRequest w,
                    std::function<Value(const std::string&)> decode, int maxRetries,
                    std::function<double()> jitter) {
  auto x = std::make_shared<Exchange>();
  x->loop = &loop;
  x->cfg = cfg;
  x->w = std::move(w);
  x->decode = std::move(decode);
  x->jitter = std::move(jitter);
  x->maxRetries = maxRetries;
  x->begin();
  std::weak_ptr<Exchange> weak = x;
  x->out->setCanceller([weak] {
    if (auto e = weak.lock()) {
      e->timer.cancel();
      if (e->inner && e->inner->pending()) e->inner->cancel();
    }
  });
  return x->out;
}

}  // namespace

PromisePtr LlmClient::embed(const std::string& model, std::vector<std::string> texts, const Value& opts) {
  try {
    auto [prov, id] = splitModelName(model);
    const ProviderConfig& cfg = provider(prov);
    if (cfg.kind == "mock") {
      // Deterministic pseudo-embeddings: a hash of each text spread over `dimensions` values.
      int64_t dims = opts.getInt("dimensions", 8);
      if (dims <= 0 || dims > 4096) fail(codes::kInvalidArgument, "dimensions must be 1..4096");
      Value out = Value::array();
      for (const auto& t : texts) {
        uint64_t h = 1469598103934665603ull;
        for (unsigned char c : t) h = (h ^ c) * 1099511628211ull;
        Value v = Value::array();
        for (int64_t i = 0; i < dims; ++i) {
          h ^= h << 13;
          h ^= h >> 7;
          h ^= h << 17;
          v.asArray().push(static_cast<double>(h % 2000) / 1000.0 - 1.0);
        }
        out.asArray().push(v);
      }
      return Promise::resolved(out);
    }
    if (providerNeedsKey(cfg)) return Promise::rejected(missingKeyError(cfg));
    if (!http_) http_ = net::HttpClient::forLoop(loop_);
    const Codec& codec = codecFor(cfg.kind);
    WireRequest w = codec.encodeEmbed(texts, id, opts, cfg);
    return exchange(
        loop_, cfg, std::move(w),
        [&codec](const std::string& body) {
          Value out = Value::array();
          for (const auto& vec : codec.decodeEmbed(body)) {
            Value v = Value::array();
            for (double d : vec) v.asArray().push(d);
            out.asArray().push(v);
          }
          return out;
        },
        cfg.maxRetries, jitterFn());
  } catch (const Exception& e) {
    return Promise::rejected(e.error());
  }
}

PromisePtr LlmClient::listModels(const std::string& name) {
  try {
    const ProviderConfig& cfg = provider(name);
    if (cfg.kind == "mock") {
      return Promise::resolved(Value::array({Value::object({{"id", "echo"}}), Value::object({{"id", "script"}})}));
    }
    if (providerNeedsKey(cfg)) return Promise::rejected(missingKeyError(cfg));
    if (!http_) http_ = net::HttpClient::forLoop(loop_);
    const Codec& codec = codecFor(cfg.kind);
    return exchange(
        loop_, cfg, codec.encodeListModels(cfg), [&codec](const std::string& body) { return codec.decodeListModels(body); },
        cfg.maxRetries, jitterFn());
  } catch (const Exception& e) {
    return Promise::rejected(e.error());
  }
}

std::function<double()> LlmClient::jitterFn() {
  std::weak_ptr<bool> alive = alive_;
  return [this, alive] {
    auto a = alive.lock();
    return a && *a ? jitter() : 1.0;
  };
}

PromisePtr LlmClient::probe(const std::string& name, double timeoutSeconds) {
  auto start = std::chrono::steady_clock::now();
  auto result = [start](bool reachable, int status, const std::string& error) {
    Value v = Value::object({{"reachable", reachable},
                             {"latency_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - start).count()}});
    if (status) v.asObject().set("status", status);
    if (!error.empty()) v.asObject().set("error", error);
    return v;
  };
  try {
    const ProviderConfig& cfg = provider(name);
    if (cfg.kind == "mock") return Promise::resolved(result(true, 0, ""));
    if (!http_) http_ = net::HttpClient::forLoop(loop_);
    net::HttpRequest hr = providerRequest(codecFor(cfg.kind).encodeListModels(cfg));
    hr.connectTimeout = timeoutSeconds;
    hr.totalTimeout = timeoutSeconds;
    PromisePtr inner = net::HttpClient::forLoop(loop_)->request(std::move(hr));
    PromisePtr out = Promise::create();
    std::string pname = cfg.name;
    inner->onSettle([out, result, pname](const Promise& p) {
      if (!out->pending()) return;
      if (p.rejected()) {
        out->resolve(result(false, 0, redactSecrets(p.error().message)));
        return;
      }
      const net::HttpResponse& r = net::responseOf(p.value());
      std::string err;
      if (r.status >= 300) err = redactSecrets(classifyHttpError(pname, r.status, r.headers, r.body).error.message);
      out->resolve(result(true, r.status, err));
    });
    std::weak_ptr<Promise> wi = inner;
    out->setCanceller([wi] {
      if (auto i = wi.lock()) i->cancel();
    });
    return out;
  } catch (const Exception& e) {
    return Promise::resolved(result(false, 0, e.error().message));
  }
}

}  // namespace llmspell::llm
