// JSON (nlohmann) and YAML (yaml-cpp) <-> Value conversions.
#include "llmspell/core/convert.hpp"

#include <sodium.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <type_traits>
#include <vector>

#include "llmspell/core/error.hpp"

namespace llmspell {

using ojson = nlohmann::ordered_json;

namespace {

std::string base64(const std::string& raw) {
  std::string out(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

template <typename J>
J toJsonT(const Value& v, int depth) {
  if (depth > 512) fail(codes::kInvalidArgument, "value is nested too deeply (or cyclic) for JSON");
  switch (v.kind()) {
    case ValueKind::kNull: return J(nullptr);
    case ValueKind::kBool: return J(v.asBool());
    case ValueKind::kInt: return J(v.asInt());
    case ValueKind::kDouble: {
      double d = v.asDouble();
      if (!std::isfinite(d)) fail(codes::kInvalidArgument, "cannot encode NaN or infinity as JSON");
      return J(d);
    }
    case ValueKind::kString: return J(v.asString());
    case ValueKind::kBytes: return J(base64(v.asBytes().data));
    case ValueKind::kArray: {
      J a = J::array();
      for (const auto& x : v.asArray()) a.push_back(toJsonT<J>(x, depth + 1));
      return a;
    }
    case ValueKind::kObject: {
      J o = J::object();
      auto& m = o.template get_ref<typename J::object_t&>();
      if constexpr (std::is_same_v<J, ojson>) {
        // ordered_json's map is a vector that finds keys linearly on insert; a Value's keys are
        // already unique, so append to the vector itself (n keys cost O(n), not O(n^2)).
        auto& items = static_cast<std::vector<typename ojson::object_t::value_type>&>(m);
        items.reserve(v.asObject().size());
        for (const auto& [k, x] : v.asObject()) items.emplace_back(k, toJsonT<J>(x, depth + 1));
      } else {
        for (const auto& [k, x] : v.asObject()) m.emplace(k, toJsonT<J>(x, depth + 1));
      }
      return o;
    }
    case ValueKind::kError: return toJsonT<J>(v.asError()->toObject(), depth + 1);
    default:
      fail(codes::kInvalidArgument, "cannot encode a " + std::string(v.kindName()) + " as JSON");
  }
}

template <typename J>
Value fromJsonT(const J& j) {
  switch (j.type()) {
    case J::value_t::null: return Value();
    case J::value_t::boolean: return Value(j.template get<bool>());
    case J::value_t::number_integer: return Value(j.template get<int64_t>());
    case J::value_t::number_unsigned: {
      auto u = j.template get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case J::value_t::number_float: return Value(j.template get<double>());
    case J::value_t::string: return Value(j.template get<std::string>());
    case J::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(fromJsonT<J>(x));
      return Value::array(std::move(items));
    }
    case J::value_t::object: {
      auto o = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it) o->set(it.key(), fromJsonT<J>(it.value()));
      return Value(std::move(o));
    }
    case J::value_t::binary: {
      const auto& b = j.get_binary();
      return Value(Bytes{std::string(b.begin(), b.end())});
    }
    default: return Value();
  }
}

}  // namespace

nlohmann::json toJson(const Value& v) { return toJsonT<nlohmann::json>(v, 0); }

// A finite double laid out as nlohmann's dump does (fixed notation for decimal exponents from -4
// to 15, ".0" after an integral value, otherwise d.ddde±XX), but with the shortest digits that
// read back as the same double, from std::to_chars: nlohmann's Grisu2 is not always shortest
// (it wrote 1e23 as 9.999999999999999e+22).
void appendJsonDouble(std::string& out, double d) {
  if (std::signbit(d)) {
    out += '-';
    d = -d;
  }
  if (d == 0) {
    out += "0.0";
    return;
  }
  char buf[40];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));  // d[.ddd]e±XX
  size_t e = sci.find('e');
  std::string digits(1, sci[0]);
  if (e > 1) digits.append(sci.substr(2, e - 2));
  std::string_view es = sci.substr(e + 1);
  bool negExp = es.front() == '-';
  int exp10 = 0;
  std::from_chars(es.data() + 1, es.data() + es.size(), exp10);
  if (negExp) exp10 = -exp10;
  const int k = static_cast<int>(digits.size());
  const int n = exp10 + 1;  // digits before the decimal point
  if (k <= n && n <= 15) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
    out += ".0";
  } else if (0 < n && n <= 15) {
    out.append(digits, 0, static_cast<size_t>(n));
    out += '.';
    out.append(digits, static_cast<size_t>(n));
  } else if (-4 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out += digits[0];
    if (k > 1) {
      out += '.';
      out.append(digits, 1);
    }
    int x = n - 1;
    out += x < 0 ? "e-" : "e+";
    x = x < 0 ? -x : x;
    if (x < 10) out += '0';
    out += std::to_string(x);
  }
}

