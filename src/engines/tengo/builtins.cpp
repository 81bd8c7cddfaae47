// The 32 Tengo builtin functions (index order is part of the bytecode) and `format`, a port of
// the behaviour of tengo's formatter.go (a trimmed copy of Go's fmt).
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "engines/tengo/core.hpp"

namespace llmspell::tengo::detail {

namespace {

Result bad(const char* name, const char* expected, const Value& found) {
  return Result::badArg(name, expected, typeName(found));
}

Result bLen(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  const Value& v = a[0];
  switch (v.type()) {
    case Type::kArray: case Type::kImmutableArray:
      return Value::integer(static_cast<int64_t>(v.as<ArrayObj>()->len));
    case Type::kString: return Value::integer(static_cast<int64_t>(v.as<StringObj>()->s.size()));
    case Type::kBytes: return Value::integer(static_cast<int64_t>(v.as<BytesObj>()->b.size()));
    case Type::kMap: case Type::kImmutableMap:
      return Value::integer(static_cast<int64_t>(v.as<MapObj>()->m.size()));
    default: return bad("first", "array/string/bytes/map", v);
  }
}

Result bCopy(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  return deepCopy(a[0]);
}

// The memory-cap refusal of an allocation the script sized (checked before it is made).
Result memLimit() { return Result::limit("memory limit exceeded"); }

Result bAppend(Vm::Impl& vm, Args a) {
  if (a.size() < 2) return Result::wrongArgs();
  if (a[0].type() != Type::kArray && a[0].type() != Type::kImmutableArray)
    return bad("first", "array", a[0]);
  auto* src = a[0].as<ArrayObj>();
  size_t add = a.size() - 1;
  bool inPlace = src->off + src->len == src->store->size();
  // The store's next capacity (vector growth doubles) must fit before it is allocated.
  size_t need = inPlace ? src->store->size() + add : src->len + add;
  size_t cap = inPlace ? src->store->capacity() : 0;
  if (need > cap && !vm.memFits(static_cast<int64_t>(std::max(need, 2 * cap) * sizeof(Value))))
    return memLimit();
  auto* r = new ArrayObj();
  Value rv = Value::object(Type::kArray, r);
  if (inPlace) {
    // Go append semantics: extend the shared backing store in place (amortised O(1)).
    r->store = src->store;
    r->off = src->off;
  } else {
    r->store->reserve(need);
    r->store->assign(src->data(), src->data() + src->len);
    r->off = 0;
  }
  for (size_t i = 1; i < a.size(); ++i) r->store->push_back(a[i]);
  r->store->account();
  r->len = src->len + add;
  return rv;
}

Result bDelete(Vm::Impl&, Args a) {
  if (a.size() != 2) return Result::wrongArgs();
  if (a[0].type() != Type::kMap) return bad("first", "map", a[0]);
  if (a[1].type() != Type::kString) return bad("second", "string", a[1]);
  auto& m = a[0].as<MapObj>()->m;
  auto it = m.find(a[1].as<StringObj>()->s);
  if (it != m.end()) m.erase(it);
  return Value();
}

Result bSplice(Vm::Impl&, Args a) {
  if (a.empty()) return Result::wrongArgs();
  if (a[0].type() != Type::kArray) return bad("first", "array", a[0]);
  auto* arr = a[0].as<ArrayObj>();
  int64_t len = static_cast<int64_t>(arr->len);
  int64_t start = 0;
  if (a.size() > 1) {
    if (a[1].type() != Type::kInt) return bad("second", "int", a[1]);
    start = a[1].i();
    if (start < 0 || start > len) return Result::error("index out of bounds");
  }
  int64_t del = len;
  if (a.size() > 2) {
    if (a[2].type() != Type::kInt) return bad("third", "int", a[2]);
    del = a[2].i();
    if (del < 0) return Result::error("index out of bounds");
  }
  if (start + del > len) del = len - start;
  int64_t end = start + del;
  std::vector<Value> deleted, next;
  for (int64_t i = start; i < end; ++i) deleted.push_back(arr->at(i));
  for (int64_t i = 0; i < start; ++i) next.push_back(arr->at(i));
  for (size_t i = 3; i < a.size(); ++i) next.push_back(a[i]);
  for (int64_t i = end; i < len; ++i) next.push_back(arr->at(i));
  arr->store = std::make_shared<ArrayStore>(std::move(next));
  arr->off = 0;
  arr->len = arr->store->size();
  return makeArray(std::move(deleted));
}

Result bString(Vm::Impl& vm, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kString) return a[0];
  std::string s;
  if (toStringValue(a[0], &s)) {
    if (static_cast<int64_t>(s.size()) > vm.limits.maxStringLen)
      return Result::limit("exceeding string size limit");
    if (!vm.memFits(static_cast<int64_t>(s.size()))) return memLimit();
    return makeString(std::move(s));
  }
  if (a.size() == 2) return a[1];
  return Value();
}

Result bInt(Vm::Impl&, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kInt) return a[0];
  int64_t v;
  if (toInt64(a[0], &v)) return Value::integer(v);
  if (a.size() == 2) return a[1];
  return Value();
}

