// Completion and `:help` for `llmspell repl`, from the bridge registry (see repl_complete.hpp).
#include "cli/repl_complete.hpp"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

#include "llmspell/bridge/docs.hpp"
#include "llmspell/bridge/names.hpp"
#include "llmspell/core/suggest.hpp"

namespace llmspell::cli {

namespace {

bool identChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// The names a declaration is reachable by: Lua and Tengo add a promise-returning `_async` twin
// of every async function; JavaScript has no `await`/`async` globals of the registry's.
std::vector<std::string> scriptNames(const FunctionDecl& d, std::string_view engine) {
  if (engine == "js") {
    if (d.ns.empty() && d.self.empty() && jsSkipsGlobal(d.name)) return {};
    return {camelCase(d.name)};
  }
  if (d.async && !d.property) return {d.name, d.name + "_async"};
  return {d.name};
}

bool isNamespace(const Registry& reg, const std::string& name) {
  auto all = reg.namespaces();
  return std::find(all.begin(), all.end(), name) != all.end();
}

// The registry type a function's result is, when its `returns` opens with one ("agent",
// "workflow, or nil"); "" otherwise.
std::string resultType(const Registry& reg, const FunctionDecl& d, std::string_view engine) {
  size_t end = d.returns.find_first_of(" ,;.");
  std::string w = d.returns.substr(0, end);
  if (w.empty()) return "";
  if (engine == "js" && w == "promise") return "";  // JavaScript's own Promise, not the host type
  for (const auto& t : reg.types())
    if (t.name == w) return w;
  for (const auto& f : reg.functions())
    if (f.self == w) return w;
  return "";
}

// The namespace `prefix` stands for in `engine`: the namespace itself in Lua and JavaScript; in
// Tengo a variable the module was imported into (or, by convention, one named like it).
std::string namespaceOf(const Registry& reg, std::string_view engine, const std::string& prefix, const ReplNames& names) {
  if (engine == "tengo")
    if (auto it = names.modules.find(prefix); it != names.modules.end()) return it->second;
  return isNamespace(reg, prefix) ? prefix : "";
}

// The declaration `qualified` ("llm.chat", "a:run", "a.run") names in `engine`, if any.
const FunctionDecl* resolve(const Registry& reg, std::string_view engine, const std::string& qualified,
                            const ReplNames& names) {
  size_t sep = qualified.find_last_of(".:");
  std::string prefix = sep == std::string::npos ? "" : qualified.substr(0, sep);
  std::string name = sep == std::string::npos ? qualified : qualified.substr(sep + 1);
  std::string ns, self;
  if (!prefix.empty()) {
    ns = namespaceOf(reg, engine, prefix, names);
    if (ns.empty()) {
      auto it = names.objects.find(prefix);
      if (it == names.objects.end()) return nullptr;
      self = it->second;
    }
  }
  for (const auto& d : reg.functions()) {
    if (d.self != self || (self.empty() && d.ns != ns)) continue;
    for (const auto& n : scriptNames(d, engine))
      if (n == name) return &d;
  }
  return nullptr;
}

// Parameters a script passes (a method's `self` is the object it is called on).
std::vector<const ParamDecl*> scriptParams(const FunctionDecl& d) {
  std::vector<const ParamDecl*> out;
  for (size_t i = d.self.empty() ? 0 : 1; i < d.params.size(); ++i) out.push_back(&d.params[i]);
  return out;
}

struct Open {
  char bracket;
  size_t at;
  int commas = 0;  // top-level commas since the bracket
};

// The brackets still open at the end of `text`, innermost last (strings skipped).
std::vector<Open> openBrackets(std::string_view text) {
  std::vector<Open> stack;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quote) {
      if (c == '\\') ++i;
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'' || c == '`') quote = c;
    else if (c == '(' || c == '{' || c == '[') stack.push_back({c, i});
    else if ((c == ')' || c == '}' || c == ']') && !stack.empty()) stack.pop_back();
    else if (c == ',' && !stack.empty()) ++stack.back().commas;
  }
  return stack;
}

// The qualified name ending just before `end` (spaces skipped): "agent.create" in "agent.create (".
std::string nameBefore(std::string_view text, size_t end) {
  while (end > 0 && text[end - 1] == ' ') --end;
  size_t start = end;
  while (start > 0 && (identChar(text[start - 1]) || text[start - 1] == '.' || text[start - 1] == ':')) --start;
  return std::string(text.substr(start, end - start));
}

