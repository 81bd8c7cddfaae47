// Value <-> ordered JSON and the small parsing helpers the codecs share.
#include "llm/json_util.hpp"

#include <charconv>
#include <cstdio>

#include <sodium.h>

#include "llm/simd_util.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

ojson toOjson(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull: return nullptr;
    case ValueKind::kBool: return v.asBool();
    case ValueKind::kInt: return v.asInt();
    case ValueKind::kDouble: return v.asDouble();
    case ValueKind::kString: return v.asString();
    case ValueKind::kBytes: return base64Encode(v.asBytes().data);
    case ValueKind::kArray: {
      ojson a = ojson::array();
      for (const auto& x : v.asArray()) a.push_back(toOjson(x));
      return a;
    }
    case ValueKind::kObject: {
      ojson o = ojson::object();
      for (const auto& [k, x] : v.asObject()) o[k] = toOjson(x);
      return o;
    }
    default:
      fail(codes::kInvalidArgument, "cannot send a " + std::string(v.kindName()) + " to a model");
  }
}

Value fromOjson(const ojson& j) {
  switch (j.type()) {
    case ojson::value_t::null: return Value();
    case ojson::value_t::boolean: return Value(j.get<bool>());
    case ojson::value_t::number_integer: return Value(j.get<int64_t>());
    case ojson::value_t::number_unsigned: {
      auto u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case ojson::value_t::number_float: return Value(j.get<double>());
    case ojson::value_t::string: return Value(j.get<std::string>());
    case ojson::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& x : j) items.push_back(fromOjson(x));
      return Value::array(std::move(items));
    }
    case ojson::value_t::object: {
      auto o = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it) o->set(it.key(), fromOjson(it.value()));
      return Value(std::move(o));
    }
    default: return Value();
  }
}

namespace {

// simdjson's DOM, converted to nlohmann values: the codecs work on ojson, and simdjson finds the
// structure and unescapes strings several times faster than nlohmann's lexer, which reads a
// character at a time (provider replies and stream events are mostly long strings).
ojson fromSimd(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      simdjson::dom::object obj(e);
      ojson o = ojson::object();
      // Reserved: growing an ordered_map copies its entries (its pairs' keys are const).
      o.get_ref<ojson::object_t&>().reserve(obj.size());
      for (auto field : obj) o[std::string(field.key)] = fromSimd(field.value);
      return o;
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array arr(e);
      ojson a = ojson::array();
      a.get_ref<ojson::array_t&>().reserve(arr.size());
      for (auto v : arr) a.push_back(fromSimd(v));
      return a;
    }
    case simdjson::dom::element_type::STRING: return ojson(std::string(std::string_view(e)));
    case simdjson::dom::element_type::INT64: return ojson(int64_t(e));
    case simdjson::dom::element_type::UINT64: return ojson(uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: return ojson(double(e));
    case simdjson::dom::element_type::BOOL: return ojson(bool(e));
    case simdjson::dom::element_type::NULL_VALUE: return ojson(nullptr);
  }
  return ojson();
}

}  // namespace

namespace {
thread_local uint64_t parseCount = 0;
}  // namespace

uint64_t parseOjsonCount() { return parseCount; }

ojson parseOjson(std::string_view text, std::string_view what) {
  ++parseCount;
  {
    // parse() copies the text into the parser's own padded buffer, reused between calls.
    simdjson::dom::element doc;
    if (threadParser().parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS) return fromSimd(doc);
    // Anything simdjson refuses (malformed text, integers past 64 bits) goes to nlohmann, so
    // the result and the error message are what they always were.
  }
  try {
    return ojson::parse(text.begin(), text.end());
  } catch (const std::exception& e) {
    std::string snippet(text.substr(0, 200));
    fail(codes::kProviderError,
         "malformed JSON in " + std::string(what) + ": " + e.what() + " (got: " + snippet + ")");
  }
}

std::string str(const ojson& j, std::string_view key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

int64_t num(const ojson& j, std::string_view key, int64_t dflt) {
  if (!j.is_object()) return dflt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return dflt;
  if (it->is_number_float()) {
    // A float outside int64's range (a provider's garbage token count) has no integer value, and
    // converting it is undefined behaviour (found by the sse_codecs fuzz target).
    return int64OrDefault(it->get<double>(), dflt);
  }
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) return dflt;
  return it->get<int64_t>();
}

const ojson* field(const ojson& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string base64Encode(std::string_view raw) {
  std::string out(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                    raw.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

bool base64Decode(std::string_view b64, std::string& out) {
  out.assign(b64.size(), '\0');
  size_t len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), b64.data(),
                        b64.size(), " \r\n", &len, nullptr, sodium_base64_VARIANT_ORIGINAL) != 0) {
    return false;
  }
  out.resize(len);
  return true;
}

bool parseDataUrl(std::string_view url, std::string& mediaType, std::string& bytes) {
  if (url.substr(0, 5) != "data:") return false;
  auto comma = url.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view meta = url.substr(5, comma - 5);
  auto semi = meta.find(';');
  mediaType = std::string(meta.substr(0, semi));
  if (meta.find(";base64") == std::string_view::npos) {
    bytes = std::string(url.substr(comma + 1));
    return true;
  }
  return base64Decode(url.substr(comma + 1), bytes);
}


