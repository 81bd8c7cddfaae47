// The registry-aware checks of `llmspell check`, on the token stream of any of the three
// languages (lint.hpp says why this and luacheck). Deliberately lenient where the scanner cannot
// know: a name the spell declares itself is never taken for a registry namespace, a variable is
// given a host type only when every assignment to it gives the same one, and an argument list
// that may expand (a call or `...` last) is not counted as too short.
#include "cli/lint.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "llmspell/bridge/names.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/suggest.hpp"
#include "llmspell/tools/tools.hpp"

namespace llmspell::cli {

std::string LintDiagnostic::toString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + severity + "[" + code + "]: " + message;
}

// Lua's scope checks through luacheck (lint_luacheck.cpp).
std::vector<LintDiagnostic> luacheckSpell(const LintInput& in);

namespace {

// ---- the registry as one engine names it ----

using Members = std::map<std::string, const FunctionDecl*, std::less<>>;

struct Names {
  std::map<std::string, Members, std::less<>> ns;       // namespace -> member -> decl
  Members globals;                                       // await, sleep, spawn...
  std::map<std::string, Members, std::less<>> methods;  // type -> method -> decl
};

const Names& namesFor(Lang lang) {
  static const std::array<Names, 3> all = [] {
    std::array<Names, 3> out;
    for (Lang l : {Lang::kLua, Lang::kJs, Lang::kTengo}) {
      Names& n = out[static_cast<size_t>(l)];
      for (const auto& f : Registry::global().functions()) {
        std::string name = l == Lang::kJs ? camelCase(f.name) : f.name;
        // Lua and Tengo bind a promise-returning twin of each async function; JS functions
        // return promises themselves.
        std::string twin = f.async && l != Lang::kJs ? f.name + "_async" : "";
        Members* m = nullptr;
        if (!f.self.empty()) m = &n.methods[f.self];
        else if (!f.ns.empty()) m = &n.ns[f.ns];
        else if ((l == Lang::kJs && jsSkipsGlobal(f.name)) || (l == Lang::kTengo && f.property)) continue;
        else m = &n.globals;
        (*m)[name] = &f;
        if (!twin.empty()) (*m)[twin] = &f;
      }
    }
    return out;
  }();
  return all[static_cast<size_t>(lang)];
}

std::vector<std::string> keysOf(const Members& m) {
  std::vector<std::string> out;
  for (const auto& [k, _] : m) out.push_back(k);
  return out;
}

// The parameters a script passes (a method's self is implicit).
std::vector<const ParamDecl*> scriptParams(const FunctionDecl& f) {
  std::vector<const ParamDecl*> out;
  for (size_t i = f.self.empty() ? 0 : 1; i < f.params.size(); ++i) out.push_back(&f.params[i]);
  return out;
}

// The host type a call returns, from the start of its `returns` text ("agent", "workflow, or nil").
std::string returnedType(const FunctionDecl& f, const Names& names) {
  std::string w = f.returns.substr(0, f.returns.find_first_of(" ,:;("));
  return names.methods.count(w) ? w : "";
}

bool keyword(const std::string& s, Lang lang) {
  static const std::set<std::string, std::less<>> lua{"and",   "break", "do",  "else", "elseif", "end",   "false", "for",
                                                      "function", "goto", "if", "in",  "local",  "nil",   "not",   "or",
                                                      "repeat", "return", "then", "true", "until", "while"};
  static const std::set<std::string, std::less<>> js{
      "await", "break", "case",  "catch",  "class", "const",  "continue", "debugger", "default", "delete",
      "do",    "else",  "export", "extends", "false", "finally", "for",     "function", "if",      "import",
      "in",    "instanceof", "let", "new",  "null",  "return", "super",    "switch",   "this",    "throw",
      "true",  "try",   "typeof", "var",    "void",  "while",  "with",     "yield",    "async",   "of",
      "static", "get",  "set"};
  static const std::set<std::string, std::less<>> tengo{"break",  "continue", "else", "for",   "func",  "error",
                                                        "immutable", "if",   "return", "export", "true",  "false",
                                                        "in",     "undefined", "import"};
  return (lang == Lang::kLua ? lua : lang == Lang::kJs ? js : tengo).count(s) > 0;
}

// ---- the scanner ----

class Linter {
 public:
  Linter(const LintInput& in) : in_(in), t_(tokenize(in.source, in.lang)), names_(namesFor(in.lang)) {}

