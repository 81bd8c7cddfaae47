// Repairing JSON scanner and schema coercion for model replies.
//
// Hand-written because no Debian-packaged library does this: nlohmann 3.11.2 can only skip
// comments and simdjson is strict, while model replies carry trailing commas, single quotes,
// unquoted keys and prose, and a streamed reply is a truncated value until its last chunk (the
// partial object llm.stream shows is this scanner closing what is still open).
#include "llmspell/llm/json_repair.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/core/utf8.hpp"

namespace llmspell::llm {

namespace {

constexpr int kMaxDepth = 256;       // deeper text is not read (the scanner recurses)
constexpr int kMaxStarts = 32;       // candidate '{' / '[' positions tried in prose

struct Unreadable {};  // the text is not JSON even read leniently

// Paths as the schema validator writes them, so repairs and validation errors name places alike.
std::string childPath(const std::string& path, const std::string& key) { return schemaChildPath(path, key); }
std::string indexPath(const std::string& path, size_t i) { return schemaIndexPath(path, i); }

bool keyStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }
bool keyChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' || c == '-'; }

// A lenient recursive-descent reader. The end of the text is never an error: whatever is open
// there is closed (a member or element with nothing of its value yet is dropped). Anything else
// it cannot read throws Unreadable.
class Scanner {
 public:
  Scanner(std::string_view s, size_t pos) : s_(s), i_(pos) {}
  std::vector<std::string> repairs;

  size_t pos() const { return i_; }

