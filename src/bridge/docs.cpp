// Reference docs from the registry (`llmspell docs`): Markdown for people, JSON for tools, and
// stub files so editors complete and type-check spells: LuaLS `---@meta` annotations for Lua,
// TypeScript declarations for JavaScript.
#include "llmspell/bridge/docs.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "llmspell/bridge/names.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

const std::vector<std::string_view>& docFormats() {
  static const std::vector<std::string_view> f{"md", "json", "lua-meta", "dts"};
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

// ---- TypeScript declarations (JavaScript spells) ----
//
// What the JS engine binds, in its names: namespaces of camelCase functions, globals, host types
// as interfaces of their methods (the engine exposes no constructors for them, so they are
// types only, in the `llmspell` type namespace), async functions returning Promises. Parameter
// types come from the registry's schemas; result types from its `returns` text where that text
// has a shape (a type word, a host type, a `{field, ...}` record), else `any`.

// Words that cannot name a function declaration or a parameter.
bool jsReserved(const std::string& s) {
  static const std::set<std::string> kw{
      "break",    "case",       "catch",   "class",     "const",   "continue", "debugger",
      "default",  "delete",     "do",      "else",      "enum",    "export",   "extends",
      "false",    "finally",    "for",     "function",  "if",      "import",   "in",
      "instanceof", "new",      "null",    "return",    "super",   "switch",   "this",
      "throw",    "true",       "try",     "typeof",    "var",     "void",     "while",
      "with",     "yield",      "let",     "static",    "implements", "interface", "package",
      "private",  "protected",  "public",  "await",     "arguments", "eval"};
  return kw.count(s) > 0;
}

bool jsIdent(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$';
  });
}

// A property name in an object type: quoted unless it is an identifier (`new` would read as a
// construct signature).
std::string tsKey(const std::string& s) {
  return jsIdent(s) && s != "new" ? s : jsonText(Value(s));
}

std::string tsParamName(const std::string& s) {
  std::string n = luaParamName(s);
  return jsReserved(n) ? "_" + n : n;
}

// "state_scope" -> "llmspell.StateScope".
std::string tsClass(const std::string& type) {
  std::string c = camelCase(type);
  if (!c.empty()) c[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(c[0])));
  return "llmspell." + c;
}

// Host types the JS engine hands over as native values instead: a host promise is a Promise.
bool jsNative(const std::string& type) { return type == "promise"; }

const char* const kTsFunction = "((...args: any[]) => any)";

std::string tsUnion(const std::vector<std::string>& alts) {
  std::vector<std::string> uniq;
  for (const auto& a : alts)
    if (std::find(uniq.begin(), uniq.end(), a) == uniq.end()) uniq.push_back(a);
  if (std::find(uniq.begin(), uniq.end(), "any") != uniq.end()) return "any";
  std::string s;
  for (const auto& a : uniq) s += (s.empty() ? "" : " | ") + a;
  return s.empty() ? "any" : s;
}

std::string tsArrayOf(const std::string& t) {
  bool simple = t.find_first_of(" |&") == std::string::npos || t.front() == '{';
  return (simple ? t : "(" + t + ")") + "[]";
}

// A parameter's type from its schema. `extra` adds members to an object type (an async
// function's trailing `opts` takes `timeout`).
std::string tsType(const Value& schema, int depth = 0, const std::string& extra = "") {
  if (!schema.isObject() || depth > 8) return "any";
  if (const Value& e = schema.get("enum"); e.isArray()) {
    std::vector<std::string> alts;
    for (const auto& x : e.asArray()) alts.push_back(x.isNull() ? "null" : jsonText(x));
    return tsUnion(alts);
  }
  auto one = [&](const std::string& t) -> std::string {
    if (t == "string") return "string";
    if (t == "integer" || t == "number") return "number";
    if (t == "boolean") return "boolean";
    if (t == "null") return "null";
    if (t == "bytes") return "ArrayBufferView | ArrayBuffer";
    if (t == "function") return kTsFunction;
    if (t == "promise") return "Promise<any>";
    if (t == "error") return "Error";
    if (t == "handle") return "llmspell.Handle";
    if (t == "array") {
      const Value& items = schema.get("items");
      return items.isObject() ? tsArrayOf(tsType(items, depth + 1)) : "any[]";
    }
    if (t == "object") {
      const Value& props = schema.get("properties");
      if (!props.isObject() || props.asObject().empty()) {
        return extra.empty() ? "Record<string, any>" : "{ " + extra + " [key: string]: any }";
      }
      std::set<std::string> required;
      if (const Value& r = schema.get("required"); r.isArray())
        for (const auto& x : r.asArray())
          if (x.isString()) required.insert(x.asString());
      std::string s = "{ ";
      for (const auto& [k, v] : props.asObject())
        s += tsKey(k) + (required.count(k) ? ": " : "?: ") + tsType(v, depth + 1) + "; ";
      if (!extra.empty() && !props.asObject().contains("timeout")) s += extra + " ";
      // Unlisted fields pass unless the schema closes the object.
      const Value& ap = schema.get("additionalProperties");
      if (!(ap.isBool() && !ap.asBool())) s += "[key: string]: any ";
      return s + "}";
    }
    return "any";  // "any"
  };
  std::vector<std::string> alts;
  const Value& t = schema.get("type");
  if (t.isString()) return one(t.asString());
  if (t.isArray()) {
    for (const auto& x : t.asArray())
      if (x.isString()) alts.push_back(one(x.asString()));
    return tsUnion(alts);
  }
  const Value& anyOf = schema.get("anyOf").isArray() ? schema.get("anyOf") : schema.get("oneOf");
  if (anyOf.isArray()) {
    for (const auto& x : anyOf.asArray()) alts.push_back(tsType(x, depth + 1));
    return tsUnion(alts);
  }
  return "any";
}

