// Tengo `text` module: Go strings/strconv functions and RE2-based regular expressions.
#include <algorithm>
#include <cmath>
#include <memory>

#include <re2/re2.h>

#include "engines/tengo/stdlib_util.hpp"

namespace llmspell::tengo::detail {

namespace {

void fn(Attrs& m, const char* name, NativeFn f) { m[name] = makeNative(name, std::move(f)); }

Result strLimit() { return Result::limit("exceeding string size limit"); }

std::unique_ptr<RE2> compileRe(const std::string& pat, std::string* err) {
  RE2::Options opt;
  opt.set_log_errors(false);
  auto re = std::make_unique<RE2>(pat, opt);
  if (!re->ok()) {
    *err = "error parsing regexp: " + re->error();
    return nullptr;
  }
  return re;
}

// All matches with submatch indexes (Go FindAllStringSubmatchIndex semantics for n).
std::vector<std::vector<std::pair<int, int>>> findAll(const RE2& re, const std::string& s,
                                                      int64_t n) {
  std::vector<std::vector<std::pair<int, int>>> out;
  int ngroups = re.NumberOfCapturingGroups() + 1;
  std::vector<re2::StringPiece> sub(static_cast<size_t>(ngroups));
  size_t pos = 0;
  int prevEnd = -1;
  while (pos <= s.size() && (n < 0 || static_cast<int64_t>(out.size()) < n)) {
    if (!re.Match(s, pos, s.size(), RE2::UNANCHORED, sub.data(), ngroups)) break;
    int b = static_cast<int>(sub[0].data() - s.data());
    int e = b + static_cast<int>(sub[0].size());
    if (e == b && b == prevEnd) {
      // empty match right after the previous match: skip one rune
      if (pos >= s.size()) break;
      int32_t r;
      pos += static_cast<size_t>(decodeRune(s, pos, &r));
      continue;
    }
    std::vector<std::pair<int, int>> m;
    for (int g = 0; g < ngroups; ++g) {
      if (sub[g].data() == nullptr) m.emplace_back(-1, -1);
      else {
        int gb = static_cast<int>(sub[g].data() - s.data());
        m.emplace_back(gb, gb + static_cast<int>(sub[g].size()));
      }
    }
    out.push_back(std::move(m));
    prevEnd = e;
    if (e > b) {
      pos = static_cast<size_t>(e);
    } else {
      if (pos >= s.size()) break;
      int32_t r;
      pos = static_cast<size_t>(e) + static_cast<size_t>(decodeRune(s, static_cast<size_t>(e), &r));
    }
  }
  return out;
}

Value matchToArray(const std::string& s, const std::vector<std::pair<int, int>>& m) {
  std::vector<Value> arr;
  for (auto& [b, e] : m) {
    if (b < 0) continue;
    Attrs mm;
    mm["text"] = makeString(s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b)));
    mm["begin"] = Value::integer(b);
    mm["end"] = Value::integer(e);
    arr.push_back(makeMap(std::move(mm), true));
  }
  return makeArray(std::move(arr));
}

Result reFind(const RE2& re, const std::string& s, bool haveCount, int64_t count) {
  if (!haveCount) {
    auto all = findAll(re, s, 1);
    if (all.empty()) return Value();
    return makeArray({matchToArray(s, all[0])});
  }
  if (count == 0) return Value();
  auto all = findAll(re, s, count);
  if (all.empty()) return Value();
  std::vector<Value> out;
  for (auto& m : all) out.push_back(matchToArray(s, m));
  return makeArray(std::move(out));
}

