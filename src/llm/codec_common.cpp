// Shared codec parts: header lookup, base URLs, HTTP error classification, retry-after parsing,
// in-band error detection, and the codec table.
#include <strings.h>

#include <cmath>
#include <ctime>

#include "llm/codecs.hpp"
#include "llm/json_util.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/llm/codec.hpp"

namespace llmspell::llm {

std::string headerValue(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

std::string defaultBaseUrl(std::string_view kind) {
  if (kind == "openai") return "https://api.openai.com/v1";
  if (kind == "anthropic") return "https://api.anthropic.com";
  if (kind == "gemini") return "https://generativelanguage.googleapis.com/v1beta";
  if (kind == "ollama") return "http://localhost:11434";
  return "";
}

WireRequest Codec::encodeEmbed(const std::vector<std::string>&, const std::string&, const Value&,
                               const ProviderConfig& cfg) const {
  fail(codes::kInvalidArgument, "provider " + cfg.name + " has no embeddings endpoint");
}
std::vector<std::vector<double>> Codec::decodeEmbed(std::string_view) const { return {}; }
WireRequest Codec::encodeListModels(const ProviderConfig& cfg) const {
  fail(codes::kInvalidArgument, "provider " + cfg.name + " cannot list models");
}
Value Codec::decodeListModels(std::string_view) const { return Value::array(); }

const Codec& codecFor(std::string_view kind) {
  static const OpenAiCodec openai(false);
  static const OpenAiCodec compat(true);
  static const AnthropicCodec anthropic;
  static const GeminiCodec gemini;
  static const OllamaCodec ollama;
  if (kind == "openai") return openai;
  if (kind == "openai-compatible") return compat;
  if (kind == "anthropic") return anthropic;
  if (kind == "gemini") return gemini;
  if (kind == "ollama") return ollama;
  fail(codes::kInvalidArgument, "unknown provider kind \"" + std::string(kind) +
                                    "\" (expected openai, anthropic, gemini, ollama, openai-compatible)");
}

namespace {

std::optional<double> parseDurationSeconds(std::string_view s) {
  // "34.4s" (protobuf Duration)
  if (s.empty()) return std::nullopt;
  std::string t(s);
  if (t.back() == 's') t.pop_back();
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || !std::isfinite(d)) return std::nullopt;
  return d;
}

}  // namespace

std::optional<double> parseRetryAfter(const Headers& headers, std::string_view body,
                                      std::chrono::system_clock::time_point now) {
  std::string ms = headerValue(headers, "retry-after-ms");
  if (!ms.empty()) {
    char* end = nullptr;
    double d = std::strtod(ms.c_str(), &end);
    if (end != ms.c_str() && std::isfinite(d) && d >= 0) return d / 1000.0;
  }
  std::string ra = headerValue(headers, "retry-after");
  if (!ra.empty()) {
    char* end = nullptr;
    double d = std::strtod(ra.c_str(), &end);
    if (end != ra.c_str() && *end == '\0' && std::isfinite(d) && d >= 0) return d;
    std::tm tm{};
    const char* p = strptime(ra.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
    if (p != nullptr) {
      time_t when = timegm(&tm);
      double delta = std::difftime(when, std::chrono::system_clock::to_time_t(now));
      return delta > 0 ? delta : 0.0;
    }
  }
  if (!body.empty() && body.find("RetryInfo") != std::string_view::npos) {
    try {
      auto j = ojson::parse(body.begin(), body.end());
      const ojson* err = field(j, "error");
      const ojson* details = err ? field(*err, "details") : nullptr;
      if (details && details->is_array()) {
        for (const auto& d : *details) {
          if (str(d, "@type").find("RetryInfo") != std::string::npos) {
            if (auto s = parseDurationSeconds(str(d, "retryDelay"))) return s;
          }
        }
      }
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

namespace {

struct ErrorBody {
  std::string message, type, code;
  bool found = false;
};

ErrorBody readErrorBody(std::string_view body) {
  ErrorBody e;
  ojson j;
  try {
    j = ojson::parse(body.begin(), body.end());
  } catch (const std::exception&) {
    return e;
  }
  if (!j.is_object()) return e;
  auto codeText = [](const ojson* c) -> std::string {
    if (!c) return "";
    if (c->is_string()) return c->get<std::string>();
    if (c->is_number()) return std::to_string(c->get<int64_t>());
    return "";
  };
  if (const ojson* err = field(j, "error")) {
    e.found = true;
    if (err->is_string()) {  // Ollama, LM Studio, vLLM auth
      e.message = err->get<std::string>();
      return e;
    }
    e.message = str(*err, "message");
    e.type = str(*err, "type");
    if (e.type.empty()) e.type = str(*err, "status");  // Gemini RPC status
    e.code = codeText(field(*err, "code"));
    if (const ojson* det = field(*err, "details"); det && det->is_array()) {  // Gemini ErrorInfo
      for (const auto& d : *det) {
        if (!str(d, "reason").empty()) e.code = str(d, "reason");
      }
    }
    if (const ojson* det = field(*err, "details"); det && det->is_object()) {  // Anthropic spend
      if (!str(*det, "error_code").empty()) e.code = str(*det, "error_code");
    }
    return e;
  }
  if (str(j, "object") == "error") {  // old vLLM
    e.found = true;
    e.message = str(j, "message");
    e.type = str(j, "type");
    e.code = codeText(field(j, "code"));
  }
  return e;
}

}  // namespace

HttpFailure classifyHttpError(std::string_view provider, int status, const Headers& headers,
                              std::string_view body) {
  if (status >= 300 && status < 400) {
    // Provider calls never follow redirects: the key would go wherever the answer points.
    std::string loc = headerValue(headers, "location");
    Error err(codes::kProviderError,
              std::string(provider) + " answered HTTP " + std::to_string(status) +
                  (loc.empty() ? std::string() : " (a redirect to " + redactSecrets(loc) + ")") +
                  "; provider calls do not follow redirects: configure the provider's final "
                  "base URL",
              false);
    err.details = Value::object({{"status", status}, {"provider", std::string(provider)}});
    return {std::move(err), std::nullopt};
  }
  ErrorBody eb = readErrorBody(body);
  std::string msg = eb.message;
  if (msg.empty()) {
    std::string b(body.substr(0, 300));
    msg = b.empty() ? "no error message" : b;
  }
  std::string_view code = codes::kProviderError;
  bool retryable = false;
  if (status == 401 || status == 403 || eb.code == "API_KEY_INVALID" ||
      eb.type == "authentication_error") {
    code = codes::kAuthError;
  } else if (status == 429) {
    code = codes::kRateLimited;
    retryable = !(eb.code == "insufficient_quota" || eb.code == "enforced_spend_limit_reached");
  } else if (status == 408) {
    code = codes::kTimeout;
    retryable = true;
  } else if (status == 404) {
    code = codes::kNotFound;
  } else if (status == 400 || status == 413 || status == 422) {
    code = codes::kInvalidArgument;
  } else if (status == 409 || status >= 500) {
    code = codes::kProviderError;
    retryable = true;
  }
  std::string xsr = headerValue(headers, "x-should-retry");
  if (xsr == "true") retryable = true;
  if (xsr == "false") retryable = false;

  std::optional<double> retryAfter = parseRetryAfter(headers, body);
  std::string what = std::string(provider) + " returned HTTP " + std::to_string(status);
  if (status == 529) what += " (overloaded)";
  std::string why;
  if (status == 429 && (eb.code == "insufficient_quota" || eb.code == "enforced_spend_limit_reached")) {
    // Waiting does not refill a quota: say why this 429, unlike a rate limit, is not retried.
    why = " (not retried: the account's quota or spend limit is exhausted, " + eb.code + ")";
  }
  Error err(code, what + ": " + redactSecrets(msg) + why, retryable);
  Value details = Value::object({{"status", status}, {"provider", std::string(provider)}});
  if (!eb.type.empty()) details.asObject().set("type", eb.type);
  if (!eb.code.empty()) details.asObject().set("provider_code", eb.code);
  std::string rid = headerValue(headers, "x-request-id");
  if (rid.empty()) rid = headerValue(headers, "request-id");
  if (!rid.empty()) details.asObject().set("request_id", rid);
  if (retryAfter) details.asObject().set("retry_after", *retryAfter);
  err.details = details;
  return {std::move(err), retryAfter};
}

std::optional<Error> inBandError(std::string_view provider, std::string_view json) {
  // Cheap pre-check: most chunks have no error.
  if (json.find("\"error\"") == std::string_view::npos) return std::nullopt;
  ErrorBody eb = readErrorBody(json);
  if (!eb.found) return std::nullopt;
  std::string_view code = codes::kProviderError;
  bool retryable = false;
  if (eb.type == "overloaded_error" || eb.type == "api_error" || eb.type == "server_error" ||
      eb.code == "server_error" || eb.type == "UNAVAILABLE" || eb.type == "INTERNAL") {
    retryable = true;
  }
  if (eb.type == "rate_limit_error" || eb.type == "RESOURCE_EXHAUSTED") {
    code = codes::kRateLimited;
    retryable = true;
  }
  Error err(code, std::string(provider) + " reported an error: " +
                      redactSecrets(eb.message.empty() ? "unknown error" : eb.message),
            retryable);
  Value details = Value::object({{"provider", std::string(provider)}, {"in_stream", true}});
  if (!eb.type.empty()) details.asObject().set("type", eb.type);
  if (!eb.code.empty()) details.asObject().set("provider_code", eb.code);
  err.details = details;
  return err;
}

}  // namespace llmspell::llm