// Option fields when the word being completed is a key of a table literal passed to a known
// function: `agent.create{mo`, `llm.chat("hi", {mo`, `agent.create({mo` (JS).
std::optional<std::vector<std::string>> optionKeys(const Registry& reg, std::string_view engine, std::string_view text,
                                                   size_t wordStart, const ReplNames& names) {
  size_t k = wordStart;
  while (k > 0 && (text[k - 1] == ' ' || text[k - 1] == '\t')) --k;
  if (k == 0 || (text[k - 1] != '{' && text[k - 1] != ',')) return std::nullopt;
  auto stack = openBrackets(text.substr(0, wordStart));
  if (stack.empty() || stack.back().bracket != '{') return std::nullopt;
  const Open& brace = stack.back();
  std::string fn;
  size_t arg = 0;
  size_t b = brace.at;
  while (b > 0 && text[b - 1] == ' ') --b;
  if (stack.size() >= 2 && stack[stack.size() - 2].bracket == '(' && b > 0 &&
      (text[b - 1] == '(' || text[b - 1] == ',')) {
    const Open& paren = stack[stack.size() - 2];
    fn = nameBefore(text, paren.at);
    arg = static_cast<size_t>(paren.commas);
  } else if (b > 0 && identChar(text[b - 1])) {
    fn = nameBefore(text, b);  // Lua's f{...}
  }
  if (fn.empty()) return std::nullopt;
  const FunctionDecl* d = resolve(reg, engine, fn, names);
  if (!d) return std::nullopt;
  auto params = scriptParams(*d);
  if (arg >= params.size()) return std::nullopt;
  return optionFields(*params[arg]);
}

std::vector<std::string> sortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

