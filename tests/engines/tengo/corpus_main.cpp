// Corpus runner: executes every case of a Tengo corpus (JSON lines, see
// ../shared/tengo/corpus-schema.md) against llmspell's Tengo implementation and prints failures,
// a per-kind summary and finally "N passed, N failed, N skipped".
//
// Usage: tengo_corpus CORPUS [--skips FILE] [--known FILE] [--filter SUBSTR] [-v] [--mutate N]
//   --skips: "id reason" lines; those cases are skipped.
//   --known: ids of known failures; exit status is 1 only for failures not listed there.
// Exit 77 (ctest SKIP_RETURN_CODE) when the corpus file is absent.
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "engines/tengo/core.hpp"
#include "engines/tengo/stdlib_util.hpp"
#include "llmspell/engines/tengo/tengo.hpp"

using nlohmann::json;
namespace tg = llmspell::tengo;

namespace {

std::string hexDecode(const std::string& h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

double parseFloatJson(const json& j) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    if (s == "NaN") return std::nan("");
    if (s == "+Inf") return HUGE_VAL;
    if (s == "-Inf") return -HUGE_VAL;
    return std::stod(s);
  }
  return j.get<double>();
}

// Converts a typed corpus value into a VM value (for out_init / globals).
tg::Value fromTyped(const json& t) {
  auto it = t.begin();
  const std::string& k = it.key();
  const json& v = it.value();
  if (k == "int") return tg::Value::integer(v.get<int64_t>());
  if (k == "float") return tg::Value::number(parseFloatJson(v));
  if (k == "string") return tg::makeString(v.get<std::string>());
  if (k == "string_hex") return tg::makeString(hexDecode(v.get<std::string>()));
  if (k == "char") return tg::Value::character(v.get<int32_t>());
  if (k == "bool") return tg::Value::boolean(v.get<bool>());
  if (k == "bytes_hex") return tg::makeBytes(hexDecode(v.get<std::string>()));
  if (k == "array" || k == "immutable_array") {
    std::vector<tg::Value> items;
    for (auto& e : v) items.push_back(fromTyped(e));
    return tg::makeArray(std::move(items), k == "immutable_array");
  }
  if (k == "map" || k == "immutable_map") {
    std::map<std::string, tg::Value, std::less<>> m;
    for (auto e = v.begin(); e != v.end(); ++e) m[e.key()] = fromTyped(e.value());
    return tg::makeMap(std::move(m), k == "immutable_map");
  }
  if (k == "error") return tg::makeError(v.is_null() ? tg::Value() : fromTyped(v));
  return tg::Value();
}

// RFC3339(Nano) -> unix seconds + nanos.
bool parseRfc3339(const std::string& s, int64_t* sec, int32_t* nsec) {
  tg::TimeObj t;
  std::string err;
  if (!llmspell::tengo::detail::goParseTime("2006-01-02T15:04:05.999999999Z07:00", s, &t, &err))
    return false;
  *sec = t.sec;
  *nsec = t.nsec;
  return true;
}

bool matches(const tg::Value& got, const json& t, std::string* why) {
  auto it = t.begin();
  const std::string& k = it.key();
  const json& v = it.value();
  auto fail = [&](const std::string& m) {
    *why = m + ": got " + tg::typeName(got) + " " + tg::toDisplay(got) + ", want " + t.dump();
    return false;
  };
  using tg::Type;
  if (k == "undefined") return got.type() == Type::kUndefined || fail("type");
  if (k == "int") return (got.type() == Type::kInt && got.i() == v.get<int64_t>()) || fail("int");
  if (k == "float") {
    if (got.type() != Type::kFloat) return fail("type");
    double want = parseFloatJson(v);
    if (std::isnan(want) && std::isnan(got.f())) return true;
    return got.f() == want || fail("float");
  }
  if (k == "char") return (got.type() == Type::kChar && got.i() == v.get<int64_t>()) || fail("char");
  if (k == "bool") return (got.type() == Type::kBool && (got.i() != 0) == v.get<bool>()) || fail("bool");
  if (k == "string" || k == "string_hex") {
    std::string want = k == "string" ? v.get<std::string>() : hexDecode(v.get<std::string>());
    return (got.type() == Type::kString && got.as<tg::StringObj>()->s == want) || fail("string");
  }
  if (k == "bytes_hex")
    return (got.type() == Type::kBytes && got.as<tg::BytesObj>()->b == hexDecode(v.get<std::string>())) ||
           fail("bytes");
  if (k == "array" || k == "immutable_array") {
    if (got.type() != (k == "array" ? Type::kArray : Type::kImmutableArray)) return fail("type");
    auto* a = got.as<tg::ArrayObj>();
    if (a->len != v.size()) return fail("length");
    for (size_t i = 0; i < a->len; ++i)
      if (!matches(a->at(i), v[i], why)) return false;
    return true;
  }
  if (k == "map" || k == "immutable_map") {
    if (got.type() != (k == "map" ? Type::kMap : Type::kImmutableMap)) return fail("type");
    auto& m = got.as<tg::MapObj>()->m;
    if (m.size() != v.size()) return fail("size");
    for (auto e = v.begin(); e != v.end(); ++e) {
      auto f = m.find(e.key());
      if (f == m.end()) return fail("missing key " + e.key());
      if (!matches(f->second, e.value(), why)) return false;
    }
    return true;
  }
  if (k == "error") {
    if (got.type() != Type::kError) return fail("type");
    if (v.is_null()) return true;
    return matches(got.as<tg::ErrorObj>()->v, v, why);
  }
  if (k == "time") {
    if (got.type() != Type::kTime) return fail("type");
    int64_t sec;
    int32_t ns;
    if (!parseRfc3339(v.get<std::string>(), &sec, &ns)) return fail("bad expected time");
    auto* tt = got.as<tg::TimeObj>();
    return (tt->sec == sec && tt->nsec == ns) || fail("time");
  }
  return fail("unknown expected kind " + k);
}

