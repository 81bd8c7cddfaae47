// Reference docs from the registry (`llmspell docs`): Markdown for people, JSON for tools, and a
// LuaLS `---@meta` stub file so editors complete and type-check spells.
#include "llmspell/bridge/docs.hpp"

#include <algorithm>
#include <set>
#include <sstream>

#include "llmspell/core/convert.hpp"

namespace llmspell {

const std::vector<std::string_view>& docFormats() {
  static const std::vector<std::string_view> f{"md", "json", "lua-meta"};
  return f;
}

namespace {

// ---- shared helpers ----

struct Grouped {
  std::vector<const FunctionDecl*> globals;
  std::vector<std::pair<std::string, std::vector<const FunctionDecl*>>> namespaces;
  // Every host type: declared ones first (with docs), then types only seen through methods.
  std::vector<std::pair<std::string, std::string>> types;                         // name, doc
  std::vector<std::pair<std::string, std::vector<const FunctionDecl*>>> methods;  // by type
};

Grouped group(const Registry& reg) {
  Grouped g;
  for (const auto& ns : reg.namespaces())
    g.namespaces.emplace_back(ns, std::vector<const FunctionDecl*>{});
  std::set<std::string> typeSeen;
  for (const auto& t : reg.types()) {
    if (typeSeen.insert(t.name).second) g.types.emplace_back(t.name, t.doc);
  }
  for (const auto& f : reg.functions()) {
    if (!f.self.empty()) {
      if (typeSeen.insert(f.self).second) g.types.emplace_back(f.self, "");
      auto it = std::find_if(g.methods.begin(), g.methods.end(),
                             [&](const auto& m) { return m.first == f.self; });
      if (it == g.methods.end()) {
        g.methods.emplace_back(f.self, std::vector<const FunctionDecl*>{});
        it = g.methods.end() - 1;
      }
      it->second.push_back(&f);
    } else if (f.ns.empty()) {
      g.globals.push_back(&f);
    } else {
      for (auto& [name, list] : g.namespaces)
        if (name == f.ns) list.push_back(&f);
    }
  }
  return g;
}

const std::vector<const FunctionDecl*>* methodsOf(const Grouped& g, const std::string& type) {
  for (const auto& [t, list] : g.methods)
    if (t == type) return &list;
  return nullptr;
}

// Parameters a script passes: methods take `self` implicitly (obj:method(...)).
std::vector<const ParamDecl*> scriptParams(const FunctionDecl& f) {
  std::vector<const ParamDecl*> out;
  for (size_t i = 0; i < f.params.size(); ++i) {
    if (!f.self.empty() && i == 0) continue;
    out.push_back(&f.params[i]);
  }
  return out;
}

std::string jsonText(const Value& v) {
  try {
    return toJsonText(v);
  } catch (...) {
    return v.describe();
  }
}

// A type as people read it: "string", "integer or nil", "\"utc\" | \"local\"", "array of string".
std::string humanType(const Value& schema) {
  if (!schema.isObject()) return "any";
  if (const Value& e = schema.get("enum"); e.isArray()) {
    std::string s;
    for (const auto& x : e.asArray()) s += (s.empty() ? "" : " | ") + jsonText(x);
    return s;
  }
  const Value& t = schema.get("type");
  if (t.isString()) {
    if (t.asString() == "array" && schema.get("items").isObject())
      return "array of " + humanType(schema.get("items"));
    return t.asString();
  }
  if (t.isArray()) {
    std::string s;
    for (const auto& x : t.asArray())
      s += (s.empty() ? "" : " | ") + (x.isString() ? x.asString() : "?");
    return s;
  }
  if (schema.get("anyOf").isArray() || schema.get("oneOf").isArray()) {
    const Value& alts = schema.get("anyOf").isArray() ? schema.get("anyOf") : schema.get("oneOf");
    std::string s;
    for (const auto& x : alts.asArray()) s += (s.empty() ? "" : " | ") + humanType(x);
    return s;
  }
  return "any";
}

std::string signature(const FunctionDecl& f, bool asyncTwin = false) {
  std::string s;
  if (!f.self.empty())
    s = f.self + ":" + f.name;
  else
    s = f.ns.empty() ? f.name : f.ns + "." + f.name;
  if (asyncTwin) s += "_async";
  if (f.property) return s;
  s += "(";
  bool first = true;
  for (const auto* p : scriptParams(f)) {
    if (!first) s += ", ";
    first = false;
    s += p->name;
    if (!p->required) s += "?";
  }
  if (f.variadic) s += first ? "..." : ", ...";
  return s + ")";
}

std::string mdEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n')
      out += ' ';
    else
      out += c;
  }
  return out;
}

std::string anchor(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')
      out += static_cast<char>(std::tolower(c));
  }
  return out;
}