  std::vector<LintDiagnostic> run() {
    collectDeclarations();
    bindNamespaces();
    typeVariables();
    for (size_t i = 0; i < t_.size(); ++i) visit(i);
    checkGrants();
    checkParams();
    if (in_.lang == Lang::kJs) checkJsGlobals();
    return std::move(out_);
  }

 private:
  // ---- token helpers ----
  const Token& at(size_t i) const { return i < t_.size() ? t_[i] : t_.back(); }
  bool punct(size_t i, std::string_view p) const { return at(i).kind == Token::kPunct && at(i).text == p; }
  bool ident(size_t i) const { return at(i).kind == Token::kIdent && !keyword(at(i).text, in_.lang); }
  bool word(size_t i, std::string_view w) const { return at(i).kind == Token::kIdent && at(i).text == w; }
  // A member access or method call operator: `.`, JS `?.`, Lua `:`.
  bool memberOp(size_t i) const { return punct(i, ".") || (in_.lang == Lang::kJs && punct(i, "?.")); }
  bool afterMember(size_t i) const { return i > 0 && (memberOp(i - 1) || (in_.lang == Lang::kLua && punct(i - 1, ":"))); }
  bool assignOp(size_t i) const {
    static const std::set<std::string, std::less<>> ops{"=",  "+=", "-=",  "*=",  "/=",  "%=",   "&=",  "|=",  "^=",
                                                        "<<=", ">>=", ">>>=", "**=", "&&=", "||=", "?\?=", ":="};
    return at(i).kind == Token::kPunct && ops.count(at(i).text) > 0;
  }
  // The closer matching the opener at `i` (the last token when unbalanced).
  size_t closing(size_t i) const {
    int depth = 0;
    for (size_t j = i; j < t_.size(); ++j) {
      if (at(j).kind != Token::kPunct) continue;
      const std::string& p = at(j).text;
      if (p == "(" || p == "[" || p == "{") ++depth;
      else if ((p == ")" || p == "]" || p == "}") && --depth == 0) return j;
    }
    return t_.size() - 1;
  }
  // The opener matching the closer at `i`.
  size_t opening(size_t i) const {
    int depth = 0;
    for (size_t j = i + 1; j-- > 0;) {
      if (at(j).kind != Token::kPunct) continue;
      const std::string& p = at(j).text;
      if (p == ")" || p == "]" || p == "}") ++depth;
      else if ((p == "(" || p == "[" || p == "{") && --depth == 0) return j;
    }
    return 0;
  }

  // Lua: the token is directly inside a table constructor (its innermost bracket is a `{`).
  bool inTable(size_t i) const {
    int depth = 0;
    for (size_t j = i; j-- > 0;) {
      if (at(j).kind != Token::kPunct) continue;
      const std::string& p = at(j).text;
      if (p == ")" || p == "]" || p == "}") ++depth;
      else if (p == "(" || p == "[" || p == "{") {
        if (depth == 0) return p == "{";
        --depth;
      }
    }
    return false;
  }

  void report(const Token& tok, std::string severity, std::string code, std::string message) {
    out_.push_back({in_.file, tok.line, tok.col, std::move(severity), std::move(code), std::move(message)});
  }

  // ---- declarations: names the spell binds itself ----

  void declare(size_t i, bool typable = false) {
    if (!ident(i)) return;
    declared_.insert(at(i).text);
    if (!typable) untypable_.insert(at(i).text);
  }
  void declareAllIn(size_t open) {
    size_t close = closing(open);
    for (size_t j = open + 1; j < close; ++j)
      if (ident(j) && !punct(j + 1, ":") && !afterMember(j)) declare(j);
  }

