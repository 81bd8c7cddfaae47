// Tengo stdlib modules fmt, math, json, base64, hex, rand, enum (source) and the registry that
// ModuleMap::addStdlib uses. text, times and os live in their own files.
#include <charconv>
#include <cmath>
#include <cstring>
#include <random>

#include <nlohmann/json.hpp>

#include "engines/tengo/stdlib_util.hpp"

namespace llmspell::tengo::detail {

namespace {

void fn(Attrs& m, const char* name, NativeFn f) { m[name] = makeNative(name, std::move(f)); }

// ---- fmt ----
Result printArgs(Vm& vm, Args a, std::string* out) {
  for (auto& v : a) {
    std::string s;
    toStringValue(v, &s);
    *out += s;
    if (!vm.checkStringLen(out->size())) return Result::limit("exceeding string size limit");
  }
  return Value();
}

void addFmt(Attrs& m) {
  fn(m, "print", [](Vm& vm, Args a) -> Result {
    std::string s;
    Result r = printArgs(vm, a, &s);
    if (r.kind() != Result::Kind::kValue) return r;
    vm.write(s);
    return Value();
  });
  fn(m, "println", [](Vm& vm, Args a) -> Result {
    std::string s;
    Result r = printArgs(vm, a, &s);
    if (r.kind() != Result::Kind::kValue) return r;
    s += "\n";
    vm.write(s);
    return Value();
  });
  auto sprintf = [](Vm& vm, Args a, std::string* out) -> Result {
    if (a.empty()) return Result::wrongArgs();
    if (a[0].type() != Type::kString) return Result::badArg("format", "string", typeName(a[0]));
    if (a.size() == 1) {
      *out = a[0].as<StringObj>()->s;
      return Value();
    }
    std::string err;
    if (!tengoFormat(*vm.impl(), a, out, &err)) return Result::limit(err);
    return Value();
  };
  fn(m, "printf", [sprintf](Vm& vm, Args a) -> Result {
    std::string s;
    Result r = sprintf(vm, a, &s);
    if (r.kind() != Result::Kind::kValue) return r;
    vm.write(s);
    return Value();
  });
  fn(m, "sprintf", [sprintf](Vm& vm, Args a) -> Result {
    std::string s;
    Result r = sprintf(vm, a, &s);
    if (r.kind() != Result::Kind::kValue) return r;
    return makeString(std::move(s));
  });
}

// ---- math ----
void addMath(Attrs& m) {
  auto f1 = [&](const char* name, double (*f)(double)) {
    fn(m, name, [f](Vm&, Args a) -> Result {
      if (a.size() != 1) return Result::wrongArgs();
      double x;
      Result e = Value();
      if (!argFloat(a, 0, &x, &e)) return e;
      return Value::number(f(x));
    });
  };
  auto f2 = [&](const char* name, double (*f)(double, double)) {
    fn(m, name, [f](Vm&, Args a) -> Result {
      if (a.size() != 2) return Result::wrongArgs();
      double x, y;
      Result e = Value();
      if (!argFloat(a, 0, &x, &e) || !argFloat(a, 1, &y, &e)) return e;
      return Value::number(f(x, y));
    });
  };
  f1("abs", [](double x) { return std::fabs(x); });
  f1("acos", [](double x) { return std::acos(x); });
  f1("acosh", [](double x) { return std::acosh(x); });
  f1("asin", [](double x) { return std::asin(x); });
  f1("asinh", [](double x) { return std::asinh(x); });
  f1("atan", [](double x) { return std::atan(x); });
  f2("atan2", [](double x, double y) { return std::atan2(x, y); });
  f1("atanh", [](double x) { return std::atanh(x); });
  f1("cbrt", [](double x) { return std::cbrt(x); });
  f1("ceil", [](double x) { return std::ceil(x); });
  f2("copysign", [](double x, double y) { return std::copysign(x, y); });
  f1("cos", [](double x) { return std::cos(x); });
  f1("cosh", [](double x) { return std::cosh(x); });
  f2("dim", [](double x, double y) { return std::fdim(x, y); });
  f1("erf", [](double x) { return std::erf(x); });
  f1("erfc", [](double x) { return std::erfc(x); });
  f1("exp", [](double x) { return std::exp(x); });
  f1("exp2", [](double x) { return std::exp2(x); });
  f1("expm1", [](double x) { return std::expm1(x); });
  f1("floor", [](double x) { return std::floor(x); });
  f1("gamma", [](double x) { return std::tgamma(x); });
  f2("hypot", [](double x, double y) { return std::hypot(x, y); });
  f1("j0", [](double x) { return ::j0(x); });
  f1("j1", [](double x) { return ::j1(x); });
  f1("log", [](double x) { return std::log(x); });
  f1("log10", [](double x) { return std::log10(x); });
  f1("log1p", [](double x) { return std::log1p(x); });
  f1("log2", [](double x) { return std::log2(x); });
  f1("logb", [](double x) { return std::logb(x); });
  f2("max", [](double x, double y) {
    if (std::isinf(x) && x > 0) return x;
    if (std::isinf(y) && y > 0) return y;
    if (std::isnan(x) || std::isnan(y)) return std::nan("");
    return std::fmax(x, y);
  });
  f2("min", [](double x, double y) {
    if (std::isinf(x) && x < 0) return x;
    if (std::isinf(y) && y < 0) return y;
    if (std::isnan(x) || std::isnan(y)) return std::nan("");
    return std::fmin(x, y);
  });
  f2("mod", [](double x, double y) { return std::fmod(x, y); });
  f2("nextafter", [](double x, double y) { return std::nextafter(x, y); });
  f2("pow", [](double x, double y) { return std::pow(x, y); });
  f2("remainder", [](double x, double y) { return std::remainder(x, y); });
  f1("sin", [](double x) { return std::sin(x); });
  f1("sinh", [](double x) { return std::sinh(x); });
  f1("sqrt", [](double x) { return std::sqrt(x); });
  f1("tan", [](double x) { return std::tan(x); });
  f1("tanh", [](double x) { return std::tanh(x); });
  f1("trunc", [](double x) { return std::trunc(x); });
  f1("y0", [](double x) { return ::y0(x); });
  f1("y1", [](double x) { return ::y1(x); });
  fn(m, "ilogb", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    double x;
    Result e = Value();
    if (!argFloat(a, 0, &x, &e)) return e;
    return Value::integer(std::ilogb(x));
  });
  fn(m, "inf", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t s;
    Result e = Value();
    if (!argInt(a, 0, &s, &e)) return e;
    return Value::number(s >= 0 ? HUGE_VAL : -HUGE_VAL);
  });
  fn(m, "is_inf", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    double x;
    int64_t s;
    Result e = Value();
    if (!argFloat(a, 0, &x, &e) || !argInt(a, 1, &s, &e)) return e;
    return Value::boolean((s >= 0 && x == HUGE_VAL) || (s <= 0 && x == -HUGE_VAL));
  });
  fn(m, "is_nan", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    double x;
    Result e = Value();
    if (!argFloat(a, 0, &x, &e)) return e;
    return Value::boolean(std::isnan(x));
  });
  fn(m, "signbit", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    double x;
    Result e = Value();
    if (!argFloat(a, 0, &x, &e)) return e;
    return Value::boolean(std::signbit(x));
  });
  fn(m, "nan", [](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::number(std::nan(""));
  });
  fn(m, "pow10", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t n;
    Result e = Value();
    if (!argInt(a, 0, &n, &e)) return e;
    if (n < -323) return Value::number(0);
    if (n > 308) return Value::number(HUGE_VAL);
    return Value::number(std::pow(10.0, static_cast<double>(n)));
  });
  auto fif = [&](const char* name, double (*f)(int, double)) {
    fn(m, name, [f](Vm&, Args a) -> Result {
      if (a.size() != 2) return Result::wrongArgs();
      int64_t n;
      double x;
      Result e = Value();
      if (!argInt(a, 0, &n, &e) || !argFloat(a, 1, &x, &e)) return e;
      return Value::number(f(static_cast<int>(n), x));
    });
  };
  fif("jn", [](int n, double x) { return ::jn(n, x); });
  fif("yn", [](int n, double x) { return ::yn(n, x); });
  fn(m, "ldexp", [](Vm&, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    double x;
    int64_t n;
    Result e = Value();
    if (!argFloat(a, 0, &x, &e) || !argInt(a, 1, &n, &e)) return e;
    return Value::number(std::ldexp(x, static_cast<int>(n)));
  });
  m["e"] = Value::number(M_E);
  m["pi"] = Value::number(M_PI);
  m["phi"] = Value::number(1.61803398874989484820458683436563811772030917980576286213544862);
  m["sqrt2"] = Value::number(M_SQRT2);
  m["sqrtE"] = Value::number(1.64872127070012814684865078831848487050965330964807879120214891);
  m["sqrtPi"] = Value::number(1.77245385090551602729816748334114518279754945612238712821380779);
  m["sqrtPhi"] = Value::number(1.27201964951406896425242246173749149171560804184009624861664038);
  m["ln2"] = Value::number(M_LN2);
  m["log2E"] = Value::number(1 / M_LN2);
  m["ln10"] = Value::number(M_LN10);
  m["log10E"] = Value::number(1 / M_LN10);
  m["maxFloat32"] = Value::number(3.40282346638528859811704183484516925440e+38);
  m["smallestNonzeroFloat32"] = Value::number(1.401298464324817070923729583289916131280e-45);
  m["maxFloat64"] = Value::number(1.79769313486231570814527423731704356798070e+308);
  m["smallestNonzeroFloat64"] = Value::number(4.9406564584124654417656879286822137236505980e-324);
  m["maxInt"] = Value::integer(INT64_MAX);
  m["minInt"] = Value::integer(INT64_MIN);
  m["maxInt8"] = Value::integer(127);
  m["minInt8"] = Value::integer(-128);
  m["maxInt16"] = Value::integer(32767);
  m["minInt16"] = Value::integer(-32768);
  m["maxInt32"] = Value::integer(2147483647);
  m["minInt32"] = Value::integer(-2147483648LL);
  m["maxInt64"] = Value::integer(INT64_MAX);
  m["minInt64"] = Value::integer(INT64_MIN);
}