Result bBool(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  if (a[0].type() == Type::kBool) return a[0];
  return Value::boolean(!isFalsy(a[0]));
}

Result bFloat(Vm::Impl&, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kFloat) return a[0];
  double v;
  if (toFloat64(a[0], &v)) return Value::number(v);
  if (a.size() == 2) return a[1];
  return Value();
}

Result bChar(Vm::Impl&, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kChar) return a[0];
  if (a[0].type() == Type::kInt) return Value::character(static_cast<int32_t>(a[0].i()));
  if (a.size() == 2) return a[1];
  return Value();
}

Result bBytes(Vm::Impl& vm, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kInt) {
    int64_t n = a[0].i();
    if (n > vm.limits.maxBytesLen) return Result::limit("exceeding bytes size limit");
    if (n < 0) return Result::error("negative bytes size");
    if (!vm.memFits(n)) return memLimit();
    return makeBytes(std::string(static_cast<size_t>(n), '\0'));
  }
  if (a[0].type() == Type::kBytes) return a[0];
  if (a[0].type() == Type::kString) {
    const std::string& s = a[0].as<StringObj>()->s;
    if (static_cast<int64_t>(s.size()) > vm.limits.maxBytesLen)
      return Result::limit("exceeding bytes size limit");
    if (!vm.memFits(static_cast<int64_t>(s.size()))) return memLimit();
    return makeBytes(s);
  }
  if (a.size() == 2) return a[1];
  return Value();
}

Result bTime(Vm::Impl&, Args a) {
  if (a.size() != 1 && a.size() != 2) return Result::wrongArgs();
  if (a[0].type() == Type::kTime) return a[0];
  if (a[0].type() == Type::kInt) return makeTime(a[0].i(), 0, true);
  if (a.size() == 2) return a[1];
  return Value();
}

template <bool (*Pred)(const Value&)>
Result isX(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  return Value::boolean(Pred(a[0]));
}
bool pInt(const Value& v) { return v.type() == Type::kInt; }
bool pFloat(const Value& v) { return v.type() == Type::kFloat; }
bool pString(const Value& v) { return v.type() == Type::kString; }
bool pBool(const Value& v) { return v.type() == Type::kBool; }
bool pChar(const Value& v) { return v.type() == Type::kChar; }
bool pBytes(const Value& v) { return v.type() == Type::kBytes; }
bool pArray(const Value& v) { return v.type() == Type::kArray; }
bool pImmArray(const Value& v) { return v.type() == Type::kImmutableArray; }
bool pMap(const Value& v) { return v.type() == Type::kMap; }
bool pImmMap(const Value& v) { return v.type() == Type::kImmutableMap; }
bool pIterable(const Value& v) {
  switch (v.type()) {
    case Type::kArray: case Type::kImmutableArray: case Type::kMap: case Type::kImmutableMap:
    case Type::kString: case Type::kBytes: case Type::kUndefined: return true;
    default: return false;
  }
}
bool pTime(const Value& v) { return v.type() == Type::kTime; }
bool pError(const Value& v) { return v.type() == Type::kError; }
bool pUndefined(const Value& v) { return v.type() == Type::kUndefined; }
bool pFunction(const Value& v) { return v.type() == Type::kFunction; }
bool pCallable(const Value& v) {
  return v.type() == Type::kFunction || v.type() == Type::kBuiltin || v.type() == Type::kNative;
}

