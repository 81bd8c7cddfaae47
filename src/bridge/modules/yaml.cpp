// `yaml` namespace: Value <-> YAML text (core/convert does the work; this declares it).
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

// Memory the decode takes outside the VM, bounded before it is built: yaml-cpp's node graph,
// about kGraphBytesPerByte per byte of text (measured: a 1 MB flow list of one-letter scalars
// peaks near 180 MB, some 500 bytes per node), and the result tree, bounded by a node count
// (which is what stops an alias bomb): the smaller of the text-derived default and what the
// spell's memory has room for.
constexpr size_t kGraphBytesPerByte = 192;

Value decode(CallContext& cx, const std::string& text) {
  MemoryBudget& mem = cx.run.memory();
  mem.require(text.size() * kGraphBytesPerByte,
              "yaml.decode of " + std::to_string(text.size()) + " bytes of text");
  return mem.decodeBounded("the yaml.decode result (aliases repeat what they point to)",
                           yamlDefaultMaxNodes(text.size()),
                           [&](size_t maxNodes) { return parseYaml(text, maxNodes); });
}

}  // namespace

void llmspell_register_yaml(Registry& r) {
  r.fn("yaml", "encode")
      .param("value", R"({})", "any value made of tables, strings, numbers, booleans and nil")
      .returns("string")
      .doc("Encodes a value as block-style YAML text")
      .sync([](CallContext&, Args a) -> Value { return Value(toYamlText(a[0])); });
  r.fn("yaml", "decode")
      .param("text", R"({"type":"string"})", "YAML text (one document)")
      .returns("the decoded value")
      .doc("Parses YAML (core schema); a syntax error raises invalid_argument with line and "
           "column, a document that expands past the memory limit (aliases) limit_exceeded")
      .sync([](CallContext& cx, Args a) -> Value { return decode(cx, a[0].asString()); });
}

}  // namespace llmspell