// ---- base64 / hex ----
const char* kB64Std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const char* kB64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string b64Encode(const std::string& in, const char* alpha, bool padOut) {
  std::string out;
  size_t i = 0;
  while (i + 2 < in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += alpha[v >> 18];
    out += alpha[(v >> 12) & 63];
    out += alpha[(v >> 6) & 63];
    out += alpha[v & 63];
    i += 3;
  }
  size_t rem = in.size() - i;
  if (rem == 1) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += alpha[v >> 18];
    out += alpha[(v >> 12) & 63];
    if (padOut) out += "==";
  } else if (rem == 2) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += alpha[v >> 18];
    out += alpha[(v >> 12) & 63];
    out += alpha[(v >> 6) & 63];
    if (padOut) out += "=";
  }
  return out;
}

bool b64Decode(const std::string& in, const char* alpha, bool padIn, std::string* out,
               std::string* err) {
  int map[256];
  for (int& x : map) x = -1;
  for (int k = 0; k < 64; ++k) map[static_cast<unsigned char>(alpha[k])] = k;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t n = in.size();
  size_t i = 0;
  for (; i < n; ++i) {
    char c = in[i];
    if (c == '\r' || c == '\n') continue;
    if (c == '=') break;
    int v = map[static_cast<unsigned char>(c)];
    if (v < 0) {
      *err = "illegal base64 data at input byte " + std::to_string(i);
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      *out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  size_t dataChars = i;
  if (i < n) {
    if (!padIn) {
      *err = "illegal base64 data at input byte " + std::to_string(i);
      return false;
    }
    size_t pads = n - i;
    for (size_t k = i; k < n; ++k)
      if (in[k] != '=') {
        *err = "illegal base64 data at input byte " + std::to_string(k);
        return false;
      }
    if ((dataChars + pads) % 4 != 0 || pads > 2) {
      *err = "illegal base64 data at input byte " + std::to_string(n);
      return false;
    }
  } else if (padIn && dataChars % 4 != 0) {
    *err = "illegal base64 data at input byte " + std::to_string(n);
    return false;
  }
  if (dataChars % 4 == 1) {
    *err = "illegal base64 data at input byte " + std::to_string(dataChars);
    return false;
  }
  return true;
}

void addBase64(Attrs& m) {
  struct V {
    const char* enc;
    const char* dec;
    const char* alpha;
    bool pad;
  };
  static const V vs[] = {{"encode", "decode", kB64Std, true},
                         {"raw_encode", "raw_decode", kB64Std, false},
                         {"url_encode", "url_decode", kB64Url, true},
                         {"raw_url_encode", "raw_url_decode", kB64Url, false}};
  for (const V& v : vs) {
    fn(m, v.enc, [v](Vm& vm, Args a) -> Result {
      if (a.size() != 1) return Result::wrongArgs();
      std::string b;
      Result e = Value();
      if (!argBytes(a, 0, &b, &e)) return e;
      std::string s = b64Encode(b, v.alpha, v.pad);
      if (!vm.checkStringLen(s.size())) return Result::limit("exceeding string size limit");
      return makeString(std::move(s));
    });
    fn(m, v.dec, [v](Vm& vm, Args a) -> Result {
      if (a.size() != 1) return Result::wrongArgs();
      std::string s, out, err;
      Result e = Value();
      if (!argString(a, 0, &s, &e)) return e;
      if (!b64Decode(s, v.alpha, v.pad, &out, &err)) return errorValue(err);
      if (!vm.checkBytesLen(out.size())) return Result::limit("exceeding bytes size limit");
      return makeBytes(std::move(out));
    });
  }
}

void addHex(Attrs& m) {
  fn(m, "encode", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string b;
    Result e = Value();
    if (!argBytes(a, 0, &b, &e)) return e;
    static const char* d = "0123456789abcdef";
    std::string s;
    for (unsigned char c : b) {
      s += d[c >> 4];
      s += d[c & 15];
    }
    if (!vm.checkStringLen(s.size())) return Result::limit("exceeding string size limit");
    return makeString(std::move(s));
  });
  fn(m, "decode", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    std::string out;
    auto hv = [](char c) {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    for (size_t i = 0; i < s.size(); i += 2) {
      if (i + 1 >= s.size()) {
        if (hv(s[i]) < 0) break;
        return errorValue("encoding/hex: odd length hex string");
      }
      int h = hv(s[i]), l = hv(s[i + 1]);
      if (h < 0 || l < 0) {
        char bad = h < 0 ? s[i] : s[i + 1];
        char buf[64];
        snprintf(buf, sizeof buf, "encoding/hex: invalid byte: U+%04X '%c'", static_cast<unsigned char>(bad), bad);
        return errorValue(buf);
      }
      out += static_cast<char>(h * 16 + l);
    }
    if (!vm.checkBytesLen(out.size())) return Result::limit("exceeding bytes size limit");
    return makeBytes(std::move(out));
  });
}

// ---- json ----
void jsonQuote(std::string& out, const std::string& s) {
  static const char* hex = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '<': case '>': case '&':
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 15];
          break;
        default:
          if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    int32_t r;
    int w = decodeRune(s, i, &r);
    if (r == 0xFFFD && w == 1) {
      out += "\\ufffd";
    } else if (r == 0x2028 || r == 0x2029) {
      out += r == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s, i, w);
    }
    i += w;
  }
  out += '"';
}

