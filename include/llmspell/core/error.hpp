// Error: the failure every layer reports and every script can test, with the stable codes of
// API.md. Inside C++ layers an Error travels as `Exception`; at the bridge it becomes a Value.
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell {

// The stable codes (API.md "Errors"). Scripts may create other codes with errors.new.
namespace codes {
inline constexpr std::string_view kInvalidArgument = "invalid_argument";
inline constexpr std::string_view kNotFound = "not_found";
inline constexpr std::string_view kPermissionDenied = "permission_denied";
inline constexpr std::string_view kTimeout = "timeout";
inline constexpr std::string_view kCancelled = "cancelled";
inline constexpr std::string_view kRateLimited = "rate_limited";
inline constexpr std::string_view kProviderError = "provider_error";
inline constexpr std::string_view kNetworkError = "network_error";
inline constexpr std::string_view kAuthError = "auth_error";
inline constexpr std::string_view kLimitExceeded = "limit_exceeded";
inline constexpr std::string_view kValidationFailed = "validation_failed";
inline constexpr std::string_view kBudgetExceeded = "budget_exceeded";
inline constexpr std::string_view kConfigError = "config_error";
inline constexpr std::string_view kInternal = "internal";
}  // namespace codes

// All standard codes, in API.md order.
const std::vector<std::string_view>& standardErrorCodes();

struct Error {
  std::string code = std::string(codes::kInternal);
  std::string message;
  bool retryable = false;
  Value details;        // null or an object with extra facts (status, provider, path...)
  std::string source;   // script chunk name, when known
  int line = 0;         // script line, when known (0 = unknown)
  ErrorPtr cause;       // the error this one wraps (errors.wrap), may be null

  Error() = default;
  Error(std::string_view c, std::string m, bool r = false)
      : code(c), message(std::move(m)), retryable(r) {}

  // "code: message" (plus " (at source:line)" when known).
  std::string toString() const;
  // Error as an object value {code, message, retryable, details, source, line}.
  Value toObject() const;
  // Reads an object produced by toObject (or any {code, message} table). Missing code -> internal.
  static Error fromValue(const Value& v);
};

inline ErrorPtr makeError(std::string_view code, std::string message, bool retryable = false) {
  return std::make_shared<Error>(code, std::move(message), retryable);
}

// The exception C++ layers throw; the bridge converts it into an Error value. Anything else that
// escapes a host function becomes code `internal`.
class Exception : public std::exception {
 public:
  explicit Exception(Error e) : error_(std::move(e)) { what_ = error_.toString(); }
  Exception(std::string_view code, std::string message, bool retryable = false)
      : Exception(Error(code, std::move(message), retryable)) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const Error& error() const { return error_; }
  Error& error() { return error_; }

 private:
  Error error_;
  std::string what_;
};

[[noreturn]] inline void fail(std::string_view code, std::string message, bool retryable = false) {
  throw Exception(code, std::move(message), retryable);
}

}  // namespace llmspell
