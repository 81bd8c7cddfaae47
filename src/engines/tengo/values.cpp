// Tengo value semantics: type names, String() forms, truthiness, equality, the binary operator
// matrix, indexing, slicing and conversions (tengo's objects.go / tengo.go).
#include <charconv>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "engines/tengo/core.hpp"
#include "llmspell/core/suggest.hpp"

namespace llmspell::tengo {

using namespace detail;

thread_local int64_t tlHeapBytes = 0;

namespace {
thread_local int tlDestroyDepth = 0;
thread_local std::vector<Object*> tlPendingDestroy;
}  // namespace

void destroyObject(Object* o) {
  if (tlDestroyDepth > 64) {
    tlPendingDestroy.push_back(o);
    return;
  }
  ++tlDestroyDepth;
  delete o;
  if (tlDestroyDepth == 1) {
    while (!tlPendingDestroy.empty()) {
      Object* p = tlPendingDestroy.back();
      tlPendingDestroy.pop_back();
      delete p;
    }
  }
  --tlDestroyDepth;
}

namespace {
// Guards recursion over containers that may contain themselves (a[0] = a).
constexpr int kMaxNesting = 256;
thread_local int tlNesting = 0;
struct NestGuard {
  NestGuard() { ++tlNesting; }
  ~NestGuard() { --tlNesting; }
  bool tooDeep() const { return tlNesting > kMaxNesting; }
};
}  // namespace

Value makeString(std::string s) { return Value::object(Type::kString, new StringObj(std::move(s))); }
Value makeBytes(std::string b) { return Value::object(Type::kBytes, new BytesObj(std::move(b))); }
Value makeArray(std::vector<Value> items, bool immutable) {
  return Value::object(immutable ? Type::kImmutableArray : Type::kArray,
                       new ArrayObj(std::move(items)));
}
Value makeMap(std::map<std::string, Value, std::less<>> items, bool immutable) {
  auto* m = new MapObj();
  m->m = std::move(items);
  return Value::object(immutable ? Type::kImmutableMap : Type::kMap, m);
}
Value makeError(Value payload) { return Value::object(Type::kError, new ErrorObj(std::move(payload))); }
Value makeNative(std::string name, NativeFn fn) {
  return Value::object(Type::kNative, new NativeObj(std::move(name), std::move(fn)));
}

std::string typeName(const Value& v) {
  switch (v.type()) {
    case Type::kUndefined: return "undefined";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kChar: return "char";
    case Type::kBuiltin: return std::string("builtin-function:") + kBuiltins[v.i()].name;
    case Type::kString: return "string";
    case Type::kBytes: return "bytes";
    case Type::kArray: return "array";
    case Type::kImmutableArray: return "immutable-array";
    case Type::kMap: return "map";
    case Type::kImmutableMap: return "immutable-map";
    case Type::kError: return "error";
    case Type::kTime: return "time";
    case Type::kFunction: return "compiled-function";
    case Type::kNative: return "user-function:" + v.as<NativeObj>()->name;
    case Type::kCell: return "<free-var>";
    case Type::kIterator: return "iterator";
  }
  return "?";
}

namespace detail {

std::string formatFloat(double f) {
  if (std::isnan(f)) return "NaN";
  if (std::isinf(f)) return f > 0 ? "+Inf" : "-Inf";
  // Go's strconv.FormatFloat(f, 'f', -1, 64): the shortest digits that read back as f, laid out
  // without an exponent. std::to_chars in fixed form without a precision writes a large integral
  // value exactly (1e23 as 99999999999999991611392), so the digits come from the shortest
  // scientific form, "[-]d[.ddd]e±XX", and are padded with zeros here.
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(r.ptr - buf));
  std::string out;
  if (s.front() == '-') {
    out += '-';
    s.remove_prefix(1);
  }
  size_t e = s.find('e');
  std::string digits(1, s[0]);
  if (e > 1) digits += s.substr(2, e - 2);
  int exp = 0;
  std::string_view es = s.substr(e + 1);
  if (es.front() == '+') es.remove_prefix(1);
  std::from_chars(es.data(), es.data() + es.size(), exp);
  const int point = exp + 1;  // digits before the decimal point
  const int n = static_cast<int>(digits.size());
  if (point <= 0) out += "0." + std::string(static_cast<size_t>(-point), '0') + digits;
  else if (point >= n) out += digits + std::string(static_cast<size_t>(point - n), '0');
  else out += digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  return out;
}

int64_t runeCount(const std::string& s) {
  int64_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    int32_t r;
    i += decodeRune(s, i, &r);
    ++n;
  }
  return n;
}