bool jsonEncode(std::string& out, const Value& v, std::string* err, int depth = 0) {
  if (depth > 256) {
    *err = "json: nesting too deep";
    return false;
  }
  switch (v.type()) {
    case Type::kUndefined: out += "null"; return true;
    case Type::kBool: out += v.i() ? "true" : "false"; return true;
    case Type::kInt: case Type::kChar: out += std::to_string(v.i()); return true;
    case Type::kFloat: {
      double f = v.f();
      if (std::isnan(f) || std::isinf(f)) {
        *err = "json: unsupported value: " + formatFloat(f);
        return false;
      }
      char buf[64];
      double af = std::fabs(f);
      std::to_chars_result r;
      if (af != 0 && (af < 1e-6 || af >= 1e21)) {
        r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
        std::string s(buf, r.ptr);
        // clean up e-09 to e-9
        auto e = s.find('e');
        if (e != std::string::npos && e + 2 < s.size() && s[e + 2] == '0') s.erase(e + 2, 1);
        out += s;
      } else {
        out += formatFloat(f);  // strconv's 'f', -1 as Go's encoding/json uses below 1e21
      }
      return true;
    }
    case Type::kString: jsonQuote(out, v.as<StringObj>()->s); return true;
    case Type::kBytes:
      out += '"';
      out += b64Encode(v.as<BytesObj>()->b, kB64Std, true);
      out += '"';
      return true;
    case Type::kArray: case Type::kImmutableArray: {
      out += '[';
      auto* a = v.as<ArrayObj>();
      for (size_t i = 0; i < a->len; ++i) {
        if (i) out += ',';
        if (!jsonEncode(out, a->at(i), err, depth + 1)) return false;
      }
      out += ']';
      return true;
    }
    case Type::kMap: case Type::kImmutableMap: {
      out += '{';
      bool first = true;
      for (auto& [k, x] : v.as<MapObj>()->m) {
        if (!first) out += ',';
        first = false;
        jsonQuote(out, k);
        out += ':';
        if (!jsonEncode(out, x, err, depth + 1)) return false;
      }
      out += '}';
      return true;
    }
    case Type::kTime:
      out += '"';
      out += timeRfc3339Nano(*v.as<TimeObj>());
      out += '"';
      return true;
    default: return true;
  }
}

