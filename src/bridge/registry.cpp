// The registry: declarations, argument validation shared by every engine, and the call wrappers
// that turn C++ failures into Error values.
#include "llmspell/bridge/registry.hpp"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "llmspell/bridge/call_mocks.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

std::string_view permissionFlag(Permission p) {
  switch (p) {
    case Permission::kNone: return "";
    case Permission::kNet: return "--allow-net";
    case Permission::kRead: return "--allow-read";
    case Permission::kWrite: return "--allow-write";
    case Permission::kEnv: return "--allow-env";
    case Permission::kRun: return "--allow-run";
  }
  return "";
}

const std::string& FunctionDecl::qualifiedName() const { return qualified; }

namespace {

constexpr uint32_t bit(ValueKind k) { return 1u << static_cast<unsigned>(k); }
constexpr uint32_t kAnyMask = 0xFFFFFFFFu;

uint32_t maskForType(std::string_view t) {
  if (t == "string") return bit(ValueKind::kString);
  if (t == "integer") return bit(ValueKind::kInt) | bit(ValueKind::kDouble);  // integral doubles
  if (t == "number") return bit(ValueKind::kInt) | bit(ValueKind::kDouble);
  if (t == "boolean") return bit(ValueKind::kBool);
  if (t == "object") return bit(ValueKind::kObject);
  if (t == "array") return bit(ValueKind::kArray);
  if (t == "null") return bit(ValueKind::kNull);
  if (t == "function") return bit(ValueKind::kFunction);
  if (t == "promise") return bit(ValueKind::kPromise);
  if (t == "bytes") return bit(ValueKind::kBytes);
  if (t == "error") return bit(ValueKind::kError);
  if (t == "handle") return bit(ValueKind::kHandle);
  if (t == "any") return kAnyMask;
  fail(codes::kInternal, "registry: unknown parameter type '" + std::string(t) + "'");
}

std::string typeText(const Value& schema) {
  const Value& t = schema.get("type");
  if (t.isString()) return t.asString();
  if (t.isArray()) {
    std::string s;
    for (size_t i = 0; i < t.asArray().size(); ++i) {
      if (i) s += i + 1 == t.asArray().size() ? " or " : ", ";
      s += t.asArray()[i].isString() ? t.asArray()[i].asString() : "?";
    }
    return s;
  }
  return "any";
}

void compileParam(ParamDecl& p) {
  const Value& t = p.schema.get("type");
  if (t.isNull()) {
    p.kindMask = kAnyMask;
  } else if (t.isString()) {
    p.kindMask = maskForType(t.asString());
  } else if (t.isArray()) {
    for (const auto& x : t.asArray()) p.kindMask |= maskForType(x.asString());
  }
  if (!p.required) p.kindMask |= bit(ValueKind::kNull);
  for (const char* k : {"enum", "const", "minimum", "maximum", "minLength", "maxLength", "pattern",
                        "items", "properties", "required", "additionalProperties", "anyOf",
                        "oneOf", "minItems", "maxItems", "exclusiveMinimum", "exclusiveMaximum"}) {
    if (p.schema.isObject() && p.schema.asObject().contains(k)) p.deep = true;
  }
  p.integer = p.schema.get("type").isString() && p.schema.get("type").asString() == "integer";
}

}  // namespace

FnBuilder& FnBuilder::param(std::string name, std::string_view schema, std::string doc) {
  ParamDecl p;
  p.name = std::move(name);
  // Most parameters share a few schema texts ({"type":"string"}): parse each text once. The
  // parsed schemas are never changed, so sharing one Value is safe. Registration runs at every
  // start-up, and parsing every schema was a sixth of `exec 'return 1'`.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static thread_local std::unordered_map<std::string, Value, Hash, std::equal_to<>> parsed;
  auto it = parsed.find(schema);
  if (it == parsed.end()) it = parsed.emplace(std::string(schema), parseJson(schema)).first;
  p.schema = it->second;
  p.required = true;
  p.doc = doc.empty() ? p.schema.getString("description") : std::move(doc);
  d_.params.push_back(std::move(p));
  return *this;
}