// ---- result types from the `returns` text ----

// Splits at `sep` outside (), {}, [], quotes and backticks.
std::vector<std::string> splitTop(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  int nest = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '`') quote = c;
    else if (c == '(' || c == '{' || c == '[') ++nest;
    else if (c == ')' || c == '}' || c == ']') --nest;
    else if (nest == 0 && s.compare(i, sep.size(), sep) == 0) {
      out.push_back(s.substr(start, i - start));
      start = i + sep.size();
      i = start - 1;
    }
  }
  out.push_back(s.substr(start));
  return out;
}

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\n") - a + 1);
}

// The text inside the bracketed group that opens s ("{a, b} rest" -> "a, b"); none when s does not
// open with one or it is unbalanced.
std::optional<std::string> bracketed(const std::string& s, char open, char close) {
  if (s.empty() || s[0] != open) return std::nullopt;
  int nest = 0;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '"') quote = c;
    else if (c == open) ++nest;
    else if (c == close && --nest == 0) return s.substr(1, i - 1);
  }
  return std::nullopt;
}

std::optional<std::string> tsRecord(const std::string& fields);

// `"a"|"b"` -> the literal union; a type word; `{{...}}` -> an array of records; else any.
std::string tsFieldType(const std::string& rhs) {
  static const std::map<std::string, std::string> words{
      {"boolean", "boolean"}, {"string", "string"}, {"integer", "number"}, {"number", "number"},
      {"true", "true"},       {"false", "false"}};
  if (auto it = words.find(rhs); it != words.end()) return it->second;
  if (!rhs.empty() && rhs[0] == '"') {
    std::vector<std::string> alts;
    for (const auto& part : splitTop(rhs, "|")) {
      std::string p = trim(part);
      if (p.size() < 2 || p.front() != '"' || p.back() != '"') return "any";
      alts.push_back(p);
    }
    return tsUnion(alts);
  }
  if (auto inner = bracketed(rhs, '{', '}'); inner && trim(*inner).rfind('{', 0) == 0) {
    auto item = bracketed(trim(*inner), '{', '}');
    if (item && trim(*inner) == "{" + *item + "}")
      if (auto rec = tsRecord(*item)) return *rec + "[]";
  }
  return "any";
}

// "text, usage (nil when not reported), ok = boolean, result | error, ..." -> an object type;
// none when a field is not of those shapes.
// A record of a `returns` text: its fields ("name" or "name?" for an optional one) and types,
// open when the text ends its list with "...".
struct TsRecord {
  std::vector<std::pair<std::string, std::string>> fields;
  bool open = false;
  bool has(const std::string& name) const {
    return std::any_of(fields.begin(), fields.end(), [&](const auto& f) {
      return f.first == name || f.first == name + "?";
    });
  }
  std::string render() const {
    std::string s = "{ ";
    for (const auto& [name, type] : fields) s += name + ": " + type + "; ";
    if (open) s += "[key: string]: any; ";
    return s + "}";
  }
};