// Go regexp.Expand template.
void expand(const RE2& re, std::string& out, const std::string& tmpl, const std::string& s,
            const std::vector<std::pair<int, int>>& m) {
  size_t i = 0;
  while (i < tmpl.size()) {
    char c = tmpl[i];
    if (c != '$' || i + 1 >= tmpl.size()) {
      out += c;
      ++i;
      continue;
    }
    ++i;
    if (tmpl[i] == '$') {
      out += '$';
      ++i;
      continue;
    }
    std::string name;
    bool brace = false;
    if (tmpl[i] == '{') {
      size_t close = tmpl.find('}', i);
      if (close == std::string::npos) {
        out += '$';
        continue;
      }
      name = tmpl.substr(i + 1, close - i - 1);
      brace = true;
      i = close + 1;
    } else {
      size_t st = i;
      while (i < tmpl.size() && (std::isalnum(static_cast<unsigned char>(tmpl[i])) || tmpl[i] == '_')) ++i;
      name = tmpl.substr(st, i - st);
    }
    if (name.empty()) {
      out += '$';
      if (brace) out += "{}";
      continue;
    }
    int idx = -1;
    if (std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      idx = name.size() < 9 ? std::stoi(name) : -1;
    } else {
      auto& names = re.NamedCapturingGroups();
      auto it = names.find(name);
      if (it != names.end()) idx = it->second;
    }
    if (idx >= 0 && static_cast<size_t>(idx) < m.size() && m[idx].first >= 0)
      out.append(s, static_cast<size_t>(m[idx].first),
                 static_cast<size_t>(m[idx].second - m[idx].first));
  }
}

Result reReplace(Vm& vm, const RE2& re, const std::string& s, const std::string& repl) {
  auto all = findAll(re, s, -1);
  std::string out;
  size_t last = 0;
  for (auto& m : all) {
    out.append(s, last, static_cast<size_t>(m[0].first) - last);
    expand(re, out, repl, s, m);
    last = static_cast<size_t>(m[0].second);
    if (!vm.checkStringLen(out.size())) return strLimit();
  }
  out.append(s, last, std::string::npos);
  if (!vm.checkStringLen(out.size())) return strLimit();
  return makeString(std::move(out));
}

Value reSplit(const RE2& re, const std::string& s, int64_t n) {
  std::vector<Value> parts;
  if (n == 0) return makeArray({});
  if (s.empty()) return makeArray({makeString("")});
  auto all = findAll(re, s, n);
  size_t beg = 0, end = 0;
  for (auto& m : all) {
    if (n > 0 && static_cast<int64_t>(parts.size()) == n - 1) break;
    end = static_cast<size_t>(m[0].first);
    if (m[0].second != 0) parts.push_back(makeString(s.substr(beg, end - beg)));
    beg = static_cast<size_t>(m[0].second);
  }
  if (end != s.size()) parts.push_back(makeString(s.substr(beg)));
  return makeArray(std::move(parts));
}

Value makeRegexpObject(std::shared_ptr<RE2> re) {
  Attrs m;
  fn(m, "match", [re](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    return Value::boolean(RE2::PartialMatch(s, *re));
  });
  fn(m, "find", [re](Vm&, Args a) -> Result {
    if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
    std::string s;
    int64_t n = -1;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    if (a.size() == 2 && !argInt(a, 1, &n, &e)) return e;
    return reFind(*re, s, a.size() == 2, n);
  });
  fn(m, "replace", [re](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string s, r;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argString(a, 1, &r, &e)) return e;
    return reReplace(vm, *re, s, r);
  });
  fn(m, "split", [re](Vm&, Args a) -> Result {
    if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
    std::string s;
    int64_t n = -1;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    if (a.size() == 2 && !argInt(a, 1, &n, &e)) return e;
    return reSplit(*re, s, n);
  });
  return makeMap(std::move(m), true);
}

std::vector<int32_t> runes(const std::string& s) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    int32_t r;
    i += static_cast<size_t>(decodeRune(s, i, &r));
    out.push_back(r);
  }
  return out;
}

bool isSpace(int32_t r) {
  return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f' || r == 0x85 ||
         r == 0xA0 || r == 0x1680 || (r >= 0x2000 && r <= 0x200a) || r == 0x2028 || r == 0x2029 ||
         r == 0x202f || r == 0x205f || r == 0x3000;
}

std::string mapRunes(const std::string& s, int32_t (*f)(int32_t)) {
  std::string out;
  for (int32_t r : runes(s)) appendUtf8(out, static_cast<uint32_t>(f(r)));
  return out;
}
int32_t upperRune(int32_t r) {
  if (r >= 'a' && r <= 'z') return r - 32;
  if (r >= 0xE0 && r <= 0xFE && r != 0xF7) return r - 32;
  if (r >= 0x3B1 && r <= 0x3C9 && r != 0x3C2) return r - 32;
  if (r >= 0x430 && r <= 0x44F) return r - 32;
  return r;
}
int32_t lowerRune(int32_t r) {
  if (r >= 'A' && r <= 'Z') return r + 32;
  if (r >= 0xC0 && r <= 0xDE && r != 0xD7) return r + 32;
  if (r >= 0x391 && r <= 0x3A9) return r + 32;
  if (r >= 0x410 && r <= 0x42F) return r + 32;
  return r;
}

