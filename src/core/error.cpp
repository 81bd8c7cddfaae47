// Error formatting and conversion to and from script-visible objects.
#include "llmspell/core/error.hpp"

namespace llmspell {

const std::vector<std::string_view>& standardErrorCodes() {
  static const std::vector<std::string_view> all = {
      codes::kInvalidArgument, codes::kNotFound,       codes::kPermissionDenied,
      codes::kTimeout,         codes::kCancelled,      codes::kRateLimited,
      codes::kProviderError,   codes::kNetworkError,   codes::kAuthError,
      codes::kLimitExceeded,   codes::kValidationFailed, codes::kBudgetExceeded,
      codes::kConfigError,     codes::kInternal};
  return all;
}

std::string Error::toString() const {
  std::string s = code + ": " + message;
  if (!source.empty() && line > 0) s += " (at " + source + ":" + std::to_string(line) + ")";
  return s;
}

Value Error::toObject() const {
  Value o = Value::object({{"code", code}, {"message", message}, {"retryable", retryable}});
  if (!details.isNull()) o.asObject().set("details", details);
  if (!source.empty()) o.asObject().set("source", source);
  if (line > 0) o.asObject().set("line", int64_t{line});
  if (cause) o.asObject().set("cause", cause->toObject());
  return o;
}

Error Error::fromValue(const Value& v) {
  if (v.isError()) return *v.asError();
  Error e;
  if (v.isObject()) {
    e.code = v.getString("code", codes::kInternal);
    e.message = v.getString("message");
    e.retryable = v.getBool("retryable");
    e.details = v.get("details");
    e.source = v.getString("source");
    e.line = static_cast<int>(v.getInt("line"));
    if (v.get("cause").isObject() || v.get("cause").isError())
      e.cause = std::make_shared<Error>(fromValue(v.get("cause")));
  } else if (v.isString()) {
    e.message = v.asString();
  } else {
    e.message = v.describe();
  }
  return e;
}

}  // namespace llmspell