// "text, usage (nil when not reported), ok = boolean, result | error, ..." -> a record; none
// when a field is not of those shapes.
std::optional<TsRecord> parseRecord(const std::string& fields) {
  TsRecord r;
  for (const auto& raw : splitTop(fields, ",")) {
    std::string f = trim(raw);
    if (f == "...") {
      r.open = true;
      continue;
    }
    auto bar = splitTop(f, "|");
    if (bar.size() > 1 && f.find('=') == std::string::npos) {  // result | error: one or the other
      for (const auto& b : bar) {
        std::string name = trim(b);
        if (!jsIdent(name)) return std::nullopt;
        r.fields.emplace_back(name + "?", "any");
      }
      continue;
    }
    size_t end = 0;
    while (end < f.size() && (std::isalnum(static_cast<unsigned char>(f[end])) || f[end] == '_')) ++end;
    std::string name = f.substr(0, end);
    std::string rest = trim(f.substr(end));
    if (!jsIdent(name)) return std::nullopt;
    std::string type = "any";
    if (!rest.empty() && rest[0] == '=') {
      type = tsFieldType(trim(rest.substr(1)));
    } else if (!rest.empty() && rest[0] != '(') {
      return std::nullopt;
    }
    r.fields.emplace_back(name, type);
  }
  return r;
}

std::optional<std::string> tsRecord(const std::string& fields) {
  auto r = parseRecord(fields);
  if (!r) return std::nullopt;
  return r->render();
}

// One alternative of a `returns` text: "string: ...", "agent", "{a, b}", "list of {...}", "nil".
std::optional<std::string> tsResultAlt(const std::string& text, const std::set<std::string>& classes,
                                       bool mentionsBytes) {
  std::string t = trim(text);
  if (auto rec = bracketed(t, '{', '}')) return tsRecord(*rec);
  for (const char* prefix : {"[", "list of ", "array of "}) {
    if (t.rfind(prefix, 0) != 0) continue;
    std::string rest = t.substr(std::string(prefix).size());
    if (auto rec = bracketed(rest, '{', '}')) {
      auto r = tsRecord(*rec);
      if (r) return *r + "[]";
      return "Record<string, any>[]";
    }
    if (rest.rfind("strings", 0) == 0) return "string[]";
    return "any[]";
  }
  size_t end = t.find_first_of(" :,;(");
  std::string w = t.substr(0, end);
  if (w == "string") return mentionsBytes ? "string | Uint8Array" : "string";
  if (w == "bytes") return "Uint8Array";
  if (w == "boolean" || w == "true" || w == "false") return "boolean";
  if (w == "integer" || w == "number") return "number";
  if (w == "nil" || w == "nothing" || w == "null") return "null";
  if (w == "table") return "Record<string, any>";
  if (w == "function") return kTsFunction;
  if (w == "error") return "LlmspellError";
  if (w == "promise") return "Promise<any>";
  if (classes.count(w)) return tsClass(w);
  return std::nullopt;
}

std::string tsResult(const std::string& returns, const std::set<std::string>& classes) {
  // The first clause is the shape; what follows a sentence end or ';' is commentary.
  std::string head = splitTop(splitTop(returns, "; ")[0], ". ")[0];
  bool mentionsBytes = returns.find("bytes") != std::string::npos;
  std::vector<std::string> alts;
  std::vector<std::pair<size_t, TsRecord>> records;  // alternatives that are records, by position
  for (const auto& a : splitTop(head, ", or ")) {
    for (const auto& b : splitTop(a, " or ")) {
      if (auto fields = bracketed(trim(b), '{', '}')) {
        auto r = parseRecord(*fields);
        if (!r) return "any";
        records.emplace_back(alts.size(), std::move(*r));
        alts.emplace_back();
        continue;
      }
      auto t = tsResultAlt(b, classes, mentionsBytes);
      if (!t) return "any";
      alts.push_back(*t);
    }
  }
  // {ok = true, result} or {ok = false, error}: each record also gets the others' fields as
  // `?: undefined`, so a spell may read r.error without first narrowing on r.ok (it is undefined).
  for (auto& [at, r] : records) {
    for (const auto& [_, other] : records)
      for (const auto& [name, type] : other.fields) {
        std::string bare = name.back() == '?' ? name.substr(0, name.size() - 1) : name;
        if (!r.has(bare)) r.fields.emplace_back(bare + "?", "undefined");
      }
    alts[at] = r.render();
  }
  return tsUnion(alts);
}

std::string docText(std::string s) {
  s = oneLine(std::move(s));
  for (size_t at = 0; (at = s.find("*/", at)) != std::string::npos; at += 3) s.replace(at, 2, "*\\/");
  return s;
}

