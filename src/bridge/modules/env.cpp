// `env` namespace: environment variables, each one checked against the spell's --allow-env grants.
#include <cstdlib>

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

void llmspell_register_env(Registry& r) {
  r.fn("env", "get")
      .param("name", R"({"type":"string","minLength":1})", "variable name")
      .opt("default", R"({})", "returned when the variable is not set")
      .permission(Permission::kEnv)
      .returns("string, or default (nil) when unset")
      .doc("Reads an environment variable; needs --allow-env=NAME (or a NAME_* prefix grant)")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& name = a[0].asString();
        cx.run.permissions().checkEnv(name);
        const char* v = std::getenv(name.c_str());
        return v ? Value(std::string(v)) : a[1];
      });
  r.fn("env", "has")
      .param("name", R"({"type":"string","minLength":1})")
      .permission(Permission::kEnv)
      .returns("boolean")
      .doc("Whether an environment variable is set; needs --allow-env=NAME")
      .sync([](CallContext& cx, Args a) -> Value {
        cx.run.permissions().checkEnv(a[0].asString());
        return Value(std::getenv(a[0].asString().c_str()) != nullptr);
      });
}

}  // namespace llmspell