void appendJsonString(std::string& out, std::string_view s) {
  bool plain = true;
  for (unsigned char c : s) plain = plain && c >= 0x20 && c != '"' && c != '\\';
  if (plain && isValidUtf8(s)) {
    out += '"';
    out += s;
    out += '"';
    return;
  }
  // Escapes and invalid UTF-8 (replaced by U+FFFD) as nlohmann writes them.
  out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace {

// Value -> JSON text without a tree in between, laid out as nlohmann's dump would (compact, or
// pretty with `indent` spaces a level; "{}" / "[]" when empty; keys in the Value's order or
// sorted bytewise).
void writeJson(std::string& out, const Value& v, const JsonOptions& o, int level) {
  if (level > 512) fail(codes::kInvalidArgument, "value is nested too deeply (or cyclic) for JSON");
  auto newline = [&](int lv) {
    if (!o.pretty) return;
    out += '\n';
    out.append(static_cast<size_t>(std::max(0, o.indent) * lv), ' ');
  };
  switch (v.kind()) {
    case ValueKind::kNull: out += "null"; return;
    case ValueKind::kBool: out += v.asBool() ? "true" : "false"; return;
    case ValueKind::kInt: out += std::to_string(v.asInt()); return;
    case ValueKind::kDouble: {
      double d = v.asDouble();
      if (!std::isfinite(d)) fail(codes::kInvalidArgument, "cannot encode NaN or infinity as JSON");
      appendJsonDouble(out, d);
      return;
    }
    case ValueKind::kString: appendJsonString(out, v.asString()); return;
    case ValueKind::kBytes: appendJsonString(out, base64(v.asBytes().data)); return;
    case ValueKind::kArray: {
      const auto& a = v.asArray();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& x : a) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        writeJson(out, x, o, level + 1);
      }
      newline(level);
      out += ']';
      return;
    }
    case ValueKind::kObject: {
      const auto& m = v.asObject();
      if (m.size() == 0) {
        out += "{}";
        return;
      }
      std::vector<std::pair<const std::string*, const Value*>> items;
      items.reserve(m.size());
      for (const auto& [k, x] : m) items.emplace_back(&k, &x);
      if (o.sortKeys) std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
      out += '{';
      bool first = true;
      for (const auto& [k, x] : items) {
        if (!first) out += ',';
        first = false;
        newline(level + 1);
        appendJsonString(out, *k);
        out += o.pretty ? ": " : ":";
        writeJson(out, *x, o, level + 1);
      }
      newline(level);
      out += '}';
      return;
    }
    default: out += toJsonT<nlohmann::json>(v, level).dump(); return;
  }
}

}  // namespace

std::string toJsonText(const Value& v, const JsonOptions& opts) {
  std::string out;
  writeJson(out, v, opts, 0);
  return out;
}

Value fromJson(const nlohmann::json& j) { return fromJsonT(j); }

namespace {

// Builds a Value straight from the parser's events (no intermediate tree: nlohmann's ordered_json
// finds keys linearly, so an object of n keys would cost O(n^2), and untrusted bodies can have
// hundreds of thousands). A repeated key keeps its first position and its last value, as before.
class ValueSax {
 public:
  static constexpr size_t kMaxDepth = 512;

  ValueSax(std::string_view text, size_t maxNodes) : text_(text), maxNodes_(maxNodes) {}
  Value result() { return std::move(root_); }