void tsDoc(std::ostringstream& o, const FunctionDecl& f, const std::string& indent) {
  std::vector<std::string> lines;
  if (!f.doc.empty()) lines.push_back(docText(f.doc));
  if (f.permission != Permission::kNone)
    lines.push_back("Needs `" + std::string(permissionFlag(f.permission)) + "`.");
  for (const auto* p : scriptParams(f))
    if (!p->doc.empty()) lines.push_back("@param " + tsParamName(p->name) + " " + docText(p->doc));
  if (!f.returns.empty()) lines.push_back("@returns " + docText(f.returns));
  if (lines.empty()) return;
  o << indent << "/**\n";
  for (const auto& l : lines) o << indent << " * " << l << "\n";
  o << indent << " */\n";
}

// "(name: string, opts?: {...}): Promise<...>" for a function or method.
std::string tsSignature(const FunctionDecl& f, const std::set<std::string>& classes) {
  auto params = scriptParams(f);
  // A parameter is optional only when every later one is too.
  size_t lastRequired = 0;
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i]->required) lastRequired = i + 1;
  std::string s = "(";
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamDecl& p = *params[i];
    bool timeout = f.async && &p == &f.params.back() && p.name == "opts";
    std::string type = tsType(p.schema, 0, timeout ? "timeout?: number;" : "");
    s += (i ? ", " : "") + tsParamName(p.name);
    if (p.required) s += ": " + type;
    else if (i >= lastRequired) s += "?: " + type;
    else s += ": " + tsUnion({type, "null", "undefined"});
  }
  if (f.variadic) s += std::string(params.empty() ? "" : ", ") + "...args: any[]";
  std::string result = f.returns.empty() ? "any" : tsResult(f.returns, classes);
  if (f.async && result.rfind("Promise<", 0) != 0) result = "Promise<" + result + ">";
  return s + "): " + result;
}

const char* const kDtsPrelude = R"DTS(// llmspell API declarations for JavaScript spells, generated by `llmspell docs --format dts`
// from the function registry. For completion and type checks in an editor, put this file in
// your spells' directory with a jsconfig.json of {"compilerOptions": {"checkJs": true,
// "target": "es2022", "module": "es2022", "lib": ["es2022"], "moduleDetection": "force"}}
// (no DOM: its `print` and `console` are not these; "force": every spell is a module).
// Functions are camelCase as the JS engine binds them; fields of options and results keep the
// API's snake_case. A host function that waits returns a Promise. Result types come from the
// registry's descriptions: `any` where a description has no shape to derive one from.

/**
 * An error raised by a host function, or thrown by a spell (`new LlmspellError(message, code)`).
 * `String(e)` is "code: message (at file:line)".
 */
declare class LlmspellError extends Error {
  constructor(message?: string, code?: string, retryable?: boolean, details?: any);
  /** A standard code (ERROR_CODES), or a custom one. */
  code: string;
  /** Whether trying again may succeed (rate limits, timeouts, network errors). */
  retryable: boolean;
  details: any;
  /** The spell file of the call that failed. */
  source?: string;
  line?: number;
  /** The wrapped error (errors.wrap). */
  cause?: LlmspellError;
}

/** Writes its arguments to stdout, tab-separated, with a newline (as Lua's print). */
declare function print(...values: any[]): void;

/** log/info/debug write to stdout, warn/error to stderr; objects are shown as JSON. */
declare const console: {
  readonly log: (...values: any[]) => void;
  readonly info: (...values: any[]) => void;
  readonly debug: (...values: any[]) => void;
  readonly warn: (...values: any[]) => void;
  readonly error: (...values: any[]) => void;
};

)DTS";

void tsMember(std::ostringstream& o, const FunctionDecl& f, const std::set<std::string>& classes,
              bool inNamespace) {
  std::string name = camelCase(f.name);
  std::string indent = "  ";
  tsDoc(o, f, indent);
  if (f.property) {
    std::string type = f.returns.empty() ? "any" : tsResult(f.returns, classes);
    o << indent << (inNamespace ? "const " + name : "readonly " + tsKey(name)) << ": " << type << ";\n";
  } else if (inNamespace) {
    o << indent << "function " << name << tsSignature(f, classes) << ";\n";
  } else {
    o << indent << tsKey(name) << tsSignature(f, classes) << ";\n";
  }
}