  void collectDeclarations() {
    for (size_t i = 0; i < t_.size(); ++i) {
      if (in_.lang == Lang::kLua) {
        if (word(i, "local")) {
          size_t j = i + 1;
          if (word(j, "function")) {
            declare(j + 1);
            continue;
          }
          for (; ident(j); j += 2) {
            declare(j, true);
            if (punct(j + 1, "<")) j += 3;  // <const>, <close>
            if (!punct(j + 1, ",")) break;
          }
        } else if (word(i, "function")) {
          size_t j = i + 1;
          if (ident(j) && punct(j + 1, "(")) declare(j);
          while (j < t_.size() && !punct(j, "(")) ++j;
          declareAllIn(j);
        } else if (word(i, "for")) {
          for (size_t j = i + 1; ident(j); j += 2) {
            declare(j);
            if (!punct(j + 1, ",")) break;
          }
        }
      } else if (in_.lang == Lang::kJs) {
        if (word(i, "const") || word(i, "let") || word(i, "var")) declareJsList(i + 1);
        else if (word(i, "function") || word(i, "class")) {
          size_t j = i + 1;
          if (punct(j, "*")) ++j;
          declare(j);
          if (word(i, "function")) {
            while (j < t_.size() && !punct(j, "(")) ++j;
            declareAllIn(j);
          }
        } else if (punct(i, "=>")) {
          if (i > 0 && punct(i - 1, ")")) declareAllIn(opening(i - 1));
          else if (i > 0) declare(i - 1);
        } else if (word(i, "catch") && punct(i + 1, "(")) {
          declareAllIn(i + 1);
        } else if (word(i, "import")) {
          for (size_t j = i + 1; j < t_.size() && !word(j, "from") && !punct(j, ";"); ++j) declare(j);
        } else if (ident(i) && punct(i + 1, "(") && !afterMember(i)) {
          // A method in a class or object literal: name(params) { ... }
          size_t close = closing(i + 1);
          if (punct(close + 1, "{")) declareAllIn(i + 1);
        }
      } else {
        if (punct(i, ":=")) {
          // a, b := ...
          size_t j = i;
          while (j >= 1 && ident(j - 1)) {
            declare(j - 1, true);
            if (j >= 2 && punct(j - 2, ",")) j -= 2;
            else break;
          }
          if (ident(i - 1) && word(i + 1, "import") && punct(i + 2, "(") && at(i + 3).kind == Token::kString &&
              punct(i + 4, ")") && !punct(i + 5, "."))
            imports_[at(i - 1).text] = at(i + 3).text;
        } else if (word(i, "func") && punct(i + 1, "(")) {
          declareAllIn(i + 1);
        } else if (word(i, "for")) {
          for (size_t j = i + 1; ident(j); j += 2) {
            declare(j);
            if (!punct(j + 1, ",")) break;
          }
        }
      }
    }
  }

  // const a = 1, {b, c} = x, [d] = y; — every binding of the list.
  void declareJsList(size_t j) {
    auto binding = [&](size_t k) {
      if (punct(k, "{") || punct(k, "[")) declareAllIn(k);
      else declare(k, true);
    };
    binding(j);
    int depth = 0;
    for (size_t k = j + 1; k < t_.size(); ++k) {
      const Token& tok = at(k);
      if (tok.kind == Token::kPunct) {
        const std::string& p = tok.text;
        if (p == "(" || p == "[" || p == "{") ++depth;
        else if (p == ")" || p == "]" || p == "}") {
          if (--depth < 0) return;
        } else if (p == ";" && depth == 0) {
          return;
        } else if (p == "," && depth == 0) {
          binding(k + 1);
          continue;
        }
      } else if (depth == 0 && (word(k, "of") || word(k, "in"))) {
        return;
      }
      // A new line that does not continue the expression ends the statement.
      if (depth == 0 && at(k + 1).line > tok.line && tok.kind != Token::kPunct && !punct(k + 1, ",") &&
          !punct(k + 1, ".") && !punct(k + 1, "?.") && at(k + 1).kind != Token::kPunct)
        return;
    }
  }

  // Which names stand for registry namespaces in this file.
  void bindNamespaces() {
    if (in_.lang == Lang::kTengo) {
      for (const auto& [alias, ns] : imports_)
        if (names_.ns.count(ns)) bound_[alias] = ns;
      return;
    }
    for (const auto& [ns, _] : names_.ns)
      if (!declared_.count(ns)) bound_[ns] = ns;
  }

  // The registry function a call at `i` names (ns.fn, alias.fn or a global), or null.
  const FunctionDecl* calleeAt(size_t i, size_t* nameEnd) const {
    if (!ident(i) || afterMember(i)) return nullptr;
    auto b = bound_.find(at(i).text);
    if (b != bound_.end() && memberOp(i + 1) && at(i + 2).kind == Token::kIdent) {
      const Members& m = names_.ns.at(b->second);
      auto f = m.find(at(i + 2).text);
      *nameEnd = i + 2;
      return f == m.end() ? nullptr : f->second;
    }
    if (!declared_.count(at(i).text)) {
      auto g = names_.globals.find(at(i).text);
      *nameEnd = i;
      if (g != names_.globals.end()) return g->second;
    }
    return nullptr;
  }

