// Logging for the host and for spells (`log.*`): structured lines on stderr through spdlog.
// Thread-safe. Secrets must be redacted by callers before they reach here (see redactSecrets).
#pragma once

#include <string>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell {

enum class LogLevel { kDebug, kInfo, kWarn, kError, kOff };

LogLevel parseLogLevel(std::string_view s);  // throws invalid_argument on an unknown name
void setLogLevel(LogLevel l);
LogLevel logLevel();
// Writes "LEVEL message key=value ..." to stderr when `l` is at or above the current level.
void logMessage(LogLevel l, std::string_view msg, const Value& fields = {});

// Replaces anything that looks like an API key or bearer token (sk-..., AIza..., "Bearer x")
// with "[REDACTED]".
std::string redactSecrets(std::string_view text);

}  // namespace llmspell
