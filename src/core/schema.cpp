// JSON Schema subset validation over Value (the registry's argument checks, schema.validate,
// tool parameters, structured output). Messages are "path: what is wrong" for a person.
#include <re2/re2.h>

#include <cmath>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>

#include "llmspell/core/schema.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

constexpr int kMaxDepth = 200;

struct Ctx {
  const Value& root;
  std::vector<std::string>& errs;
  int depth = 0;
};

// Number of Unicode code points in UTF-8 text (what minLength/maxLength count).
size_t utf8Length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

bool isIdentifier(const std::string& k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string childPath(const std::string& path, const std::string& key) {
  if (isIdentifier(key)) return path + "." + key;
  std::string q = toJsonText(Value(key));
  return path + "[" + q + "]";
}
std::string indexPath(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string numText(double d) {
  char buf[64];
  snprintf(buf, sizeof buf, "%.14g", d);
  return buf;
}

std::string valueText(const Value& v) {
  // Large containers are summarized: serializing them only to cut the text would be wasted work.
  // (Built with += rather than "[" + ...: GCC 12 at -O3 warns falsely (-Wrestrict) on the
  // literal-first string concatenation.)
  if (v.isArray() && v.asArray().size() > 8) {
    std::string s(1, '[');
    s += std::to_string(v.asArray().size());
    s += " items]";
    return s;
  }
  if (v.isObject() && v.asObject().size() > 8) {
    std::string s(1, '{');
    s += std::to_string(v.asObject().size());
    s += " keys}";
    return s;
  }
  try {
    std::string s = toJsonText(v);
    if (s.size() > 60) s = s.substr(0, 57) + "...";
    return s;
  } catch (...) {
    return v.describe();
  }
}

bool isIntegral(const Value& v) {
  if (v.isInt()) return true;
  if (!v.isDouble()) return false;
  double d = v.asDouble();
  return std::isfinite(d) && d == std::floor(d);
}

bool matchesType(const Value& v, std::string_view t) {
  if (t == "any") return true;
  if (t == "string") return v.isString();
  if (t == "integer") return isIntegral(v);
  if (t == "number") return v.isNumber();
  if (t == "boolean") return v.isBool();
  // An empty script table has no shape: it counts as both an empty object and an empty array.
  if (t == "object") return v.isObject() || (v.isArray() && v.asArray().empty());
  if (t == "array") return v.isArray() || (v.isObject() && v.asObject().empty());
  if (t == "null") return v.isNull();
  if (t == "function") return v.isFunction();
  if (t == "promise") return v.isPromise();
  if (t == "bytes") return v.isBytes();
  if (t == "error") return v.isError();
  if (t == "handle") return v.isHandle();
  return false;
}

std::string typeList(const Value& t) {
  if (t.isString()) return t.asString();
  std::string s;
  const auto& items = t.asArray().items();
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += (i + 1 == items.size()) ? " or " : ", ";
    s += items[i].isString() ? items[i].asString() : "?";
  }
  return s;
}

// Compiled patterns are cached: schemas are validated over and over with the same patterns.
const RE2* compiledPattern(const std::string& pattern, std::string* err) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::unique_ptr<RE2>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    RE2::Options o;
    o.set_log_errors(false);
    auto re = std::make_unique<RE2>(pattern, o);
    if (cache.size() > 1024) cache.clear();
    it = cache.emplace(pattern, std::move(re)).first;
  }
  if (!it->second->ok()) {
    *err = it->second->error();
    return nullptr;
  }
  return it->second.get();
}