  // Variables every assignment of which gives one host type (local a = agent.create{...}).
  void typeVariables() {
    std::map<std::string, std::set<std::string>> seen;
    for (size_t i = 0; i + 3 < t_.size(); ++i)  // a.helper = function ... : the spell's own member
      if (ident(i) && memberOp(i + 1) && at(i + 2).kind == Token::kIdent && assignOp(i + 3))
        ownMembers_.insert(at(i).text + "." + at(i + 2).text);
    for (size_t i = 0; i + 1 < t_.size(); ++i) {
      if (!ident(i) || afterMember(i) || !(punct(i + 1, "=") || punct(i + 1, ":="))) continue;
      if (in_.lang == Lang::kLua && inTable(i)) continue;  // {a = 1}: a key, not an assignment
      if (i > 0 && punct(i - 1, ",")) {  // a, b = ...: not typed
        seen[at(i).text].insert("");
        continue;
      }
      size_t j = i + 2;
      if (word(j, "await")) ++j;
      std::string type;
      size_t end = 0;
      if (const FunctionDecl* f = calleeAt(j, &end)) {
        bool twin = at(end).text.ends_with("_async") && !f->name.ends_with("_async");
        bool promise = twin || (in_.lang == Lang::kJs && f->async && !word(i + 2, "await"));
        type = promise ? "promise" : returnedType(*f, names_);
      } else if (ident(j) && (memberOp(j + 1) || (in_.lang == Lang::kLua && punct(j + 1, ":"))) &&
                 at(j + 2).kind == Token::kIdent) {
        // b = a:clone() — a method of a typed variable; resolved in a second round below.
        pendingMethod_.push_back({i, j});
      }
      // JS promises are the language's own; they are not checked against the registry.
      if (in_.lang == Lang::kJs && type == "promise") type.clear();
      seen[at(i).text].insert(type);
    }
    auto settle = [&] {
      types_.clear();
      for (const auto& [name, ts] : seen)
        if (ts.size() == 1 && !ts.begin()->empty() && !untypable_.count(name)) types_[name] = *ts.begin();
    };
    settle();
    for (const auto& [i, j] : pendingMethod_) {
      auto it = types_.find(at(j).text);
      std::string type;
      if (it != types_.end()) {
        const Members& ms = names_.methods.at(it->second);
        auto m = ms.find(at(j + 2).text);
        if (m != ms.end()) type = returnedType(*m->second, names_);
      }
      auto& ts = seen[at(i).text];
      ts.erase("");
      ts.insert(type);
    }
    settle();
  }

  // ---- calls ----

  struct Arg {
    size_t begin, end;  // tokens [begin, end)
  };
  struct Call {
    std::vector<Arg> args;
    bool open = false;  // the last argument may expand to several (f(...), g())
  };

  // The arguments of a call whose callee name ends at `i`, or nullopt when no call follows.
  std::optional<Call> callAfter(size_t i) const {
    Call c;
    size_t j = i + 1;
    if (in_.lang == Lang::kLua && at(j).kind == Token::kString) {
      c.args.push_back({j, j + 1});
      return c;
    }
    if (in_.lang == Lang::kLua && punct(j, "{")) {
      c.args.push_back({j, closing(j) + 1});
      return c;
    }
    if (!punct(j, "(")) return std::nullopt;
    size_t close = closing(j);
    size_t start = j + 1;
    int depth = 0;
    for (size_t k = j + 1; k <= close; ++k) {
      const Token& tok = at(k);
      if (tok.kind == Token::kPunct) {
        const std::string& p = tok.text;
        if (p == "(" || p == "[" || p == "{") ++depth;
        else if ((p == ")" || p == "]" || p == "}") && k != close) --depth;
        if ((p == "," && depth == 0) || k == close) {
          if (k > start) c.args.push_back({start, k});
          start = k + 1;
        }
      }
    }
    if (!c.args.empty()) {
      const Arg& last = c.args.back();
      if (in_.lang == Lang::kLua) c.open = punct(last.end - 1, ")") || punct(last.end - 1, "...");
      if (in_.lang == Lang::kTengo) c.open = punct(last.end - 1, "...");
    }
    if (in_.lang == Lang::kJs)
      for (const Arg& a : c.args) c.open = c.open || punct(a.begin, "...");
    return c;
  }

  std::string signature(const FunctionDecl& f, const std::string& shown) const {
    std::string s = shown + "(";
    bool first = true;
    for (const auto* p : scriptParams(f)) {
      s += (first ? "" : ", ") + p->name + (p->required ? "" : "?");
      first = false;
    }
    if (f.variadic) s += first ? "..." : ", ...";
    return s + ")";
  }