  bool null() { return put(Value()); }
  bool boolean(bool b) { return put(Value(b)); }
  bool number_integer(int64_t i) { return put(Value(i)); }
  bool number_unsigned(uint64_t u) {
    if (u <= static_cast<uint64_t>(INT64_MAX)) return put(Value(static_cast<int64_t>(u)));
    return put(Value(static_cast<double>(u)));
  }
  bool number_float(double d, const std::string&) { return put(Value(d)); }
  bool string(std::string& s) { return put(Value(std::move(s))); }
  bool binary(ojson::binary_t& b) { return put(Value(Bytes{std::string(b.begin(), b.end())})); }
  bool start_object(size_t) { return open(Value::object()); }
  bool key(std::string& k) {
    count(k.size());
    stack_.back().key = std::move(k);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(size_t) { return open(Value::array()); }
  bool end_array() { return close(); }

  bool parse_error(size_t byte, const std::string&, const nlohmann::detail::exception& e) {
    // Turn the byte offset into line:column for a person.
    size_t off = byte > 0 ? byte - 1 : 0;
    int line = 1, col = 1;
    for (size_t i = 0; i < off && i < text_.size(); ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    std::string what = e.what();
    // A number past the double range (1e400) is bad input like any other, not an internal error.
    if (e.id == 406) what = "number out of range";
    auto pos = what.find("syntax error");
    if (pos != std::string::npos) what = what.substr(pos);
    fail(codes::kInvalidArgument, "invalid JSON at line " + std::to_string(line) + ", column " +
                                      std::to_string(col) + ": " + what);
  }

 private:
  struct Frame {
    Value container;
    std::string key;  // the pending key, for objects
  };

  // Counted as parseYaml counts: one per node, one more per 64 bytes of a string.
  void count(size_t textBytes) {
    if (!maxNodes_) return;
    nodes_ += 1 + textBytes / 64;
    if (nodes_ > maxNodes_)
      fail(codes::kLimitExceeded, "JSON document has more than " + std::to_string(maxNodes_) + " nodes");
  }
  bool put(Value v) {
    count(v.isString() ? v.asString().size() : 0);
    if (stack_.empty()) {
      root_ = std::move(v);
    } else if (Frame& f = stack_.back(); f.container.isArray()) {
      f.container.asArray().push(std::move(v));
    } else {
      f.container.asObject().set(std::move(f.key), std::move(v));
    }
    return true;
  }
  bool open(Value container) {
    // Values are freed recursively, so nesting is bounded here.
    if (stack_.size() >= kMaxDepth)
      fail(codes::kInvalidArgument,
           "JSON is nested more than " + std::to_string(kMaxDepth) + " levels deep");
    stack_.push_back(Frame{std::move(container), {}});
    return true;
  }
  bool close() {
    Value done = std::move(stack_.back().container);
    stack_.pop_back();
    return put(std::move(done));
  }

  std::string_view text_;
  size_t maxNodes_ = 0, nodes_ = 0;
  Value root_;
  std::vector<Frame> stack_;
};

}  // namespace

Value parseJson(std::string_view text, size_t maxNodes) {
  ValueSax sax(text, maxNodes);
  ojson::sax_parse(text.begin(), text.end(), &sax);
  return sax.result();
}

// ---- YAML ----

namespace {

// A YAML float: a literal past the double range (1e400) is bad input, as in JSON (an underflow
// such as 1e-400 reads as 0 or a denormal, as strtod gives it).
double yamlDouble(const YAML::Node& n, const std::string& s) {
  double d = std::strtod(s.c_str(), nullptr);
  if (!std::isfinite(d))
    fail(codes::kInvalidArgument, "invalid YAML at line " + std::to_string(n.Mark().line + 1) +
                                      ", column " + std::to_string(n.Mark().column + 1) +
                                      ": number out of range");
  return d;
}

Value scalarFromYaml(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") return Value(s);  // quoted
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return Value();
  if (s == "true" || s == "True" || s == "TRUE") return Value(true);
  if (s == "false" || s == "False" || s == "FALSE") return Value(false);
  static const std::regex intRe("[-+]?[0-9]+");
  static const std::regex hexRe("0x[0-9a-fA-F]+");
  static const std::regex octRe("0o[0-7]+");
  static const std::regex floatRe(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?");
  try {
    if (std::regex_match(s, intRe)) return Value(static_cast<int64_t>(std::stoll(s)));
    if (std::regex_match(s, hexRe)) return Value(static_cast<int64_t>(std::stoll(s.substr(2), nullptr, 16)));
    if (std::regex_match(s, octRe)) return Value(static_cast<int64_t>(std::stoll(s.substr(2), nullptr, 8)));
    if (std::regex_match(s, floatRe)) return Value(yamlDouble(n, s));
  } catch (const std::out_of_range&) {
    return Value(yamlDouble(n, s));  // an integer past int64
  }
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return Value(HUGE_VAL);
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return Value(-HUGE_VAL);
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return Value(std::nan(""));
  return Value(s);
}

// yaml-cpp keeps an alias as a second reference to its anchor's node, so the node graph is as
// small as the text; it is this conversion into a tree that expands aliases. `left` counts down
// the nodes the result may still have (see parseYaml).
struct YamlBudget {
  size_t left;
  void take(size_t nodes) {
    if (nodes > left)
      fail(codes::kLimitExceeded,
           "YAML document expands to too many nodes (aliases repeat what they point to); "
           "the limit here is " + std::to_string(total) + " nodes");
    left -= nodes;
  }
  size_t total;
};

// A scalar counts one node, plus one per 64 bytes of its text (an alias to a long string
// copies the string each time).
size_t scalarNodes(const std::string& s) { return 1 + s.size() / 64; }

Value fromYaml(const YAML::Node& n, int depth, YamlBudget& budget) {
  if (depth > 256) fail(codes::kInvalidArgument, "YAML is nested too deeply");
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined: budget.take(1); return Value();
    case YAML::NodeType::Scalar: budget.take(scalarNodes(n.Scalar())); return scalarFromYaml(n);
    case YAML::NodeType::Sequence: {
      budget.take(1);
      std::vector<Value> items;
      for (const auto& x : n) items.push_back(fromYaml(x, depth + 1, budget));
      return Value::array(std::move(items));
    }
    case YAML::NodeType::Map: {
      budget.take(1);
      auto o = std::make_shared<Object>();
      for (const auto& kv : n) {
        std::string key = kv.first.as<std::string>();
        budget.take(scalarNodes(key));
        o->set(std::move(key), fromYaml(kv.second, depth + 1, budget));
      }
      return Value(std::move(o));
    }
  }
  return Value();
}

bool needsQuotes(const std::string& s) {
  Value v = scalarFromYaml(YAML::Load(s.empty() ? "''" : s));
  return s.empty() || !v.isString() || v.asString() != s;
}

void emit(YAML::Emitter& out, const Value& v, int depth) {
  if (depth > 256) fail(codes::kInvalidArgument, "value is nested too deeply (or cyclic) for YAML");
  switch (v.kind()) {
    case ValueKind::kNull: out << YAML::Null; break;
    case ValueKind::kBool: out << v.asBool(); break;
    case ValueKind::kInt: out << v.asInt(); break;
    case ValueKind::kDouble: {
      double d = v.asDouble();
      if (std::isnan(d)) out << ".nan";
      else if (std::isinf(d)) out << (d > 0 ? ".inf" : "-.inf");
      else out << YAML::Precision(17) << d;
      break;
    }
    case ValueKind::kString: {
      const auto& s = v.asString();
      bool quote = false;
      try { quote = needsQuotes(s); } catch (...) { quote = true; }
      if (quote) out << YAML::DoubleQuoted << s; else out << s;
      break;
    }
    case ValueKind::kBytes: out << base64(v.asBytes().data); break;
    case ValueKind::kArray:
      out << YAML::BeginSeq;
      for (const auto& x : v.asArray()) emit(out, x, depth + 1);
      out << YAML::EndSeq;
      break;
    case ValueKind::kObject:
      out << YAML::BeginMap;
      for (const auto& [k, x] : v.asObject()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, x, depth + 1);
      }
      out << YAML::EndMap;
      break;
    case ValueKind::kError: emit(out, v.asError()->toObject(), depth + 1); break;
    default:
      fail(codes::kInvalidArgument, "cannot encode a " + std::string(v.kindName()) + " as YAML");
  }
}

}  // namespace

size_t yamlDefaultMaxNodes(size_t textBytes) { return 16 * textBytes + 4096; }

Value parseYaml(std::string_view text, size_t maxNodes) {
  try {
    YAML::Node n = YAML::Load(std::string(text));
    size_t cap = maxNodes ? maxNodes : yamlDefaultMaxNodes(text.size());
    YamlBudget budget{cap, cap};
    return fromYaml(n, 0, budget);
  } catch (const YAML::Exception& e) {
    fail(codes::kInvalidArgument, "invalid YAML at line " + std::to_string(e.mark.line + 1) +
                                      ", column " + std::to_string(e.mark.column + 1) + ": " +
                                      e.msg);
  }
}

std::string toYamlText(const Value& v) {
  YAML::Emitter out;
  emit(out, v, 0);
  std::string s = out.c_str();
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

bool isValidUtf8(std::string_view s) {
  size_t i = 0, n = s.size();
  while (i < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + static_cast<size_t>(len) > n) return false;
    uint32_t cp = c & (0xFF >> (len + 1));
    for (int k = 1; k < len; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += static_cast<size_t>(len);
  }
  return true;
}


}  // namespace llmspell