bool checkFormat(const std::string& fmt, const std::string& s) {
  if (fmt == "email") {
    static const RE2 re(R"(^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$)");
    return RE2::FullMatch(s, re);
  }
  if (fmt == "uri" || fmt == "url") {
    static const RE2 re(R"(^[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+$)");
    return RE2::FullMatch(s, re);
  }
  if (fmt == "date-time") {
    static const RE2 re(
        R"(^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+\-]\d{2}:?\d{2})$)");
    int y, mo, d, h, mi, se;
    if (!RE2::FullMatch(s, re, &y, &mo, &d, &h, &mi, &se)) return false;
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60;
  }
  if (fmt == "date") {
    static const RE2 re(R"(^(\d{4})-(\d{2})-(\d{2})$)");
    int y, mo, d;
    if (!RE2::FullMatch(s, re, &y, &mo, &d)) return false;
    return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
  }
  if (fmt == "uuid") {
    static const RE2 re(
        R"(^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$)");
    return RE2::FullMatch(s, re);
  }
  if (fmt == "ipv4") {
    static const RE2 re(R"(^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$)");
    int a, b, c, d;
    if (!RE2::FullMatch(s, re, &a, &b, &c, &d)) return false;
    return a <= 255 && b <= 255 && c <= 255 && d <= 255;
  }
  return true;  // unknown formats are annotations only (as the JSON Schema spec says)
}

void check(const Value& v, const Value& schema, const std::string& path, Ctx& cx);

// Validates into a fresh error list (for anyOf/oneOf/not).
std::vector<std::string> trial(const Value& v, const Value& schema, const std::string& path,
                               Ctx& cx) {
  std::vector<std::string> errs;
  Ctx sub{cx.root, errs, cx.depth};
  check(v, schema, path, sub);
  return errs;
}

// Resolves a local "$ref" ("#", "#/$defs/x", "#/definitions/x", "#/properties/a/items").
const Value* resolveRef(const Value& root, const std::string& ref) {
  if (ref == "#") return &root;
  if (ref.rfind("#/", 0) != 0) return nullptr;
  const Value* cur = &root;
  size_t pos = 2;
  while (pos <= ref.size()) {
    size_t next = ref.find('/', pos);
    std::string_view raw = std::string_view(ref).substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    // JSON pointer escapes: ~1 is '/', ~0 is '~'.
    std::string tok;
    tok.reserve(raw.size());
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        tok += raw[i + 1] == '1' ? '/' : '~';
        ++i;
      } else {
        tok += raw[i];
      }
    }
    if (cur->isObject()) {
      const Value* n = cur->asObject().find(tok);
      if (!n) return nullptr;
      cur = n;
    } else if (cur->isArray()) {
      char* end = nullptr;
      unsigned long i = strtoul(tok.c_str(), &end, 10);
      if (*end || i >= cur->asArray().size()) return nullptr;
      cur = &cur->asArray()[i];
    } else {
      return nullptr;
    }
    if (next == std::string::npos) break;
    pos = next + 1;
  }
  return cur;
}

std::string summarize(const std::vector<std::string>& errs) {
  if (errs.empty()) return "";
  std::string s = errs.front();
  if (errs.size() > 1) s += " (+" + std::to_string(errs.size() - 1) + " more)";
  return s;
}

void checkNumber(const Value& v, const Object& s, const std::string& path, Ctx& cx) {
  double x = v.asNumber();
  const Value* exMinB = s.find("exclusiveMinimum");
  const Value* exMaxB = s.find("exclusiveMaximum");
  if (const Value* m = s.find("minimum"); m && m->isNumber()) {
    bool excl = exMinB && exMinB->isBool() && exMinB->asBool();  // draft-4 form
    if (excl ? !(x > m->asNumber()) : x < m->asNumber())
      cx.errs.push_back(path + ": must be " + (excl ? "greater than " : "at least ") +
                        numText(m->asNumber()) + ", got " + numText(x));
  }
  if (const Value* m = s.find("maximum"); m && m->isNumber()) {
    bool excl = exMaxB && exMaxB->isBool() && exMaxB->asBool();
    if (excl ? !(x < m->asNumber()) : x > m->asNumber())
      cx.errs.push_back(path + ": must be " + (excl ? "less than " : "at most ") +
                        numText(m->asNumber()) + ", got " + numText(x));
  }
  if (exMinB && exMinB->isNumber() && !(x > exMinB->asNumber()))
    cx.errs.push_back(path + ": must be greater than " + numText(exMinB->asNumber()) + ", got " +
                      numText(x));
  if (exMaxB && exMaxB->isNumber() && !(x < exMaxB->asNumber()))
    cx.errs.push_back(path + ": must be less than " + numText(exMaxB->asNumber()) + ", got " +
                      numText(x));
  if (const Value* m = s.find("multipleOf"); m && m->isNumber() && m->asNumber() > 0) {
    double q = x / m->asNumber();
    if (std::fabs(q - std::round(q)) > 1e-9)
      cx.errs.push_back(path + ": must be a multiple of " + numText(m->asNumber()) + ", got " +
                        numText(x));
  }
}

