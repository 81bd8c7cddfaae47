// spell.yaml parsing with line numbers, and typing of --param values against the manifest.
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/read_file.hpp"
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

// Counts the nodes of a YAML document as a reader of it sees them, from the parser's events,
// and stops the parse (by throwing TooBig) once there are more than kMaxManifestNodes or they
// nest deeper than kMaxDepth. An alias counts as every node of what it names: yaml-cpp shares
// that node instead of copying it, so loading stays cheap, but everything that walks the
// document (the conversion to a Value) visits it once per alias, and a few lines of nested
// aliases describe billions of nodes. Counting events also bounds the parse itself, which
// yaml-cpp makes slow and large for a long flat list.
class NodeCounter final : public YAML::EventHandler {
 public:
  struct TooBig {};
  static constexpr size_t kMaxDepth = 256;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t a) override { leaf(a); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t a, const std::string&) override { leaf(a); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t a) override {
    auto it = sizes_.find(a);
    if (it == sizes_.end()) throw TooBig{};  // names a node still open: a cycle
    add(it->second);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(a);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t a, YAML::EmitterStyle::value) override {
    open(a);
  }
  void OnMapEnd() override { close(); }

 private:
  void add(size_t n) {
    total_ += n;
    if (total_ > kMaxManifestNodes) throw TooBig{};
  }
  void leaf(YAML::anchor_t a) {
    add(1);
    if (a) sizes_[a] = 1;
  }
  void open(YAML::anchor_t a) {
    add(1);
    open_.push_back({a, total_ - 1});
    if (open_.size() > kMaxDepth) throw TooBig{};
  }
  void close() {
    auto [a, start] = open_.back();
    open_.pop_back();
    if (a) sizes_[a] = total_ - start;
  }

  size_t total_ = 0;
  std::vector<std::pair<YAML::anchor_t, size_t>> open_;  // open collections: anchor, total at start
  std::unordered_map<YAML::anchor_t, size_t> sizes_;     // anchor -> nodes of what it names
};

std::string tooLarge() {
  return "the manifest is larger than the " + fmtBytes(kMaxManifestBytes) + " a manifest may be";
}

const char* const kTopKeys[] = {"name", "version", "description", "engine", "entry", "params",
                                "permissions", "limits", "model", "config", "author", "tags",
                                "outputs", "tools", "agents", "durable", "serve"};
const char* const kParamTypes[] = {"string", "integer", "number", "boolean", "array", "object"};

}  // namespace

std::optional<Manifest> parseManifest(const std::string& text, const std::string& file,
                                      std::vector<Diagnostic>& diags) {
  Manifest m;
  YAML::Node root;
  if (text.size() > kMaxManifestBytes) {
    diags.push_back({file, 0, tooLarge()});
    return std::nullopt;
  }
  try {
    try {
      std::istringstream in(text);
      YAML::Parser parser(in);
      NodeCounter counter;
      parser.HandleNextDocument(counter);
    } catch (const NodeCounter::TooBig&) {
      diags.push_back({file, 0, "the manifest has more than " + std::to_string(kMaxManifestNodes) +
                                    " YAML nodes (aliases counted as the nodes they repeat) or is nested "
                                    "more than " + std::to_string(NodeCounter::kMaxDepth) +
                                    " deep; a manifest describes a spell, not its data"});
      return std::nullopt;
    }
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
  for (const auto& entry : m.raw.asObject()) {
    // Not a structured binding: clang 14 (the fuzz preset) cannot capture one in a lambda.
    const std::string& k = entry.first;
    if (std::find_if(std::begin(kTopKeys), std::end(kTopKeys),
                     [&](const char* t) { return k == t; }) == std::end(kTopKeys))
      diags.push_back({file, lineOf(root, {k.c_str()}), "unknown key '" + k + "' (ignored)"});
  }
  auto str = [&](const char* key, std::string& out) {
    const Value& v = m.raw.get(key);
    if (v.isNull()) return;
    if (v.isString()) out = v.asString();
    // `version: 1.2` reads as a number; an infinity or NaN (`.inf`, `.nan`) has no text form.
    else if (v.isNumber() && std::isfinite(v.asNumber())) out = toJsonText(v);
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
        std::string problem = !v.isNumber() ? "must be a number" : limitProblem(k, v.asNumber());
        if (!problem.empty()) err({"limits", k.c_str()}, "'limits." + k + "' " + problem);
      }
      m.limits = limits;
    }
  }
  if (m.raw.get("config").isObject()) m.config = m.raw.get("config");
  // `serve: {models: [id, ...]}`: the model ids `llmspell serve` answers with this spell on its
  // OpenAI-compatible endpoint (docs/serve.md).
  if (const Value& sv = m.raw.get("serve"); !sv.isNull()) {
    if (!sv.isObject()) {
      err({"serve"}, "serve must be a mapping (serve: {models: [my-agent]})");
    } else {
      for (const auto& [k, v] : sv.asObject())
        if (k != "models") diags.push_back({file, lineOf(root, {"serve", k.c_str()}), "unknown key 'serve." + k + "' (ignored)"});
      const Value& models = sv.get("models");
      bool ok = models.isNull() || models.isArray();
      if (models.isArray())
        for (const auto& x : models.asArray())
          ok = ok && x.isString() && !x.asString().empty() &&
               x.asString().find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:/-") == std::string::npos;
      if (!ok) err({"serve", "models"}, "serve.models must be a list of model ids (letters, digits and . _ : / -)");
    }
  }
  // Only "unknown key" diagnostics are warnings; anything else makes the manifest unusable.
  for (size_t i = before; i < diags.size(); ++i)
    if (diags[i].message.find("(ignored)") == std::string::npos) return std::nullopt;
  return m;
}