  void skipSpace(const std::string& path) {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i_;
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
        size_t nl = s_.find('\n', i_);
        i_ = nl == std::string_view::npos ? s_.size() : nl + 1;
        note(path, "removed a comment");
      } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '*') {
        size_t end = s_.find("*/", i_ + 2);
        i_ = end == std::string_view::npos ? s_.size() : end + 2;
        note(path, "removed a comment");
      } else {
        break;
      }
    }
  }

  // The value at the cursor; empty when the text ends before any of it.
  std::optional<Value> value(const std::string& path, int depth) {
    if (depth > kMaxDepth) throw Unreadable{};
    skipSpace(path);
    if (eof()) return std::nullopt;
    char c = s_[i_];
    if (c == '{') return object(path, depth);
    if (c == '[') return array(path, depth);
    if (c == '"' || c == '\'') {
      bool done = false;
      std::string str = string(path, done);
      if (!done) note(path, "closed a truncated string");
      return Value(std::move(str));
    }
    if (c == '-' || std::isdigit(static_cast<unsigned char>(c))) return number(path);
    if (std::isalpha(static_cast<unsigned char>(c))) return literal(path);
    throw Unreadable{};
  }

 private:
  std::string_view s_;
  size_t i_;

  bool eof() const { return i_ >= s_.size(); }

  void note(const std::string& path, const std::string& what) {
    std::string line = path + ": " + what;
    if (std::find(repairs.begin(), repairs.end(), line) == repairs.end()) repairs.push_back(std::move(line));
  }

  Value object(const std::string& path, int depth) {
    ++i_;
    Value obj = Value::object();
    auto truncated = [&] {
      note(path, "closed a truncated object");
      return obj;
    };
    for (;;) {
      skipSpace(path);
      if (eof()) return truncated();
      if (s_[i_] == '}') {
        ++i_;
        return obj;
      }
      std::string key;
      if (s_[i_] == '"' || s_[i_] == '\'') {
        bool done = false;
        key = string(std::nullopt, done);
        if (!done) return truncated();
      } else if (keyStart(s_[i_])) {
        while (!eof() && keyChar(s_[i_])) key += s_[i_++];
        if (eof()) return truncated();  // perhaps only part of the key
        note(childPath(path, key), "quoted an unquoted key");
      } else {
        throw Unreadable{};
      }
      std::string kp = childPath(path, key);
      skipSpace(path);
      if (eof()) return truncated();
      if (s_[i_] != ':') throw Unreadable{};
      ++i_;
      auto v = value(kp, depth + 1);
      if (!v) return truncated();
      obj.asObject().set(key, std::move(*v));
      skipSpace(path);
      if (eof()) return truncated();
      char c = s_[i_];
      if (c == ',') {
        ++i_;
        skipSpace(path);
        if (!eof() && s_[i_] == '}') note(path, "removed a trailing comma");
      } else if (c == '}') {
        ++i_;
        return obj;
      } else if (c == '"' || c == '\'' || keyStart(c)) {
        note(path, "inserted a missing comma");
      } else {
        throw Unreadable{};
      }
    }
  }

  Value array(const std::string& path, int depth) {
    ++i_;
    Value arr = Value::array();
    auto truncated = [&] {
      note(path, "closed a truncated array");
      return arr;
    };
    for (;;) {
      skipSpace(path);
      if (eof()) return truncated();
      if (s_[i_] == ']') {
        ++i_;
        return arr;
      }
      auto v = value(indexPath(path, arr.asArray().size()), depth + 1);
      if (!v) return truncated();
      arr.asArray().push(std::move(*v));
      skipSpace(path);
      if (eof()) return truncated();
      char c = s_[i_];
      if (c == ',') {
        ++i_;
        skipSpace(path);
        if (!eof() && s_[i_] == ']') note(path, "removed a trailing comma");
      } else if (c == ']') {
        ++i_;
        return arr;
      } else if (c == '"' || c == '\'' || c == '{' || c == '[' || c == '-' || std::isalnum(static_cast<unsigned char>(c))) {
        note(path, "inserted a missing comma");
      } else {
        throw Unreadable{};
      }
    }
  }

  // A "..." or '...' string at the cursor; `done` false when the text ends inside it. Repairs
  // are noted at `path` (a key's are noted by the object).
  std::string string(const std::optional<std::string>& path, bool& done) {
    char quote = s_[i_++];
    if (quote == '\'' && path) note(*path, "turned a single-quoted string into a double-quoted one");
    std::string out;
    while (!eof()) {
      char c = s_[i_++];
      if (c == quote) {
        done = true;
        return out;
      }
      if (c != '\\') {
        if (static_cast<unsigned char>(c) < 0x20 && path) note(*path, "escaped a control character in a string");
        out += c;
        continue;
      }
      if (eof()) break;
      char e = s_[i_++];
      switch (e) {
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = 0;
          if (!hex4(cp)) return out;  // the text ends inside the escape
          if (cp >= 0xD800 && cp < 0xDC00 && i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
            size_t save = i_;
            i_ += 2;
            uint32_t lo = 0;
            if (hex4(lo) && lo >= 0xDC00 && lo < 0xE000) cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            else i_ = save;
          }
          if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD;  // a lone surrogate
          appendUtf8(out, cp);
          break;
        }
        default: out += e;  // \" \\ \/ and, leniently, \' or any other character as itself
      }
    }
    done = false;
    return out;
  }

  // Four hex digits at the cursor; false when the text ends first.
  bool hex4(uint32_t& cp) {
    if (i_ + 4 > s_.size()) {
      i_ = s_.size();
      return false;
    }
    auto [p, ec] = std::from_chars(s_.data() + i_, s_.data() + i_ + 4, cp, 16);
    if (ec != std::errc() || p != s_.data() + i_ + 4) throw Unreadable{};
    i_ += 4;
    return true;
  }

  std::optional<Value> number(const std::string& path) {
    size_t start = i_;
    auto digits = [&] {
      size_t n = 0;
      while (!eof() && std::isdigit(static_cast<unsigned char>(s_[i_]))) ++i_, ++n;
      return n;
    };
    if (s_[i_] == '-') ++i_;
    if (digits() == 0) {
      if (eof()) return std::nullopt;
      throw Unreadable{};
    }
    size_t end = i_;  // the longest complete number so far
    bool integral = true;
    if (!eof() && s_[i_] == '.') {
      ++i_;
      if (digits() > 0) end = i_, integral = false;
      else if (!eof()) throw Unreadable{};
    }
    if (!eof() && (s_[i_] == 'e' || s_[i_] == 'E') && i_ == end) {
      ++i_;
      if (!eof() && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
      if (digits() > 0) end = i_, integral = false;
      else if (!eof()) throw Unreadable{};
    }
    if (end != i_) note(path, "dropped the unfinished end of a number");
    std::string text(s_.substr(start, end - start));
    if (integral) {
      int64_t n = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
      if (ec == std::errc() && p == text.data() + text.size()) return Value(n);
    }
    double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) throw Unreadable{};
    return Value(d);
  }

  std::optional<Value> literal(const std::string& path) {
    std::string word;
    while (!eof() && std::isalpha(static_cast<unsigned char>(s_[i_]))) word += s_[i_++];
    if (word == "true") return Value(true);
    if (word == "false") return Value(false);
    if (word == "null") return Value();
    if (eof()) {  // a streamed literal not finished yet
      for (const char* full : {"true", "false", "null"}) {
        if (std::string_view(full).starts_with(word)) {
          note(path, "completed a truncated literal");
          return word[0] == 't' ? Value(true) : word[0] == 'f' ? Value(false) : Value();
        }
      }
    }
    throw Unreadable{};
  }
};