void checkString(const Value& v, const Object& s, const std::string& path, Ctx& cx) {
  const std::string& str = v.asString();
  size_t len = 0;
  bool counted = false;
  auto length = [&] {
    if (!counted) {
      len = utf8Length(str);
      counted = true;
    }
    return len;
  };
  if (const Value* m = s.find("minLength");
      m && m->isNumber() && static_cast<double>(length()) < m->asNumber())
    cx.errs.push_back(path + ": must be at least " + numText(m->asNumber()) +
                      " characters long, got " + std::to_string(length()));
  if (const Value* m = s.find("maxLength");
      m && m->isNumber() && static_cast<double>(length()) > m->asNumber())
    cx.errs.push_back(path + ": must be at most " + numText(m->asNumber()) +
                      " characters long, got " + std::to_string(length()));
  if (const Value* p = s.find("pattern"); p && p->isString()) {
    std::string err;
    const RE2* re = compiledPattern(p->asString(), &err);
    if (!re)
      cx.errs.push_back(path + ": the schema's pattern " + valueText(*p) +
                        " is not a valid regular expression: " + err);
    else if (!RE2::PartialMatch(str, *re))
      cx.errs.push_back(path + ": " + valueText(v) + " does not match the pattern " +
                        valueText(*p));
  }
  if (const Value* f = s.find("format"); f && f->isString() && !checkFormat(f->asString(), str))
    cx.errs.push_back(path + ": " + valueText(v) + " is not a valid " + f->asString());
}

void checkArray(const Value& v, const Object& s, const std::string& path, Ctx& cx) {
  static const std::vector<Value> kNone;
  // An empty object stands in for an empty array (an empty script table).
  const auto& items = v.isArray() ? v.asArray().items() : kNone;
  if (const Value* m = s.find("minItems");
      m && m->isNumber() && static_cast<double>(items.size()) < m->asNumber())
    cx.errs.push_back(path + ": must have at least " + numText(m->asNumber()) + " item" +
                      (m->asNumber() == 1 ? "" : "s") + ", got " + std::to_string(items.size()));
  if (const Value* m = s.find("maxItems");
      m && m->isNumber() && static_cast<double>(items.size()) > m->asNumber())
    cx.errs.push_back(path + ": must have at most " + numText(m->asNumber()) + " item" +
                      (m->asNumber() == 1 ? "" : "s") + ", got " + std::to_string(items.size()));
  size_t tupleLen = 0;
  const Value* prefix = s.find("prefixItems");
  if (prefix && prefix->isArray()) {
    tupleLen = prefix->asArray().size();
    for (size_t i = 0; i < items.size() && i < tupleLen; ++i)
      check(items[i], prefix->asArray()[i], indexPath(path, i), cx);
  }
  if (const Value* it = s.find("items")) {
    if (it->isArray()) {  // draft-4 tuple form
      tupleLen = it->asArray().size();
      for (size_t i = 0; i < items.size() && i < tupleLen; ++i)
        check(items[i], it->asArray()[i], indexPath(path, i), cx);
    } else {
      for (size_t i = tupleLen; i < items.size(); ++i) check(items[i], *it, indexPath(path, i), cx);
    }
  }
  if (const Value* u = s.find("uniqueItems"); u && u->truthy() && u->isBool()) {
    for (size_t i = 0; i < items.size(); ++i)
      for (size_t j = i + 1; j < items.size(); ++j)
        if (items[i] == items[j]) {
          cx.errs.push_back(indexPath(path, j) + ": duplicate of item " + std::to_string(i) + " (" +
                            valueText(items[j]) + "); items must be unique");
          i = items.size();
          break;
        }
  }
  if (const Value* c = s.find("contains")) {
    bool any = false;
    for (size_t i = 0; i < items.size() && !any; ++i) any = trial(items[i], *c, path, cx).empty();
    if (!any) cx.errs.push_back(path + ": no item matches the 'contains' schema");
  }
}