Result bTypeName(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  return makeString(typeName(a[0]));
}

Result bFormat(Vm::Impl& vm, Args a) {
  if (a.empty()) return Result::wrongArgs();
  if (a[0].type() != Type::kString) return bad("format", "string", a[0]);
  if (a.size() == 1) return a[0];
  std::string out, err;
  if (!tengoFormat(vm, a, &out, &err)) return Result::limit(err);
  return makeString(std::move(out));
}

Result bRange(Vm::Impl& vm, Args a) {
  if (a.size() < 2 || a.size() > 3) return Result::wrongArgs();
  static const char* names[] = {"start", "stop", "step"};
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type() != Type::kInt) return bad(names[i], "int", a[i]);
  }
  int64_t start = a[0].i(), stop = a[1].i(), step = 1;
  if (a.size() == 3) {
    step = a[2].i();
    if (step <= 0) return Result::error("range step must be greater than 0");
  }
  std::vector<Value> items;
  uint64_t count = start <= stop
                       ? (static_cast<uint64_t>(stop) - static_cast<uint64_t>(start) + step - 1) / step
                       : (static_cast<uint64_t>(start) - static_cast<uint64_t>(stop) + step - 1) / step;
  if (count > (1u << 26)) return Result::limit("range too large");
  if (!vm.memFits(static_cast<int64_t>(count * sizeof(Value)))) return memLimit();
  items.reserve(count);
  if (start <= stop) {
    for (int64_t i = start; i < stop; i += step) {
      items.push_back(Value::integer(i));
      if (stop - i <= step) break;
    }
  } else {
    for (int64_t i = start; i > stop; i -= step) {
      items.push_back(Value::integer(i));
      if (i - stop <= step) break;
    }
  }
  return makeArray(std::move(items));
}

Value freezeValue(const Value& v, std::map<Object*, Value>& seen) {
  switch (v.type()) {
    case Type::kArray: case Type::kImmutableArray: {
      auto it = seen.find(v.obj());
      if (it != seen.end()) return it->second;
      auto* a = v.as<ArrayObj>();
      auto* r = new ArrayObj();
      Value rv = Value::object(Type::kImmutableArray, r);
      seen[v.obj()] = rv;
      std::vector<Value> items;
      for (size_t i = 0; i < a->len; ++i) items.push_back(freezeValue(a->at(i), seen));
      r->store = std::make_shared<ArrayStore>(std::move(items));
      r->len = r->store->size();
      return rv;
    }
    case Type::kMap: case Type::kImmutableMap: {
      auto it = seen.find(v.obj());
      if (it != seen.end()) return it->second;
      auto* m = new MapObj();
      Value rv = Value::object(Type::kImmutableMap, m);
      seen[v.obj()] = rv;
      for (auto& [k, x] : v.as<MapObj>()->m) m->m.emplace(k, freezeValue(x, seen));
      return rv;
    }
    default: return v;
  }
}

bool fullyImmutable(const Value& v, std::set<Object*>& seen) {
  switch (v.type()) {
    case Type::kArray: case Type::kMap: return false;
    case Type::kImmutableArray: {
      if (!seen.insert(v.obj()).second) return true;
      auto* a = v.as<ArrayObj>();
      for (size_t i = 0; i < a->len; ++i)
        if (!fullyImmutable(a->at(i), seen)) return false;
      return true;
    }
    case Type::kImmutableMap: {
      if (!seen.insert(v.obj()).second) return true;
      for (auto& [k, x] : v.as<MapObj>()->m)
        if (!fullyImmutable(x, seen)) return false;
      return true;
    }
    default: return true;
  }
}