struct Outcome {
  bool pass;
  std::string why;
};

Outcome runCase(const json& c) {
  const std::string kind = c["kind"];
  const std::string src = c["source"];
  if (kind == "parse_ok" || kind == "parse_string") {
    std::string ast;
    tg::Status st = tg::Script::parseToString(src, "test", &ast);
    if (!st.ok()) return {false, "parse failed: " + st.message};
    if (ast != c["ast_string"].get<std::string>())
      return {false, "ast mismatch: got " + ast + " want " + c["ast_string"].get<std::string>()};
    return {true, ""};
  }
  if (kind == "parse_error") {
    std::string ast;
    tg::Status st = tg::Script::parseToString(src, "test", &ast);
    if (st.ok()) return {false, "expected parse error, got " + ast};
    std::string want = c["error"];
    if (st.message.find(want) == std::string::npos)
      return {false, "error mismatch: got " + st.message + " want " + want};
    return {true, ""};
  }
  tg::Script s(src, "test");
  if (c.contains("out_init")) s.define("out", fromTyped(c["out_init"]));
  if (c.contains("globals")) {
    std::map<std::string, json> g;
    for (auto it = c["globals"].begin(); it != c["globals"].end(); ++it) g[it.key()] = it.value();
    for (auto& [name, v] : g) s.define(name, fromTyped(v));
  }
  if (c.contains("stdlib")) {
    std::vector<std::string> names;
    for (auto& n : c["stdlib"]) names.push_back(n);
    s.modules().addStdlib(names);
  }
  if (c.contains("modules"))
    for (auto it = c["modules"].begin(); it != c["modules"].end(); ++it)
      s.modules().addSourceModule(it.key(), it.value().get<std::string>());
  if (c.contains("builtin_modules"))
    for (auto it = c["builtin_modules"].begin(); it != c["builtin_modules"].end(); ++it) {
      std::map<std::string, tg::Value, std::less<>> attrs;
      for (auto a = it.value().begin(); a != it.value().end(); ++a) attrs[a.key()] = fromTyped(a.value());
      s.modules().addBuiltinModule(it.key(), std::move(attrs));
    }
  if (c.contains("max_allocs")) s.limits().maxAllocs = c["max_allocs"].get<int64_t>();
  if (c.contains("max_string_len")) s.limits().maxStringLen = c["max_string_len"].get<int64_t>();
  if (c.contains("max_bytes_len")) s.limits().maxBytesLen = c["max_bytes_len"].get<int64_t>();
  std::unique_ptr<tg::Vm> vm;
  tg::Status st = s.compile(&vm);
  if (st.ok()) {
    if (kind == "compile_ok") return {true, ""};
    if (kind == "compile_error") return {false, "expected compile error"};
    vm->setOutput([](std::string_view) {});
    st = vm->run();
  }
  if (kind == "compile_ok") return {false, "compile failed: " + st.message};
  if (kind == "error" || kind == "compile_error") {
    if (st.ok()) return {false, "expected error " + c["error"].get<std::string>()};
    std::string want = c["error"];
    if (st.message.find(want) == std::string::npos)
      return {false, "error mismatch: got [" + st.message + "] want [" + want + "]"};
    return {true, ""};
  }
  if (!st.ok()) return {false, "failed: " + st.message};
  std::string why;
  if (!matches(vm->get("out"), c["expect"], &why)) return {false, why};
  return {true, ""};
}

