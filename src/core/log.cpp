// Logging through spdlog's stderr sink, with secret redaction.
#include "llmspell/core/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <regex>

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
  auto lg = logger();
  switch (l) {
    case LogLevel::kDebug: lg->debug(line); break;
    case LogLevel::kInfo: lg->info(line); break;
    case LogLevel::kWarn: lg->warn(line); break;
    default: lg->error(line); break;
  }
}

std::string redactSecrets(std::string_view text) {
  static const std::regex re(
      R"((sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|gsk_[A-Za-z0-9]{8,}|(Bearer|bearer)\s+[A-Za-z0-9._\-]{8,}))");
  return std::regex_replace(std::string(text), re, "[REDACTED]");
}

}  // namespace llmspell