Result bFreeze(Vm::Impl&, Args a) {
  if (a.size() != 1) return Result::wrongArgs();
  std::set<Object*> s;
  if (fullyImmutable(a[0], s)) return a[0];
  std::map<Object*, Value> seen;
  return freezeValue(a[0], seen);
}

}  // namespace

const BuiltinDef kBuiltins[] = {
    {"len", bLen},
    {"copy", bCopy},
    {"append", bAppend},
    {"delete", bDelete},
    {"splice", bSplice},
    {"string", bString},
    {"int", bInt},
    {"bool", bBool},
    {"float", bFloat},
    {"char", bChar},
    {"bytes", bBytes},
    {"time", bTime},
    {"is_int", isX<pInt>},
    {"is_float", isX<pFloat>},
    {"is_string", isX<pString>},
    {"is_bool", isX<pBool>},
    {"is_char", isX<pChar>},
    {"is_bytes", isX<pBytes>},
    {"is_array", isX<pArray>},
    {"is_immutable_array", isX<pImmArray>},
    {"is_map", isX<pMap>},
    {"is_immutable_map", isX<pImmMap>},
    {"is_iterable", isX<pIterable>},
    {"is_time", isX<pTime>},
    {"is_error", isX<pError>},
    {"is_undefined", isX<pUndefined>},
    {"is_function", isX<pFunction>},
    {"is_callable", isX<pCallable>},
    {"type_name", bTypeName},
    {"format", bFormat},
    {"range", bRange},
    {"freeze", bFreeze},
};
const int kNumBuiltins = sizeof(kBuiltins) / sizeof(kBuiltins[0]);

int builtinIndex(const std::string& name) {
  for (int i = 0; i < kNumBuiltins; ++i)
    if (name == kBuiltins[i].name) return i;
  return -1;
}

// ---------------------------------------------------------------------------------------------
// format
// ---------------------------------------------------------------------------------------------

namespace {

struct Fmt {
  bool plus = false, minus = false, sharp = false, space = false, zero = false;
  bool widPresent = false, precPresent = false;
  int wid = 0, prec = 0;
  std::string* buf;

  void clear() {
    plus = minus = sharp = space = zero = false;
    widPresent = precPresent = false;
    wid = prec = 0;
  }
  void writePadding(int n) {
    if (n <= 0) return;
    buf->append(static_cast<size_t>(n), zero ? '0' : ' ');
  }
  void pad(const std::string& s) {
    if (!widPresent || wid == 0) {
      *buf += s;
      return;
    }
    int width = static_cast<int>(runeCount(s));
    int n = wid - width;
    if (!minus) {
      writePadding(n);
      *buf += s;
    } else {
      *buf += s;
      bool z = zero;
      zero = false;
      writePadding(n);
      zero = z;
    }
  }
  std::string truncate(const std::string& s) {
    if (precPresent) {
      size_t i = 0;
      int n = 0;
      while (i < s.size()) {
        if (n >= prec) return s.substr(0, i);
        int32_t r;
        i += decodeRune(s, i, &r);
        ++n;
      }
    }
    return s;
  }
  void fmtS(const std::string& s) { pad(truncate(s)); }
  void fmtBoolean(bool v) { pad(v ? "true" : "false"); }

