// `yaml` namespace: Value <-> YAML text (core/convert does the work; this declares it).
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

void llmspell_register_yaml(Registry& r) {
  r.fn("yaml", "encode")
      .param("value", R"({})", "any value made of tables, strings, numbers, booleans and nil")
      .returns("string")
      .doc("Encodes a value as block-style YAML text")
      .sync([](CallContext&, Args a) -> Value { return Value(toYamlText(a[0])); });
  r.fn("yaml", "decode")
      .param("text", R"({"type":"string"})", "YAML text (one document)")
      .returns("the decoded value")
      .doc("Parses YAML (core schema); a syntax error raises invalid_argument with line and column")
      .sync([](CallContext&, Args a) -> Value { return parseYaml(a[0].asString()); });
}

}  // namespace llmspell
