// `spell` namespace: params, output, context, config, include.
#include "llmspell/bridge/registry.hpp"

namespace llmspell {

void llmspell_register_spell(Registry& r) {
  r.fn("spell", "params").property()
      .returns("table").doc("Typed spell params from the manifest defaults and --param")
      .sync([](CallContext& cx, Args) -> Value { return cx.run.params.deepCopy(); });
  r.fn("spell", "output")
      .param("value", R"({})")
      .opt("format", R"({"type":"string","enum":["text","json","yaml"],"default":"text"})")
      .returns("nil").doc("Emits a result: printed in text mode, collected in --output json")
      .sync([](CallContext& cx, Args a) -> Value {
        if (cx.run.output) cx.run.output(a[0], a[1].asString());
        return Value();
      });
  r.fn("spell", "context")
      .returns("{name, run_id, engine, data_dir, spell_dir, path}")
      .doc("Facts about this run")
      .sync([](CallContext& cx, Args) -> Value {
        return Value::object({{"name", cx.run.spellName},
                              {"run_id", cx.run.runId},
                              {"engine", cx.run.engine},
                              {"data_dir", cx.run.dataDir},
                              {"spell_dir", cx.run.spellDir},
                              {"path", cx.run.spellPath}});
      });
  r.fn("spell", "config")
      .param("key", R"({"type":"string"})", "dotted path into the manifest's config")
      .opt("default", R"({})")
      .returns("the value, or default").doc("Reads the spell's configuration")
      .sync([](CallContext& cx, Args a) -> Value {
        const Value* cur = &cx.run.config;
        std::string key = a[0].asString();
        size_t start = 0;
        while (cur && start <= key.size()) {
          size_t dot = key.find('.', start);
          std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
          cur = cur->isObject() ? cur->asObject().find(part) : nullptr;
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        return cur && !cur->isNull() ? *cur : a[1];
      });
  r.fn("spell", "include")
      .param("path", R"({"type":"string","minLength":1})", "a file inside the spell's directory")
      .returns("the included chunk's return value")
      .doc("Runs another source file of the spell and returns its value")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        if (!cx.run.include)
          return Promise::rejected(Error(codes::kInternal, "this engine does not support spell.include"));
        return cx.run.include(a[0].asString());
      });
}

}  // namespace llmspell