  void fmtInteger(uint64_t u, int base, bool isSigned, char verb, bool upper) {
    bool negative = isSigned && static_cast<int64_t>(u) < 0;
    if (negative) u = 0 - u;
    const char* digits = upper ? "0123456789ABCDEFX" : "0123456789abcdefx";
    int precision = 0;
    bool usePrec = false;
    if (precPresent) {
      precision = prec;
      usePrec = true;
      if (precision == 0 && u == 0) {
        bool z = zero;
        zero = false;
        writePadding(wid);
        zero = z;
        return;
      }
    } else if (zero && widPresent) {
      precision = wid;
      if (negative || plus || space) --precision;
      usePrec = true;
    }
    std::string num;
    if (u == 0) num = "0";
    while (u > 0) {
      num.insert(num.begin(), digits[u % base]);
      u /= base;
    }
    if (usePrec) {
      while (static_cast<int>(num.size()) < precision) num.insert(num.begin(), '0');
    }
    if (sharp) {
      switch (base) {
        case 2: num = "0b" + num; break;
        case 8:
          if (num[0] != '0') num = "0" + num;
          break;
        case 16: num = std::string("0") + digits[16] + num; break;
      }
    }
    if (verb == 'O') num = "0o" + num;
    if (negative) num = "-" + num;
    else if (plus) num = "+" + num;
    else if (space) num = " " + num;
    bool z = zero;
    zero = false;
    pad(num);
    zero = z;
  }

  void fmtFloat(double v, char verb, int precision) {
    if (precPresent) precision = prec;
    std::string num = formatGoFloat(v, verb, precision);
    if (num[0] != '-' && num[0] != '+') num = "+" + num;
    if (space && num[0] == '+' && !plus) num[0] = ' ';
    if (num[1] == 'I' || num[1] == 'N') {
      bool z = zero;
      zero = false;
      if (num[1] == 'N' && !space && !plus) num = num.substr(1);
      pad(num);
      zero = z;
      return;
    }
    if (sharp && verb != 'b') {
      bool hasDot = num.find('.') != std::string::npos;
      if (!hasDot) {
        auto e = num.find_first_of("eEpP");
        if (e == std::string::npos) num += ".";
        else num.insert(e, ".");
      }
    }
    if (plus || num[0] != '+') {
      if (zero && widPresent && wid > static_cast<int>(num.size())) {
        *buf += num[0];
        writePadding(wid - static_cast<int>(num.size()));
        buf->append(num, 1, std::string::npos);
        return;
      }
      pad(num);
      return;
    }
    pad(num.substr(1));
  }

  // strconv.FormatFloat(v, verb, prec, 64) for verbs e E f F g G.
  static std::string formatGoFloat(double v, char verb, int prec) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
    char b[512];
    switch (verb) {
      case 'f': case 'F': {
        if (prec < 0) return formatFloat(v);
        std::to_chars_result r = std::to_chars(b, b + sizeof b, v, std::chars_format::fixed, prec);
        return std::string(b, r.ptr);
      }
      case 'e': case 'E': {
        std::to_chars_result r = prec < 0 ? std::to_chars(b, b + sizeof b, v, std::chars_format::scientific)
                                          : std::to_chars(b, b + sizeof b, v, std::chars_format::scientific, prec);
        std::string s(b, r.ptr);
        if (verb == 'E')
          for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        return s;
      }
      case 'g': case 'G': {
        // digits and decimal point position
        bool shortest = prec < 0;
        std::to_chars_result r =
            shortest ? std::to_chars(b, b + sizeof b, v, std::chars_format::scientific)
                     : std::to_chars(b, b + sizeof b, v, std::chars_format::scientific,
                                     prec == 0 ? 0 : prec - 1);
        std::string s(b, r.ptr);
        bool neg = false;
        if (s[0] == '-') {
          neg = true;
          s = s.substr(1);
        }
        auto epos = s.find('e');
        int exp10 = std::atoi(s.c_str() + epos + 1);
        std::string mant = s.substr(0, epos);
        std::string digs;
        for (char c : mant)
          if (c != '.') digs += c;
        while (digs.size() > 1 && digs.back() == '0') digs.pop_back();
        if (v == 0) digs = "0";
        int nd = static_cast<int>(digs.size());
        int dp = exp10 + 1;
        if (v == 0) dp = 1;
        int p = shortest ? nd : (prec == 0 ? 1 : prec);
        int eprec = p;
        if (eprec > nd && nd >= dp) eprec = nd;
        if (shortest) eprec = 6;
        int exp = dp - 1;
        std::string out = neg ? "-" : "";
        if (exp < -4 || exp >= eprec) {
          if (p > nd) p = nd;
          // fmtE with prec p-1
          out += digs[0];
          if (p - 1 > 0) {
            out += '.';
            for (int i = 1; i < p; ++i) out += i < nd ? digs[i] : '0';
          }
          out += verb == 'G' ? 'E' : 'e';
          int e = exp;
          out += e < 0 ? '-' : '+';
          if (e < 0) e = -e;
          if (e < 10) out += '0';
          out += std::to_string(e);
          return out;
        }
        if (p > dp) p = nd;
        int fprec = std::max(p - dp, 0);
        // fmtF
        if (dp > 0) {
          for (int i = 0; i < dp; ++i) out += i < nd ? digs[i] : '0';
        } else {
          out += '0';
        }
        if (fprec > 0) {
          out += '.';
          for (int i = 0; i < fprec; ++i) {
            int j = dp + i;
            out += (j >= 0 && j < nd) ? digs[j] : '0';
          }
        }
        return out;
      }
      case 'x': case 'X': case 'b': default: {
        snprintf(b, sizeof b, "%a", v);
        return b;
      }
    }
  }
};