void checkObject(const Value& v, const Object& s, const std::string& path, Ctx& cx) {
  static const Object kEmpty;
  const Object& o = v.isObject() ? v.asObject() : kEmpty;
  const Value* props = s.find("properties");
  if (const Value* req = s.find("required"); req && req->isArray()) {
    for (const auto& k : req->asArray()) {
      if (!k.isString()) continue;
      const Value* x = o.find(k.asString());
      if (!x || x->isNull())
        cx.errs.push_back(childPath(path, k.asString()) + ": required property missing");
    }
  }
  if (props && props->isObject()) {
    for (const auto& [k, sub] : props->asObject()) {
      const Value* x = o.find(k);
      // A null value is an absent value for scripts (Lua cannot store nil); only `required`
      // reports it.
      if (x && !x->isNull()) check(*x, sub, childPath(path, k), cx);
    }
  }
  const Value* addl = s.find("additionalProperties");
  const Value* patternProps = s.find("patternProperties");
  if (addl || (patternProps && patternProps->isObject())) {
    for (const auto& [k, x] : o) {
      bool known = props && props->isObject() && props->asObject().contains(k);
      if (patternProps && patternProps->isObject()) {
        for (const auto& [pat, sub] : patternProps->asObject()) {
          std::string err;
          const RE2* re = compiledPattern(pat, &err);
          if (re && RE2::PartialMatch(k, *re)) {
            known = true;
            check(x, sub, childPath(path, k), cx);
          }
        }
      }
      if (known || !addl) continue;
      if (addl->isBool()) {
        if (!addl->asBool())
          cx.errs.push_back(childPath(path, k) + ": unknown property (allowed: " + [&] {
            std::string names;
            if (props && props->isObject())
              for (const auto& [pk, _] : props->asObject())
                names += (names.empty() ? "" : ", ") + pk;
            return names.empty() ? std::string("none") : names;
          }() + ")");
      } else if (addl->isObject()) {
        check(x, *addl, childPath(path, k), cx);
      }
    }
  }
  if (const Value* m = s.find("minProperties");
      m && m->isNumber() && static_cast<double>(o.size()) < m->asNumber())
    cx.errs.push_back(path + ": must have at least " + numText(m->asNumber()) +
                      " properties, got " + std::to_string(o.size()));
  if (const Value* m = s.find("maxProperties");
      m && m->isNumber() && static_cast<double>(o.size()) > m->asNumber())
    cx.errs.push_back(path + ": must have at most " + numText(m->asNumber()) + " properties, got " +
                      std::to_string(o.size()));
}