  void checkCall(const FunctionDecl& f, const std::string& shown, size_t nameTok, const Call& c) {
    auto params = scriptParams(f);
    size_t min = 0;
    for (size_t k = 0; k < params.size(); ++k)
      if (params[k]->required) min = k + 1;
    size_t n = c.args.size();
    auto plural = [](size_t k) { return std::to_string(k) + (k == 1 ? " argument" : " arguments"); };
    if (n < min && !c.open)
      report(at(nameTok), "error", "arg_count",
             shown + " needs " + (min == params.size() ? "" : "at least ") + plural(min) + ", got " + std::to_string(n) +
                 " (" + signature(f, shown) + "; " + params[n]->name + " is required)");
    else if (n > params.size() && !f.variadic)
      report(at(nameTok), "error", "arg_count",
             shown + " takes at most " + plural(params.size()) + ", got " + std::to_string(n) + " (" +
                 signature(f, shown) + ")");
    for (size_t k = 0; k < std::min(n, params.size()); ++k) {
      const Arg& a = c.args[k];
      if (punct(a.begin, "{") && closing(a.begin) + 1 == a.end && params[k]->schema.get("properties").isObject())
        checkKeys(a.begin, params[k]->schema, shown, params[k]->name, f);
    }
    if (f.permission != Permission::kNone) {
      std::string literal;
      if (n > 0 && c.args[0].end == c.args[0].begin + 1 && at(c.args[0].begin).kind == Token::kString)
        literal = at(c.args[0].begin).text;
      need(f.permission, nameTok, shown, literal);
    }
    // A built-in tool named in the call needs that tool's grant.
    std::string q = f.qualifiedName();
    if ((q == "tools.call" || q == "tools.try_call") && n > 0 && c.args[0].end == c.args[0].begin + 1 &&
        at(c.args[0].begin).kind == Token::kString)
      needTool(at(c.args[0].begin).text, c.args[0].begin, shown);
  }

  // The keys of the literal table/object at `open`, against `schema`'s properties; nested
  // literals are checked against their property's own properties.
  void checkKeys(size_t open, const Value& schema, const std::string& shown, const std::string& where,
                 const FunctionDecl& f) {
    const Value& props = schema.get("properties");
    size_t close = closing(open);
    int depth = 0;
    bool entryStart = true;
    for (size_t j = open + 1; j < close; ++j) {
      const Token& tok = at(j);
      if (tok.kind == Token::kPunct) {
        const std::string& p = tok.text;
        if (p == "(" || p == "[" || p == "{") {
          if (depth == 0 && entryStart && p == "[" && in_.lang == Lang::kLua && at(j + 1).kind == Token::kString &&
              punct(j + 2, "]") && punct(j + 3, "=")) {
            key(j + 1, j + 4, close, props, shown, where, f);
          }
          ++depth;
          entryStart = false;
          continue;
        }
        if (p == ")" || p == "]" || p == "}") {
          --depth;
          continue;
        }
        if (depth == 0 && (p == "," || p == ";")) {
          entryStart = true;
          continue;
        }
      }
      if (depth != 0 || !entryStart) continue;
      entryStart = false;
      bool name = tok.kind == Token::kIdent || tok.kind == Token::kString ||
                  (in_.lang == Lang::kJs && tok.kind == Token::kNumber && tok.text != "/regex/");
      if (!name) continue;
      if (in_.lang == Lang::kLua) {
        if (tok.kind == Token::kIdent && punct(j + 1, "=")) key(j, j + 2, close, props, shown, where, f);
      } else if (punct(j + 1, ":")) {
        key(j, j + 2, close, props, shown, where, f);
      } else if (in_.lang == Lang::kJs && tok.kind == Token::kIdent &&
                 (punct(j + 1, ",") || j + 1 == close || punct(j + 1, "("))) {
        key(j, j + 1, close, props, shown, where, f);  // shorthand {model} or method {run() {}}
      }
    }
  }

