// spell.yaml parsing with line numbers, and typing of --param values against the manifest.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>

#include "llmspell/core/convert.hpp"
#include "llmspell/spell/spell.hpp"

namespace llmspell {

std::string Diagnostic::toString() const {
  std::string s = file;
  if (line > 0) s += ":" + std::to_string(line);
  return s + ": " + message;
}

namespace {

int lineOf(const YAML::Node& root, std::initializer_list<const char*> path) {
  try {
    YAML::Node n = root;
    int line = 0;
    for (const char* k : path) {
      if (!n.IsMap() || !n[k]) break;
      n = n[k];
      line = n.Mark().line + 1;
    }
    return line;
  } catch (...) {
    return 0;
  }
}

std::vector<std::string> stringList(const Value& v) {
  std::vector<std::string> out;
  if (v.isString()) out.push_back(v.asString());
  if (v.isArray())
    for (const auto& x : v.asArray())
      if (x.isString()) out.push_back(x.asString());
  return out;
}

const char* const kTopKeys[] = {"name", "version", "description", "engine", "entry", "params",
                                "permissions", "limits", "model", "config", "author", "tags",
                                "outputs", "tools", "agents"};
const char* const kParamTypes[] = {"string", "integer", "number", "boolean", "array", "object"};

}  // namespace

std::optional<Manifest> parseManifest(const std::string& text, const std::string& file,
                                      std::vector<Diagnostic>& diags) {
  Manifest m;
  YAML::Node root;
  try {
    root = YAML::Load(text);
    m.raw = parseYaml(text);
  } catch (const YAML::Exception& e) {
    diags.push_back({file, e.mark.line + 1, "invalid YAML: " + e.msg});
    return std::nullopt;
  } catch (const Exception& e) {
    diags.push_back({file, 0, e.error().message});
    return std::nullopt;
  }
  if (!m.raw.isObject()) {
    diags.push_back({file, 1, "a manifest must be a mapping (name: ..., entry: ...)"});
    return std::nullopt;
  }
  size_t before = diags.size();
  auto err = [&](std::initializer_list<const char*> path, std::string msg) {
    diags.push_back({file, lineOf(root, path), std::move(msg)});
  };
  for (const auto& [k, v] : m.raw.asObject()) {
    if (std::find_if(std::begin(kTopKeys), std::end(kTopKeys),
                     [&](const char* t) { return k == t; }) == std::end(kTopKeys))
      diags.push_back({file, lineOf(root, {k.c_str()}), "unknown key '" + k + "' (ignored)"});
  }
  auto str = [&](const char* key, std::string& out) {
    const Value& v = m.raw.get(key);
    if (v.isNull()) return;
    if (v.isString()) out = v.asString();
    else if (v.isNumber()) out = toJsonText(v);
    else err({key}, std::string("'") + key + "' must be a string");
  };
  str("name", m.name);
  str("version", m.version);
  str("description", m.description);
  str("engine", m.engine);
  str("entry", m.entry);
  str("model", m.model);
  if (!m.engine.empty() && !findEngine(m.engine))
    err({"engine"}, "unknown engine '" + m.engine + "' (this build has: lua, tengo)");
  const Value& params = m.raw.get("params");
  if (!params.isNull()) {
    if (!params.isObject()) {
      err({"params"}, "'params' must be a mapping of name: {type, required, default, description}");
    } else {
      for (const auto& [name, spec] : params.asObject()) {
        Value s = spec;
        if (s.isString()) s = Value::object({{"type", s}});
        if (!s.isObject()) {
          err({"params", name.c_str()}, "param '" + name + "' must be a mapping like {type: string}");
          continue;
        }
        std::string type = s.getString("type", "string");
        if (std::find_if(std::begin(kParamTypes), std::end(kParamTypes),
                         [&](const char* t) { return type == t; }) == std::end(kParamTypes))
          err({"params", name.c_str()}, "param '" + name + "' has unknown type '" + type +
                                            "' (use string, integer, number, boolean, array or object)");
        if (!s.asObject().contains("type")) s.asObject().set("type", type);
        m.params.asObject().set(name, s);
      }
    }
  }
  const Value& perms = m.raw.get("permissions");
  if (!perms.isNull()) {
    if (!perms.isObject()) {
      err({"permissions"}, "'permissions' must be a mapping with net, read, write, env, run");
    } else {
      for (const auto& [k, v] : perms.asObject()) {
        if (k == "run") {
          if (!v.isBool()) err({"permissions", "run"}, "'permissions.run' must be true or false");
          else m.run = v.asBool();
          continue;
        }
        if (k != "net" && k != "read" && k != "write" && k != "env") {
          err({"permissions", k.c_str()}, "unknown permission '" + k + "' (use net, read, write, env, run)");
          continue;
        }
        if (!v.isArray() && !v.isString() && !v.isNull()) {
          err({"permissions", k.c_str()}, "'permissions." + k + "' must be a list of strings");
          continue;
        }
        auto list = stringList(v);
        (k == "net" ? m.net : k == "read" ? m.read : k == "write" ? m.write : m.env) = list;
      }
    }
  }
  const Value& limits = m.raw.get("limits");
  if (!limits.isNull()) {
    if (!limits.isObject()) err({"limits"}, "'limits' must be a mapping");
    else {
      for (const auto& [k, v] : limits.asObject()) {
        if (!v.isNumber() || v.asNumber() < 0)
          err({"limits", k.c_str()}, "'limits." + k + "' must be a non-negative number");
      }
      m.limits = limits;
    }
  }
  if (m.raw.get("config").isObject()) m.config = m.raw.get("config");
  // Only "unknown key" diagnostics are warnings; anything else makes the manifest unusable.
  for (size_t i = before; i < diags.size(); ++i)
    if (diags[i].message.find("(ignored)") == std::string::npos) return std::nullopt;
  return m;
}

namespace {
Value typeOne(const std::string& name, const std::string& type, const std::string& raw) {
  auto bad = [&](const std::string& what) {
    fail(codes::kInvalidArgument,
         "param '" + name + "': expected " + what + ", got '" + raw + "'");
  };
  if (type == "string") return Value(raw);
  if (type == "integer") {
    try {
      size_t pos = 0;
      long long v = std::stoll(raw, &pos, 10);
      if (pos != raw.size()) bad("an integer");
      return Value(static_cast<int64_t>(v));
    } catch (const std::logic_error&) {
      bad("an integer");
    }
  }
  if (type == "number") {
    try {
      size_t pos = 0;
      double v = std::stod(raw, &pos);
      if (pos != raw.size() || !std::isfinite(v)) bad("a number");
      return Value(v);
    } catch (const std::logic_error&) {
      bad("a number");
    }
  }
  if (type == "boolean") {
    if (raw == "true" || raw == "1" || raw == "yes") return Value(true);
    if (raw == "false" || raw == "0" || raw == "no") return Value(false);
    bad("true or false");
  }
  if (type == "array" || type == "object") {
    Value v;
    try {
      v = parseJson(raw);
    } catch (const Exception&) {
      bad("a JSON " + type);
    }
    if ((type == "array") != v.isArray() || (type == "object" && !v.isObject()))
      bad("a JSON " + type);
    return v;
  }
  // Undeclared: infer.
  try {
    size_t pos = 0;
    long long i = std::stoll(raw, &pos, 10);
    if (pos == raw.size()) return Value(static_cast<int64_t>(i));
    double d = std::stod(raw, &pos);
    if (pos == raw.size()) return Value(d);
  } catch (const std::logic_error&) {
  }
  if (raw == "true") return Value(true);
  if (raw == "false") return Value(false);
  return Value(raw);
}
}  // namespace

Value typeParams(const Value& declared, const std::vector<std::pair<std::string, std::string>>& raw) {
  Value out = Value::object();
  bool hasDecl = declared.isObject() && !declared.asObject().empty();
  for (const auto& [k, v] : raw) {
    const Value& spec = declared.get(k);
    if (hasDecl && spec.isNull()) {
      std::string names;
      for (const auto& [n, s] : declared.asObject()) names += (names.empty() ? "" : ", ") + n;
      fail(codes::kInvalidArgument, "unknown param '" + k + "' (this spell takes: " + names + ")");
    }
    Value typed = typeOne(k, spec.isNull() ? "" : spec.getString("type", "string"), v);
    const Value& en = spec.get("enum");
    if (en.isArray()) {
      bool found = false;
      for (const auto& x : en.asArray()) found = found || x == typed;
      if (!found) fail(codes::kInvalidArgument, "param '" + k + "': '" + v + "' is not one of " + toJsonText(en));
    }
    out.asObject().set(k, typed);
  }
  if (declared.isObject()) {
    for (const auto& [name, spec] : declared.asObject()) {
      if (out.asObject().contains(name)) continue;
      if (!spec.get("default").isNull()) out.asObject().set(name, spec.get("default"));
      else if (spec.getBool("required"))
        fail(codes::kInvalidArgument, "missing required param '" + name + "'; pass --param " + name + "=...");
    }
  }
  return out;
}

}  // namespace llmspell