bool onlySpace(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

// The value at `pos` in text[0, end): repairs, and whether anything but space follows it.
struct Read {
  RepairedJson r;
  bool trailing = false;
};
std::optional<Read> readAt(std::string_view text, size_t pos, size_t end) {
  Scanner sc(text.substr(0, end), pos);
  try {
    auto v = sc.value("$", 0);
    if (!v) return std::nullopt;
    sc.skipSpace("$");
    return Read{{std::move(*v), std::move(sc.repairs)}, !onlySpace(text.substr(sc.pos(), end - sc.pos()))};
  } catch (const Unreadable&) {
    return std::nullopt;
  }
}

std::vector<std::string> typesOf(const Value& schema) {
  std::vector<std::string> out;
  const Value& t = schema.get("type");
  if (t.isString()) out.push_back(t.asString());
  else if (t.isArray())
    for (const auto& x : t.asArray())
      if (x.isString()) out.push_back(x.asString());
  return out;
}

bool matches(const Value& v, const std::string& t) {
  if (t == "string") return v.isString();
  if (t == "integer") return v.isInt() || (v.isDouble() && std::trunc(v.asDouble()) == v.asDouble());
  if (t == "number") return v.isNumber();
  if (t == "boolean") return v.isBool();
  if (t == "array") return v.isArray();
  if (t == "object") return v.isObject();
  if (t == "null") return v.isNull();
  return false;
}

}  // namespace

std::optional<RepairedJson> repairJson(std::string_view text) {
  // Most replies are plain JSON and need nothing.
  try {
    return RepairedJson{parseJson(text), {}};
  } catch (const Exception&) {
  }
  if (onlySpace(text)) return std::nullopt;
  // Inside a ```json fence (the closing fence may not have arrived yet).
  if (size_t fence = text.find("```"); fence != std::string_view::npos) {
    size_t nl = text.find('\n', fence);
    if (nl != std::string_view::npos) {
      size_t close = text.find("```", nl + 1);
      size_t end = close == std::string_view::npos ? text.size() : close;
      if (auto r = readAt(text, nl + 1, end); r && !r->trailing) {
        r->r.repairs.insert(r->r.repairs.begin(), "$: took the JSON out of a code fence");
        return std::move(r->r);
      }
    }
  }
  // The whole text (it may open with a comment); a scalar only when nothing follows it.
  if (auto r = readAt(text, 0, text.size());
      r && (!r->trailing || r->r.value.isObject() || r->r.value.isArray())) {
    if (r->trailing) r->r.repairs.push_back("$: ignored text after the JSON");
    return std::move(r->r);
  }
  // The first '{' or '[' in prose that starts a value.
  int tries = 0;
  for (size_t i = text.find_first_of("{["); i != std::string_view::npos && tries < kMaxStarts;
       i = text.find_first_of("{[", i + 1), ++tries) {
    auto r = readAt(text, i, text.size());
    if (!r) continue;
    r->r.repairs.insert(r->r.repairs.begin(), "$: ignored text before the JSON");
    if (r->trailing) r->r.repairs.push_back("$: ignored text after the JSON");
    return std::move(r->r);
  }
  return std::nullopt;
}

void coerceToSchema(Value& v, const Value& schema, std::vector<std::string>* repairs, const std::string& path) {
  if (!schema.isObject()) return;
  auto types = typesOf(schema);
  auto wants = [&](const char* t) { return std::find(types.begin(), types.end(), t) != types.end(); };
  auto fits = [&] { return std::any_of(types.begin(), types.end(), [&](const std::string& t) { return matches(v, t); }); };
  auto noteChange = [&](const std::string& what) {
    if (repairs) repairs->push_back(path + ": " + what);
  };
  if (!types.empty() && !fits()) {
    if (v.isString() && (wants("integer") || wants("number"))) {
      const std::string s = v.asString();
      std::optional<Value> n;
      try {
        if (!onlySpace(s)) n = parseJson(s);
      } catch (const Exception&) {
      }
      if (n && n->isNumber()) {
        if (wants("integer") && matches(*n, "integer")) {
          v = n->isInt() ? *n : Value(static_cast<int64_t>(n->asDouble()));
          noteChange("coerced string " + toJsonText(Value(s)) + " to integer");
        } else if (wants("number")) {
          v = *n;
          noteChange("coerced string " + toJsonText(Value(s)) + " to number");
        }
      }
    }
    if (v.isString() && wants("boolean") && (v.asString() == "true" || v.asString() == "false")) {
      std::string s = v.asString();
      v = Value(s == "true");
      noteChange("coerced string " + toJsonText(Value(s)) + " to boolean");
    }
    if (!fits() && wants("array") && !v.isNull()) {
      v = Value::array({v});
      noteChange("wrapped a single value in an array");
    }
  }
  if (v.isObject()) {
    const Value& props = schema.get("properties");
    const Value& addl = schema.get("additionalProperties");
    for (auto& [k, x] : v.asObject().entries()) {
      const Value* ps = props.isObject() ? props.asObject().find(k) : nullptr;
      if (ps) coerceToSchema(x, *ps, repairs, childPath(path, k));
      else if (addl.isObject()) coerceToSchema(x, addl, repairs, childPath(path, k));
    }
  } else if (v.isArray()) {
    const Value& items = schema.get("items");
    if (items.isObject()) {
      auto& a = v.asArray();
      for (size_t i = 0; i < a.size(); ++i) coerceToSchema(a[i], items, repairs, indexPath(path, i));
    }
  }
}

}  // namespace llmspell::llm
