// `json` namespace: Value <-> JSON text (core/convert does the work; this declares it).
#include "bridge/json_depth.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

void llmspell_register_json(Registry& r) {
  r.fn("json", "encode")
      .param("value", R"({})", "any value made of tables, strings, numbers, booleans and nil")
      .opt("opts", R"({"type":"object","properties":{
              "pretty":{"type":"boolean","description":"indent with 2 spaces"},
              "indent":{"type":"integer","minimum":0,"maximum":16},
              "sort_keys":{"type":"boolean","description":"sort object keys"}}})",
           "{pretty, indent, sort_keys}")
      .returns("string")
      .doc("Encodes a value as JSON text; bytes become base64, functions raise invalid_argument")
      .sync([](CallContext&, Args a) -> Value {
        JsonOptions o;
        o.pretty = a[1].getBool("pretty");
        o.sortKeys = a[1].getBool("sort_keys");
        if (a[1].get("indent").isNumber()) {
          o.pretty = true;
          o.indent = static_cast<int>(a[1].getInt("indent", 2));
        }
        return Value(toJsonText(a[0], o));
      });
  r.fn("json", "decode")
      .param("text", R"({"type":"string"})", "JSON text")
      .returns("the decoded value (objects become tables, null becomes nil)")
      .doc("Parses JSON text; a syntax error raises invalid_argument with line and column")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& text = a[0].asString();
        checkJsonDepth(text, "json.decode");
        return cx.run.memory().decodeBounded("the json.decode result", 0, [&](size_t maxNodes) {
          return parseJson(text, maxNodes);
        });
      });
  // A Lua table does not say whether it is an array or an object, and {} reads as an empty
  // object: these make one whose kind is fixed (tables made from JSON arrays are marked the same
  // way, so they stay arrays when they go back to the host).
  r.fn("json", "array")
      .opt("items", R"({"type":"array"})", "the elements (a list); none for an empty array")
      .returns("an array (in Lua a table marked as an array: it encodes as [] even when empty)")
      .doc("Makes an array that stays an array when empty: json.encode(json.array()) is []")
      .sync([](CallContext&, Args a) -> Value { return a[0].isNull() ? Value::array() : a[0]; });
  r.fn("json", "object")
      .opt("fields", R"({"type":"object"})", "the fields; none for an empty object")
      .returns("an object (in Lua a table marked as an object: it encodes as {} even with keys 1..n)")
      .doc("Makes an object that stays an object, even empty or with integer keys: json.encode(json.object()) is {}")
      .sync([](CallContext&, Args a) -> Value { return a[0].isNull() ? Value::object() : a[0]; });
}

}  // namespace llmspell