  void key(size_t keyTok, size_t valueStart, size_t close, const Value& props, const std::string& shown,
           const std::string& where, const FunctionDecl& f) {
    const std::string& k = at(keyTok).text;
    if (!props.asObject().contains(k)) {
      std::vector<std::string> known;
      for (const auto& [name, _] : props.asObject()) known.push_back(name);
      std::string msg = shown + ": unknown option '" + k + "' in " + where;
      auto close2 = closestNames(k, known);
      if (!close2.empty()) msg += "; did you mean " + orList(close2) + "?";
      else msg += " (known: " + orList(known) + ")";
      report(at(keyTok), "error", "unknown_option", msg);
      return;
    }
    // The value: up to the next separator at this depth.
    size_t end = valueStart;
    for (int depth = 0; end < close; ++end) {
      if (at(end).kind != Token::kPunct) continue;
      const std::string& p = at(end).text;
      if (p == "(" || p == "[" || p == "{") ++depth;
      else if (p == ")" || p == "]" || p == "}") --depth;
      else if (depth == 0 && (p == "," || p == ";")) break;
    }
    const Value& sub = props.get(k);
    if (punct(valueStart, "{") && closing(valueStart) + 1 == end && sub.get("properties").isObject())
      checkKeys(valueStart, sub, shown, where + "." + k, f);
    // agent.create{tools = {"shell"}}: built-in tools the agent may call need their grants.
    if (k == "tools" && f.qualifiedName() == "agent.create")
      for (size_t j = valueStart; j < end; ++j)
        if (at(j).kind == Token::kString) needTool(at(j).text, j, shown);
  }

  // ---- each token ----

  void visit(size_t i) {
    if (!ident(i) || afterMember(i)) return;
    const std::string& name = at(i).text;
    // ns.member
    if (auto b = bound_.find(name); b != bound_.end() && memberOp(i + 1) && at(i + 2).kind == Token::kIdent) {
      size_t m = i + 2;
      if (assignOp(m + 1)) return;  // the spell adds to the namespace itself
      const Members& members = names_.ns.at(b->second);
      auto f = members.find(at(m).text);
      if (f == members.end()) {
        // Tengo's own json and text modules are merged with the registry's: their other
        // functions are not in the registry.
        if (in_.lang == Lang::kTengo && (b->second == "json" || b->second == "text")) return;
        report(at(m), "error", "unknown_function", unknownMemberMessage(name, at(m).text, keysOf(members)));
        return;
      }
      if (f->second->property) {
        if (f->second->qualifiedName() == "spell.params" && memberOp(m + 1) && at(m + 2).kind == Token::kIdent)
          paramsRead_.insert(at(m + 2).text);
        else if (f->second->qualifiedName() == "spell.params" && !punct(m + 1, "[") &&
                 !(i >= 2 && (punct(i - 1, "=") || punct(i - 1, ":=")) && ident(i - 2)))
          paramsWhole_ = true;  // passed on whole (json.encode(spell.params)): every param may be read
        return;
      }
      if (auto c = callAfter(m)) checkCall(*f->second, name + "." + at(m).text, m, *c);
      else if (f->second->permission != Permission::kNone)  // pcall(fs.read, path): called all the same
        need(f->second->permission, m, name + "." + at(m).text, "");
      return;
    }
    // A registry global: sleep(1), spawn(f)
    if (!declared_.count(name)) {
      if (auto g = names_.globals.find(name); g != names_.globals.end()) {
        if (auto c = callAfter(i)) checkCall(*g->second, name, i, *c);
        return;
      }
    }
    // var:method() (Lua), var.method() (JS, Tengo) on a variable of a known host type.
    auto ty = types_.find(name);
    if (ty == types_.end()) return;
    bool lua = in_.lang == Lang::kLua;
    if (!(lua ? punct(i + 1, ":") : memberOp(i + 1)) || at(i + 2).kind != Token::kIdent) return;
    size_t m = i + 2;
    auto c = callAfter(m);
    if (!c || ownMembers_.count(name + "." + at(m).text)) return;  // a field, or one the spell set
    const Members& ms = names_.methods.at(ty->second);
    auto f = ms.find(at(m).text);
    std::string sep = lua ? ":" : ".";
    if (f == ms.end()) {
      std::string msg = name + sep + at(m).text + " is not a method of " + ty->second + " (" + name + " holds one)";
      auto close = closestNames(at(m).text, keysOf(ms));
      if (!close.empty()) msg += "; did you mean " + orList(close, name + sep) + "?";
      report(at(m), "error", "unknown_function", msg);
      return;
    }
    checkCall(*f->second, name + sep + at(m).text, m, *c);
  }

  // ---- grants ----

  struct Need {
    std::string kind;  // net, read, write, env, run
    size_t tok;
    std::string what;     // "fs.read", "tool shell"
    std::string literal;  // env.get's variable name when written literally
  };
  std::vector<Need> needs_;