void ReplNames::learn(const Registry& reg, std::string_view engine, std::string_view line) {
  std::string s(line);
  std::smatch m;
  if (engine == "tengo") {
    static const std::regex import(R"re(^\s*([A-Za-z_]\w*)\s*:?=\s*import\(\s*"(\w+)"\s*\))re");
    if (std::regex_search(s, m, import)) {
      if (isNamespace(reg, m[2])) modules[m[1]] = m[2];
      return;
    }
  }
  // NAME = ns.fn(...) / local NAME = ... / const NAME = await ... / NAME := ...
  static const std::regex assign(R"re(^\s*(?:local\s+|const\s+|let\s+|var\s+)?([A-Za-z_$][\w$]*)\s*:?=[^=])re");
  static const std::regex call(R"re(^\s*:?=\s*(?:await\s+)?([\w.:]+)\s*[({"'])re");
  if (!std::regex_search(s, m, assign)) return;
  std::string var = m[1];
  std::string rhs = s.substr(static_cast<size_t>(m.position(1) + m.length(1)));
  objects.erase(var);
  modules.erase(var);
  if (!std::regex_search(rhs, m, call)) return;
  if (const FunctionDecl* d = resolve(reg, engine, m[1], *this)) {
    std::string type = resultType(reg, *d, engine);
    if (!type.empty()) objects[var] = type;
  }
}

Completion complete(const Registry& reg, std::string_view engine, std::string_view text, const ReplNames& names) {
  Completion c;
  // The REPL's own commands.
  size_t lead = text.find_first_not_of(" \t");
  if (lead != std::string_view::npos && text[lead] == ':') {
    std::string_view cmd = text.substr(lead);
    size_t space = cmd.find(' ');
    if (space == std::string_view::npos) {
      c.start = lead;
      for (const char* k : {":help", ":engine", ":quit"})
        if (std::string_view(k).starts_with(cmd)) c.candidates.emplace_back(k);
      return c;
    }
    std::string_view word = cmd.substr(space);
    size_t skip = word.find_first_not_of(' ');
    if (skip == std::string_view::npos) skip = word.size();
    c.start = lead + space + skip;
    std::string_view partial = text.substr(c.start);
    std::vector<std::string> all;
    if (cmd.starts_with(":engine")) {
      all = {"js", "lua", "tengo"};
    } else if (cmd.starts_with(":help")) {
      for (const auto& ns : reg.namespaces()) all.push_back(ns);
      for (const auto& d : reg.functions())
        for (const auto& n : scriptNames(d, engine))
          all.push_back(!d.self.empty() ? d.self + (engine == "lua" ? ":" : ".") + n : d.ns.empty() ? n : d.ns + "." + n);
    }
    for (auto& n : all)
      if (n.starts_with(partial)) c.candidates.push_back(std::move(n));
    c.candidates = sortedUnique(std::move(c.candidates));
    return c;
  }

  size_t start = text.size();
  while (start > 0 && (identChar(text[start - 1]) || text[start - 1] == '.' || text[start - 1] == ':' ||
                       (engine == "js" && text[start - 1] == '$')))
    --start;
  // `x::y`, `a .. b` and the like are not names: complete the last part only.
  std::string_view word = text.substr(start);
  size_t sep = word.find_last_of(".:");
  if (sep != std::string_view::npos && sep > 0 && (word[sep - 1] == '.' || word[sep - 1] == ':')) {
    start += sep + 1;
    word = text.substr(start);
    sep = std::string_view::npos;
  }
  c.start = start;
  std::vector<std::string> out;
  if (sep == std::string_view::npos) {
    if (auto keys = optionKeys(reg, engine, text, start, names)) {
      for (auto& k : *keys)
        if (k.starts_with(word)) out.push_back(std::move(k));
      c.candidates = sortedUnique(std::move(out));
      return c;
    }
    if (word.empty()) return c;  // nothing typed: every name is no help
    std::vector<std::string> all = reg.namespaces();
    for (const auto& d : reg.functions())
      if (d.ns.empty() && d.self.empty())
        for (auto& n : scriptNames(d, engine)) all.push_back(std::move(n));
    for (const auto& [var, _] : names.objects) all.push_back(var);
    for (const auto& [var, _] : names.modules) all.push_back(var);
    if (engine == "tengo") all.push_back("import");
    for (auto& n : all)
      if (n.starts_with(word)) out.push_back(std::move(n));
    c.candidates = sortedUnique(std::move(out));
    return c;
  }
  std::string prefix(word.substr(0, sep));
  char sepChar = word[sep];
  std::string_view partial = word.substr(sep + 1);
  std::string ns = sepChar == '.' ? namespaceOf(reg, engine, prefix, names) : "";
  std::string self;
  if (ns.empty()) {
    auto it = names.objects.find(prefix);
    // Lua calls methods with ':'; JavaScript and Tengo with '.'.
    if (it != names.objects.end() && (sepChar == ':') == (engine == "lua")) self = it->second;
  }
  if (ns.empty() && self.empty()) return c;
  for (const auto& d : reg.functions()) {
    if (!self.empty() ? d.self != self : (!d.self.empty() || d.ns != ns)) continue;
    for (auto& n : scriptNames(d, engine))
      if (n.starts_with(partial)) out.push_back(prefix + sepChar + n);
  }
  c.candidates = sortedUnique(std::move(out));
  return c;
}

std::string commonPrefix(const std::vector<std::string>& candidates) {
  if (candidates.empty()) return "";
  std::string p = candidates.front();
  for (const auto& c : candidates) {
    size_t i = 0;
    while (i < p.size() && i < c.size() && p[i] == c[i]) ++i;
    p.resize(i);
  }
  return p;
}

std::string helpText(const Registry& reg, std::string_view engine, std::string_view name) {
  std::string n(name);
  // JavaScript's camelCase names map back to the registry's.
  if (engine == "js") {
    for (const auto& d : reg.functions()) {
      std::string js = !d.self.empty() ? d.self + "." + camelCase(d.name)
                       : d.ns.empty()  ? camelCase(d.name)
                                       : d.ns + "." + camelCase(d.name);
      if (js == n) {
        n = d.qualifiedName();
        break;
      }
    }
  }
  // A promise-returning twin is documented with its function.
  std::string base = n.ends_with("_async") ? n.substr(0, n.size() - 6) : n;
  if (auto text = docEntry(reg, n)) return *text;
  if (auto text = docEntry(reg, base)) return *text;
  std::vector<std::string> all = reg.namespaces();
  for (const auto& d : reg.functions()) all.push_back(d.qualifiedName());
  std::string msg = "no function, namespace or type named '" + std::string(name) + "'";
  auto close = closestNames(name, all);
  if (!close.empty()) msg += "; did you mean " + orList(close) + "?";
  return msg + " (`:help` lists the commands; `llmspell docs` prints the whole reference)\n";
}

}  // namespace llmspell::cli
