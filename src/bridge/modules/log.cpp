// `log` namespace: structured log lines from spells, plus loggers bound to fields (log.with).
#include "llmspell/core/log.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

// A logger from log.with(fields): every line it writes carries its fields. Immutable, so it is
// safe to share between coroutines and threads.
class BoundLogger : public HostObject {
 public:
  explicit BoundLogger(Value fields) : fields_(std::move(fields)) {}
  std::string_view typeName() const override { return "logger"; }
  const Value& fields() const { return fields_; }

 private:
  Value fields_;
};

// Fields of a bound logger merged with per-call fields (per-call ones win).
Value mergeFields(const Value& base, const Value& extra) {
  if (!extra.isObject() || extra.asObject().empty()) return base;
  if (!base.isObject() || base.asObject().empty()) return extra;
  Value out = base.deepCopy();
  for (const auto& [k, v] : extra.asObject()) out.asObject().set(k, v);
  return out;
}

const BoundLogger& loggerOf(const Value& v) {
  auto* l = dynamic_cast<const BoundLogger*>(v.asHandle().get());
  if (!l)
    fail(codes::kInvalidArgument,
         "expected a logger from log.with, got " + std::string(v.asHandle()->typeName()));
  return *l;
}

std::string messageText(const Value& v) {
  return v.isString() ? v.asString() : toJsonText(v);
}

struct LevelName {
  const char* name;
  LogLevel level;
};
constexpr LevelName kLevels[] = {{"debug", LogLevel::kDebug},
                                 {"info", LogLevel::kInfo},
                                 {"warn", LogLevel::kWarn},
                                 {"error", LogLevel::kError}};

std::string levelName(LogLevel l) {
  for (const auto& x : kLevels)
    if (x.level == l) return x.name;
  return "off";
}

}  // namespace

void llmspell_register_log(Registry& r) {
  r.type("logger", "A logger from log.with(fields); its lines carry those fields");
  for (const auto& lv : kLevels) {
    LogLevel level = lv.level;
    r.fn("log", lv.name)
        .param("message", R"({"type":["string","number","boolean"]})")
        .opt("fields", R"({"type":"object"})", "key/value pairs appended to the line")
        .returns("nil")
        .doc(std::string(lv.name[0] == 'i' || lv.name[0] == 'e' ? "Writes an " : "Writes a ") +
             lv.name + " line to stderr (secrets are redacted)")
        .sync([level](CallContext&, Args a) -> Value {
          logMessage(level, messageText(a[0]), a[1]);
          return Value();
        });
    r.method("logger", lv.name)
        .param("self", R"({"type":"handle"})")
        .param("message", R"({"type":["string","number","boolean"]})")
        .opt("fields", R"({"type":"object"})", "more fields for this line")
        .returns("nil")
        .doc(std::string(lv.name[0] == 'i' || lv.name[0] == 'e' ? "Writes an " : "Writes a ") +
             lv.name + " line with the logger's fields")
        .sync([level](CallContext&, Args a) -> Value {
          const auto& l = loggerOf(a[0]);
          logMessage(level, messageText(a[1]), mergeFields(l.fields(), a[2]));
          return Value();
        });
  }
  r.fn("log", "with")
      .param("fields", R"({"type":"object"})", "fields every line of the new logger carries")
      .returns("logger")
      .doc("A logger whose lines carry `fields`: l = log.with{run = 1}; l:info(\"x\")")
      .sync([](CallContext&, Args a) -> Value {
        return Value(HostObjectPtr(std::make_shared<BoundLogger>(a[0].deepCopy())));
      });
  r.method("logger", "with")
      .param("self", R"({"type":"handle"})")
      .param("fields", R"({"type":"object"})")
      .returns("logger")
      .doc("A child logger with more fields")
      .sync([](CallContext&, Args a) -> Value {
        const auto& l = loggerOf(a[0]);
        return Value(
            HostObjectPtr(std::make_shared<BoundLogger>(mergeFields(l.fields(), a[1].deepCopy()))));
      });
  r.fn("log", "level")
      .opt("level", R"({"enum":["debug","info","warn","error","off"]})",
           "the new minimum level; omit to only read it")
      .returns("the previous level name")
      .doc("Sets (or reads) the minimum level written")
      .sync([](CallContext&, Args a) -> Value {
        std::string prev = levelName(logLevel());
        if (a[0].isString()) setLogLevel(parseLogLevel(a[0].asString()));
        return Value(prev);
      });
}

}  // namespace llmspell