bool toInt64(const Value& v, int64_t* out) {
  switch (v.type()) {
    case Type::kInt: *out = v.i(); return true;
    case Type::kFloat: {
      double f = v.f();
      if (std::isnan(f)) {
        *out = INT64_MIN;
        return true;
      }
      if (f >= 9.2233720368547758e18 || f < -9.2233720368547758e18) {
        *out = INT64_MIN;
        return true;
      }
      *out = static_cast<int64_t>(f);
      return true;
    }
    case Type::kChar: *out = v.i(); return true;
    case Type::kBool: *out = v.i() ? 1 : 0; return true;
    case Type::kString: {
      bool range;
      return goParseInt(v.as<StringObj>()->s, 10, out, &range);
    }
    default: return false;
  }
}

bool toFloat64(const Value& v, double* out) {
  switch (v.type()) {
    case Type::kInt: *out = static_cast<double>(v.i()); return true;
    case Type::kFloat: *out = v.f(); return true;
    case Type::kString: return goParseFloat(v.as<StringObj>()->s, out);
    default: return false;
  }
}

Value immutableOf(const Value& v) {
  if (v.type() == Type::kArray) return Value::object(Type::kImmutableArray, v.obj());
  if (v.type() == Type::kMap) return Value::object(Type::kImmutableMap, v.obj());
  return v;
}

static std::string timeDisplay(const Value& v) { return timeString(*v.as<TimeObj>()); }

}  // namespace detail

std::string toDisplay(const Value& v) {
  NestGuard g;
  if (g.tooDeep() && v.type() >= Type::kArray && v.type() <= Type::kError) return "...";
  switch (v.type()) {
    case Type::kUndefined: return "<undefined>";
    case Type::kBool: return v.i() ? "true" : "false";
    case Type::kInt: return std::to_string(v.i());
    case Type::kFloat: return formatFloat(v.f());
    case Type::kChar: {
      std::string s;
      appendUtf8(s, static_cast<uint32_t>(v.i()));
      return s;
    }
    case Type::kBuiltin: return "<builtin-function>";
    case Type::kString: return goQuote(v.as<StringObj>()->s);
    case Type::kBytes: return v.as<BytesObj>()->b;
    case Type::kArray: case Type::kImmutableArray: {
      auto* a = v.as<ArrayObj>();
      std::string s = "[";
      for (size_t i = 0; i < a->len; ++i) {
        if (i) s += ", ";
        s += toDisplay(a->at(i));
      }
      return s + "]";
    }
    case Type::kMap: case Type::kImmutableMap: {
      std::string s = "{";
      bool first = true;
      for (auto& [k, val] : v.as<MapObj>()->m) {
        if (!first) s += ", ";
        first = false;
        s += k + ": " + toDisplay(val);
      }
      return s + "}";
    }
    case Type::kError: {
      auto* e = v.as<ErrorObj>();
      return "error: " + (e->text.empty() ? toDisplay(e->v) : e->text);
    }
    case Type::kTime: return timeDisplay(v);
    case Type::kFunction: return "<compiled-function>";
    case Type::kNative: return "<user-function>";
    case Type::kCell: return "<free-var>";
    case Type::kIterator: return "<iterator>";
  }
  return "";
}

bool toStringValue(const Value& v, std::string* out) {
  if (v.type() == Type::kUndefined) return false;
  if (v.type() == Type::kString) *out = v.as<StringObj>()->s;
  else *out = toDisplay(v);
  return true;
}

bool isFalsy(const Value& v) {
  switch (v.type()) {
    case Type::kUndefined: return true;
    case Type::kBool: return v.i() == 0;
    case Type::kInt: return v.i() == 0;
    case Type::kFloat: return std::isnan(v.f());
    case Type::kChar: return v.i() == 0;
    case Type::kString: return v.as<StringObj>()->s.empty();
    case Type::kBytes: return v.as<BytesObj>()->b.empty();
    case Type::kArray: case Type::kImmutableArray: return v.as<ArrayObj>()->len == 0;
    case Type::kMap: case Type::kImmutableMap: return v.as<MapObj>()->m.empty();
    case Type::kError: return true;
    case Type::kTime: {
      auto* t = v.as<TimeObj>();
      return t->sec == -62135596800LL && t->nsec == 0;
    }
    default: return false;
  }
}