// ---- Markdown ----

void mdFunction(std::ostringstream& o, const FunctionDecl& f) {
  o << "### `" << signature(f) << "`";
  if (f.async) o << " *async*";
  if (f.property) o << " *value*";
  o << "\n\n";
  if (!f.doc.empty()) o << f.doc << "\n\n";
  auto params = scriptParams(f);
  if (!params.empty()) {
    o << "| parameter | type | required | default | description |\n"
      << "| --- | --- | --- | --- | --- |\n";
    for (const auto* p : params) {
      const Value& d = p->schema.get("default");
      o << "| `" << p->name << "` | " << mdEscape(humanType(p->schema)) << " | "
        << (p->required ? "yes" : "no") << " | "
        << (d.isNull() ? "" : "`" + mdEscape(jsonText(d)) + "`") << " | " << mdEscape(p->doc)
        << " |\n";
    }
    if (f.variadic) o << "| `...` | any | no | | further arguments |\n";
    o << "\n";
  } else if (f.variadic) {
    o << "Takes any arguments.\n\n";
  }
  if (!f.returns.empty()) o << "**Returns:** " << f.returns << "\n\n";
  if (f.async) {
    o << "**Async:** in Lua and Tengo the call suspends the spell until the result is ready; `"
      << signature(f, true) << "` returns a promise instead";
    // The registry applies `timeout` from a trailing options object.
    bool opts = !f.params.empty() && f.params.back().schema.getString("type") == "object";
    o << (opts ? ". Accepts `timeout` (seconds) in its options; can be cancelled.\n\n"
               : ". Can be cancelled.\n\n");
  }
  if (f.permission != Permission::kNone)
    o << "**Permission:** needs `" << permissionFlag(f.permission) << "`.\n\n";
}

std::string renderMarkdown(const Registry& reg) {
  Grouped g = group(reg);
  std::ostringstream o;
  o << "# llmspell script API reference\n\n"
    << "Generated by `llmspell docs` from the function registry, so it matches the runtime "
       "exactly. Names are shown in Lua form; JavaScript uses camelCase and Tengo imports each "
       "namespace as a module. A `?` after a parameter marks it optional; options are always the "
       "last argument.\n\n"
    << "Failures raise error objects `{code, message, retryable, details}` with codes: ";
  bool first = true;
  for (auto c : standardErrorCodes()) {
    o << (first ? "" : ", ") << "`" << c << "`";
    first = false;
  }
  o << ".\n\n## Contents\n\n";
  if (!g.globals.empty()) o << "- [Globals](#globals)\n";
  for (const auto& [ns, _] : g.namespaces) o << "- [`" << ns << "`](#" << anchor(ns) << ")\n";
  if (!g.types.empty()) o << "- [Types](#types)\n";
  o << "\n";
  if (!g.globals.empty()) {
    o << "## Globals\n\n";
    for (const auto* f : g.globals) mdFunction(o, *f);
  }
  for (const auto& [ns, fns] : g.namespaces) {
    o << "## " << ns << "\n\n";
    for (const auto* f : fns) mdFunction(o, *f);
  }
  if (!g.types.empty()) {
    o << "## Types\n\nHost objects returned by the functions above; call their methods with "
         "`obj:method(...)`.\n\n";
    for (const auto& [name, doc] : g.types) {
      o << "## type `" << name << "`\n\n";
      if (!doc.empty()) o << doc << "\n\n";
      if (const auto* ms = methodsOf(g, name))
        for (const auto* f : *ms) mdFunction(o, *f);
    }
  }
  return o.str();
}

// ---- JSON ----

Value functionJson(const FunctionDecl& f) {
  std::vector<Value> params;
  for (const auto* p : scriptParams(f)) {
    Value pj = Value::object({{"name", p->name},
                              {"required", p->required},
                              {"type", humanType(p->schema)},
                              {"schema", p->schema}});
    if (!p->doc.empty()) pj.asObject().set("description", p->doc);
    if (!p->schema.get("default").isNull()) pj.asObject().set("default", p->schema.get("default"));
    params.push_back(std::move(pj));
  }
  Value o = Value::object({{"name", f.name},
                           {"qualified_name", f.qualifiedName()},
                           {"signature", signature(f)},
                           {"doc", f.doc},
                           {"params", Value::array(std::move(params))},
                           {"returns", f.returns},
                           {"async", f.async}});
  if (!f.ns.empty()) o.asObject().set("namespace", f.ns);
  if (!f.self.empty()) o.asObject().set("type", f.self);
  if (f.async) o.asObject().set("async_twin", signature(f, true));
  if (f.variadic) o.asObject().set("variadic", true);
  if (f.property) o.asObject().set("property", true);
  o.asObject().set("permission", f.permission == Permission::kNone
                                     ? Value()
                                     : Value(std::string(permissionFlag(f.permission))));
  return o;
}