std::vector<std::string> goSplit(const std::string& s, const std::string& sep, size_t sepSave,
                                 int64_t n) {
  std::vector<std::string> out;
  if (n == 0) return out;
  if (sep.empty()) {
    size_t i = 0;
    while (i < s.size()) {
      if (n > 0 && static_cast<int64_t>(out.size()) == n - 1) {
        out.push_back(s.substr(i));
        return out;
      }
      int32_t r;
      int w = decodeRune(s, i, &r);
      out.push_back(s.substr(i, static_cast<size_t>(w)));
      i += static_cast<size_t>(w);
    }
    return out;
  }
  size_t start = 0;
  while (n < 0 || static_cast<int64_t>(out.size()) < n - 1) {
    size_t p = s.find(sep, start);
    if (p == std::string::npos) break;
    out.push_back(s.substr(start, p - start + sepSave));
    start = p + sep.size();
  }
  out.push_back(s.substr(start));
  return out;
}

Value strArray(const std::vector<std::string>& v) {
  std::vector<Value> items;
  for (auto& s : v) items.push_back(makeString(s));
  return makeArray(std::move(items));
}

bool inCutset(int32_t r, const std::vector<int32_t>& cs) {
  return std::find(cs.begin(), cs.end(), r) != cs.end();
}

std::string trimLeftSet(const std::string& s, const std::string& cut) {
  auto cs = runes(cut);
  size_t i = 0;
  while (i < s.size()) {
    int32_t r;
    int w = decodeRune(s, i, &r);
    if (!inCutset(r, cs)) break;
    i += static_cast<size_t>(w);
  }
  return s.substr(i);
}
std::string trimRightSet(const std::string& s, const std::string& cut) {
  auto cs = runes(cut);
  auto rs = runes(s);
  size_t end = rs.size();
  while (end > 0 && inCutset(rs[end - 1], cs)) --end;
  std::string out;
  for (size_t k = 0; k < end; ++k) appendUtf8(out, static_cast<uint32_t>(rs[k]));
  return out;
}

// Adapter helpers: (s) -> X, (s, s) -> X, ...
using SS = std::function<Result(Vm&, const std::string&, const std::string&)>;
void fnSS(Attrs& m, const char* name, SS f) {
  fn(m, name, [f](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string x, y;
    Result e = Value();
    if (!argString(a, 0, &x, &e) || !argString(a, 1, &y, &e)) return e;
    return f(vm, x, y);
  });
}
using S1 = std::function<Result(Vm&, const std::string&)>;
void fnS(Attrs& m, const char* name, S1 f) {
  fn(m, name, [f](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string x;
    Result e = Value();
    if (!argString(a, 0, &x, &e)) return e;
    return f(vm, x);
  });
}
using SSI = std::function<Result(Vm&, const std::string&, const std::string&, int64_t)>;
void fnSSI(Attrs& m, const char* name, SSI f) {
  fn(m, name, [f](Vm& vm, Args a) -> Result {
    if (a.size() != 3) return Result::wrongArgs();
    std::string x, y;
    int64_t n;
    Result e = Value();
    if (!argString(a, 0, &x, &e) || !argString(a, 1, &y, &e) || !argInt(a, 2, &n, &e)) return e;
    return f(vm, x, y, n);
  });
}

Result checked(Vm& vm, std::string s) {
  if (!vm.checkStringLen(s.size())) return strLimit();
  return makeString(std::move(s));
}

std::string numErr(const char* fnName, const std::string& s, bool range) {
  return std::string("strconv.") + fnName + ": parsing " + goQuote(s) + ": " +
         (range ? "value out of range" : "invalid syntax");
}

}  // namespace