bool valuesEqual(const Value& a, const Value& b) {
  NestGuard g;
  if (g.tooDeep()) return a.isHeap() && a.obj() == b.obj() && a.type() == b.type();
  switch (a.type()) {
    case Type::kUndefined: return b.type() == Type::kUndefined;
    case Type::kBool: return b.type() == Type::kBool && a.i() == b.i();
    case Type::kInt:
      if (b.type() == Type::kInt) return a.i() == b.i();
      if (b.type() == Type::kFloat) return static_cast<double>(a.i()) == b.f();
      return false;
    case Type::kFloat:
      if (b.type() == Type::kFloat) return a.f() == b.f();
      if (b.type() == Type::kInt) return a.f() == static_cast<double>(b.i());
      return false;
    case Type::kChar: return b.type() == Type::kChar && a.i() == b.i();
    case Type::kString:
      return b.type() == Type::kString && a.as<StringObj>()->s == b.as<StringObj>()->s;
    case Type::kBytes:
      return b.type() == Type::kBytes && a.as<BytesObj>()->b == b.as<BytesObj>()->b;
    case Type::kArray: case Type::kImmutableArray: {
      if (b.type() != Type::kArray && b.type() != Type::kImmutableArray) return false;
      auto* x = a.as<ArrayObj>();
      auto* y = b.as<ArrayObj>();
      if (x->len != y->len) return false;
      for (size_t i = 0; i < x->len; ++i)
        if (!valuesEqual(x->at(i), y->at(i))) return false;
      return true;
    }
    case Type::kMap: case Type::kImmutableMap: {
      if (b.type() != Type::kMap && b.type() != Type::kImmutableMap) return false;
      auto& x = a.as<MapObj>()->m;
      auto& y = b.as<MapObj>()->m;
      if (x.size() != y.size()) return false;
      for (auto& [k, v] : x) {
        auto it = y.find(k);
        if (it == y.end() || !valuesEqual(v, it->second)) return false;
      }
      return true;
    }
    case Type::kError: return b.type() == Type::kError && a.obj() == b.obj();
    case Type::kTime:
      return b.type() == Type::kTime && a.as<TimeObj>()->sec == b.as<TimeObj>()->sec &&
             a.as<TimeObj>()->nsec == b.as<TimeObj>()->nsec;
    default: return false;
  }
}

Value deepCopy(const Value& v) {
  NestGuard g;
  if (g.tooDeep()) return v;  // self-referencing containers: stop copying, share the rest
  switch (v.type()) {
    case Type::kString: return makeString(v.as<StringObj>()->s);
    case Type::kBytes: return makeBytes(v.as<BytesObj>()->b);
    case Type::kArray: case Type::kImmutableArray: {
      auto* a = v.as<ArrayObj>();
      std::vector<Value> items;
      items.reserve(a->len);
      for (size_t i = 0; i < a->len; ++i) items.push_back(deepCopy(a->at(i)));
      return makeArray(std::move(items));
    }
    case Type::kMap: case Type::kImmutableMap: {
      std::map<std::string, Value, std::less<>> m;
      for (auto& [k, x] : v.as<MapObj>()->m) m.emplace(k, deepCopy(x));
      Value r = makeMap(std::move(m));
      r.as<MapObj>()->charge(static_cast<int64_t>(r.as<MapObj>()->m.size()) * 96);
      return r;
    }
    case Type::kError: {
      Value r = makeError(deepCopy(v.as<ErrorObj>()->v));
      r.as<ErrorObj>()->text = v.as<ErrorObj>()->text;
      return r;
    }
    case Type::kTime: {
      auto* t = new TimeObj(*v.as<TimeObj>());
      t->refs = 0;
      return Value::object(Type::kTime, t);
    }
    case Type::kFunction: {
      auto* src = v.as<FuncObj>();
      auto* f = new FuncObj();
      f->proto = src->proto;
      f->free = src->free;
      return Value::object(Type::kFunction, f);
    }
    default: return v;
  }
}