namespace {
// The manifests parsed so far, by path, with the text each was parsed from: a process that runs
// a spell again and again (a `serve` worker) still reads the file every time, but parses it
// again only when its text changed. Parsing was a sixth of a trivial run.
struct ParsedManifest {
  std::string text;
  Manifest manifest;
  std::vector<Diagnostic> diags;
};
constexpr size_t kParsedManifests = 256;
std::mutex parsedMu;
std::unordered_map<std::string, ParsedManifest>& parsedManifests() {
  static auto* m = new std::unordered_map<std::string, ParsedManifest>;
  return *m;
}

}  // namespace

Manifest independentCopy(const Manifest& m) {
  Manifest c = m;
  c.raw = m.raw.deepCopy();
  c.params = m.params.deepCopy();
  c.limits = m.limits.deepCopy();
  c.config = m.config.deepCopy();
  return c;
}

std::optional<Manifest> loadManifest(const std::string& file, std::vector<Diagnostic>& diags) {
  std::string text;
  try {
    text = readRegularFile(file, kMaxManifestBytes);
  } catch (const Exception& e) {
    diags.push_back({file, 0, e.error().code == codes::kLimitExceeded ? tooLarge() : e.error().message});
    return std::nullopt;
  }
  {
    std::lock_guard lk(parsedMu);
    auto& cache = parsedManifests();
    if (auto it = cache.find(file); it != cache.end() && it->second.text == text) {
      diags.insert(diags.end(), it->second.diags.begin(), it->second.diags.end());
      Manifest m = independentCopy(it->second.manifest);  // a run may change what it was given
      m.dir = std::filesystem::absolute(std::filesystem::path(file)).parent_path().string();
      return m;
    }
  }
  std::vector<Diagnostic> found;
  auto m = parseManifest(text, file, found);
  diags.insert(diags.end(), found.begin(), found.end());
  if (!m) return m;
  m->dir = std::filesystem::absolute(std::filesystem::path(file)).parent_path().string();
  std::lock_guard lk(parsedMu);
  auto& cache = parsedManifests();
  if (cache.size() >= kParsedManifests) cache.clear();
  cache[file] = ParsedManifest{std::move(text), independentCopy(*m), std::move(found)};
  return m;
}

namespace {
// `p` resolved (`..`, symlinks), when that stays inside the directory `dir` (resolved too).
std::optional<std::filesystem::path> resolvedInside(const std::filesystem::path& dir,
                                                    const std::filesystem::path& p) {
  std::error_code ec1, ec2;
  auto root = weaklyCanonicalPath(dir, ec1);
  auto real = weaklyCanonicalPath(p, ec2);
  auto rel = real.lexically_relative(root);
  if (ec1 || ec2 || rel.empty() || *rel.begin() == ".." || rel == ".") return std::nullopt;
  return real;
}
}  // namespace

std::string manifestEntry(const Manifest& m, const std::string& manifestFile) {
  namespace fs = std::filesystem;
  fs::path dir = m.dir;
  std::error_code ec;
  std::string entry = m.entry;
  if (entry.empty()) {
    for (Engine* e : allEngines())
      for (const auto& x : e->extensions())
        if (entry.empty() && fs::exists(dir / ("main" + x), ec)) entry = "main" + x;
    if (entry.empty()) fail(codes::kInvalidArgument, manifestFile + ": no 'entry' and no main.lua");
  }
  // The entry is part of the spell: it must stay in the spell's directory, so a manifest cannot
  // point the runner at /dev/zero or at files of another spell.
  fs::path p = (dir / entry).lexically_normal();
  if (!resolvedInside(dir, p))
    fail(codes::kInvalidArgument, manifestFile + ": entry '" + entry +
                                      "' must name a file inside the spell's directory " + dir.string());
  return p.string();
}

std::string readSpellFile(const std::string& path, const std::string& within) {
  if (within.empty()) return readRegularFile(path, kMaxSourceBytes);
  // Resolved again here, and opened as resolved: a link swapped in since manifestEntry looked
  // is refused, not followed.
  auto real = resolvedInside(within, path);
  if (!real) fail(codes::kInvalidArgument, path + " is not inside the spell's directory " + within);
  return readRegularFile(*real, kMaxSourceBytes, true, path);
}

std::string limitProblem(std::string_view key, double v) {
  if (!std::isfinite(v)) return "must be a finite number";
  // Upper bounds keep every limit representable where it is used (a timeout as nanoseconds
  // of steady_clock, instructions as int64) and catch typos; none is a real constraint.
  struct Bound {
    const char* key;
    const char* what;
    bool zeroOk;
    double max;
    bool whole;
    const char* maxText;
  };
  static const Bound kBounds[] = {
      {"timeout_s", "a number of seconds", false, 365.0 * 86400, false, "31536000 (365 days)"},
      {"memory_mb", "a number of MiB", false, 1 << 20, false, "1048576 (1 TiB)"},
      {"instructions", "a whole number", false, 1e15, true, "10^15"},
      {"max_cost_usd", "an amount in USD", true, 1e9, false, "10^9"},
      {"max_tokens", "a whole number", true, 1e15, true, "10^15"},
  };
  for (const auto& b : kBounds) {
    if (key != b.key) continue;
    if ((b.zeroOk ? v >= 0 : v > 0) && v <= b.max && (!b.whole || v == std::floor(v))) return "";
    return std::string("must be ") + b.what + (b.zeroOk ? " from 0" : " greater than 0") + " up to " + b.maxText;
  }
  return v < 0 ? "must be a non-negative number" : "";
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