std::string renderJson(const Registry& reg) {
  Grouped g = group(reg);
  std::vector<Value> globals, namespaces, types, errs;
  for (const auto* f : g.globals) globals.push_back(functionJson(*f));
  for (const auto& [ns, fns] : g.namespaces) {
    std::vector<Value> list;
    for (const auto* f : fns) list.push_back(functionJson(*f));
    namespaces.push_back(
        Value::object({{"name", ns}, {"functions", Value::array(std::move(list))}}));
  }
  for (const auto& [name, doc] : g.types) {
    std::vector<Value> list;
    if (const auto* ms = methodsOf(g, name))
      for (const auto* f : *ms) list.push_back(functionJson(*f));
    types.push_back(
        Value::object({{"name", name}, {"doc", doc}, {"methods", Value::array(std::move(list))}}));
  }
  for (auto c : standardErrorCodes()) errs.emplace_back(c);
  Value doc = Value::object({{"format", "llmspell-api"},
                             {"version", 1},
                             {"error_codes", Value::array(std::move(errs))},
                             {"globals", Value::array(std::move(globals))},
                             {"namespaces", Value::array(std::move(namespaces))},
                             {"types", Value::array(std::move(types))}});
  JsonOptions opts;
  opts.pretty = true;
  return toJsonText(doc, opts) + "\n";
}

// ---- LuaLS meta ----

bool luaKeyword(const std::string& s) {
  static const std::set<std::string> kw{"and",   "break", "do",       "else", "elseif", "end",
                                        "false", "for",   "function", "goto", "if",     "in",
                                        "local", "nil",   "not",      "or",   "repeat", "return",
                                        "then",  "true",  "until",    "while"};
  return kw.count(s) > 0;
}

bool luaIdent(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0])) || luaKeyword(s)) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::string luaParamName(const std::string& s) {
  return luaIdent(s) ? s : "_" + anchor(s);
}

std::string className(const std::string& type) {
  return type;
}
std::string classVar(const std::string& type) {
  return "__" + anchor(type);
}

std::string luaType(const Value& schema, const std::set<std::string>& classes, int depth = 0) {
  if (!schema.isObject() || depth > 8) return "any";
  if (const Value& e = schema.get("enum"); e.isArray()) {
    std::string s;
    for (const auto& x : e.asArray()) {
      std::string t = x.isString()   ? jsonText(x)
                      : x.isNumber() ? jsonText(x)
                      : x.isBool()   ? jsonText(x)
                                     : "nil";
      s += (s.empty() ? "" : "|") + t;
    }
    return s.empty() ? "any" : s;
  }
  auto one = [&](const std::string& t) -> std::string {
    if (t == "string" || t == "bytes") return "string";
    if (t == "integer") return "integer";
    if (t == "number") return "number";
    if (t == "boolean") return "boolean";
    if (t == "null") return "nil";
    if (t == "function") return "function";
    if (t == "promise") return "promise";
    if (t == "error") return "LlmspellError";
    if (t == "object") return "table";
    if (t == "array") {
      const Value& items = schema.get("items");
      if (items.isObject()) {
        std::string it = luaType(items, classes, depth + 1);
        if (it.find('|') != std::string::npos) it = "(" + it + ")";
        return it + "[]";
      }
      return "any[]";
    }
    return "any";  // handle, any
  };
  const Value& t = schema.get("type");
  if (t.isString()) return one(t.asString());
  if (t.isArray()) {
    std::string s;
    for (const auto& x : t.asArray())
      if (x.isString()) s += (s.empty() ? "" : "|") + one(x.asString());
    return s.empty() ? "any" : s;
  }
  return "any";
}

// The return type guessed from the start of the `returns` text ("string: ...", "logger", ...).
std::string luaReturnType(const std::string& returns, const std::set<std::string>& classes) {
  size_t end = returns.find_first_of(" :,;(");
  std::string w = returns.substr(0, end);
  if (w == "string" || w == "boolean" || w == "integer" || w == "number" || w == "nil" ||
      w == "table")
    return w;
  if (w == "bytes") return "string";
  if (w == "array") return "any[]";
  if (w == "error") return "LlmspellError";
  if (w == "true" || w == "false") return "boolean";
  if (classes.count(w)) return className(w);
  return "any";
}

std::string oneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s;
}

