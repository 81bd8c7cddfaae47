// `schema` namespace: JSON Schema validation and inference for spells (validateSchema does the
// checking; this adapts its "path: message" lines into {path, message} records).
#include "bridge/json_depth.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

// Splits "$.a[\"x: y\"][2]: message" at the colon that ends the path.
std::pair<std::string, std::string> splitError(const std::string& e) {
  size_t i = 0;
  while (i < e.size() && e[i] != ':' && e[i] != '[') ++i;
  while (i < e.size()) {
    if (e[i] == '[') {
      ++i;
      if (i < e.size() && e[i] == '"') {  // a quoted key: skip to its closing quote
        for (++i; i < e.size() && e[i] != '"'; ++i)
          if (e[i] == '\\') ++i;
      }
      while (i < e.size() && e[i] != ']') ++i;
      ++i;
    } else if (e[i] == ':') {
      break;
    } else {
      ++i;
    }
  }
  if (i >= e.size()) return {"$", e};
  size_t m = i + 1;
  while (m < e.size() && e[m] == ' ') ++m;
  return {e.substr(0, i), e.substr(m)};
}

Value schemaArg(const Value& s) {
  if (s.isString()) {
    checkJsonDepth(s.asString(), "schema");
    return parseJson(s.asString());
  }
  return s;
}

Value typeName(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull: return "null";
    case ValueKind::kBool: return "boolean";
    case ValueKind::kInt: return "integer";
    case ValueKind::kDouble: return "number";
    case ValueKind::kString: return "string";
    case ValueKind::kArray: return "array";
    case ValueKind::kObject: return "object";
    default: return std::string(v.kindName());
  }
}

Value merge(const Value& a, const Value& b);

Value infer(const Value& v, int depth) {
  if (depth > 64) return Value::object();
  Value s = Value::object({{"type", typeName(v)}});
  if (v.isArray()) {
    Value items;
    for (const auto& x : v.asArray())
      items = items.isNull() ? infer(x, depth + 1) : merge(items, infer(x, depth + 1));
    if (!items.isNull()) s.asObject().set("items", items);
  } else if (v.isObject()) {
    Value props = Value::object();
    std::vector<Value> req;
    for (const auto& [k, x] : v.asObject()) {
      if (x.isNull()) continue;
      props.asObject().set(k, infer(x, depth + 1));
      req.emplace_back(k);
    }
    s.asObject().set("properties", props);
    s.asObject().set("required", Value::array(std::move(req)));
  }
  return s;
}

// The most specific schema that both a and b satisfy (types unioned, properties merged,
// required intersected).
Value merge(const Value& a, const Value& b) {
  if (a == b) return a;
  std::string ta = a.getString("type"), tb = b.getString("type");
  if (!ta.empty() && ta == tb && ta == "object") {
    Value props = Value::object();
    const Value& pa = a.get("properties");
    const Value& pb = b.get("properties");
    for (const auto& [k, x] : pa.asObject()) {
      const Value* y = pb.asObject().find(k);
      props.asObject().set(k, y ? merge(x, *y) : x);
    }
    for (const auto& [k, y] : pb.asObject())
      if (!pa.asObject().contains(k)) props.asObject().set(k, y);
    std::vector<Value> req;
    for (const auto& k : a.get("required").asArray()) {
      for (const auto& k2 : b.get("required").asArray())
        if (k == k2) req.push_back(k);
    }
    return Value::object(
        {{"type", "object"}, {"properties", props}, {"required", Value::array(std::move(req))}});
  }
  if (!ta.empty() && ta == tb && ta == "array") {
    const Value& ia = a.get("items");
    const Value& ib = b.get("items");
    Value s = Value::object({{"type", "array"}});
    if (!ia.isNull() || !ib.isNull())
      s.asObject().set("items", ia.isNull() ? ib : ib.isNull() ? ia : merge(ia, ib));
    return s;
  }
  if ((ta == "integer" && tb == "number") || (ta == "number" && tb == "integer"))
    return Value::object({{"type", "number"}});
  // Different shapes: anyOf of the distinct alternatives.
  std::vector<Value> alts;
  auto add = [&](const Value& s) {
    if (s.get("anyOf").isArray()) {
      for (const auto& x : s.get("anyOf").asArray()) alts.push_back(x);
    } else {
      alts.push_back(s);
    }
  };
  add(a);
  add(b);
  std::vector<Value> uniq;
  for (auto& x : alts) {
    bool seen = false;
    for (auto& y : uniq) seen = seen || x == y;
    if (!seen) uniq.push_back(x);
  }
  return Value::object({{"anyOf", Value::array(std::move(uniq))}});
}

}  // namespace

void llmspell_register_schema(Registry& r) {
  r.fn("schema", "validate")
      .param("value", R"({})")
      .param("schema", R"({"type":["object","boolean","string"]})",
             "a JSON Schema (a table, or JSON text)")
      .returns(
          "{ok = boolean, errors = {{path, message}...}}; in Lua: local res = schema.validate(v, "
          "s); if not res.ok then ... end")
      .doc("Checks a value against a JSON Schema and lists every problem with its path")
      .sync([](CallContext&, Args a) -> Value {
        auto errs = validateSchema(a[0], schemaArg(a[1]));
        std::vector<Value> list;
        for (const auto& e : errs) {
          auto [path, msg] = splitError(e);
          list.push_back(Value::object({{"path", path}, {"message", msg}, {"text", e}}));
        }
        return Value::object({{"ok", errs.empty()}, {"errors", Value::array(std::move(list))}});
      });
  r.fn("schema", "check")
      .param("value", R"({})")
      .param("schema", R"({"type":["object","boolean","string"]})")
      .returns("the value, unchanged")
      .doc("Like validate, but raises validation_failed listing the problems (details.errors)")
      .sync([](CallContext& cx, Args a) -> Value {
        auto errs = validateSchema(a[0], schemaArg(a[1]));
        if (errs.empty()) return a[0];
        std::string msg = "schema.check: " + errs.front();
        if (errs.size() > 1) msg += " (and " + std::to_string(errs.size() - 1) + " more)";
        Error e(codes::kValidationFailed, msg);
        std::vector<Value> list(errs.begin(), errs.end());
        e.details = Value::object({{"errors", Value::array(std::move(list))}});
        throw Exception(std::move(e));
      });
  r.fn("schema", "infer")
      .param("value", R"({})", "an example value")
      .returns("a JSON Schema (table) the example satisfies: types, properties, required, items")
      .doc("Infers a schema from an example value")
      .sync([](CallContext&, Args a) -> Value { return infer(a[0], 0); });
}

}  // namespace llmspell
