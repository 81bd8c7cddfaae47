// Logging through spdlog's stderr sink, with secret redaction.
#include "llmspell/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <regex>
#include <vector>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell {

namespace {
std::atomic<LogLevel> gLevel{LogLevel::kInfo};

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto lg = std::make_shared<spdlog::logger>("llmspell",
                                               std::make_shared<spdlog::sinks::stderr_sink_mt>());
    lg->set_pattern("%^%l%$ %v");
    lg->set_level(spdlog::level::trace);
    return lg;
  }();
  return l;
}
}  // namespace

LogLevel parseLogLevel(std::string_view s) {
  if (s == "debug" || s == "trace") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn" || s == "warning") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  if (s == "off" || s == "none") return LogLevel::kOff;
  fail(codes::kInvalidArgument,
       "unknown log level '" + std::string(s) + "' (use debug, info, warn, error or off)");
}

void setLogLevel(LogLevel l) { gLevel = l; }
LogLevel logLevel() { return gLevel; }

void logMessage(LogLevel l, std::string_view msg, const Value& fields) {
  if (l < gLevel.load() || l == LogLevel::kOff) return;
  std::string line(msg);
  if (fields.isObject()) {
    for (const auto& [k, v] : fields.asObject()) {
      line += ' ';
      line += k;
      line += '=';
      try {
        line += v.isString() ? v.asString() : toJsonText(v);
      } catch (const Exception&) {
        line += v.describe();
      }
    }
  }
  line = redactSecrets(line);
  // What the spell printed before this line comes out first: Lua's print flushes every line, but
  // JS and Tengo print leave theirs in stdout's buffer, which would put log lines (stderr, not
  // buffered) ahead of earlier output when both go to one pipe.
  std::fflush(stdout);
  auto lg = logger();
  switch (l) {
    case LogLevel::kDebug: lg->debug(line); break;
    case LogLevel::kInfo: lg->info(line); break;
    case LogLevel::kWarn: lg->warn(line); break;
    default: lg->error(line); break;
  }
}

namespace {

constexpr std::string_view kRedacted = "[REDACTED]";

// Every form a registered secret may take in text, longest first (so a form is replaced before
// a shorter one it contains).
struct SecretSet {
  std::mutex mu;
  std::vector<std::string> forms;
};

SecretSet& secrets() {
  static SecretSet s;
  return s;
}

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

std::string percentEncoded(std::string_view v, const char* hex) {
  std::string out;
  for (unsigned char c : v) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string jsonEscaped(std::string_view v, bool slash) {
  std::string out;
  for (unsigned char c : v) {
    if (c == '"' || c == '\\' || (slash && c == '/')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

void replaceAll(std::string& s, std::string_view what) {
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + kRedacted.size()))
    s.replace(at, what.size(), kRedacted);
}

}  // namespace

void addSecret(std::string_view value) {
  if (value.size() < kMinSecretLength) return;
  std::string forms[] = {std::string(value), percentEncoded(value, "0123456789ABCDEF"),
                         percentEncoded(value, "0123456789abcdef"), jsonEscaped(value, false),
                         jsonEscaped(value, true)};
  auto& s = secrets();
  std::lock_guard lk(s.mu);
  for (auto& f : forms) {
    if (std::find(s.forms.begin(), s.forms.end(), f) == s.forms.end()) s.forms.push_back(std::move(f));
  }
  std::stable_sort(s.forms.begin(), s.forms.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

std::string redactSecrets(std::string_view text) {
  std::string out(text);
  {
    auto& s = secrets();
    std::lock_guard lk(s.mu);
    for (const auto& f : s.forms) replaceAll(out, f);
  }
  // Known key shapes, for keys this process was never given (a provider echoing another key).
  // The regex is costly, so it runs only when a shape's prefix is present.
  static constexpr std::string_view kHints[] = {"sk-", "AIza", "gsk_", "earer"};
  if (std::none_of(std::begin(kHints), std::end(kHints),
                   [&](std::string_view h) { return out.find(h) != std::string::npos; }))
    return out;
  static const std::regex re(
      R"((sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|gsk_[A-Za-z0-9]{8,}|(Bearer|bearer)\s+[A-Za-z0-9._\-]{8,}))");
  return std::regex_replace(out, re, std::string(kRedacted));
}

Value redactValue(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString: return Value(redactSecrets(v.asString()));
    case ValueKind::kArray: {
      Value out = Value::array();
      for (const auto& x : v.asArray()) out.asArray().push(redactValue(x));
      return out;
    }
    case ValueKind::kObject: {
      Value out = Value::object();
      for (const auto& [k, x] : v.asObject()) out.asObject().set(k, redactValue(x));
      return out;
    }
    default: return v;
  }
}

}  // namespace llmspell
