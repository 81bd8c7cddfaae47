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

// The one place that knows the run's secrets. Replaces every registered secret (addSecret)
// wherever it appears, also percent-encoded (either hex case) and JSON-escaped, and anything
// that looks like an API key or bearer token (sk-..., AIza..., gsk_..., "Bearer x"), with
// "[REDACTED]". Errors, logs, recordings, recorded events, the call log and the CLI's output
// pass through it. Thread-safe.
std::string redactSecrets(std::string_view text);
// The same for every string inside `v` (arrays and objects walked; keys kept).
Value redactValue(const Value& v);

// Registers a secret value (an API key, a credential header's value) for redactSecrets, for the
// rest of the process. Values shorter than kMinSecretLength are ignored: masking them would
// mangle ordinary text, and no real key is that short. Thread-safe.
inline constexpr size_t kMinSecretLength = 6;
void addSecret(std::string_view value);

}  // namespace llmspell