Value jsonToValue(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (auto& e : j) items.push_back(jsonToValue(e));
      return makeArray(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      Attrs m;
      for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = jsonToValue(it.value());
      return makeMap(std::move(m));
    }
    default: return fromJson(j);
  }
}

std::string jsonIndent(const std::string& src, const std::string& prefix, const std::string& ind,
                       bool* ok) {
  std::string out;
  int depth = 0;
  bool inStr = false, needIndent = false;
  *ok = true;
  auto newline = [&]() {
    out += '\n';
    out += prefix;
    for (int k = 0; k < depth; ++k) out += ind;
  };
  for (size_t i = 0; i < src.size(); ++i) {
    char c = src[i];
    if (inStr) {
      out += c;
      if (c == '\\' && i + 1 < src.size()) out += src[++i];
      else if (c == '"') inStr = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (needIndent && c != ']' && c != '}') {
      needIndent = false;
      ++depth;
      newline();
    }
    switch (c) {
      case '"': inStr = true; out += c; break;
      case '{': case '[': out += c; needIndent = true; break;
      case ',': out += c; newline(); break;
      case ':': out += ": "; break;
      case '}': case ']':
        if (needIndent) {
          needIndent = false;
        } else {
          --depth;
          newline();
        }
        out += c;
        break;
      default: out += c;
    }
  }
  if (inStr || depth != 0) *ok = false;
  return out;
}

void addJson(Attrs& m) {
  fn(m, "decode", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argBytes(a, 0, &s, &e)) return e;
    try {
      auto j = nlohmann::json::parse(s);
      return jsonToValue(j);
    } catch (std::exception& ex) {
      return errorValue(ex.what());
    }
  });
  fn(m, "encode", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string out, err;
    if (!jsonEncode(out, a[0], &err)) return errorValue(err);
    if (!vm.checkBytesLen(out.size())) return Result::limit("exceeding bytes size limit");
    return makeBytes(std::move(out));
  });
  fn(m, "indent", [](Vm& vm, Args a) -> Result {
    if (a.size() != 3) return Result::wrongArgs();
    std::string s, prefix, ind;
    Result e = Value();
    if (!argBytes(a, 0, &s, &e) || !argString(a, 1, &prefix, &e) || !argString(a, 2, &ind, &e))
      return e;
    bool ok;
    std::string out = jsonIndent(s, prefix, ind, &ok);
    if (!ok) return errorValue("unexpected end of JSON input");
    if (!vm.checkBytesLen(out.size())) return Result::limit("exceeding bytes size limit");
    return makeBytes(std::move(out));
  });
  fn(m, "html_escape", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argBytes(a, 0, &s, &e)) return e;
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if (c == '<' || c == '>' || c == '&') {
        static const char* hex = "0123456789abcdef";
        out += "\\u00";
        out += hex[c >> 4];
        out += hex[c & 15];
      } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
                 (static_cast<unsigned char>(s[i + 2]) & ~1) == 0xA8) {
        out += (static_cast<unsigned char>(s[i + 2]) == 0xA8) ? "\\u2028" : "\\u2029";
        i += 2;
      } else {
        out += static_cast<char>(c);
      }
    }
    if (!vm.checkBytesLen(out.size())) return Result::limit("exceeding bytes size limit");
    return makeBytes(std::move(out));
  });
}

