#include "bridge/schema_shape.hpp"

#include <optional>
#include <string_view>

namespace llmspell {

namespace {

Value copyObject(const Value& v) {
  Value out = Value::object();
  for (const auto& [k, x] : v.asObject()) out.asObject().set(k, x);
  return out;
}

bool listKeyword(std::string_view k) {
  for (std::string_view l : {"required", "enum", "allOf", "anyOf", "oneOf", "prefixItems", "type", "examples"})
    if (k == l) return true;
  return false;
}
// Keywords whose value is a subschema (or, for items in older drafts, a list of them).
bool schemaKeyword(std::string_view k) {
  for (std::string_view s : {"items", "additionalItems", "additionalProperties", "not", "if", "then", "else",
                             "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties"})
    if (k == s) return true;
  return false;
}
// Keywords whose value maps names to subschemas.
bool schemaMapKeyword(std::string_view k) {
  for (std::string_view s : {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
    if (k == s) return true;
  return false;
}
// Keywords whose value is a list of subschemas.
bool schemaListKeyword(std::string_view k) { return k == "allOf" || k == "anyOf" || k == "oneOf" || k == "prefixItems"; }

// Each returns nullopt when nothing changed, so unchanged parts stay shared.
std::optional<Value> shape(const Value& schema, int depth);

// `v` with f applied to each element (array) or field value (object).
template <typename F>
std::optional<Value> mapEach(const Value& v, F f) {
  std::optional<Value> out;
  if (v.isArray()) {
    const Array& a = v.asArray();
    for (size_t i = 0; i < a.size(); ++i) {
      auto y = f(a[i]);
      if (!y) continue;
      if (!out) out = Value::array(a.items());
      out->asArray()[i] = std::move(*y);
    }
  } else if (v.isObject()) {
    for (const auto& [k, x] : v.asObject()) {
      auto y = f(x);
      if (!y) continue;
      if (!out) out = copyObject(v);
      out->asObject().set(k, std::move(*y));
    }
  }
  return out;
}

std::optional<Value> shape(const Value& schema, int depth) {
  if (!schema.isObject() || depth > 64) return std::nullopt;
  auto sub = [depth](const Value& s) { return shape(s, depth + 1); };
  std::optional<Value> out;
  for (const auto& [k, x] : schema.asObject()) {
    std::optional<Value> y;
    if (listKeyword(k) && x.isObject() && x.asObject().empty()) y = Value::array();
    else if (schemaListKeyword(k) || schemaMapKeyword(k) || (schemaKeyword(k) && x.isArray())) y = mapEach(x, sub);
    else if (schemaKeyword(k)) y = sub(x);
    if (!y) continue;
    if (!out) out = copyObject(schema);
    out->asObject().set(k, std::move(*y));
  }
  return out;
}

}  // namespace

Value schemaFromScript(const Value& schema) { return shape(schema, 0).value_or(schema); }

std::string optionsSchema(const std::vector<std::string_view>& names, std::string_view typeJson) {
  std::string s = "{\"type\":" + std::string(typeJson) + ",\"properties\":{";
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ",\"" : "\"") + std::string(names[i]) + "\":{}";
  return s + "}}";
}

}  // namespace llmspell