void luaFunction(std::ostringstream& o, const FunctionDecl& f, const std::set<std::string>& classes,
                 bool twin) {
  if (!f.doc.empty()) o << "---" << oneLine(f.doc) << "\n";
  if (twin) o << "---Returns a promise instead of suspending the spell.\n";
  if (f.permission != Permission::kNone)
    o << "---Needs `" << permissionFlag(f.permission) << "`.\n";
  if (f.async && !twin) o << "---@async\n";
  std::vector<std::string> names;
  for (const auto* p : scriptParams(f)) {
    std::string n = luaParamName(p->name);
    names.push_back(n);
    o << "---@param " << n << (p->required ? " " : "? ") << luaType(p->schema, classes);
    if (!p->doc.empty()) o << " " << oneLine(p->doc);
    o << "\n";
  }
  if (f.variadic) {
    names.push_back("...");
    o << "---@param ... any\n";
  }
  if (twin) {
    o << "---@return promise # " << oneLine(f.returns) << "\n";
  } else if (!f.returns.empty()) {
    o << "---@return " << luaReturnType(f.returns, classes) << " # " << oneLine(f.returns) << "\n";
  }
  std::string args;
  for (size_t i = 0; i < names.size(); ++i) args += (i ? ", " : "") + names[i];
  std::string name = f.name + (twin ? "_async" : "");
  std::string owner = !f.self.empty() ? classVar(f.self) : f.ns;
  if (owner.empty()) {
    if (luaIdent(name))
      o << "function " << name << "(" << args << ") end\n\n";
    else
      o << "_G[\"" << name << "\"] = function(" << args << ") end\n\n";
  } else if (luaIdent(name)) {
    o << "function " << owner << (f.self.empty() ? "." : ":") << name << "(" << args << ") end\n\n";
  } else {
    std::string a = f.self.empty() ? args : (args.empty() ? "self" : "self, " + args);
    o << owner << "[\"" << name << "\"] = function(" << a << ") end\n\n";
  }
}

void luaProperty(std::ostringstream& o, const FunctionDecl& f,
                 const std::set<std::string>& classes) {
  if (!f.doc.empty()) o << "---" << oneLine(f.doc) << "\n";
  o << "---@type " << luaReturnType(f.returns, classes) << "\n";
  std::string owner = f.ns.empty() ? "" : f.ns + ".";
  o << owner << f.name << " = nil\n\n";
}

std::string renderLuaMeta(const Registry& reg) {
  Grouped g = group(reg);
  std::set<std::string> classes;
  for (const auto& [name, _] : g.types) classes.insert(name);
  std::ostringstream o;
  o << "---@meta\n"
    << "-- llmspell API stubs for lua-language-server, generated by `llmspell docs --format "
       "lua-meta`.\n-- Put this file in your workspace library (\"Lua.workspace.library\").\n\n";
  o << "---An error raised by a host function (or errors.new).\n"
    << "---@class LlmspellError\n"
    << "---@field code string one of errors.codes(), or a custom code\n"
    << "---@field message string\n"
    << "---@field retryable boolean\n"
    << "---@field details table?\n"
    << "---@field source string?\n"
    << "---@field line integer?\n"
    << "---@field cause LlmspellError?\n\n";
  if (!classes.count("promise")) {
    o << "---The eventual result of an async call.\n---@class promise\n\n";
  }
  for (const auto& [name, doc] : g.types) {
    if (!doc.empty()) o << "---" << oneLine(doc) << "\n";
    o << "---@class " << className(name) << "\n"
      << "local " << classVar(name) << " = {}\n\n";
    if (const auto* ms = methodsOf(g, name)) {
      for (const auto* f : *ms) {
        luaFunction(o, *f, classes, false);
        if (f->async) luaFunction(o, *f, classes, true);
      }
    }
  }
  for (const auto* f : g.globals) {
    if (f->property) {
      luaProperty(o, *f, classes);
      continue;
    }
    luaFunction(o, *f, classes, false);
    if (f->async) luaFunction(o, *f, classes, true);
  }
  for (const auto& [ns, fns] : g.namespaces) {
    o << "---@class " << ns << "lib\n" << ns << " = {}\n\n";
    for (const auto* f : fns) {
      if (f->property) {
        luaProperty(o, *f, classes);
        continue;
      }
      luaFunction(o, *f, classes, false);
      if (f->async) luaFunction(o, *f, classes, true);
    }
  }
  return o.str();
}

}  // namespace

std::string generateDocs(const Registry& reg, std::string_view format) {
  if (format == "md" || format == "markdown") return renderMarkdown(reg);
  if (format == "json") return renderJson(reg);
  if (format == "lua-meta" || format == "lua") return renderLuaMeta(reg);
  std::string valid;
  for (auto f : docFormats()) valid += (valid.empty() ? "" : ", ") + std::string(f);
  fail(codes::kInvalidArgument,
       "unknown docs format '" + std::string(format) + "' (valid formats: " + valid + ")");
}

}  // namespace llmspell