namespace detail {

static const char* opText(Op op) {
  switch (op) {
    case OP_ADD: return "+";
    case OP_SUB: return "-";
    case OP_MUL: return "*";
    case OP_DIV: return "/";
    case OP_REM: return "%";
    case OP_BAND: return "&";
    case OP_BOR: return "|";
    case OP_BXOR: return "^";
    case OP_SHL: return "<<";
    case OP_SHR: return ">>";
    case OP_ANDNOT: return "&^";
    case OP_LT: return "<";
    case OP_LE: return "<=";
    case OP_GT: return ">";
    case OP_GE: return ">=";
    default: return "?";
  }
}

static bool intOp(Op op, int64_t x, int64_t y, Value* out, VmError* err) {
  auto ux = static_cast<uint64_t>(x), uy = static_cast<uint64_t>(y);
  switch (op) {
    case OP_ADD: *out = Value::integer(static_cast<int64_t>(ux + uy)); return true;
    case OP_SUB: *out = Value::integer(static_cast<int64_t>(ux - uy)); return true;
    case OP_MUL: *out = Value::integer(static_cast<int64_t>(ux * uy)); return true;
    case OP_DIV:
      if (y == 0) {
        err->msg = "integer divide by zero";
        return false;
      }
      if (y == -1) *out = Value::integer(static_cast<int64_t>(0 - ux));
      else *out = Value::integer(x / y);
      return true;
    case OP_REM:
      if (y == 0) {
        err->msg = "integer divide by zero";
        return false;
      }
      *out = Value::integer(y == -1 ? 0 : x % y);
      return true;
    case OP_BAND: *out = Value::integer(x & y); return true;
    case OP_BOR: *out = Value::integer(x | y); return true;
    case OP_BXOR: *out = Value::integer(x ^ y); return true;
    case OP_ANDNOT: *out = Value::integer(x & ~y); return true;
    case OP_SHL:
      *out = Value::integer(uy >= 64 ? 0 : static_cast<int64_t>(ux << uy));
      return true;
    case OP_SHR:
      *out = Value::integer(uy >= 64 ? (x < 0 ? -1 : 0) : (x >> uy));
      return true;
    case OP_LT: *out = Value::boolean(x < y); return true;
    case OP_LE: *out = Value::boolean(x <= y); return true;
    case OP_GT: *out = Value::boolean(x > y); return true;
    case OP_GE: *out = Value::boolean(x >= y); return true;
    default: return false;
  }
}

static bool floatOp(Op op, double x, double y, Value* out) {
  switch (op) {
    case OP_ADD: *out = Value::number(x + y); return true;
    case OP_SUB: *out = Value::number(x - y); return true;
    case OP_MUL: *out = Value::number(x * y); return true;
    case OP_DIV: *out = Value::number(x / y); return true;
    case OP_LT: *out = Value::boolean(x < y); return true;
    case OP_LE: *out = Value::boolean(x <= y); return true;
    case OP_GT: *out = Value::boolean(x > y); return true;
    case OP_GE: *out = Value::boolean(x >= y); return true;
    default: return false;
  }
}

static bool cmpOp(Op op, int c, Value* out) {
  switch (op) {
    case OP_LT: *out = Value::boolean(c < 0); return true;
    case OP_LE: *out = Value::boolean(c <= 0); return true;
    case OP_GT: *out = Value::boolean(c > 0); return true;
    case OP_GE: *out = Value::boolean(c >= 0); return true;
    default: return false;
  }
}

bool binaryOp(Vm::Impl& vm, Op op, const Value& a, const Value& b, Value* out, VmError* err) {
  bool ok = false;
  switch (a.type()) {
    case Type::kInt:
      if (b.type() == Type::kInt) {
        if (intOp(op, a.i(), b.i(), out, err)) return true;
        if (!err->msg.empty()) return false;
      } else if (b.type() == Type::kFloat) {
        ok = floatOp(op, static_cast<double>(a.i()), b.f(), out);
      } else if (b.type() == Type::kChar) {
        if (op == OP_ADD || op == OP_SUB) {
          auto r = op == OP_ADD ? static_cast<uint64_t>(a.i()) + static_cast<uint64_t>(b.i())
                                : static_cast<uint64_t>(a.i()) - static_cast<uint64_t>(b.i());
          *out = Value::character(static_cast<int32_t>(r));
          return true;
        }
        ok = cmpOp(op, a.i() < b.i() ? -1 : a.i() > b.i() ? 1 : 0, out);
      }
      break;
    case Type::kFloat:
      if (b.type() == Type::kFloat) ok = floatOp(op, a.f(), b.f(), out);
      else if (b.type() == Type::kInt) ok = floatOp(op, a.f(), static_cast<double>(b.i()), out);
      // Go Tengo's Float.BinaryOp returns the left operand itself when the result compares
      // equal to it, which keeps its sign of zero: 0.0 / -28 is 0, -0.0 + 0.0 is -0.
      if (ok && out->type() == Type::kFloat && out->f() == a.f()) *out = Value::number(a.f());
      break;
    case Type::kChar:
      if (b.type() == Type::kChar || b.type() == Type::kInt) {
        if (op == OP_ADD || op == OP_SUB) {
          auto r = op == OP_ADD ? static_cast<uint64_t>(a.i()) + static_cast<uint64_t>(b.i())
                                : static_cast<uint64_t>(a.i()) - static_cast<uint64_t>(b.i());
          *out = Value::character(static_cast<int32_t>(r));
          return true;
        }
        ok = cmpOp(op, a.i() < b.i() ? -1 : a.i() > b.i() ? 1 : 0, out);
      }
      break;
    case Type::kString: {
      const std::string& s = a.as<StringObj>()->s;
      if (op == OP_ADD) {
        std::string shown;
        const std::string& rhs = b.type() == Type::kString ? b.as<StringObj>()->s
                                                            : (shown = toDisplay(b));
        size_t n = s.size() + rhs.size();
        if (static_cast<int64_t>(n) > vm.limits.maxStringLen || !vm.memFits(static_cast<int64_t>(n))) {
          err->msg = static_cast<int64_t>(n) > vm.limits.maxStringLen ? "exceeding string size limit"
                                                                      : "memory limit exceeded";
          err->limit = true;
          return false;
        }
        std::string r;
        r.reserve(n);
        r.append(s).append(rhs);
        *out = makeString(std::move(r));
        return true;
      }
      if (b.type() == Type::kString) ok = cmpOp(op, s.compare(b.as<StringObj>()->s), out);
      break;
    }
    case Type::kBytes:
      if (op == OP_ADD && b.type() == Type::kBytes) {
        const std::string& x = a.as<BytesObj>()->b;
        const std::string& y = b.as<BytesObj>()->b;
        size_t n = x.size() + y.size();
        if (static_cast<int64_t>(n) > vm.limits.maxBytesLen || !vm.memFits(static_cast<int64_t>(n))) {
          err->msg = static_cast<int64_t>(n) > vm.limits.maxBytesLen ? "exceeding bytes size limit"
                                                                     : "memory limit exceeded";
          err->limit = true;
          return false;
        }
        std::string r;
        r.reserve(n);
        r.append(x).append(y);
        *out = makeBytes(std::move(r));
        return true;
      }
      break;
    case Type::kArray: case Type::kImmutableArray:
      if (op == OP_ADD && b.type() == a.type()) {
        auto* x = a.as<ArrayObj>();
        auto* y = b.as<ArrayObj>();
        std::vector<Value> items;
        items.reserve(x->len + y->len);
        for (size_t i = 0; i < x->len; ++i) items.push_back(x->at(i));
        for (size_t i = 0; i < y->len; ++i) items.push_back(y->at(i));
        *out = makeArray(std::move(items));
        return true;
      }
      break;
    case Type::kTime: {
      auto* t = a.as<TimeObj>();
      if (b.type() == Type::kInt && (op == OP_ADD || op == OP_SUB)) {
        int64_t d = b.i();
        if (op == OP_SUB) d = static_cast<int64_t>(0 - static_cast<uint64_t>(d));
        int64_t total = t->nsec + d % 1000000000;
        int64_t sec = t->sec + d / 1000000000 + total / 1000000000;
        total %= 1000000000;
        if (total < 0) {
          total += 1000000000;
          --sec;
        }
        auto* nt = new TimeObj(*t);
        nt->refs = 0;
        nt->sec = sec;
        nt->nsec = static_cast<int32_t>(total);
        refreshZone(nt);
        *out = Value::object(Type::kTime, nt);
        return true;
      }
      if (b.type() == Type::kTime) {
        auto* u = b.as<TimeObj>();
        if (op == OP_SUB) {
          *out = Value::integer((t->sec - u->sec) * 1000000000 + (t->nsec - u->nsec));
          return true;
        }
        int c = t->sec != u->sec ? (t->sec < u->sec ? -1 : 1)
                                 : (t->nsec < u->nsec ? -1 : t->nsec > u->nsec ? 1 : 0);
        ok = cmpOp(op, c, out);
      }
      break;
    }
    default: break;
  }
  if (ok) return true;
  err->msg = "invalid operation: " + typeName(a) + " " + opText(op) + " " + typeName(b);
  return false;
}

bool indexGet(Vm::Impl& vm, const Value& x, const Value& idx, Value* out, VmError* err) {
  switch (x.type()) {
    case Type::kArray: case Type::kImmutableArray: {
      if (idx.type() != Type::kInt) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      auto* a = x.as<ArrayObj>();
      int64_t i = idx.i();
      if (i < 0 || static_cast<uint64_t>(i) >= a->len) *out = Value();
      else *out = a->at(static_cast<size_t>(i));
      return true;
    }
    case Type::kMap: case Type::kImmutableMap: {
      auto& m = x.as<MapObj>()->m;
      if (idx.type() == Type::kString) {
        auto it = m.find(idx.as<StringObj>()->s);
        if (it == m.end() && x.type() == Type::kImmutableMap) {
          // A builtin module (json, llm, ...): a name it lacks is a mistyped function
          // (json.encdoe), reported with the closest names rather than as "not callable:
          // undefined" later.
          auto mod = m.find("__module_name__");
          if (mod != m.end() && mod->second.type() == Type::kString) {
            std::vector<std::string> members;
            for (const auto& [k, v] : m)
              if (k != "__module_name__") members.push_back(k);
            err->msg = unknownMemberMessage(mod->second.as<StringObj>()->s, idx.as<StringObj>()->s, members);
            return false;
          }
        }
        *out = it == m.end() ? Value() : it->second;
        return true;
      }
      std::string k;
      if (!toStringValue(idx, &k)) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      auto it = m.find(k);
      *out = it == m.end() ? Value() : it->second;
      return true;
    }
    case Type::kString: {
      if (idx.type() != Type::kInt) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      auto* so = x.as<StringObj>();
      const std::string& s = so->s;
      int64_t i = idx.i();
      if (so->ascii < 0) {
        so->ascii = 1;
        for (char c : s)
          if (static_cast<unsigned char>(c) >= 0x80) {
            so->ascii = 0;
            break;
          }
      }
      if (so->ascii) {
        if (i < 0 || static_cast<uint64_t>(i) >= s.size()) *out = Value();
        else *out = Value::character(static_cast<unsigned char>(s[i]));
        return true;
      }
      if (i < 0) {
        *out = Value();
        return true;
      }
      size_t p = 0;
      int64_t n = 0;
      while (p < s.size()) {
        int32_t r;
        int w = decodeRune(s, p, &r);
        if (n == i) {
          *out = Value::character(r);
          return true;
        }
        p += w;
        ++n;
      }
      *out = Value();
      return true;
    }
    case Type::kBytes: {
      if (idx.type() != Type::kInt) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      const std::string& b = x.as<BytesObj>()->b;
      int64_t i = idx.i();
      if (i < 0 || static_cast<uint64_t>(i) >= b.size()) *out = Value();
      else *out = Value::integer(static_cast<unsigned char>(b[i]));
      return true;
    }
    case Type::kUndefined: *out = Value(); return true;
    case Type::kError: {
      std::string k;
      if (toStringValue(idx, &k) && k == "value") {
        *out = x.as<ErrorObj>()->v;
        return true;
      }
      err->msg = "invalid index on error";
      return false;
    }
    default:
      err->msg = "not indexable: " + typeName(idx);
      (void)vm;
      return false;
  }
}

bool indexSet(Vm::Impl& vm, const Value& x, const Value& idx, const Value& val, VmError* err) {
  switch (x.type()) {
    case Type::kArray: {
      int64_t i;
      if (!toInt64(idx, &i)) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      auto* a = x.as<ArrayObj>();
      if (i < 0 || static_cast<uint64_t>(i) >= a->len) {
        err->msg = "index out of bounds";
        return false;
      }
      a->at(static_cast<size_t>(i)) = val;
      return true;
    }
    case Type::kMap: {
      std::string k;
      if (!toStringValue(idx, &k)) {
        err->msg = "invalid index type: " + typeName(idx);
        return false;
      }
      auto* mo = x.as<MapObj>();
      auto [it, inserted] = mo->m.insert_or_assign(k, val);
      if (inserted) mo->charge(static_cast<int64_t>(k.size()) + 80);
      (void)it;
      return true;
    }
    default:
      err->msg = "not index-assignable: " + typeName(x);
      (void)vm;
      return false;
  }
}

bool sliceOp(Vm::Impl& vm, const Value& x, const Value& lo, const Value& hi, Value* out,
             VmError* err) {
  int64_t len;
  switch (x.type()) {
    case Type::kArray: case Type::kImmutableArray: len = static_cast<int64_t>(x.as<ArrayObj>()->len); break;
    case Type::kString: len = static_cast<int64_t>(x.as<StringObj>()->s.size()); break;
    case Type::kBytes: len = static_cast<int64_t>(x.as<BytesObj>()->b.size()); break;
    default:
      err->msg = "not indexable: " + typeName(x);
      return false;
  }
  int64_t l = 0, h = len;
  if (lo.type() != Type::kUndefined) {
    if (lo.type() != Type::kInt) {
      err->msg = "invalid slice index type: " + typeName(lo);
      return false;
    }
    l = lo.i();
  }
  if (hi.type() != Type::kUndefined) {
    if (hi.type() != Type::kInt) {
      err->msg = "invalid slice index type: " + typeName(hi);
      return false;
    }
    h = hi.i();
  }
  if (l > h) {
    err->msg = "invalid slice index: " + std::to_string(l) + " > " + std::to_string(h);
    return false;
  }
  if (l < 0) l = 0;
  if (h < 0) h = 0;
  if (l > len) l = len;
  if (h > len) h = len;
  switch (x.type()) {
    case Type::kArray: case Type::kImmutableArray: {
      auto* a = x.as<ArrayObj>();
      auto* r = new ArrayObj();
      r->store = a->store;
      r->off = a->off + static_cast<size_t>(l);
      r->len = static_cast<size_t>(h - l);
      *out = Value::object(Type::kArray, r);
      return true;
    }
    case Type::kString: *out = makeString(x.as<StringObj>()->s.substr(l, h - l)); return true;
    default: *out = makeBytes(x.as<BytesObj>()->b.substr(l, h - l)); return true;
  }
  (void)vm;
}

}  // namespace detail