  void need(Permission p, size_t tok, const std::string& shown, const std::string& literal) {
    std::string flag(permissionFlag(p));  // --allow-read
    needs_.push_back({flag.substr(flag.rfind('-') + 1), tok, shown, p == Permission::kEnv ? literal : ""});
  }
  void needTool(const std::string& tool, size_t tok, const std::string& shown) {
    for (const auto& t : tools::ToolRegistry::builtins())
      if (t->name == tool && t->permission != "none")
        needs_.push_back({t->permission, tok, shown + " of the built-in tool " + tool, ""});
  }

  static bool envGranted(const std::vector<std::string>& grants, const std::string& name) {
    for (const auto& g : grants) {
      if (g == "*" || g == name) return true;
      if (g.ends_with("*") && name.rfind(g.substr(0, g.size() - 1), 0) == 0) return true;
    }
    return false;
  }

  void checkGrants() {
    std::set<std::string> done;
    const Manifest* m = in_.manifest;
    for (const auto& n : needs_) {
      bool granted = false;
      if (m) {
        if (n.kind == "read") granted = !m->read.empty() || !m->write.empty();  // a write grant reads back
        else if (n.kind == "write") granted = !m->write.empty();
        else if (n.kind == "net") granted = !m->net.empty();
        else if (n.kind == "run") granted = m->run;
        else if (n.kind == "env") granted = n.literal.empty() ? !m->env.empty() : envGranted(m->env, n.literal);
      }
      if (granted || !done.insert(n.kind + "\n" + n.literal).second) continue;
      std::string flag = "--allow-" + n.kind;
      std::string yaml = n.kind == "run" ? "run: true" : n.kind + ": [" + (n.literal.empty() ? "..." : n.literal) + "]";
      std::string what = n.literal.empty() ? n.what : n.what + "(\"" + n.literal + "\")";
      if (m)
        report(at(n.tok), "error", "missing_grant",
               what + " needs " + (n.kind == "run" ? "the run" : "a " + n.kind) + " grant that " + in_.manifestFile +
                   " does not give; add `" + yaml + "` under permissions: (or run with " + flag + ")");
      else
        report(at(n.tok), "warning", "missing_grant",
               what + " needs " + flag + " when the spell runs (there is no spell.yaml beside it to grant it)");
    }
  }

  // ---- params ----

  void scanParamReads(const std::vector<Token>& toks) {
    std::set<std::string> aliases{"params"};
    for (size_t i = 0; i + 2 < toks.size(); ++i) {
      // local p = spell.params / p := spell.params / const p = spell.params
      if (toks[i].kind == Token::kIdent && toks[i + 1].kind == Token::kPunct &&
          (toks[i + 1].text == "=" || toks[i + 1].text == ":=") && i + 4 < toks.size() && toks[i + 3].text == "." &&
          toks[i + 4].text == "params")
        aliases.insert(toks[i].text);
    }
    for (size_t i = 0; i + 2 < toks.size(); ++i) {
      if (toks[i].kind == Token::kString) paramsRead_.insert(toks[i].text);
      if (toks[i].kind == Token::kIdent && aliases.count(toks[i].text) && toks[i + 1].kind == Token::kPunct &&
          (toks[i + 1].text == "." || toks[i + 1].text == "?.") && toks[i + 2].kind == Token::kIdent)
        paramsRead_.insert(toks[i + 2].text);
    }
  }

  void checkParams() {
    const Manifest* m = in_.manifest;
    if (!in_.checkParams || !m || !m->params.isObject() || m->params.asObject().empty() || paramsWhole_) return;
    scanParamReads(t_);
    for (const auto& src : in_.otherSources) scanParamReads(tokenize(src, in_.lang));
    for (const auto& [name, _] : m->params.asObject()) {
      if (paramsRead_.count(name)) continue;
      out_.push_back({in_.manifestFile, manifestLine("params", name), 0, "warning", "unused_param",
                      "param '" + name + "' is declared but the spell never reads it (spell.params." + name + ")"});
    }
  }

  // The line of `key:` under the top-level `section:` of the manifest, 0 when not found.
  int manifestLine(const std::string& section, const std::string& key) const {
    if (!in_.manifest) return 0;
    std::string text;
    try {
      text = readSpellFile(in_.manifestFile);
    } catch (const Exception&) {
      return 0;
    }
    int line = 0;
    bool inSection = false;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t e = text.find('\n', pos);
      std::string l = text.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
      ++line;
      if (!l.empty() && !std::isspace(static_cast<unsigned char>(l[0]))) inSection = l.rfind(section + ":", 0) == 0;
      size_t s = l.find_first_not_of(" \t");
      if (inSection && s != std::string::npos && s > 0) {
        std::string rest = l.substr(s);
        if (rest.rfind(key, 0) == 0 && rest.size() > key.size() &&
            (rest[key.size()] == ':' || rest[key.size()] == ' '))
          return line;
      }
      if (e == std::string::npos) break;
      pos = e + 1;
    }
    return 0;
  }