FnBuilder& FnBuilder::opt(std::string name, std::string_view schema, std::string doc) {
  param(std::move(name), schema, std::move(doc));
  d_.params.back().required = false;
  return *this;
}

void FnBuilder::sync(SyncFn f) {
  d_.async = false;
  d_.sync = std::move(f);
  reg_.add(std::move(d_));
}

void FnBuilder::async(AsyncFn f) {
  d_.async = true;
  d_.asyncFn = std::move(f);
  reg_.add(std::move(d_));
}

FnBuilder Registry::fn(std::string ns, std::string name) {
  FunctionDecl d;
  d.ns = std::move(ns);
  d.name = std::move(name);
  return FnBuilder(*this, std::move(d));
}

FnBuilder Registry::method(std::string type, std::string name) {
  FunctionDecl d;
  d.self = std::move(type);
  d.name = std::move(name);
  return FnBuilder(*this, std::move(d));
}

void Registry::type(std::string name, std::string doc) {
  types_.push_back(TypeDecl{std::move(name), std::move(doc)});
}

void Registry::add(FunctionDecl d) {
  for (auto& p : d.params) compileParam(p);
  d.qualified = !d.self.empty() ? d.self + ":" + d.name : d.ns.empty() ? d.name : d.ns + "." + d.name;
  std::string q = d.qualified;
  if (byName_.count(q)) fail(codes::kInternal, "registry: '" + q + "' is declared twice");
  byName_.emplace(q, fns_.size());
  fns_.push_back(std::move(d));
}

const FunctionDecl* Registry::find(std::string_view q) const {
  auto it = byName_.find(std::string(q));
  return it == byName_.end() ? nullptr : &fns_[it->second];
}

std::vector<std::string> Registry::namespaces() const {
  std::vector<std::string> out;
  for (const auto& f : fns_) {
    if (f.ns.empty() || !f.self.empty()) continue;
    if (std::find(out.begin(), out.end(), f.ns) == out.end()) out.push_back(f.ns);
  }
  return out;
}

namespace {
Registry& globalInstance() {
  static Registry* reg = [] {
    auto* r = new Registry();
    registerAllModules(*r);
    return r;
  }();
  return *reg;
}
}  // namespace

const Registry& Registry::global() { return globalInstance(); }

void Registry::extend(const std::function<void(Registry&)>& add) { add(globalInstance()); }