// ---- rand ----
Attrs randAttrs(std::shared_ptr<std::mt19937_64> rng) {
  Attrs m;
  fn(m, "seed", [rng](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t s;
    Result e = Value();
    if (!argInt(a, 0, &s, &e)) return e;
    rng->seed(static_cast<uint64_t>(s));
    return Value();
  });
  fn(m, "int", [rng](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::integer(static_cast<int64_t>((*rng)() >> 1));
  });
  fn(m, "float", [rng](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::number(std::uniform_real_distribution<double>(0, 1)(*rng));
  });
  fn(m, "intn", [rng](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t n;
    Result e = Value();
    if (!argInt(a, 0, &n, &e)) return e;
    if (n <= 0) return Result::error("invalid argument to Int63n");
    return Value::integer(std::uniform_int_distribution<int64_t>(0, n - 1)(*rng));
  });
  fn(m, "exp_float", [rng](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::number(std::exponential_distribution<double>(1)(*rng));
  });
  fn(m, "norm_float", [rng](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::number(std::normal_distribution<double>(0, 1)(*rng));
  });
  fn(m, "perm", [rng](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t n;
    Result e = Value();
    if (!argInt(a, 0, &n, &e)) return e;
    if (n < 0 || n > (1 << 24)) return Result::error("invalid argument to Perm");
    std::vector<int64_t> p(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) p[i] = i;
    std::shuffle(p.begin(), p.end(), *rng);
    std::vector<Value> items;
    for (auto x : p) items.push_back(Value::integer(x));
    return makeArray(std::move(items));
  });
  fn(m, "read", [rng](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    if (a[0].type() != Type::kBytes) return Result::badArg("first", "bytes", typeName(a[0]));
    auto& b = a[0].as<BytesObj>()->b;
    for (auto& c : b) c = static_cast<char>((*rng)() & 0xFF);
    return Value::integer(static_cast<int64_t>(b.size()));
  });
  return m;
}