class Printer {
 public:
  Printer(std::string* out) { f_.buf = out; }
  std::string& buf() { return *f_.buf; }

  void badVerb(char32_t verb, const Value* arg) {
    buf() += "%!";
    appendUtf8(buf(), verb);
    buf() += "(";
    if (arg) {
      buf() += toDisplay(*arg);
      buf() += "=";
      printArg(*arg, 'v');
    } else {
      buf() += "<nil>";
    }
    buf() += ")";
  }

  void printArg(const Value& arg, char32_t verb) {
    if (verb == 'T') {
      f_.fmtS(typeName(arg));
      return;
    }
    if (verb == 'v') {
      f_.fmtS(toDisplay(arg));
      return;
    }
    switch (arg.type()) {
      case Type::kBool:
        if (verb == 't') f_.fmtBoolean(arg.i() != 0);
        else badVerb(verb, &arg);
        return;
      case Type::kFloat:
        switch (verb) {
          case 'b': case 'g': case 'G': case 'x': case 'X':
            f_.fmtFloat(arg.f(), static_cast<char>(verb), -1);
            return;
          case 'f': case 'e': case 'E': case 'F':
            f_.fmtFloat(arg.f(), static_cast<char>(verb), 6);
            return;
          default: badVerb(verb, &arg); return;
        }
      case Type::kInt: {
        auto u = static_cast<uint64_t>(arg.i());
        switch (verb) {
          case 'd': f_.fmtInteger(u, 10, true, 'd', false); return;
          case 'b': f_.fmtInteger(u, 2, true, 'b', false); return;
          case 'o': case 'O': f_.fmtInteger(u, 8, true, static_cast<char>(verb), false); return;
          case 'x': f_.fmtInteger(u, 16, true, 'x', false); return;
          case 'X': f_.fmtInteger(u, 16, true, 'X', true); return;
          case 'c': {
            std::string s;
            appendUtf8(s, u > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(u));
            f_.pad(s);
            return;
          }
          case 'q': {
            std::string s;
            appendUtf8(s, u > 0x10FFFF ? 0xFFFD : static_cast<uint32_t>(u));
            std::string q = goQuote(s);
            f_.pad("'" + q.substr(1, q.size() - 2) + "'");
            return;
          }
          case 'U': {
            char b[32];
            snprintf(b, sizeof b, "U+%04llX", static_cast<unsigned long long>(u));
            std::string s = b;
            if (f_.sharp && u <= 0x10FFFF) {
              std::string c;
              appendUtf8(c, static_cast<uint32_t>(u));
              s += " '" + c + "'";
            }
            f_.pad(s);
            return;
          }
          default: badVerb(verb, &arg); return;
        }
      }
      case Type::kString: fmtString(arg.as<StringObj>()->s, verb, &arg); return;
      case Type::kBytes: {
        const std::string& b = arg.as<BytesObj>()->b;
        if (verb == 'd') {
          std::string s = "[";
          for (size_t i = 0; i < b.size(); ++i) {
            if (i) s += ' ';
            s += std::to_string(static_cast<unsigned char>(b[i]));
          }
          f_.pad(s + "]");
          return;
        }
        fmtString(b, verb, &arg);
        return;
      }
      default: fmtString(toDisplay(arg), verb, &arg); return;
    }
  }