void addTextModule(Attrs& m) {
  fn(m, "re_match", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string p, s, err;
    Result e = Value();
    if (!argString(a, 0, &p, &e) || !argString(a, 1, &s, &e)) return e;
    auto re = compileRe(p, &err);
    if (!re) return Result::error(err);
    return Value::boolean(RE2::PartialMatch(s, *re));
  });
  fn(m, "re_find", [](Vm&, Args a) -> Result {
    if (a.size() != 2 && a.size() != 3) return Result::wrongArgs();
    std::string p, s, err;
    int64_t n = -1;
    Result e = Value();
    if (!argString(a, 0, &p, &e) || !argString(a, 1, &s, &e)) return e;
    if (a.size() == 3 && !argInt(a, 2, &n, &e)) return e;
    auto re = compileRe(p, &err);
    if (!re) return Result::error(err);
    return reFind(*re, s, a.size() == 3, n);
  });
  fn(m, "re_replace", [](Vm& vm, Args a) -> Result {
    if (a.size() != 3) return Result::wrongArgs();
    std::string p, s, r, err;
    Result e = Value();
    if (!argString(a, 0, &p, &e) || !argString(a, 1, &s, &e) || !argString(a, 2, &r, &e)) return e;
    auto re = compileRe(p, &err);
    if (!re) return errorValue(err);
    return reReplace(vm, *re, s, r);
  });
  fn(m, "re_split", [](Vm&, Args a) -> Result {
    if (a.size() != 2 && a.size() != 3) return Result::wrongArgs();
    std::string p, s, err;
    int64_t n = -1;
    Result e = Value();
    if (!argString(a, 0, &p, &e) || !argString(a, 1, &s, &e)) return e;
    if (a.size() == 3 && !argInt(a, 2, &n, &e)) return e;
    auto re = compileRe(p, &err);
    if (!re) return errorValue(err);
    return reSplit(*re, s, n);
  });
  fn(m, "re_compile", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string p, err;
    Result e = Value();
    if (!argString(a, 0, &p, &e)) return e;
    auto re = compileRe(p, &err);
    if (!re) return errorValue(err);
    return makeRegexpObject(std::shared_ptr<RE2>(std::move(re)));
  });
  fnSS(m, "compare", [](Vm&, const std::string& x, const std::string& y) -> Result {
    int c = x.compare(y);
    return Value::integer(c < 0 ? -1 : c > 0 ? 1 : 0);
  });
  fnSS(m, "contains", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return Value::boolean(x.find(y) != std::string::npos);
  });
  fnSS(m, "contains_any", [](Vm&, const std::string& x, const std::string& y) -> Result {
    auto cs = runes(y);
    for (int32_t r : runes(x))
      if (inCutset(r, cs)) return Value::boolean(true);
    return Value::boolean(false);
  });
  fnSS(m, "count", [](Vm&, const std::string& x, const std::string& y) -> Result {
    if (y.empty()) return Value::integer(runeCount(x) + 1);
    int64_t n = 0;
    size_t p = 0;
    while ((p = x.find(y, p)) != std::string::npos) {
      ++n;
      p += y.size();
    }
    return Value::integer(n);
  });
  fnSS(m, "equal_fold", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return Value::boolean(mapRunes(x, lowerRune) == mapRunes(y, lowerRune));
  });
  fnS(m, "fields", [](Vm&, const std::string& s) -> Result {
    std::vector<std::string> out;
    std::string cur;
    bool in = false;
    size_t i = 0;
    while (i < s.size()) {
      int32_t r;
      int w = decodeRune(s, i, &r);
      if (isSpace(r)) {
        if (in) out.push_back(cur);
        cur.clear();
        in = false;
      } else {
        cur.append(s, i, static_cast<size_t>(w));
        in = true;
      }
      i += static_cast<size_t>(w);
    }
    if (in) out.push_back(cur);
    return strArray(out);
  });
  fnSS(m, "has_prefix", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return Value::boolean(x.compare(0, y.size(), y) == 0 && x.size() >= y.size());
  });
  fnSS(m, "has_suffix", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return Value::boolean(x.size() >= y.size() && x.compare(x.size() - y.size(), y.size(), y) == 0);
  });
  fnSS(m, "index", [](Vm&, const std::string& x, const std::string& y) -> Result {
    size_t p = x.find(y);
    return Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(p));
  });
  fnSS(m, "last_index", [](Vm&, const std::string& x, const std::string& y) -> Result {
    size_t p = x.rfind(y);
    return Value::integer(p == std::string::npos ? -1 : static_cast<int64_t>(p));
  });
  fnSS(m, "index_any", [](Vm&, const std::string& x, const std::string& y) -> Result {
    auto cs = runes(y);
    size_t i = 0;
    while (i < x.size()) {
      int32_t r;
      int w = decodeRune(x, i, &r);
      if (inCutset(r, cs)) return Value::integer(static_cast<int64_t>(i));
      i += static_cast<size_t>(w);
    }
    return Value::integer(-1);
  });
  fnSS(m, "last_index_any", [](Vm&, const std::string& x, const std::string& y) -> Result {
    auto cs = runes(y);
    int64_t last = -1;
    size_t i = 0;
    while (i < x.size()) {
      int32_t r;
      int w = decodeRune(x, i, &r);
      if (inCutset(r, cs)) last = static_cast<int64_t>(i);
      i += static_cast<size_t>(w);
    }
    return Value::integer(last);
  });
  fn(m, "join", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    if (a[0].type() != Type::kArray && a[0].type() != Type::kImmutableArray)
      return Result::badArg("first", "array", typeName(a[0]));
    std::string sep;
    Result e = Value();
    if (!argString(a, 1, &sep, &e)) return e;
    auto* arr = a[0].as<ArrayObj>();
    std::string out;
    for (size_t i = 0; i < arr->len; ++i) {
      std::string s;
      if (!toStringValue(arr->at(i), &s))
        return Result::badArg("first", "string(compatible)", typeName(arr->at(i)));
      if (i) out += sep;
      out += s;
      if (!vm.checkStringLen(out.size())) return strLimit();
    }
    return makeString(std::move(out));
  });
  fn(m, "repeat", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string s;
    int64_t n;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argInt(a, 1, &n, &e)) return e;
    if (n < 0) return Result::error("strings: negative Repeat count");
    if (!s.empty() && (n > vm.limits().maxStringLen / static_cast<int64_t>(s.size()) ||
                       !vm.checkStringLen(s.size() * static_cast<size_t>(n))))
      return strLimit();
    std::string out;
    out.reserve(s.size() * static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) out += s;
    return makeString(std::move(out));
  });
  fn(m, "replace", [](Vm& vm, Args a) -> Result {
    if (a.size() != 4) return Result::wrongArgs();
    std::string s, o, nw;
    int64_t n;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argString(a, 1, &o, &e) || !argString(a, 2, &nw, &e) ||
        !argInt(a, 3, &n, &e))
      return e;
    std::string out;
    size_t start = 0;
    int64_t done = 0;
    if (o.empty()) {
      // Go: inserts `new` before every rune and at the end.
      size_t i = 0;
      while ((n < 0 || done < n) && i <= s.size()) {
        out += nw;
        ++done;
        if (i == s.size()) {
          i = s.size() + 1;
          break;
        }
        int32_t r;
        int w = decodeRune(s, i, &r);
        out.append(s, i, static_cast<size_t>(w));
        i += static_cast<size_t>(w);
        if (!vm.checkStringLen(out.size())) return strLimit();
      }
      if (i <= s.size()) out.append(s, i, std::string::npos);
      return checked(vm, out);
    }
    while (n < 0 || done < n) {
      size_t p = s.find(o, start);
      if (p == std::string::npos) break;
      out.append(s, start, p - start);
      out += nw;
      start = p + o.size();
      ++done;
      if (!vm.checkStringLen(out.size())) return strLimit();
    }
    out.append(s, start, std::string::npos);
    return checked(vm, out);
  });
  fn(m, "substr", [](Vm&, Args a) -> Result {
    if (a.size() != 2 && a.size() != 3) return Result::wrongArgs();
    std::string s;
    int64_t lo, hi;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argInt(a, 1, &lo, &e)) return e;
    auto rs = runes(s);
    int64_t len = static_cast<int64_t>(rs.size());
    hi = len;
    if (a.size() == 3 && !argInt(a, 2, &hi, &e)) return e;
    if (lo > hi) return Result::error("invalid index type");
    lo = std::clamp<int64_t>(lo, 0, len);
    hi = std::clamp<int64_t>(hi, 0, len);
    std::string out;
    for (int64_t k = lo; k < hi; ++k) appendUtf8(out, static_cast<uint32_t>(rs[k]));
    return makeString(std::move(out));
  });
  fnSS(m, "split", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return strArray(goSplit(x, y, 0, -1));
  });
  fnSS(m, "split_after", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return strArray(goSplit(x, y, y.size(), -1));
  });
  fnSSI(m, "split_n", [](Vm&, const std::string& x, const std::string& y, int64_t n) -> Result {
    return strArray(goSplit(x, y, 0, n));
  });
  fnSSI(m, "split_after_n", [](Vm&, const std::string& x, const std::string& y, int64_t n) -> Result {
    return strArray(goSplit(x, y, y.size(), n));
  });
  fnS(m, "title", [](Vm&, const std::string& s) -> Result {
    std::string out;
    bool prevLetter = false;
    for (int32_t r : runes(s)) {
      bool letter = std::isalnum(r < 128 ? r : 'a') || r == '_' || r >= 128;
      appendUtf8(out, static_cast<uint32_t>(!prevLetter && letter ? upperRune(r) : r));
      prevLetter = letter && !isSpace(r);
    }
    return makeString(std::move(out));
  });
  fnS(m, "to_lower", [](Vm&, const std::string& s) -> Result { return makeString(mapRunes(s, lowerRune)); });
  fnS(m, "to_upper", [](Vm&, const std::string& s) -> Result { return makeString(mapRunes(s, upperRune)); });
  fnS(m, "to_title", [](Vm&, const std::string& s) -> Result { return makeString(mapRunes(s, upperRune)); });
  auto padFn = [&](const char* name, bool left) {
    fn(m, name, [left](Vm& vm, Args a) -> Result {
      if (a.size() != 2 && a.size() != 3) return Result::wrongArgs();
      std::string s, padS = " ";
      int64_t n;
      Result e = Value();
      if (!argString(a, 0, &s, &e) || !argInt(a, 1, &n, &e)) return e;
      if (!vm.checkStringLen(static_cast<size_t>(std::max<int64_t>(n, 0)))) return strLimit();
      if (static_cast<int64_t>(s.size()) >= n) return makeString(s);
      if (a.size() == 3 && !argString(a, 2, &padS, &e)) return e;
      if (padS.empty()) return makeString(s);
      int64_t ps = static_cast<int64_t>(padS.size());
      int64_t count = (n - ps) / ps + 1;
      std::string rep;
      for (int64_t k = 0; k < count; ++k) rep += padS;
      if (left) {
        std::string r = rep + s;
        return makeString(r.substr(r.size() - static_cast<size_t>(n)));
      }
      std::string r = s + rep;
      return makeString(r.substr(0, static_cast<size_t>(n)));
    });
  };
  padFn("pad_left", true);
  padFn("pad_right", false);
  fnSS(m, "trim", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return makeString(trimRightSet(trimLeftSet(x, y), y));
  });
  fnSS(m, "trim_left", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return makeString(trimLeftSet(x, y));
  });
  fnSS(m, "trim_right", [](Vm&, const std::string& x, const std::string& y) -> Result {
    return makeString(trimRightSet(x, y));
  });
  fnSS(m, "trim_prefix", [](Vm&, const std::string& x, const std::string& y) -> Result {
    if (x.compare(0, y.size(), y) == 0 && x.size() >= y.size()) return makeString(x.substr(y.size()));
    return makeString(x);
  });
  fnSS(m, "trim_suffix", [](Vm&, const std::string& x, const std::string& y) -> Result {
    if (x.size() >= y.size() && x.compare(x.size() - y.size(), y.size(), y) == 0)
      return makeString(x.substr(0, x.size() - y.size()));
    return makeString(x);
  });
  fnS(m, "trim_space", [](Vm&, const std::string& s) -> Result {
    auto rs = runes(s);
    size_t b = 0, e = rs.size();
    while (b < e && isSpace(rs[b])) ++b;
    while (e > b && isSpace(rs[e - 1])) --e;
    std::string out;
    for (size_t k = b; k < e; ++k) appendUtf8(out, static_cast<uint32_t>(rs[k]));
    return makeString(std::move(out));
  });
  fnS(m, "atoi", [](Vm&, const std::string& s) -> Result {
    int64_t v;
    bool range;
    if (!goParseInt(s, 10, &v, &range)) return errorValue(numErr("Atoi", s, range));
    return Value::integer(v);
  });
  fn(m, "itoa", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t v;
    Result e = Value();
    if (!argInt(a, 0, &v, &e)) return e;
    return makeString(std::to_string(v));
  });
  fn(m, "format_bool", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    if (a[0].type() != Type::kBool) return Result::badArg("first", "bool", typeName(a[0]));
    return makeString(a[0].i() ? "true" : "false");
  });
  fn(m, "format_float", [](Vm& vm, Args a) -> Result {
    if (a.size() != 4) return Result::wrongArgs();
    if (a[0].type() != Type::kFloat) return Result::badArg("first", "float", typeName(a[0]));
    if (a[1].type() != Type::kChar) return Result::badArg("second", "char", typeName(a[1]));
    if (a[2].type() != Type::kInt) return Result::badArg("third", "int", typeName(a[2]));
    if (a[3].type() != Type::kInt) return Result::badArg("fourth", "int", typeName(a[3]));
    // Reuse format(): "%.<prec><verb>"
    int64_t prec = a[2].i();
    char verb = static_cast<char>(a[1].i());
    std::string f = prec < 0 ? std::string("%") + verb : "%." + std::to_string(prec) + verb;
    if (prec < 0 && (verb == 'f' || verb == 'e' || verb == 'E')) {
      if (verb == 'f') return makeString(formatFloat(a[0].f()));
    }
    Value args[2] = {makeString(f), a[0]};
    std::string out, err;
    if (!tengoFormat(*vm.impl(), Args(args, 2), &out, &err)) return strLimit();
    return makeString(std::move(out));
  });
  fn(m, "format_int", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    if (a[0].type() != Type::kInt) return Result::badArg("first", "int", typeName(a[0]));
    if (a[1].type() != Type::kInt) return Result::badArg("second", "int", typeName(a[1]));
    int64_t v = a[0].i(), base = a[1].i();
    if (base < 2 || base > 36) return Result::error("strconv: illegal AppendInt/FormatInt base");
    bool neg = v < 0;
    uint64_t u = neg ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    std::string s;
    if (u == 0) s = "0";
    while (u) {
      s.insert(s.begin(), "0123456789abcdefghijklmnopqrstuvwxyz"[u % static_cast<uint64_t>(base)]);
      u /= static_cast<uint64_t>(base);
    }
    return makeString(neg ? "-" + s : s);
  });
  fnS(m, "parse_bool", [](Vm&, const std::string& s) -> Result {
    if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True")
      return Value::boolean(true);
    if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False")
      return Value::boolean(false);
    return errorValue(numErr("ParseBool", s, false));
  });
  fn(m, "parse_float", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string s;
    int64_t bits;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argInt(a, 1, &bits, &e)) return e;
    double v;
    if (!goParseFloat(s, &v)) return errorValue(numErr("ParseFloat", s, false));
    if (bits == 32) v = static_cast<float>(v);
    return Value::number(v);
  });
  fn(m, "parse_int", [](Vm&, Args a) -> Result {
    if (a.size() != 3) return Result::wrongArgs();
    std::string s;
    int64_t base, bits;
    Result e = Value();
    if (!argString(a, 0, &s, &e) || !argInt(a, 1, &base, &e) || !argInt(a, 2, &bits, &e)) return e;
    int64_t v;
    bool range;
    if (!goParseInt(s, static_cast<int>(base), &v, &range))
      return errorValue(numErr("ParseInt", s, range));
    if (bits > 0 && bits < 64) {
      int64_t lim = int64_t(1) << (bits - 1);
      if (v >= lim || v < -lim) return errorValue(numErr("ParseInt", s, true));
    }
    return Value::integer(v);
  });
  fnS(m, "quote", [](Vm&, const std::string& s) -> Result { return makeString(goQuote(s)); });
  fnS(m, "unquote", [](Vm&, const std::string& s) -> Result {
    std::string out;
    if (!goUnquote(s, &out)) return errorValue("invalid syntax");
    return makeString(std::move(out));
  });
}

}  // namespace llmspell::tengo::detail