void check(const Value& v, const Value& schema, const std::string& path, Ctx& cx) {
  if (schema.isBool()) {
    if (!schema.asBool()) cx.errs.push_back(path + ": no value is allowed here");
    return;
  }
  if (!schema.isObject()) return;
  if (++cx.depth > kMaxDepth) {
    cx.errs.push_back(path + ": value or schema is nested too deeply (or cyclic)");
    --cx.depth;
    return;
  }
  struct DepthGuard {
    int& d;
    ~DepthGuard() { --d; }
  } guard{cx.depth};
  const Object& s = schema.asObject();

  if (const Value* ref = s.find("$ref"); ref && ref->isString()) {
    const Value* target = resolveRef(cx.root, ref->asString());
    if (!target) {
      cx.errs.push_back(path + ": the schema's $ref " + valueText(*ref) + " cannot be resolved");
    } else {
      check(v, *target, path, cx);
    }
  }

  if (const Value* t = s.find("type"); t && (t->isString() || t->isArray())) {
    bool ok = false;
    if (t->isString()) {
      ok = matchesType(v, t->asString());
    } else {
      for (const auto& x : t->asArray()) ok = ok || (x.isString() && matchesType(v, x.asString()));
    }
    if (!ok) {
      std::string got = v.describe();
      if (v.isObject() || v.isArray()) got = std::string(v.kindName()) + " " + valueText(v);
      cx.errs.push_back(path + ": expected " + typeList(*t) + ", got " + got);
      return;  // the other keywords would only repeat the mismatch
    }
  }

  if (const Value* e = s.find("enum"); e && e->isArray()) {
    bool found = false;
    for (const auto& x : e->asArray()) found = found || x == v;
    if (!found) {
      std::string opts;
      for (const auto& x : e->asArray()) opts += (opts.empty() ? "" : ", ") + valueText(x);
      cx.errs.push_back(path + ": must be one of " + opts + "; got " + valueText(v));
    }
  }
  if (const Value* c = s.find("const"); c && !(*c == v))
    cx.errs.push_back(path + ": must be " + valueText(*c) + ", got " + valueText(v));

  if (v.isNumber()) checkNumber(v, s, path, cx);
  if (v.isString()) checkString(v, s, path, cx);
  // An empty script table is both an empty array and an empty object.
  bool emptyTable = (v.isObject() && v.asObject().empty()) || (v.isArray() && v.asArray().empty());
  if (v.isArray() || (emptyTable && (s.contains("minItems") || s.contains("contains"))))
    checkArray(v, s, path, cx);
  if (v.isObject() || (emptyTable && (s.contains("required") || s.contains("minProperties"))))
    checkObject(v, s, path, cx);

  if (const Value* all = s.find("allOf"); all && all->isArray())
    for (const auto& sub : all->asArray()) check(v, sub, path, cx);

  if (const Value* any = s.find("anyOf"); any && any->isArray()) {
    std::string why;
    bool ok = false;
    size_t i = 0;
    for (const auto& sub : any->asArray()) {
      auto errs = trial(v, sub, path, cx);
      if (errs.empty()) {
        ok = true;
        break;
      }
      why += (why.empty() ? "" : "; ") + std::string("option ") + std::to_string(++i) + ": " +
             summarize(errs);
    }
    if (!ok) cx.errs.push_back(path + ": does not match any allowed schema (" + why + ")");
  }
  if (const Value* one = s.find("oneOf"); one && one->isArray()) {
    std::string why;
    std::vector<size_t> matched;
    size_t i = 0;
    for (const auto& sub : one->asArray()) {
      ++i;
      auto errs = trial(v, sub, path, cx);
      if (errs.empty())
        matched.push_back(i);
      else
        why += (why.empty() ? "" : "; ") + std::string("option ") + std::to_string(i) + ": " +
               summarize(errs);
    }
    if (matched.empty())
      cx.errs.push_back(path + ": does not match any allowed schema (" + why + ")");
    else if (matched.size() > 1)
      cx.errs.push_back(path + ": matches options " + std::to_string(matched[0]) + " and " +
                        std::to_string(matched[1]) + " of oneOf; it must match exactly one");
  }
  if (const Value* n = s.find("not"); n && trial(v, *n, path, cx).empty())
    cx.errs.push_back(path + ": must not match the schema in 'not' (" + valueText(*n) + ")");

  if (const Value* cond = s.find("if")) {
    bool holds = trial(v, *cond, path, cx).empty();
    if (const Value* then = s.find("then"); then && holds) check(v, *then, path, cx);
    if (const Value* els = s.find("else"); els && !holds) check(v, *els, path, cx);
  }
}

}  // namespace

std::vector<std::string> validateSchema(const Value& v, const Value& schema,
                                        const std::string& path) {
  std::vector<std::string> errs;
  Ctx cx{schema, errs, 0};
  check(v, schema, path, cx);
  return errs;
}

std::string schemaChildPath(const std::string& path, const std::string& key) { return childPath(path, key); }
std::string schemaIndexPath(const std::string& path, size_t index) { return indexPath(path, index); }

}  // namespace llmspell