  void fmtString(const std::string& s, char32_t verb, const Value* arg) {
    switch (verb) {
      case 's': f_.fmtS(s); return;
      case 'x': case 'X': {
        const char* digits = verb == 'x' ? "0123456789abcdef" : "0123456789ABCDEF";
        std::string t = f_.precPresent && f_.prec < static_cast<int>(s.size()) ? s.substr(0, f_.prec) : s;
        std::string out;
        for (size_t i = 0; i < t.size(); ++i) {
          if (f_.space && i > 0) out += ' ';
          if (f_.sharp && (f_.space || i == 0)) out += verb == 'x' ? "0x" : "0X";
          auto c = static_cast<unsigned char>(t[i]);
          out += digits[c >> 4];
          out += digits[c & 15];
        }
        bool z = f_.zero;
        f_.pad(out);
        f_.zero = z;
        return;
      }
      case 'q': {
        std::string t = f_.truncate(s);
        if (f_.sharp && t.find('`') == std::string::npos && t.find('\n') == std::string::npos) {
          f_.pad("`" + t + "`");
          return;
        }
        f_.pad(goQuote(t));
        return;
      }
      default: badVerb(verb, arg); return;
    }
  }

  bool run(const std::string& format, Args args, int64_t maxLen, std::string* err) {
    size_t end = format.size();
    size_t argNum = 0;
    bool reordered = false, afterIndex = false;
    size_t i = 0;
    while (i < end) {
      bool goodArgNum = true;
      size_t lasti = i;
      while (i < end && format[i] != '%') ++i;
      if (i > lasti) buf().append(format, lasti, i - lasti);
      if (i >= end) break;
      ++i;  // skip %
      f_.clear();
      // flags
      for (; i < end; ++i) {
        char c = format[i];
        if (c == '#') f_.sharp = true;
        else if (c == '0') f_.zero = !f_.minus;
        else if (c == '+') f_.plus = true;
        else if (c == '-') {
          f_.minus = true;
          f_.zero = false;
        } else if (c == ' ') f_.space = true;
        else break;
      }
      // argument index
      afterIndex = false;
      argNumber(format, &i, &argNum, args.size(), &goodArgNum, &reordered, &afterIndex);
      // width
      if (i < end && format[i] == '*') {
        ++i;
        f_.wid = intFromArg(args, &argNum, &f_.widPresent);
        if (!f_.widPresent) buf() += "%!(BADWIDTH)";
        if (f_.wid < 0) {
          f_.wid = -f_.wid;
          f_.minus = true;
          f_.zero = false;
        }
        afterIndex = false;
      } else {
        f_.widPresent = parseNum(format, &i, &f_.wid);
        if (afterIndex && f_.widPresent) goodArgNum = false;
      }
      // precision
      if (i + 1 <= end && i < end && format[i] == '.') {
        ++i;
        if (afterIndex) goodArgNum = false;
        argNumber(format, &i, &argNum, args.size(), &goodArgNum, &reordered, &afterIndex);
        if (i < end && format[i] == '*') {
          ++i;
          f_.prec = intFromArg(args, &argNum, &f_.precPresent);
          if (f_.prec < 0) {
            f_.prec = 0;
            f_.precPresent = false;
          }
          if (!f_.precPresent) buf() += "%!(BADPREC)";
          afterIndex = false;
        } else {
          f_.precPresent = parseNum(format, &i, &f_.prec);
          if (!f_.precPresent) {
            f_.prec = 0;
            f_.precPresent = true;
          }
        }
      }
      if (!afterIndex)
        argNumber(format, &i, &argNum, args.size(), &goodArgNum, &reordered, &afterIndex);
      if (i >= end) {
        buf() += "%!(NOVERB)";
        break;
      }
      int32_t verb;
      int size = decodeRune(format, i, &verb);
      i += size;
      if (verb == '%') {
        buf() += '%';
      } else if (!goodArgNum) {
        buf() += "%!";
        appendUtf8(buf(), verb);
        buf() += "(BADINDEX)";
      } else if (argNum >= args.size()) {
        buf() += "%!";
        appendUtf8(buf(), verb);
        buf() += "(MISSING)";
      } else {
        printArg(args[argNum], verb);
        ++argNum;
      }
      if (static_cast<int64_t>(buf().size()) > maxLen) {
        *err = "exceeding string size limit";
        return false;
      }
    }
    if (!reordered && argNum < args.size()) {
      f_.clear();
      buf() += "%!(EXTRA ";
      for (size_t k = argNum; k < args.size(); ++k) {
        if (k > argNum) buf() += ", ";
        buf() += typeName(args[k]);
        buf() += '=';
        printArg(args[k], 'v');
      }
      buf() += ')';
    }
    if (static_cast<int64_t>(buf().size()) > maxLen) {
      *err = "exceeding string size limit";
      return false;
    }
    return true;
  }