namespace {

std::optional<Error> argError(const FunctionDecl& d, size_t i, const std::string& what) {
  Error e(codes::kInvalidArgument, d.qualifiedName() + ": argument " + std::to_string(i + 1) +
                                       " '" + d.params[i].name + "' " + what);
  e.details = Value::object({{"function", d.qualifiedName()},
                             {"argument", static_cast<int64_t>(i + 1)},
                             {"name", d.params[i].name}});
  return e;
}

// `given` is false for an argument left out of the call: a required parameter must be given,
// even when its schema admits null (json.encode() is a mistake, json.encode(nil) is "null").
std::optional<Error> checkOne(const FunctionDecl& d, size_t i, Value& v, bool given) {
  const ParamDecl& p = d.params[i];
  if (v.isNull()) {
    if (p.required && given && (p.kindMask & bit(ValueKind::kNull))) return std::nullopt;
    if (p.required) return argError(d, i, "is required (expected " + typeText(p.schema) + ")");
    const Value& dflt = p.schema.get("default");
    if (!dflt.isNull()) v = dflt.deepCopy();
    return std::nullopt;
  }
  // An empty Lua table arrives as an empty object; where an array is expected it is one.
  if (v.isObject() && v.asObject().empty() && (p.kindMask & bit(ValueKind::kArray)) &&
      !(p.kindMask & bit(ValueKind::kObject)))
    v = Value::array();
  uint32_t b = 1u << static_cast<unsigned>(v.kind());
  if (!(p.kindMask & b))
    return argError(d, i, "expected " + typeText(p.schema) + ", got " + v.describe());
  // integer: an integral double is accepted and normalized to an int.
  if (p.integer && v.isDouble()) {
    double x = v.asDouble();
    if (!(x >= -9.2e18 && x <= 9.2e18) || x != static_cast<double>(static_cast<int64_t>(x)))
      return argError(d, i, "expected integer, got " + v.describe());
    v = Value(static_cast<int64_t>(x));
  }
  if (p.deep) {
    auto errs = validateSchema(v, p.schema, p.name);
    if (!errs.empty()) {
      std::string msg = "is invalid: " + errs.front();
      if (errs.size() > 1) msg += " (and " + std::to_string(errs.size() - 1) + " more)";
      auto e = argError(d, i, msg);
      std::vector<Value> all;
      for (auto& s : errs) all.emplace_back(s);
      e->details.asObject().set("errors", Value::array(std::move(all)));
      return e;
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<Error> Registry::validate(const FunctionDecl& d, Value* args, size_t& n) {
  size_t np = d.params.size();
  if (n > np && !d.variadic) {
    // Trailing nulls are harmless (Lua passes them for f(a, nil)).
    while (n > np && args[n - 1].isNull()) --n;
    if (n > np)
      return Error(codes::kInvalidArgument,
                   d.qualifiedName() + ": expected at most " + std::to_string(np) +
                       " argument" + (np == 1 ? "" : "s") + ", got " + std::to_string(n));
  }
  for (size_t i = 0; i < np; ++i) {
    if (i >= n) args[i] = Value();
    if (auto e = checkOne(d, i, args[i], i < n)) return e;
  }
  if (n < np) n = np;
  return std::nullopt;
}

std::optional<Error> Registry::validate(const FunctionDecl& d, std::vector<Value>& args) {
  size_t n = args.size();
  if (args.size() < d.params.size()) args.resize(d.params.size());
  auto e = validate(d, args.data(), n);
  args.resize(std::max(n, d.params.size()));
  return e;
}

namespace {
Error currentError(std::string_view fname) {
  try {
    throw;
  } catch (const Exception& e) {
    return e.error();
  } catch (const std::bad_alloc&) {
    return Error(codes::kLimitExceeded, std::string(fname) + ": out of memory");
  } catch (const std::exception& e) {
    return Error(codes::kInternal, std::string(fname) + ": " + e.what());
  } catch (...) {
    return Error(codes::kInternal, std::string(fname) + ": unknown failure");
  }
}

void checkDeclaredPermission(const FunctionDecl& d, CallContext& cx) {
  if (d.permission == Permission::kRun) cx.run.permissions().checkRun(d.qualifiedName());
}

// The arguments a stand-in receives: as validated, without the trailing nulls validation padded
// them with (Tengo checks a function's arity, so `func(url)` can stand in for http.get).
std::vector<Value> mockArgs(Args args) {
  std::vector<Value> v(args.begin(), args.end());
  while (!v.empty() && v.back().isNull()) v.pop_back();
  return v;
}

// The test.mock stand-in for `d` in this run, or null.
const FunctionPtr* mockFor(const FunctionDecl& d, CallContext& cx) {
  if (gCallMocksLive.load(std::memory_order_relaxed) == 0) return nullptr;
  auto* m = cx.run.findService<CallMocks>();
  if (!m || m->byName.empty()) return nullptr;
  auto it = m->byName.find(d.qualifiedName());
  return it == m->byName.end() ? nullptr : &it->second;
}
}  // namespace

std::atomic<int> gCallMocksLive{0};

Value Registry::callSync(const FunctionDecl& d, CallContext& cx, Args args, ErrorPtr& err) noexcept {
  try {
    checkDeclaredPermission(d, cx);
    if (const FunctionPtr* mock = mockFor(d, cx)) {
      PromisePtr p = (*mock)->call(mockArgs(args));
      if (p->pending()) {
        p->cancel();
        fail(codes::kInvalidArgument, "test.mock: the stand-in for " + d.qualifiedName() + " waited, but " +
                                          d.qualifiedName() + " returns at once, so its stand-in must too");
      }
      p->markHandled();
      if (p->rejected()) throw Exception(p->error());
      return p->value();
    }
    return d.sync(cx, args);
  } catch (...) {
    err = std::make_shared<Error>(currentError(d.qualifiedName()));
    return Value();
  }
}

PromisePtr Registry::invoke(std::string_view qualifiedName, CallContext& cx, std::vector<Value> args) noexcept {
  const FunctionDecl* d = global().find(qualifiedName);
  if (!d) return Promise::rejected(Error(codes::kNotFound, "no function named '" + std::string(qualifiedName) + "'"));
  if (auto e = validate(*d, args)) return Promise::rejected(*e);
  CallContext inner{cx.run, cx.loop, d->qualifiedName()};
  if (d->async) return callAsync(*d, inner, Args(args));
  ErrorPtr err;
  Value v = callSync(*d, inner, Args(args), err);
  return err ? Promise::rejected(*err) : Promise::fulfilledWith(std::move(v));
}

PromisePtr Registry::callAsync(const FunctionDecl& d, CallContext& cx, Args args) noexcept {
  PromisePtr p;
  try {
    checkDeclaredPermission(d, cx);
    if (const FunctionPtr* mock = mockFor(d, cx)) return (*mock)->call(mockArgs(args));
    p = d.asyncFn(cx, args);
    if (!p) p = Promise::rejected(Error(codes::kInternal, d.qualifiedName() + " returned no promise"));
  } catch (...) {
    return Promise::rejected(currentError(d.qualifiedName()));
  }
  if (!p->pending()) return p;
  cx.run.scope().add(p);
  // Every async call accepts `timeout` (seconds) in its trailing options object (the parameter
  // named `opts`; a data argument that happens to have a `timeout` field is left alone).
  if (!d.params.empty() && d.params.back().name == "opts" && args.size() >= d.params.size() &&
      args[d.params.size() - 1].isObject()) {
    const Value& t = args[d.params.size() - 1].get("timeout");
    if (t.isNumber() && t.asNumber() > 0) {
      double secs = t.asNumber();
      std::string name = d.qualifiedName();
      auto timer = cx.loop.setTimeout(secs, [w = std::weak_ptr<Promise>(p), name, secs] {
        if (auto q = w.lock())
          q->cancel(Error(codes::kTimeout,
                          name + " timed out after " + fmtSeconds(secs), true));
      });
      p->onSettle([timer](const Promise&) mutable { timer.cancel(); });
    }
  }
  return p;
}

size_t MemoryBudget::available() const {
  if (!meter_.limit) return SIZE_MAX;
  size_t used = meter_.used ? meter_.used() : 0;
  return used < meter_.limit ? meter_.limit - used : 0;
}

void MemoryBudget::require(size_t bytes, std::string_view what) {
  size_t left = available();
  if (bytes <= left) return;
  exceeded(std::string(what) + " needs " + std::to_string(bytes) + " more bytes, " +
           std::to_string(left) + " are left");
}

void MemoryBudget::exceeded(std::string_view what) {
  Error e(codes::kLimitExceeded,
          "memory limit of " + std::to_string(meter_.limit >> 20) + " MiB exceeded: " +
              std::string(what));
  e.details = Value::object({{"limit_bytes", static_cast<int64_t>(meter_.limit)}});
  if (meter_.stop) meter_.stop(e);
  throw Exception(e);
}

Value MemoryBudget::decodeBounded(std::string_view what, size_t otherBound,
                                  const std::function<Value(size_t)>& decode) {
  size_t byMemory = std::max<size_t>(1, available() / kNodeBytes);
  if (otherBound && otherBound <= byMemory) return decode(otherBound);
  if (!meter_.limit) return decode(otherBound);
  try {
    return decode(byMemory);
  } catch (const Exception& e) {
    if (e.error().code != codes::kLimitExceeded) throw;
    exceeded(std::string(what) + " is larger than the " + std::to_string(byMemory) +
             " nodes that fit");
  }
}

void MemoryHold::grow(size_t bytes) {
  budget_->require(bytes, what_);
  budget_->charge(static_cast<int64_t>(bytes));
  bytes_ += bytes;
}

void MemoryHold::release() {
  if (bytes_) budget_->charge(-static_cast<int64_t>(bytes_));
  bytes_ = 0;
}

std::string fmtSeconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%gs", s);
  return buf;
}

PromisePtr HostFunction::call(std::vector<Value> args) {
  try {
    auto p = f_(std::move(args));
    return p ? p : Promise::resolved(Value());
  } catch (...) {
    return Promise::rejected(currentError(name_));
  }
}

}  // namespace llmspell