void addRand(Attrs& m) {
  auto rng = std::make_shared<std::mt19937_64>(std::random_device{}());
  m = randAttrs(rng);
  fn(m, "rand", [](Vm&, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t s;
    Result e = Value();
    if (!argInt(a, 0, &s, &e)) return e;
    auto r = std::make_shared<std::mt19937_64>(static_cast<uint64_t>(s));
    return makeMap(randAttrs(r), true);
  });
}

const char* kEnumSource = R"(
is_enumerable := func(x) {
  return is_array(x) || is_map(x) || is_immutable_array(x) || is_immutable_map(x)
}

is_array_like := func(x) {
  return is_array(x) || is_immutable_array(x)
}

export {
  all: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    for k, v in x {
      if !fn(k, v) { return false }
    }
    return true
  },
  any: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    for k, v in x {
      if fn(k, v) { return true }
    }
    return false
  },
  chunk: func(x, size) {
    if !is_array_like(x) || !size { return undefined }
    numElements := len(x)
    if !numElements { return [] }
    res := []
    idx := 0
    for idx < numElements {
      res = append(res, x[idx:idx+size])
      idx += size
    }
    return res
  },
  at: func(x, key) {
    if !is_enumerable(x) { return undefined }
    if is_array_like(x) {
      if !is_int(key) { return undefined }
    } else {
      if !is_string(key) { return undefined }
    }
    return x[key]
  },
  each: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    for k, v in x {
      fn(k, v)
    }
  },
  filter: func(x, fn) {
    if !is_array_like(x) { return undefined }
    dst := []
    for k, v in x {
      if fn(k, v) { dst = append(dst, v) }
    }
    return dst
  },
  find: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    for k, v in x {
      if fn(k, v) { return v }
    }
  },
  find_key: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    for k, v in x {
      if fn(k, v) { return k }
    }
  },
  map: func(x, fn) {
    if !is_enumerable(x) { return undefined }
    dst := []
    for k, v in x {
      dst = append(dst, fn(k, v))
    }
    return dst
  },
  key: func(k, _) { return k },
  value: func(_, v) { return v }
}
)";

}  // namespace

bool stdlibModule(const std::string& name, Attrs* attrs, std::string* source) {
  if (name == "fmt") addFmt(*attrs);
  else if (name == "math") addMath(*attrs);
  else if (name == "text") addTextModule(*attrs);
  else if (name == "times") addTimesModule(*attrs);
  else if (name == "rand") addRand(*attrs);
  else if (name == "json") addJson(*attrs);
  else if (name == "base64") addBase64(*attrs);
  else if (name == "hex") addHex(*attrs);
  else if (name == "os") addOsModule(*attrs);
  else if (name == "enum") *source = kEnumSource;
  else return false;
  return true;
}

}  // namespace llmspell::tengo::detail