std::string renderDts(const Registry& reg) {
  Grouped g = group(reg);
  std::set<std::string> classes;
  for (const auto& [name, _] : g.types)
    if (!jsNative(name)) classes.insert(name);
  std::ostringstream o;
  std::string codes;
  for (auto c : standardErrorCodes()) codes += std::string(codes.empty() ? "" : ", ") + std::string(c);
  std::string prelude = kDtsPrelude;
  prelude.replace(prelude.find("ERROR_CODES"), 11, codes);
  o << prelude;

  o << "/** Host objects the functions return; their methods are called as obj.method(...). */\n"
    << "declare namespace llmspell {\n";
  std::vector<std::string> handles;
  for (const auto& [name, doc] : g.types) {
    if (jsNative(name)) continue;
    std::string cls = tsClass(name);
    handles.push_back(cls);
    if (!doc.empty()) o << "  /** " << docText(doc) << " */\n";
    o << "  interface " << cls.substr(cls.find('.') + 1) << " {\n";
    if (const auto* ms = methodsOf(g, name)) {
      std::ostringstream body;
      for (const auto* f : *ms) tsMember(body, *f, classes, false);
      // Members one level deeper than namespace members.
      std::string text = body.str(), line;
      std::istringstream lines(text);
      while (std::getline(lines, line)) o << "  " << line << "\n";
    }
    o << "  }\n";
  }
  o << "  /** Any host object. */\n  type Handle = " << (handles.empty() ? "object" : tsUnion(handles))
    << ";\n}\n\n";

  for (const auto* f : g.globals) {
    std::string name = camelCase(f->name);
    // Unreachable as bare names in JavaScript: skipped (JS has its own await/async).
    if (jsSkipsGlobal(f->name) || jsReserved(name) || !jsIdent(name)) continue;
    tsDoc(o, *f, "");
    if (f->property)
      o << "declare const " << name << ": " << (f->returns.empty() ? "any" : tsResult(f->returns, classes)) << ";\n\n";
    else
      o << "declare function " << name << tsSignature(*f, classes) << ";\n\n";
  }
  for (const auto& [ns, fns] : g.namespaces) {
    // A namespace declaration cannot declare a function named by a reserved word (errors.new,
    // state.delete): such a namespace is declared as a constant of an object type instead.
    bool plain = std::all_of(fns.begin(), fns.end(), [](const FunctionDecl* f) {
      std::string n = camelCase(f->name);
      return jsIdent(n) && !jsReserved(n);
    });
    o << "/** The `" << ns << "` namespace. */\n";
    o << (plain ? "declare namespace " + ns + " {\n" : "declare const " + ns + ": {\n");
    for (const auto* f : fns) tsMember(o, *f, classes, plain);
    o << (plain ? "}\n\n" : "};\n\n");
  }
  return o.str();
}

}  // namespace

std::optional<std::string> docEntry(const Registry& reg, std::string_view name) {
  std::string n(name);
  // A method may be named as Lua calls it (agent:run) or as JS and Tengo do (agent.run).
  const FunctionDecl* f = reg.find(n);
  if (!f && n.find('.') != std::string::npos) f = reg.find(n.substr(0, n.find('.')) + ":" + n.substr(n.find('.') + 1));
  if (f) {
    std::ostringstream o;
    mdFunction(o, *f);
    return o.str();
  }
  // A namespace or a host type: its functions, one line each.
  Grouped g = group(reg);
  const std::vector<const FunctionDecl*>* list = nullptr;
  std::string heading, doc;
  for (const auto& [ns, fns] : g.namespaces)
    if (ns == n) list = &fns, heading = "## " + ns;
  if (!list) {
    for (const auto& [type, tdoc] : g.types)
      if (type == n) list = methodsOf(g, type), heading = "## type `" + type + "`", doc = tdoc;
    if (heading.empty()) return std::nullopt;
  }
  std::ostringstream o;
  o << heading << "\n\n";
  if (!doc.empty()) o << doc << "\n\n";
  if (list)
    for (const auto* fn : *list) o << "- `" << signature(*fn) << "`" << (fn->async ? " *async*" : "") << (fn->doc.empty() ? "" : ": " + fn->doc) << "\n";
  return o.str();
}

std::vector<std::string> optionFields(const ParamDecl& p) {
  std::vector<std::string> out;
  if (const Value& props = p.schema.get("properties"); props.isObject())
    for (const auto& [k, _] : props.asObject()) out.push_back(k);
  return out;
}

std::string generateDocs(const Registry& reg, std::string_view format) {
  if (format == "md" || format == "markdown") return renderMarkdown(reg);
  if (format == "json") return renderJson(reg);
  if (format == "lua-meta" || format == "lua") return renderLuaMeta(reg);
  if (format == "dts" || format == "ts") return renderDts(reg);
  std::string valid;
  for (auto f : docFormats()) valid += (valid.empty() ? "" : ", ") + std::string(f);
  fail(codes::kInvalidArgument,
       "unknown docs format '" + std::string(format) + "' (valid formats: " + valid + ")");
}

}  // namespace llmspell