  // ---- JavaScript: assignment to a name declared nowhere ----

  void checkJsGlobals() {
    static const std::set<std::string, std::less<>> builtins{
        "globalThis", "console", "Math",     "JSON",     "Object",  "Array",    "String",     "Number",  "Boolean",
        "Promise",    "Date",    "RegExp",   "Error",    "TypeError", "RangeError", "SyntaxError", "Map", "Set",
        "WeakMap",    "WeakSet", "Symbol",   "BigInt",   "Reflect", "Proxy",    "parseInt",   "parseFloat",
        "isNaN",      "isFinite", "undefined", "NaN",    "Infinity", "print",   "arguments",  "Intl",    "ArrayBuffer",
        "Uint8Array", "TextEncoder", "TextDecoder", "queueMicrotask", "structuredClone", "encodeURIComponent",
        "decodeURIComponent", "encodeURI", "decodeURI"};
    // Class bodies: `count = 0;` directly inside one declares a field.
    std::vector<std::pair<size_t, size_t>> classes;
    for (size_t i = 0; i < t_.size(); ++i) {
      if (!word(i, "class")) continue;
      size_t open = i;
      while (open < t_.size() && !punct(open, "{")) ++open;
      classes.emplace_back(open, closing(open));
    }
    auto classField = [&](size_t i) {
      for (const auto& [open, close] : classes) {
        if (i <= open || i >= close) continue;
        int depth = 0;
        for (size_t j = open + 1; j < i; ++j) {
          if (punct(j, "(") || punct(j, "[") || punct(j, "{")) ++depth;
          else if (punct(j, ")") || punct(j, "]") || punct(j, "}")) --depth;
        }
        if (depth == 0) return true;
      }
      return false;
    };
    std::set<std::string> done;
    for (size_t i = 0; i + 1 < t_.size(); ++i) {
      if (!ident(i) || afterMember(i) || classField(i)) continue;
      bool assigned = (assignOp(i + 1) && !punct(i + 1, ":=")) || punct(i + 1, "++") || punct(i + 1, "--") ||
                      (i > 0 && (punct(i - 1, "++") || punct(i - 1, "--")));
      const std::string& n = at(i).text;
      if (!assigned || declared_.count(n) || builtins.count(n) || names_.ns.count(n) || names_.globals.count(n)) continue;
      // `{a = 1} = x` destructuring defaults and `a => ...` are declarations already seen.
      if (!done.insert(n).second) continue;
      report(at(i), "error", "global_assign",
             "assignment to '" + n + "', which is declared nowhere: JavaScript spells are modules (strict), so "
             "this throws a ReferenceError when it runs; declare it with let (or const)");
    }
  }

  const LintInput& in_;
  std::vector<Token> t_;
  const Names& names_;
  std::vector<LintDiagnostic> out_;
  std::set<std::string> declared_, untypable_;
  std::map<std::string, std::string> imports_;  // Tengo: alias -> module
  std::map<std::string, std::string> bound_;    // name -> registry namespace
  std::map<std::string, std::string> types_;    // variable -> host type
  std::vector<std::pair<size_t, size_t>> pendingMethod_;
  std::set<std::string> paramsRead_, ownMembers_;
  bool paramsWhole_ = false;
};

}  // namespace

std::vector<LintDiagnostic> lintSpell(const LintInput& in) {
  auto out = Linter(in).run();
  if (in.lang == Lang::kLua) {
    auto more = luacheckSpell(in);
    out.insert(out.end(), more.begin(), more.end());
  } else if (in.lang == Lang::kTengo) {
    // Tengo has no implicit globals (`x = 1` without `x := ...` does not compile), so
    // global_assign does not apply to it.
  }
  std::stable_sort(out.begin(), out.end(), [](const LintDiagnostic& a, const LintDiagnostic& b) {
    if (a.file != b.file) return a.file < b.file;
    return a.line != b.line ? a.line < b.line : a.column < b.column;
  });
  return out;
}

}  // namespace llmspell::cli