// Robustness mode: runs random mutations of a case's source under tight limits; only crashes
// (or sanitizer reports) matter, results are ignored.
void mutateCase(const json& c, int rounds, uint32_t* seed) {
  auto rnd = [seed]() {
    *seed = *seed * 1664525u + 1013904223u;
    return *seed >> 8;
  };
  static const char* pieces[] = {"(", ")", "[", "]", "{", "}", ",", ":", ";", "\n", "...", "func",
                                 "x", "0", "\"", "'", "`", "+", "-", "/", "%", "<<", "&^", ".",
                                 "import(\"enum\")", "for", "if", "return", "export", "?", "=",
                                 ":=", "++", "error(", "immutable(", "1e400", "0x", "\\u"};
  std::string base = c["source"];
  for (int r = 0; r < rounds; ++r) {
    std::string src = base;
    int edits = 1 + static_cast<int>(rnd() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = src.empty() ? 0 : rnd() % (src.size() + 1);
      switch (rnd() % 3) {
        case 0:
          if (!src.empty() && pos < src.size()) src.erase(pos, 1 + rnd() % 3);
          break;
        case 1: src.insert(pos, pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))]); break;
        default:
          if (!src.empty() && pos < src.size()) src[pos] = static_cast<char>(rnd() % 128);
      }
    }
    tg::Script s(src, "test");
    s.modules().addStdlib(tg::ModuleMap::allStdlibNames());
    if (c.contains("modules"))
      for (auto it = c["modules"].begin(); it != c["modules"].end(); ++it)
        s.modules().addSourceModule(it.key(), it.value().get<std::string>());
    s.limits().maxInstructions = 200000;
    s.limits().maxMemoryBytes = 64 << 20;
    s.limits().deadlineMs = 500;
    s.limits().maxStringLen = 1 << 20;
    s.limits().maxBytesLen = 1 << 20;
    std::string ast;
    (void)tg::Script::parseToString(src, "test", &ast);
    std::unique_ptr<tg::Vm> vm;
    tg::Status st = s.compile(&vm);
    if (st.ok()) {
      vm->setOutput([](std::string_view) {});
      (void)vm->run();
    }
  }
}

std::map<std::string, std::string> readIdFile(const std::string& path) {
  std::map<std::string, std::string> out;
  if (path.empty()) return out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto sp = line.find_first_of(" \t");
    out[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tengo_corpus CORPUS [--skips F] [--known F] [--filter S] [-v]\n");
    return 2;
  }
  std::string corpus = argv[1], skipsPath, knownPath, filter;
  bool verbose = false, writeKnown = false;
  int mutate = 0;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--skips" && i + 1 < argc) skipsPath = argv[++i];
    else if (a == "--known" && i + 1 < argc) knownPath = argv[++i];
    else if (a == "--filter" && i + 1 < argc) filter = argv[++i];
    else if (a == "--write-known") writeKnown = true;
    else if (a == "-v") verbose = true;
    else if (a == "--mutate" && i + 1 < argc) mutate = std::atoi(argv[++i]);
  }
  std::ifstream in(corpus);
  if (!in) {
    std::printf("corpus %s not found: skipping\n0 passed, 0 failed, 0 skipped\n", corpus.c_str());
    return 77;
  }
  auto skips = readIdFile(skipsPath);
  auto known = readIdFile(knownPath);
  struct Count {
    int pass = 0, fail = 0, skip = 0;
  };
  std::map<std::string, Count> byKind;
  int passed = 0, failed = 0, skipped = 0, newFailures = 0;
  std::vector<std::string> failedIds;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json c = json::parse(line);
    std::string id = c["id"];
    if (!filter.empty() && id.find(filter) == std::string::npos) continue;
    std::string kind = c["kind"];
    if (mutate > 0) {
      static uint32_t seed = 12345;
      mutateCase(c, mutate, &seed);
      continue;
    }
    if (skips.count(id)) {
      ++skipped;
      ++byKind[kind].skip;
      continue;
    }
    Outcome o;
    try {
      o = runCase(c);
    } catch (std::exception& e) {
      o = {false, std::string("exception: ") + e.what()};
    }
    if (o.pass) {
      ++passed;
      ++byKind[kind].pass;
    } else {
      ++failed;
      ++byKind[kind].fail;
      failedIds.push_back(id);
      bool isKnown = known.count(id) != 0;
      if (!isKnown) ++newFailures;
      if (verbose || !isKnown) {
        std::string why = o.why.size() > 400 ? o.why.substr(0, 400) + "..." : o.why;
        std::printf("FAIL%s %s: %s\n", isKnown ? "(known)" : "", id.c_str(), why.c_str());
        if (verbose) std::printf("  source: %s\n", c["source"].get<std::string>().substr(0, 300).c_str());
      }
    }
  }
  if (writeKnown && !knownPath.empty()) {
    std::ofstream k(knownPath);
    k << "# Corpus cases known to fail (ids); the ctest fails only on failures not listed here.\n";
    for (auto& id : failedIds) k << id << "\n";
  }
  std::printf("\nper kind:\n");
  for (auto& [k, n] : byKind)
    std::printf("  %-14s %5d passed, %4d failed, %4d skipped\n", k.c_str(), n.pass, n.fail, n.skip);
  if (!knownPath.empty()) std::printf("new failures (not in known list): %d\n", newFailures);
  std::printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return newFailures == 0 ? 0 : 1;
}