 private:
  static bool parseNum(const std::string& s, size_t* i, int* num) {
    bool any = false;
    int n = 0;
    while (*i < s.size() && s[*i] >= '0' && s[*i] <= '9') {
      if (n > 1000000) return false;
      n = n * 10 + (s[*i] - '0');
      any = true;
      ++*i;
    }
    *num = n;
    return any;
  }
  void argNumber(const std::string& s, size_t* i, size_t* argNum, size_t numArgs, bool* ok,
                 bool* reordered, bool* afterIndex) {
    if (*i >= s.size() || s[*i] != '[') return;
    *reordered = true;
    for (size_t j = *i + 1; j < s.size(); ++j) {
      if (s[j] == ']') {
        size_t k = *i + 1;
        int n;
        bool good = parseNum(s, &k, &n) && k == j;
        if (!good) {
          *i = j + 1;
          *ok = false;
          return;
        }
        *i = j + 1;
        if (n >= 1 && static_cast<size_t>(n - 1) < numArgs) {
          *argNum = static_cast<size_t>(n - 1);
          *afterIndex = true;
          return;
        }
        *ok = false;
        return;
      }
    }
    *ok = false;
  }
  int intFromArg(Args args, size_t* argNum, bool* isInt) {
    *isInt = false;
    int n = 0;
    if (*argNum < args.size()) {
      const Value& a = args[*argNum];
      if (a.type() == Type::kInt) {
        int64_t v = a.i();
        if (v > -1000000 && v < 1000000) {
          n = static_cast<int>(v);
          *isInt = true;
        }
      }
      ++*argNum;
    }
    return n;
  }

  Fmt f_;
};

}  // namespace

bool tengoFormat(Vm::Impl& vm, Args args, std::string* out, std::string* err) {
  const std::string& format = args[0].as<StringObj>()->s;
  Printer p(out);
  int64_t room = vm.memLeft();
  if (p.run(format, args.subspan(1), std::min(vm.limits.maxStringLen, room), err)) return true;
  if (room < vm.limits.maxStringLen && static_cast<int64_t>(out->size()) > room)
    *err = "memory limit exceeded";
  return false;
}

}  // namespace llmspell::tengo::detail