Value fromJson(const nlohmann::json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value();
    case nlohmann::json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned:
      return Value::integer(static_cast<int64_t>(j.get<uint64_t>()));
    case nlohmann::json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::json::value_t::string: return makeString(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      std::vector<Value> items;
      for (auto& e : j) items.push_back(fromJson(e));
      return makeArray(std::move(items));
    }
    case nlohmann::json::value_t::object: {
      std::map<std::string, Value, std::less<>> m;
      for (auto it = j.begin(); it != j.end(); ++it) m.emplace(it.key(), fromJson(it.value()));
      return makeMap(std::move(m));
    }
    default: return Value();
  }
}

nlohmann::json toJson(const Value& v) {
  switch (v.type()) {
    case Type::kBool: return v.i() != 0;
    case Type::kInt: return v.i();
    case Type::kFloat: return v.f();
    case Type::kChar: return v.i();
    case Type::kString: return v.as<StringObj>()->s;
    case Type::kBytes: return v.as<BytesObj>()->b;
    case Type::kArray: case Type::kImmutableArray: {
      auto j = nlohmann::json::array();
      auto* a = v.as<ArrayObj>();
      for (size_t i = 0; i < a->len; ++i) j.push_back(toJson(a->at(i)));
      return j;
    }
    case Type::kMap: case Type::kImmutableMap: {
      auto j = nlohmann::json::object();
      for (auto& [k, x] : v.as<MapObj>()->m) j[k] = toJson(x);
      return j;
    }
    case Type::kError: return nlohmann::json{{"error", toJson(v.as<ErrorObj>()->v)}};
    case Type::kTime: return toDisplay(v);
    default: return nullptr;
  }
}

}  // namespace llmspell::tengo