namespace {

void dumpString(std::string_view s, std::string& out) {
  if (!isValidUtf8(s)) {
    out += ojson(std::string(s)).dump();  // throws nlohmann's own error, as j.dump() would
    return;
  }
  out += '"';
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out += buf;
      }
    }
  }
  out.append(s.substr(run));
  out += '"';
}

void dumpValue(const ojson& j, std::string& out) {
  switch (j.type()) {
    case ojson::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, v] : j.items()) {
        if (!first) out += ',';
        first = false;
        dumpString(k, out);
        out += ':';
        dumpValue(v, out);
      }
      out += '}';
      return;
    }
    case ojson::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& v : j) {
        if (!first) out += ',';
        first = false;
        dumpValue(v, out);
      }
      out += ']';
      return;
    }
    case ojson::value_t::string: dumpString(j.get_ref<const std::string&>(), out); return;
    case ojson::value_t::boolean: out += j.get<bool>() ? "true" : "false"; return;
    case ojson::value_t::null: out += "null"; return;
    case ojson::value_t::number_integer: out += std::to_string(j.get<int64_t>()); return;
    case ojson::value_t::number_unsigned: out += std::to_string(j.get<uint64_t>()); return;
    default: out += j.dump(); return;  // floats (nlohmann's shortest round-trip form), binary
  }
}

}  // namespace

std::string dumpJson(const ojson& j) {
  std::string out;
  out.reserve(4096);
  dumpValue(j, out);
  return out;
}

void writeJsonString(std::string_view s, std::string& out) { dumpString(s, out); }

JsonOut& JsonOut::key(std::string_view k) {
  sep();
  dumpString(k, out_);
  out_ += ':';
  comma_ = false;
  return *this;
}

JsonOut& JsonOut::str(std::string_view s) {
  sep();
  dumpString(s, out_);
  return *this;
}

JsonOut& JsonOut::integer(int64_t n) {
  sep();
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
  return *this;
}

JsonOut& JsonOut::number(double d) {
  sep();
  out_ += ojson(d).dump();  // nlohmann's float form, so the bytes stay what the tree gave
  return *this;
}

JsonOut& JsonOut::boolean(bool b) {
  sep();
  out_ += b ? "true" : "false";
  return *this;
}

JsonOut& JsonOut::null() {
  sep();
  out_ += "null";
  return *this;
}

JsonOut& JsonOut::raw(std::string_view json) {
  sep();
  out_ += json;
  return *this;
}

JsonOut& JsonOut::value(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kNull: return null();
    case ValueKind::kBool: return boolean(v.asBool());
    case ValueKind::kInt: return integer(v.asInt());
    case ValueKind::kDouble: return number(v.asDouble());
    case ValueKind::kString: return str(v.asString());
    case ValueKind::kBytes: return str(base64Encode(v.asBytes().data));
    case ValueKind::kArray:
      beginArray();
      for (const auto& x : v.asArray()) value(x);
      return endArray();
    case ValueKind::kObject:
      beginObject();
      for (const auto& [k, x] : v.asObject()) key(k).value(x);
      return endObject();
    default:
      fail(codes::kInvalidArgument, "cannot send a " + std::string(v.kindName()) + " to a model");
  }
}

std::string valueJson(const Value& v) {
  std::string out;
  JsonOut(out).value(v);
  return out;
}

Value simdToValue(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::OBJECT: {
      auto o = std::make_shared<Object>();
      // set(): a repeated key keeps its first place and takes the last value, as in the tree.
      for (auto f : simdjson::dom::object(e)) o->set(std::string(f.key), simdToValue(f.value));
      return Value(std::move(o));
    }
    case simdjson::dom::element_type::ARRAY: {
      simdjson::dom::array arr(e);
      std::vector<Value> items;
      items.reserve(arr.size());
      for (auto x : arr) items.push_back(simdToValue(x));
      return Value::array(std::move(items));
    }
    case simdjson::dom::element_type::STRING: return Value(std::string(std::string_view(e)));
    case simdjson::dom::element_type::INT64: return Value(int64_t(e));
    case simdjson::dom::element_type::UINT64: {
      uint64_t u = uint64_t(e);
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case simdjson::dom::element_type::DOUBLE: return Value(double(e));
    case simdjson::dom::element_type::BOOL: return Value(bool(e));
    case simdjson::dom::element_type::NULL_VALUE: return Value();
  }
  return Value();
}

simdjson::dom::element parseReply(std::string_view text, std::string_view what, std::string& scratch) {
  simdjson::dom::element doc;
  if (threadParser().parse(text.data(), text.size()).get(doc) == simdjson::SUCCESS) return doc;
  scratch = parseOjson(text, what).dump();
  if (threadParser().parse(scratch).get(doc) != simdjson::SUCCESS) {
    fail(codes::kProviderError, "malformed JSON in " + std::string(what));
  }
  return doc;
}

}  // namespace llmspell::llm
