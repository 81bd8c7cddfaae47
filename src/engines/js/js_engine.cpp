// The JavaScript engine: V8 10.2 from Debian's libnode (see docs/javascript.md and
// ../shared/reference/js-engine.md for why V8 and the facts it is built on).
//
// One isolate per spell with one context. A spell file is an ES module (top-level await, static
// `import` of files inside the spell's directory); `exec` code is the body of an async function
// (so `return x` works); a REPL line is a classic script, whose bindings persist. The whole
// registry is bound generically: namespaces become objects of camelCase functions, declared types
// become classes whose methods are the registry's methods, every async host function returns a
// Promise, host errors are LlmspellError instances.
//
// Async model: microtasks run only when the host says so (explicit policy): after every entry
// from the host into JavaScript (a callback, a host promise settling), at the outermost level.
// Limits: the heap limit with a near-heap-limit callback, ArrayBuffers charged by the allocator,
// host bytes charged through the run's MemoryBudget; the time limit by a loop timer while the
// spell waits and by a watchdog thread that interrupts running JavaScript. A stop is
// TerminateExecution, which no try/finally or promise handler can catch; the isolate never runs
// script code again.
#include "engines/js/js_engine.hpp"

#include <libplatform/libplatform.h>
#include <v8.h>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "engines/js/js_allocator.hpp"
#include "engines/js/js_debug.hpp"
#include "engines/js/js_inspector.hpp"

// V8's own fatal errors (V8_Fatal: an array or string past its size limits, as
// `"x".repeat(2 ** 28).split("")`) end the process without the OOM handler; the one hook libnode
// exports for them is the stack-trace printer, called just before the abort. Not in V8's public
// headers: declared here as libnode 108 (V8 10.2) exports it.
namespace v8::base {
void SetPrintStackTrace(void (*print_stack_trace)());
}
#include "llmspell/runtime/watchdog.hpp"
#include "llmspell/bridge/arg_buffer.hpp"
#include "llmspell/bridge/call_trace.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/suggest.hpp"
#include "llmspell/runtime/spawned_tasks.hpp"

namespace llmspell {
namespace {

using v8::Local;
using v8::MaybeLocal;
using Clock = std::chrono::steady_clock;

constexpr size_t kKillHeadroom = 32u << 20;  // heap granted so a stopped spell can unwind
constexpr int kMaxDepth = 200;                // nesting of values crossing the boundary

// ---- the process-wide platform ----

[[noreturn]] void onV8Fatal();

void initV8() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No WebAssembly, no SharedArrayBuffer (and so no Atomics.wait on shared memory).
    const char flags[] = "--no-expose-wasm --no-harmony-sharedarraybuffer";
    v8::V8::SetFlagsFromString(flags, sizeof flags - 1);
    v8::V8::InitializeICU();
    static std::unique_ptr<v8::Platform> platform = v8::platform::NewDefaultPlatform();
    v8::V8::InitializePlatform(platform.get());
    v8::V8::Initialize();
    v8::base::SetPrintStackTrace(onV8Fatal);
  });
}

// ---- per-context state ----

struct Boxed {  // a host value behind a JS wrapper (handle, host function)
  Value v;
  v8::Global<v8::Object> wrapper;
};

struct JsCtx;


// A callback the host called (a tool's run, a workflow step, a spawn body...), followed through
// the promises its code creates: V8's promise hook tags each promise with the task that made
// it, and puts the task back while a reaction of that promise runs. So, as in Lua, cancelling
// the call cancels the host promises its code waits on (the wait throws `cancelled`, and so does
// every later wait), and the task's model calls count in the usage scope it started in.
struct JsTask {
  int id = 0;
  bool cancelled = false;
  std::vector<std::weak_ptr<Promise>> waiting;  // host promises its code waits on
  UsageScopePtr usageScope;
};
using JsTaskPtr = std::shared_ptr<JsTask>;

struct ModuleInfo {
  std::string rel;  // path relative to the spell's directory, as imports resolve it
  v8::Global<v8::Module> module;
};

struct JsCtx {
  v8::Isolate* iso = nullptr;
  v8::Global<v8::Context> context;
  RunContext* run = nullptr;
  Loop* loop = nullptr;
  Limits limits;
  size_t memLimit = 0;
  js::BufferBudget buffers;
  std::atomic<size_t> heapUsed{0};
  int64_t hostBytes = 0;
  bool killed = false;
  bool headroomGiven = false;  // nearHeapLimit grants it once
  Error killReason;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  int depth = 0;        // host -> JS entries on the stack
  int pendingCalls = 0;  // callbacks whose promise has not settled (busy())
  v8::Global<v8::Function> errorClass;
  std::unordered_map<std::string, v8::Global<v8::FunctionTemplate>> types;
  std::unordered_set<Boxed*> boxes;
  std::unordered_set<struct PromiseLink*> links;  // JS promises a host promise waits on
  // Host promises a JavaScript promise waits on (jsPromiseFor): each callback holds its promise
  // until it settles, so one that never settles is a cycle that close() breaks.
  struct Waiting {
    PromisePtr p;
    std::shared_ptr<v8::Global<v8::Promise::Resolver>> resolver;
  };
  std::vector<std::weak_ptr<Waiting>> waiting;
  size_t waitingCompactAt = 64;
  v8::Global<v8::Private> boxKey;                 // marks host functions (their Boxed)
  std::unordered_map<int, std::vector<ModuleInfo*>> modulesByHash;
  // Promises rejected with no handler, as failed "tasks" the runner reports when nothing handled
  // them by the end (SpawnedTasks); a handler added later marks them handled.
  std::unordered_multimap<int, std::pair<v8::Global<v8::Promise>, PromisePtr>> unhandled;
  std::unordered_map<std::string, std::unique_ptr<ModuleInfo>> modulesByPath;
  std::string chunkName = "spell";
  // Tasks (see JsTask) by id, the one running now, and what promise reactions interrupted.
  std::unordered_map<int, JsTaskPtr> tasks;
  int nextTask = 0;
  JsTask* current = nullptr;
  std::vector<std::pair<JsTask*, UsageScopePtr>> reactionStack;
  v8::Global<v8::Private> taskKey;
  JsDebugger* dbg = nullptr;  // null unless a debugger is attached

  Local<v8::Context> ctx() const { return context.Get(iso); }
  size_t used() const { return heapUsed.load() + buffers.used.load() + static_cast<size_t>(std::max<int64_t>(hostBytes, 0)); }

  void kill(Error reason);
};

JsCtx* ctxOf(v8::Isolate* iso) { return static_cast<JsCtx*>(iso->GetData(0)); }

struct PromiseLink {
  PromisePtr p;
  JsCtx* c;
};

// Stops the spell: no script code runs in this isolate again. Host promises waiting on
// JavaScript promises (the main chunk's, callbacks') will never hear from them: they fail with
// the stop, from the loop, once the script has unwound.
void JsCtx::kill(Error reason) {
  if (killed) return;
  killed = true;
  killReason = std::move(reason);
  killReason.code = std::string(codes::kLimitExceeded);
  iso->TerminateExecution();
  std::weak_ptr<bool> a = alive;
  loop->post([this, a] {
    if (a.expired()) return;
    auto pending = std::move(links);
    links.clear();
    for (PromiseLink* l : pending) {
      PromisePtr p = std::move(l->p);
      delete l;
      if (p) p->reject(killReason);
    }
  });
}

JsTask* taskOf(JsCtx* c, Local<v8::Promise> p) {
  Local<v8::Value> v;
  if (!p->GetPrivate(c->ctx(), c->taskKey.Get(c->iso)).ToLocal(&v) || !v->IsInt32()) return nullptr;
  auto it = c->tasks.find(v.As<v8::Int32>()->Value());
  return it == c->tasks.end() ? nullptr : it->second.get();
}

// Enters `t` (null: none) as the running task, its usage scope with it; leave() goes back.
void enterTask(JsCtx* c, JsTask* t) {
  c->reactionStack.emplace_back(c->current, c->run->usageScope);
  c->current = t;
  if (t) c->run->usageScope = t->usageScope;
}
void leaveTask(JsCtx* c) {
  if (c->reactionStack.empty()) return;
  auto [t, scope] = std::move(c->reactionStack.back());
  c->reactionStack.pop_back();
  c->current = t;
  c->run->usageScope = std::move(scope);
}

// A handle V8 may fail to make (the spell is being stopped, or out of memory): an exception the
// entry points turn into the stop, never ToLocalChecked's abort of the process.
template <typename T>
Local<T> checked(MaybeLocal<T> m) {
  Local<T> out;
  if (!m.ToLocal(&out)) throw Exception(Error(codes::kLimitExceeded, "the spell was stopped while the host was working for it"));
  return out;
}

// ---- strings ----

Local<v8::String> str(v8::Isolate* iso, std::string_view s) {
  if (s.size() > static_cast<size_t>(v8::String::kMaxLength))
    fail(codes::kLimitExceeded, "a string of " + std::to_string(s.size()) + " bytes is longer than JavaScript strings may be");
  Local<v8::String> out;
  if (!v8::String::NewFromUtf8(iso, s.data(), v8::NewStringType::kNormal, static_cast<int>(s.size())).ToLocal(&out))
    fail(codes::kLimitExceeded, "a string of " + std::to_string(s.size()) + " bytes does not fit in the JavaScript heap");
  return out;
}

std::string utf8(v8::Isolate* iso, Local<v8::String> s) {
  int n = s->Utf8Length(iso);
  std::string out(static_cast<size_t>(n), '\0');
  s->WriteUtf8(iso, out.data(), n, nullptr, v8::String::REPLACE_INVALID_UTF8 | v8::String::NO_NULL_TERMINATION);
  return out;
}

std::string utf8(v8::Isolate* iso, Local<v8::Value> v) {
  if (v.IsEmpty()) return "";
  if (v->IsString()) return utf8(iso, v.As<v8::String>());
  v8::TryCatch tc(iso);
  Local<v8::String> s;
  if (!v->ToString(iso->GetCurrentContext()).ToLocal(&s)) return "(a value whose toString failed)";
  return utf8(iso, s);
}

// ---- errors ----

// The script position of the innermost JavaScript frame, for host errors.
void addPosition(v8::Isolate* iso, Error& e) {
  if (!e.source.empty()) return;
  Local<v8::StackTrace> st = v8::StackTrace::CurrentStackTrace(iso, 1);
  if (st->GetFrameCount() < 1) return;
  Local<v8::StackFrame> f = st->GetFrame(iso, 0);
  Local<v8::String> name = f->GetScriptName();
  if (!name.IsEmpty()) e.source = utf8(iso, name);
  e.line = f->GetLineNumber();
}

Local<v8::Value> toJs(JsCtx* c, const Value& v, int depth = 0);
Value toValue(JsCtx* c, Local<v8::Value> v, int depth = 0);

Local<v8::Value> makeError(JsCtx* c, const Error& e) {
  v8::Isolate* iso = c->iso;
  Local<v8::Context> ctx = c->ctx();
  Local<v8::Value> arg = str(iso, e.message);
  Local<v8::Object> obj;
  if (!c->errorClass.Get(iso)->NewInstance(ctx, 1, &arg).ToLocal(&obj)) {
    if (c->killed || iso->IsExecutionTerminating()) return v8::Undefined(iso);
    return v8::Exception::Error(str(iso, e.message));
  }
  auto set = [&](const char* k, Local<v8::Value> val) { (void)obj->CreateDataProperty(ctx, str(iso, k), val); };
  set("code", str(iso, e.code));
  set("retryable", v8::Boolean::New(iso, e.retryable));
  set("details", e.details.isNull() ? Local<v8::Value>(v8::Null(iso)) : toJs(c, e.details));
  if (!e.source.empty()) {
    set("source", str(iso, e.source));
    set("line", v8::Integer::New(iso, e.line));
  }
  if (e.cause) set("cause", makeError(c, *e.cause));
  return obj;
}

// The name a JavaScript spell calls a declaration by: llm.countTokens, channel.len, recvAny.
std::string jsName(const FunctionDecl& d) {
  if (!d.self.empty()) return d.self + "." + camelCase(d.name);
  if (d.ns.empty()) return camelCase(d.name);
  return d.ns + "." + camelCase(d.name);
}

// Messages from the registry start with the declaration's own name (tools.try_call: ...).
void renameIn(Error& e, const FunctionDecl& d) {
  const std::string& q = d.qualifiedName();
  if (e.message.compare(0, q.size(), q) == 0) e.message = jsName(d) + e.message.substr(q.size());
}

// Nothing is thrown while the spell is being stopped: an exception would replace the
// termination, and the spell's catch would run after its limit.
void throwError(JsCtx* c, Error e) {
  if (c->killed || c->iso->IsExecutionTerminating()) return;
  addPosition(c->iso, e);
  Local<v8::Value> err = makeError(c, e);
  if (c->killed || c->iso->IsExecutionTerminating()) return;
  c->iso->ThrowException(err);
}

// The position of a stack's first frame: "    at f (main.js:3:9)" or "    at main.js:3:9".
void positionFromStack(const std::string& stack, Error& e) {
  auto at = stack.find("\n    at ");
  if (at == std::string::npos) return;
  auto end = stack.find('\n', at + 1);
  std::string frame = stack.substr(at + 8, end == std::string::npos ? std::string::npos : end - at - 8);
  if (auto open = frame.rfind('('); open != std::string::npos && frame.back() == ')') frame = frame.substr(open + 1, frame.size() - open - 2);
  auto c2 = frame.rfind(':');
  if (c2 == std::string::npos) return;
  auto c1 = frame.rfind(':', c2 - 1);
  if (c1 == std::string::npos) return;
  try {
    e.line = std::stoi(frame.substr(c1 + 1, c2 - c1 - 1));
    e.source = frame.substr(0, c1);
  } catch (const std::exception&) {
  }
}

// A JavaScript exception as an error value: an LlmspellError keeps its code, retryable and
// details; anything else is a script_error with the exception's text, and its stack in details.
Error errorFromJs(JsCtx* c, Local<v8::Value> ex, Local<v8::Message> msg = Local<v8::Message>()) {
  v8::Isolate* iso = c->iso;
  if (c->killed) return c->killReason;
  Local<v8::Context> ctx = c->ctx();
  Error e(std::string("script_error"), "");
  v8::TryCatch tc(iso);
  if (ex->IsObject() && !ex->IsProxy()) {
    Local<v8::Object> o = ex.As<v8::Object>();
    // Only the thrown object's own fields count: Object.prototype.code = "limit_exceeded" must
    // not make every error a limit stop.
    auto own = [&](const char* k, Local<v8::Value>* out) {
      Local<v8::String> key = str(iso, k);
      return o->HasOwnProperty(ctx, key).FromMaybe(false) && o->Get(ctx, key).ToLocal(out);
    };
    Local<v8::Value> code, message, retryable, details, stack;
    if (own("code", &code) && code->IsString()) {
      e.code = utf8(iso, code);
      if (own("retryable", &retryable)) e.retryable = retryable->BooleanValue(iso);
      if (own("details", &details) && !details->IsNullOrUndefined()) {
        try {
          e.details = toValue(c, details);
        } catch (const Exception&) {
        }
      }
    }
    if (o->Get(ctx, str(iso, "message")).ToLocal(&message) && message->IsString()) e.message = utf8(iso, message);
    else e.message = utf8(iso, ex);
    Local<v8::Value> src, line;
    if (own("source", &src) && src->IsString() && own("line", &line) && line->IsNumber()) {
      e.source = utf8(iso, src);
      e.line = static_cast<int>(line.As<v8::Number>()->Value());
    }
    if (e.code == "script_error" && o->Get(ctx, str(iso, "stack")).ToLocal(&stack) && stack->IsString())
      e.details = Value::object({{"stack", utf8(iso, stack)}});
  } else {
    e.message = utf8(iso, ex);
  }
  if (tc.HasCaught() && c->killed) return c->killReason;
  if (e.source.empty() && !msg.IsEmpty()) {
    e.source = utf8(iso, msg->GetScriptResourceName());
    e.line = msg->GetLineNumber(ctx).FromMaybe(0);
  }
  if (e.source.empty() && e.details.get("stack").isString()) positionFromStack(e.details.get("stack").asString(), e);
  if (e.message.empty()) e.message = "(empty error)";
  return e;
}

// ---- host promises <-> JavaScript promises ----

void checkpoint(JsCtx* c) {
  if (c->depth != 0 || c->killed) return;
  if (c->dbg) c->dbg->poll();  // breakpoints set while the spell waited
  c->iso->PerformMicrotaskCheckpoint();
}

Local<v8::Promise> jsPromiseFor(JsCtx* c, const PromisePtr& p) {
  v8::Isolate* iso = c->iso;
  Local<v8::Context> ctx = c->ctx();
  Local<v8::Promise::Resolver> res = checked(v8::Promise::Resolver::New(ctx));
  p->markHandled();  // the script owns it now
  auto settle = [](JsCtx* c, Local<v8::Promise::Resolver> r, const Promise& q) {
    Local<v8::Context> ctx = c->ctx();
    try {
      if (q.fulfilled()) (void)r->Resolve(ctx, toJs(c, q.value()));
      else (void)r->Reject(ctx, makeError(c, q.error()));
    } catch (const Exception& e) {
      (void)r->Reject(ctx, makeError(c, e.error()));
    }
  };
  if (!p->pending()) {
    settle(c, res, *p);
    return res->GetPromise();
  }
  auto w = std::make_shared<JsCtx::Waiting>();
  w->resolver = std::make_shared<v8::Global<v8::Promise::Resolver>>(iso, res);
  // The callback holds `p` too (through `w`): the host may keep only a weak reference to a
  // promise it hands out (events.wait), and the script's await must still hear from it.
  // Settling breaks the cycle; for a promise that never settles, close() does.
  w->p = p;
  if (c->waiting.size() >= c->waitingCompactAt) {  // amortized: settled ones leave in batches
    std::erase_if(c->waiting, [](const std::weak_ptr<JsCtx::Waiting>& x) { return x.expired(); });
    c->waitingCompactAt = std::max<size_t>(64, 2 * c->waiting.size());
  }
  c->waiting.push_back(w);
  std::weak_ptr<bool> alive = c->alive;
  p->onSettle([c, w, alive, settle](const Promise& q) {
    PromisePtr self = std::move(w->p);  // keeps `q` alive to the end of this call
    auto g = std::move(w->resolver);
    if (alive.expired() || c->killed || !g) return;
    v8::Isolate::Scope is(c->iso);
    v8::HandleScope hs(c->iso);
    v8::Context::Scope cs(c->ctx());
    settle(c, g->Get(c->iso), q);
    g->Reset();
    checkpoint(c);
  });
  return res->GetPromise();
}

// Settles a host promise when a JavaScript promise does (a PromiseLink per wait).

void linkSettled(const v8::FunctionCallbackInfo<v8::Value>& info, bool ok) {
  auto* link = static_cast<PromiseLink*>(info.Data().As<v8::External>()->Value());
  JsCtx* c = link->c;
  if (!c->links.erase(link)) return;  // settled already (a promise settles once)
  PromisePtr p = std::move(link->p);
  delete link;
  if (c->killed) {
    p->reject(c->killReason);
    return;
  }
  if (ok) {
    try {
      p->resolve(toValue(c, info[0]));
    } catch (const Exception& e) {
      p->reject(e.error());
    }
  } else {
    p->reject(errorFromJs(c, info[0]));
  }
}

void forgetUnhandled(JsCtx* c, Local<v8::Promise> p) {
  auto [b, e] = c->unhandled.equal_range(p->GetIdentityHash());
  for (auto it = b; it != e; ++it)
    if (it->second.first.Get(c->iso) == p) {
      it->second.second->markHandled();
      c->unhandled.erase(it);
      return;
    }
}

PromisePtr hostPromiseFor(JsCtx* c, Local<v8::Promise> jp) {
  v8::Isolate* iso = c->iso;
  Local<v8::Context> ctx = c->ctx();
  switch (jp->State()) {
    case v8::Promise::kFulfilled:
      return Promise::resolved(toValue(c, jp->Result()));
    case v8::Promise::kRejected:
      jp->MarkAsHandled();
      forgetUnhandled(c, jp);  // the host handles it now
      return Promise::rejected(errorFromJs(c, jp->Result()));
    case v8::Promise::kPending:
      break;
  }
  auto out = Promise::create();
  // The link is freed by whichever handler runs, or with the context when neither does.
  auto* link = new PromiseLink{out, c};
  c->links.insert(link);
  Local<v8::External> data = v8::External::New(iso, link);
  Local<v8::Function> onOk, onErr;
  if (!v8::Function::New(ctx, [](const v8::FunctionCallbackInfo<v8::Value>& i) { linkSettled(i, true); }, data).ToLocal(&onOk) ||
      !v8::Function::New(ctx, [](const v8::FunctionCallbackInfo<v8::Value>& i) { linkSettled(i, false); }, data).ToLocal(&onErr) ||
      jp->Then(ctx, onOk, onErr).IsEmpty()) {
    c->links.erase(link);
    delete link;
    return Promise::rejected(c->killed ? c->killReason : Error(codes::kInternal, "could not wait on a JavaScript promise"));
  }
  return out;
}

// ---- values ----

Local<v8::Object> wrapHandle(JsCtx* c, const Value& v);
Local<v8::Function> wrapHostFunction(JsCtx* c, const Value& v);

Local<v8::Value> toJs(JsCtx* c, const Value& v, int depth) {
  v8::Isolate* iso = c->iso;
  if (depth > kMaxDepth) fail(codes::kInvalidArgument, "value is nested too deeply");
  switch (v.kind()) {
    case ValueKind::kNull: return v8::Null(iso);
    case ValueKind::kBool: return v8::Boolean::New(iso, v.asBool());
    case ValueKind::kInt: return v8::Number::New(iso, static_cast<double>(v.asInt()));
    case ValueKind::kDouble: return v8::Number::New(iso, v.asDouble());
    case ValueKind::kString: return str(iso, v.asString());
    case ValueKind::kBytes: {
      const std::string& d = v.asBytes().data;
      Local<v8::ArrayBuffer> ab = v8::ArrayBuffer::New(iso, d.size());
      if (!d.empty()) std::memcpy(ab->GetBackingStore()->Data(), d.data(), d.size());
      return v8::Uint8Array::New(ab, 0, d.size());
    }
    case ValueKind::kArray: {
      Local<v8::Context> ctx = c->ctx();
      const Array& a = v.asArray();
      Local<v8::Array> out = v8::Array::New(iso, static_cast<int>(a.size()));
      for (size_t i = 0; i < a.size(); ++i) (void)out->CreateDataProperty(ctx, static_cast<uint32_t>(i), toJs(c, a[i], depth + 1));
      return out;
    }
    case ValueKind::kObject: {
      Local<v8::Context> ctx = c->ctx();
      Local<v8::Object> out = v8::Object::New(iso);
      for (const auto& [k, x] : v.asObject()) (void)out->CreateDataProperty(ctx, str(iso, k), toJs(c, x, depth + 1));
      return out;
    }
    case ValueKind::kFunction: return wrapHostFunction(c, v);
    case ValueKind::kPromise: return jsPromiseFor(c, v.asPromise());
    case ValueKind::kError: return makeError(c, *v.asError());
    case ValueKind::kHandle: return wrapHandle(c, v);
  }
  return v8::Undefined(iso);
}

Boxed* boxOf(JsCtx* c, Local<v8::Object> o) {
  if (o->InternalFieldCount() >= 1) return static_cast<Boxed*>(o->GetAlignedPointerFromInternalField(0));
  if (!o->IsFunction()) return nullptr;
  Local<v8::Value> b;
  if (!o->GetPrivate(c->ctx(), c->boxKey.Get(c->iso)).ToLocal(&b) || !b->IsExternal()) return nullptr;
  return static_cast<Boxed*>(b.As<v8::External>()->Value());
}

FunctionPtr makeJsFunction(JsCtx* c, Local<v8::Function> f);

Value toValue(JsCtx* c, Local<v8::Value> v, int depth) {
  v8::Isolate* iso = c->iso;
  if (depth > kMaxDepth) fail(codes::kInvalidArgument, "value is nested too deeply (or cyclic)");
  if (v.IsEmpty()) return Value();
  if (v->IsInt32()) return Value(static_cast<int64_t>(v.As<v8::Int32>()->Value()));
  if (v->IsString()) {
    Local<v8::String> s = v.As<v8::String>();
    if (static_cast<size_t>(s->Length()) >= kHostCopyCheck / 3) {
      // A long string may be a rope that the copy flattens in the heap first: count the heap
      // as it is now, not as the last collection left it.
      size_t bytes = static_cast<size_t>(s->Utf8Length(iso));
      if (bytes >= kHostCopyCheck) {
        v8::HeapStatistics hs;
        iso->GetHeapStatistics(&hs);
        c->heapUsed = hs.used_heap_size();
        c->run->memory().require(bytes, "a string passed to the host");
      }
    }
    return Value(utf8(iso, s));
  }
  if (v->IsNullOrUndefined()) return Value();
  if (v->IsBoolean()) return Value(v->BooleanValue(iso));
  if (v->IsNumber()) {
    double d = v.As<v8::Number>()->Value();
    // Integral numbers are integers for the host (json.encode(1) is "1", not "1.0").
    if (d == static_cast<double>(static_cast<int64_t>(d)) && d >= -9007199254740992.0 && d <= 9007199254740992.0 &&
        !(d == 0 && std::signbit(d)))
      return Value(static_cast<int64_t>(d));
    return Value(d);
  }
  if (v->IsBigInt()) {
    bool lossless = false;
    int64_t i = v.As<v8::BigInt>()->Int64Value(&lossless);
    if (!lossless) fail(codes::kInvalidArgument, "a BigInt beyond 64 bits cannot be passed to the host");
    return Value(i);
  }
  if (v->IsSymbol()) fail(codes::kInvalidArgument, "a Symbol cannot be passed to the host");
  if (v->IsProxy()) fail(codes::kInvalidArgument, "a Proxy cannot be passed to the host (pass a plain object)");
  if (v->IsFunction()) {
    if (Boxed* b = boxOf(c, v.As<v8::Object>())) return b->v;
    return Value(makeJsFunction(c, v.As<v8::Function>()));
  }
  if (v->IsPromise()) return Value(hostPromiseFor(c, v.As<v8::Promise>()));
  if (v->IsDate()) {
    // As JSON.stringify writes it (Date.prototype.toJSON): ISO 8601 in UTC, null when invalid.
    double ms = v.As<v8::Date>()->ValueOf();
    if (!std::isfinite(ms)) return Value();
    auto tp = std::chrono::sys_time<std::chrono::milliseconds>(std::chrono::milliseconds(static_cast<int64_t>(ms)));
    auto day = std::chrono::floor<std::chrono::days>(tp);
    std::chrono::year_month_day ymd(day);
    std::chrono::hh_mm_ss hms(tp - day);
    char buf[40];
    int y = static_cast<int>(ymd.year());
    std::snprintf(buf, sizeof buf, y >= 0 && y <= 9999 ? "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ" : "%+07d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                  y, static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
    return Value(std::string(buf));
  }
  if (v->IsArrayBufferView()) {
    Local<v8::ArrayBufferView> view = v.As<v8::ArrayBufferView>();
    if (view->ByteLength() >= kHostCopyCheck) c->run->memory().require(view->ByteLength(), "bytes passed to the host");
    Bytes b;
    b.data.resize(view->ByteLength());
    if (!b.data.empty()) view->CopyContents(b.data.data(), b.data.size());
    return Value(std::move(b));
  }
  if (v->IsArrayBuffer()) {
    auto bs = v.As<v8::ArrayBuffer>()->GetBackingStore();
    if (bs->ByteLength() >= kHostCopyCheck) c->run->memory().require(bs->ByteLength(), "bytes passed to the host");
    return Value(Bytes{std::string(static_cast<const char*>(bs->Data()), bs->ByteLength())});
  }
  Local<v8::Context> ctx = c->ctx();
  if (v->IsArray()) {
    Local<v8::Array> a = v.As<v8::Array>();
    uint32_t n = a->Length();
    std::vector<Value> items;
    items.reserve(std::min<uint32_t>(n, 1u << 16));
    for (uint32_t i = 0; i < n; ++i) {
      Local<v8::Value> x;
      if (!a->Get(ctx, i).ToLocal(&x)) throw Exception(Error(codes::kCancelled, ""));  // JS exception pending
      items.push_back(toValue(c, x, depth + 1));
    }
    return Value::array(std::move(items));
  }
  if (v->IsObject()) {
    Local<v8::Object> o = v.As<v8::Object>();
    if (Boxed* b = boxOf(c, o)) return b->v;
    Local<v8::Value> ec = c->errorClass.Get(iso);
    if (o->InstanceOf(ctx, ec.As<v8::Object>()).FromMaybe(false) || v->IsNativeError())
      return Value(std::make_shared<Error>(errorFromJs(c, v)));
    Local<v8::Array> keys;
    if (!o->GetOwnPropertyNames(ctx, v8::ONLY_ENUMERABLE, v8::KeyConversionMode::kConvertToString).ToLocal(&keys))
      throw Exception(Error(codes::kCancelled, ""));
    Value out = Value::object();
    for (uint32_t i = 0; i < keys->Length(); ++i) {
      Local<v8::Value> k, x;
      if (!keys->Get(ctx, i).ToLocal(&k) || !o->Get(ctx, k).ToLocal(&x)) throw Exception(Error(codes::kCancelled, ""));
      if (x->IsUndefined()) continue;  // as JSON.stringify leaves it out
      out.asObject().set(utf8(iso, k), toValue(c, x, depth + 1));
    }
    return out;
  }
  return Value();
}

// ---- host objects and host functions as JavaScript values ----

void releaseBox(const v8::WeakCallbackInfo<Boxed>& w) {
  Boxed* b = w.GetParameter();
  JsCtx* c = ctxOf(w.GetIsolate());
  b->wrapper.Reset();
  if (c) c->boxes.erase(b);
  delete b;
}

// The host value lives as long as its wrapper (weak callback), or until the context closes.
Boxed* newBox(JsCtx* c, const Value& v, Local<v8::Object> wrapper) {
  auto* b = new Boxed{v, {}};
  b->wrapper.Reset(c->iso, wrapper);
  b->wrapper.SetWeak(b, releaseBox, v8::WeakCallbackType::kParameter);
  c->boxes.insert(b);
  if (wrapper->InternalFieldCount() >= 1) wrapper->SetAlignedPointerInInternalField(0, b);
  else (void)wrapper->SetPrivate(c->ctx(), c->boxKey.Get(c->iso), v8::External::New(c->iso, b));
  return b;
}

Local<v8::FunctionTemplate> typeTemplate(JsCtx* c, const std::string& type);

Local<v8::Object> wrapHandle(JsCtx* c, const Value& v) {
  std::string type(v.asHandle()->typeName());
  Local<v8::Object> o;
  if (!typeTemplate(c, type)->InstanceTemplate()->NewInstance(c->ctx()).ToLocal(&o)) fail(codes::kLimitExceeded, "out of memory");
  newBox(c, v, o);
  return o;
}

// A host function value called from JavaScript: returns a Promise of its result.
void callHostFunction(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* iso = info.GetIsolate();
  JsCtx* c = ctxOf(iso);
  if (c->killed) return;
  Boxed* b = static_cast<Boxed*>(info.Data().As<v8::External>()->Value());
  if (!b || !b->v.isFunction()) return;
  std::vector<Value> args;
  try {
    for (int i = 0; i < info.Length(); ++i) args.push_back(toValue(c, info[i]));
    PromisePtr p = b->v.asFunction()->call(std::move(args));
    // A call that finished at once answers at once, as in Lua and Tengo: a failed
    // test.expect(x).toEqual(y) must throw where it stands, not reject a promise nobody awaits.
    // A call that waits returns a Promise to await.
    if (p->fulfilled()) {
      info.GetReturnValue().Set(toJs(c, p->value(), 0));
      return;
    }
    if (p->rejected()) {
      p->markHandled();
      throwError(c, p->error());
      return;
    }
    info.GetReturnValue().Set(jsPromiseFor(c, p));
  } catch (const Exception& e) {
    if (!e.error().message.empty() && !c->killed) throwError(c, e.error());
  }
}

Local<v8::Function> wrapHostFunction(JsCtx* c, const Value& v) {
  // The function's data is its box, created first; the box's weak handle is the function.
  auto* b = new Boxed{v, {}};
  Local<v8::Function> f;
  if (!v8::Function::New(c->ctx(), callHostFunction, v8::External::New(c->iso, b)).ToLocal(&f)) {
    delete b;
    fail(codes::kLimitExceeded, "out of memory");
  }
  b->wrapper.Reset(c->iso, f);
  b->wrapper.SetWeak(b, releaseBox, v8::WeakCallbackType::kParameter);
  c->boxes.insert(b);
  (void)f->SetPrivate(c->ctx(), c->boxKey.Get(c->iso), v8::External::New(c->iso, b));
  return f;
}

// ---- the generic binding ----

// Arguments: a method gets its object first.
void thunk(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Isolate* iso = info.GetIsolate();
  JsCtx* c = ctxOf(iso);
  if (c->killed) return;
  auto* d = static_cast<const FunctionDecl*>(info.Data().As<v8::External>()->Value());
  size_t self = d->self.empty() ? 0 : 1;
  size_t n = static_cast<size_t>(info.Length()) + self;
  ArgBuffer buf(std::max(n, d->params.size()));
  Value* args = buf.data();
  try {
    if (self) {
      Boxed* b = info.This()->IsObject() ? boxOf(c, info.This()) : nullptr;
      if (!b) {
        throwError(c, Error(codes::kInvalidArgument, jsName(*d) + ": call it as a method of a " + d->self +
                                                         " object (obj." + camelCase(d->name) + "(...))"));
        return;
      }
      args[0] = b->v;
    }
    for (int i = 0; i < info.Length(); ++i) args[self + static_cast<size_t>(i)] = toValue(c, info[i]);
  } catch (const Exception& e) {
    if (e.error().message.empty()) return;  // a JavaScript exception (a getter threw) is pending
    Error err = e.error();
    err.message = jsName(*d) + ": " + err.message;
    throwError(c, err);
    return;
  }
  traceScriptCall(*d);
  if (auto err = Registry::validate(*d, args, n)) {
    renameIn(*err, *d);
    throwError(c, *err);
    return;
  }
  CallContext cx{*c->run, *c->loop, d->qualifiedName()};
  Args span(args, n);
  try {
    if (!d->async) {
      ErrorPtr err;
      Value r = Registry::callSync(*d, cx, span, err);
      if (c->killed) return;
      if (err) {
        renameIn(*err, *d);
        throwError(c, *err);
        return;
      }
      info.GetReturnValue().Set(toJs(c, r));
      return;
    }
    if (c->current && c->current->cancelled) {
      throwError(c, Error(codes::kCancelled, jsName(*d) + ": cancelled (the call that runs this code was cancelled)"));
      return;
    }
    PromisePtr p = Registry::callAsync(*d, cx, span);
    if (c->killed) return;
    if (c->current && p->pending()) c->current->waiting.push_back(p);
    info.GetReturnValue().Set(jsPromiseFor(c, p));
  } catch (const Exception& e) {
    if (!c->killed) throwError(c, e.error());
  }
}

Local<v8::FunctionTemplate> typeTemplate(JsCtx* c, const std::string& type) {
  auto it = c->types.find(type);
  if (it != c->types.end()) return it->second.Get(c->iso);
  v8::Isolate* iso = c->iso;
  Local<v8::FunctionTemplate> t = v8::FunctionTemplate::New(iso);
  t->SetClassName(str(iso, type));
  t->InstanceTemplate()->SetInternalFieldCount(1);
  c->types[type].Reset(iso, t);
  return t;
}

// A name that is not in a namespace is a mistake (llm.chta): answered with the closest names
// instead of an undefined that fails later as "llm.chta is not a function".
void namespaceMiss(Local<v8::Name> property, const v8::PropertyCallbackInfo<v8::Value>& info) {
  if (!property->IsString()) return;
  v8::Isolate* iso = info.GetIsolate();
  JsCtx* c = ctxOf(iso);
  std::string name = utf8(iso, property.As<v8::String>());
  // Looked up by the language itself (await of the object, JSON, string conversion): not a miss.
  static const std::unordered_set<std::string> kProbes = {"then", "toJSON", "inspect", "length", "prototype"};
  if (kProbes.count(name)) return;
  Local<v8::Context> ctx = iso->GetCurrentContext();
  // The interceptor sits on the namespace's prototype: Object.prototype's names pass through.
  Local<v8::Value> up = info.Holder()->GetPrototype();
  if (up->IsObject() && up.As<v8::Object>()->Has(ctx, property).FromMaybe(false)) return;
  Local<v8::Array> keys;
  std::vector<std::string> members;
  if (info.This()->GetOwnPropertyNames(ctx).ToLocal(&keys))
    for (uint32_t i = 0; i < keys->Length(); ++i) {
      Local<v8::Value> k;
      if (keys->Get(ctx, i).ToLocal(&k)) members.push_back(utf8(iso, k));
    }
  Local<v8::Value> nsv;
  std::string ns = "namespace";
  if (info.Data()->IsString()) ns = utf8(iso, info.Data());
  Error e(codes::kNotFound, unknownMemberMessage(ns, name, members));
  e.details = Value::object({{"namespace", ns}, {"name", name}});
  throwError(c, e);
}


// The registry's declarations by namespace, once per process.
struct NamespaceDecls {
  std::string name;
  std::vector<const FunctionDecl*> decls;
};
const std::vector<NamespaceDecls>& namespaceDecls() {
  static const std::vector<NamespaceDecls> all = [] {
    std::vector<NamespaceDecls> out;
    const Registry& reg = Registry::global();
    for (const auto& ns : reg.namespaces()) out.push_back({ns, {}});
    for (const auto& d : reg.functions()) {
      if (!d.self.empty() || d.ns.empty()) continue;
      for (auto& n : out)
        if (n.name == d.ns) n.decls.push_back(&d);
    }
    return out;
  }();
  return all;
}

// A function or property of the registry on `target`.
void bindDecl(JsCtx* c, Local<v8::Object> target, const FunctionDecl& d) {
  v8::Isolate* iso = c->iso;
  Local<v8::Context> ctx = c->ctx();
  std::string name = camelCase(d.name);
  if (d.property) {
    ErrorPtr err;
    CallContext cx{*c->run, *c->loop, d.name};
    Value v = Registry::callSync(d, cx, Args(), err);
    (void)target->CreateDataProperty(ctx, str(iso, name), err ? Local<v8::Value>(v8::Null(iso)) : toJs(c, v));
    return;
  }
  Local<v8::External> data = v8::External::New(iso, const_cast<FunctionDecl*>(&d));
  Local<v8::Function> f = checked(v8::Function::New(ctx, thunk, data, 0, v8::ConstructorBehavior::kThrow));
  f->SetName(str(iso, name));
  (void)target->CreateDataProperty(ctx, str(iso, name), f);
}

// A namespace object is made when the spell first names it: most spells use a few of them, and
// making all of them (some 300 functions) was most of a context's start-up.
void makeNamespace(Local<v8::Name> property, const v8::PropertyCallbackInfo<v8::Value>& info) {
  v8::Isolate* iso = info.GetIsolate();
  JsCtx* c = ctxOf(iso);
  const auto& ns = namespaceDecls()[static_cast<size_t>(info.Data().As<v8::Integer>()->Value())];
  Local<v8::Context> ctx = c->ctx();
  try {
    // A plain object whose prototype answers the names it does not have (namespaceMiss).
    Local<v8::ObjectTemplate> ot = v8::ObjectTemplate::New(iso);
    // The query callback answers "not here" for `in` and hasOwnProperty, which must not throw.
    auto notHere = [](Local<v8::Name>, const v8::PropertyCallbackInfo<v8::Integer>&) {};
    ot->SetHandler(v8::NamedPropertyHandlerConfiguration(namespaceMiss, nullptr, notHere, nullptr, nullptr, str(iso, ns.name),
                                                          v8::PropertyHandlerFlags::kOnlyInterceptStrings));
    Local<v8::Object> miss = checked(ot->NewInstance(ctx));
    Local<v8::Object> o = v8::Object::New(iso);
    (void)o->SetPrototype(ctx, miss);
    for (const FunctionDecl* d : ns.decls) bindDecl(c, o, *d);
    info.GetReturnValue().Set(o);
  } catch (const Exception& e) {
    throwError(c, e.error());
  }
}

void bindRegistry(JsCtx* c) {
  v8::Isolate* iso = c->iso;
  Local<v8::Context> ctx = c->ctx();
  Local<v8::Object> global = ctx->Global();
  const Registry& reg = Registry::global();
  const auto& nss = namespaceDecls();
  for (size_t i = 0; i < nss.size(); ++i)
    (void)global->SetLazyDataProperty(ctx, str(iso, nss[i].name), makeNamespace, v8::Integer::New(iso, static_cast<int>(i)));
  for (const auto& d : reg.functions()) {
    if (!d.self.empty()) {
      Local<v8::External> data = v8::External::New(iso, const_cast<FunctionDecl*>(&d));
      typeTemplate(c, d.self)->PrototypeTemplate()->Set(str(iso, camelCase(d.name)), v8::FunctionTemplate::New(iso, thunk, data));
    } else if (d.ns.empty() && !jsSkipsGlobal(d.name)) {
      bindDecl(c, global, d);
    }
  }
}

// ---- JavaScript functions as Values ----

// An object with a callable `then` (reading it may run a getter: it is the script's own code).
bool isThenable(JsCtx* c, Local<v8::Value> v) {
  if (!v->IsObject() || v->IsProxy()) return false;
  Local<v8::Value> then;
  return v.As<v8::Object>()->Get(c->ctx(), str(c->iso, "then")).ToLocal(&then) && then->IsFunction();
}

class JsFunction final : public Function {
 public:
  JsFunction(JsCtx* c, Local<v8::Function> f) : c_(c), alive_(c->alive), fn_(c->iso, f) {}
  ~JsFunction() override {
    if (alive_.expired()) fn_.Empty();  // the isolate is gone: nothing to release
  }
  PromisePtr call(std::vector<Value> args) override {
    if (alive_.expired()) return Promise::rejected(Error(codes::kCancelled, "the spell that owned this function has ended"));
    JsCtx* c = c_;
    if (c->killed) return Promise::rejected(c->killReason);
    v8::Isolate* iso = c->iso;
    v8::Isolate::Scope is(iso);
    v8::HandleScope hs(iso);
    Local<v8::Context> ctx = c->ctx();
    v8::Context::Scope cs(ctx);
    v8::TryCatch tc(iso);
    if (c->dbg && c->depth == 0) c->dbg->poll();
    PromisePtr out;
    auto task = std::make_shared<JsTask>();
    task->id = ++c->nextTask;
    task->usageScope = c->run->usageScope;
    c->tasks.emplace(task->id, task);
    try {
      std::vector<Local<v8::Value>> argv;
      argv.reserve(args.size());
      for (const auto& a : args) argv.push_back(toJs(c, a));
      ++c->depth;
      enterTask(c, task.get());
      MaybeLocal<v8::Value> r = fn_.Get(iso)->Call(ctx, v8::Undefined(iso), static_cast<int>(argv.size()), argv.data());
      leaveTask(c);
      --c->depth;
      Local<v8::Value> rv;
      if (!r.ToLocal(&rv)) {
        out = Promise::rejected(c->killed || tc.HasTerminated() ? stopError(c) : errorFromJs(c, tc.Exception(), tc.Message()));
      } else if (rv->IsPromise()) {
        out = hostPromiseFor(c, rv.As<v8::Promise>());
      } else if (isThenable(c, rv)) {
        // A thenable is adopted, as `await` and Promise.resolve do: its then may settle it later.
        Local<v8::Promise::Resolver> res = checked(v8::Promise::Resolver::New(ctx));
        (void)res->Resolve(ctx, rv);
        out = hostPromiseFor(c, res->GetPromise());
      } else {
        out = Promise::resolved(toValue(c, rv));
      }
    } catch (const Exception& e) {
      out = Promise::rejected(c->killed ? c->killReason : e.error());
    }
    checkpoint(c);
    if (out->pending()) {
      ++c->pendingCalls;
      std::weak_ptr<bool> alive = alive_;
      int id = task->id;
      out->onSettle([c, alive, id](const Promise&) {
        if (alive.expired()) return;
        --c->pendingCalls;
        c->tasks.erase(id);  // a cancelled one comes back (the canceller): its code goes on, and must fail to wait
      });
      // Cancelling the call cancels what its code waits on; later waits fail at once. (The
      // canceller holds the task: cancel() settles `out` first, which drops it from c->tasks.)
      out->setCanceller([t = task, c, alive] {
        t->cancelled = true;
        if (!alive.expired()) c->tasks[t->id] = t;  // cancel() settled `out` first, which dropped it
        auto waiting = std::move(t->waiting);
        for (auto& w : waiting)
          if (auto p = w.lock(); p && p->pending()) p->cancel();
      });
    } else {
      c->tasks.erase(task->id);
    }
    return out;
  }
  std::string describe() const override { return "javascript function"; }

 private:
  static Error stopError(JsCtx* c) {
    return c->killed ? c->killReason : Error(codes::kLimitExceeded, "the spell was stopped");
  }
  JsCtx* c_;
  std::weak_ptr<bool> alive_;
  v8::Global<v8::Function> fn_;
};

FunctionPtr makeJsFunction(JsCtx* c, Local<v8::Function> f) { return std::make_shared<JsFunction>(c, f); }

// ---- the prelude: LlmspellError, print, console, and the names a spell must not have ----

const char* const kPrelude = R"JS(
(function (writeOut, writeErr) {
  'use strict';
  const define = Object.defineProperty;
  class LlmspellError extends Error {
    constructor(message, code = 'script_error', retryable = false, details = null) {
      super(message);
      // Own fields, defined rather than assigned: a setter the spell put on Object.prototype
      // must not run (or refuse) while the host builds its errors.
      define(this, 'code', {value: code, writable: true, enumerable: true, configurable: true});
      define(this, 'retryable', {value: retryable, writable: true, enumerable: true, configurable: true});
      define(this, 'details', {value: details, writable: true, enumerable: true, configurable: true});
    }
    get name() { return 'LlmspellError'; }
    toString() {
      const at = (typeof this.source === 'string' && this.line > 0) ? ` (at ${this.source}:${this.line})` : '';
      return `${this.code}: ${this.message}${at}`;
    }
  }
  // The spell may replace globals and prototypes (String, JSON, Array.prototype.map): what
  // print and console use is taken now, and joined by hand.
  const S = String, stringify = JSON.stringify, isError = (v) => v instanceof Error;
  const show = (v) => {
    if (typeof v === 'string') return v;
    if (isError(v)) return S(v);
    if (v !== null && typeof v === 'object') {
      try { return stringify(v); } catch (e) { return S(v); }
    }
    return S(v);
  };
  const join = (args, sep, f) => {
    let out = '';
    for (let i = 0; i < args.length; i++) out += (i ? sep : '') + f(args[i]);
    return out;
  };
  const line = (args) => join(args, ' ', show);
  Object.defineProperty(globalThis, 'LlmspellError', {value: LlmspellError, writable: false, enumerable: false});
  globalThis.print = (...args) => writeOut(join(args, '\t', (v) => (typeof v === 'string' ? v : S(v))) + '\n');
  globalThis.console = Object.freeze({
    log: (...a) => writeOut(line(a) + '\n'), info: (...a) => writeOut(line(a) + '\n'),
    debug: (...a) => writeOut(line(a) + '\n'),
    warn: (...a) => writeErr(line(a) + '\n'), error: (...a) => writeErr(line(a) + '\n'),
  });
  for (const name of ['SharedArrayBuffer', 'Atomics', 'WebAssembly']) delete globalThis[name];
  return LlmspellError;
})
)JS";

void writeOut(const v8::FunctionCallbackInfo<v8::Value>& info) {
  std::string s = utf8(info.GetIsolate(), info[0]);
  std::fwrite(s.data(), 1, s.size(), stdout);
  // Under a debugger, output shows before the next stop (`llmspell dap` turns it into events).
  if (JsCtx* c = ctxOf(info.GetIsolate()); c && c->dbg) std::fflush(stdout);
}
void writeErr(const v8::FunctionCallbackInfo<v8::Value>& info) {
  std::string s = utf8(info.GetIsolate(), info[0]);
  std::fwrite(s.data(), 1, s.size(), stderr);
}

// ---- callbacks the isolate makes ----

void promiseHook(v8::PromiseHookType type, Local<v8::Promise> p, Local<v8::Value> parent) {
  JsCtx* c = ctxOf(p->GetIsolate());
  if (!c || c->killed) return;
  switch (type) {
    case v8::PromiseHookType::kInit: {
      JsTask* t = c->current;
      if (!t && !parent.IsEmpty() && parent->IsPromise()) t = taskOf(c, parent.As<v8::Promise>());
      if (t) (void)p->SetPrivate(c->ctx(), c->taskKey.Get(c->iso), v8::Integer::New(c->iso, t->id));
      break;
    }
    case v8::PromiseHookType::kBefore:
      enterTask(c, taskOf(c, p));
      break;
    case v8::PromiseHookType::kAfter:
      leaveTask(c);
      break;
    case v8::PromiseHookType::kResolve:
      break;
  }
}

void onPromiseReject(v8::PromiseRejectMessage m) {
  Local<v8::Promise> p = m.GetPromise();
  v8::Isolate* iso = p->GetIsolate();
  JsCtx* c = ctxOf(iso);
  if (!c || c->killed) return;
  int h = p->GetIdentityHash();
  if (m.GetEvent() == v8::kPromiseRejectWithNoHandler) {
    Error e = errorFromJs(c, m.GetValue());
    PromisePtr hp = Promise::rejected(e);
    c->run->service<SpawnedTasks>([] { return std::make_shared<SpawnedTasks>(); }).add(hp);
    c->unhandled.emplace(h, std::make_pair(v8::Global<v8::Promise>(iso, p), hp));
  } else if (m.GetEvent() == v8::kPromiseHandlerAddedAfterReject) {
    forgetUnhandled(c, p);
  }
}

// The heap is full: the spell stops, with some headroom for the termination to unwind. If one
// allocation needs more than that, V8 ends in onOutOfMemory, after printing its own GC report
// on stderr, which a spell's user has no use for: stderr goes to /dev/null until the stop has
// unwound (the loop puts it back) or onOutOfMemory does.
int gSavedStderr = -1;

void restoreStderr() {
  if (gSavedStderr < 0) return;
  std::fflush(stderr);
  dup2(gSavedStderr, STDERR_FILENO);
  close(gSavedStderr);
  gSavedStderr = -1;
}

size_t nearHeapLimit(void* data, size_t current, size_t /*initial*/) {
  auto* c = static_cast<JsCtx*>(data);
  if (!c->killed && gSavedStderr < 0) {
    std::fflush(stderr);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull >= 0) {
      gSavedStderr = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
      dup2(devnull, STDERR_FILENO);
      close(devnull);
    }
    c->loop->post([] { restoreStderr(); });
  }
  c->kill(Error(codes::kLimitExceeded, "memory limit of " + std::to_string(c->memLimit >> 20) + " MiB exceeded"));
  // Headroom once: a built-in that goes on allocating after the stop (JSON.parse of a huge
  // text runs to its end before the termination is seen) would otherwise be granted more each
  // time. Past it, V8 gives up and onOutOfMemory ends the process with the same error.
  if (c->headroomGiven) return current;
  c->headroomGiven = true;
  return current + kKillHeadroom;
}

// V8 cannot go on after an allocation it could not make even past the near-heap-limit headroom
// (one allocation larger than the cap): the process ends, with the limit's error and exit 3.
[[noreturn]] void onOutOfMemory(const char* /*location*/, bool /*isHeap*/) {
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  JsCtx* c = iso ? ctxOf(iso) : nullptr;
  restoreStderr();
  Error e(codes::kLimitExceeded,
          c && c->memLimit < (SIZE_MAX >> 2) ? "memory limit of " + std::to_string(c->memLimit >> 20) + " MiB exceeded"
                                             : std::string("out of memory"));
  if (c && c->limits.hardStop) c->limits.hardStop(e);
  std::fprintf(stderr, "error[%s]: %s\n", e.code.c_str(), e.message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(3);
}

// A V8 fatal error, after V8 printed its message: ends the process as a limit stop (exit 3)
// instead of a core dump with V8's stack trace. The usual cause is an object past V8's size
// limits, which is a limit the spell ran into; a V8 bug would be reported the same way.
[[noreturn]] void onV8Fatal() {
  v8::Isolate* iso = v8::Isolate::GetCurrent();
  JsCtx* c = iso ? ctxOf(iso) : nullptr;
  restoreStderr();
  std::fputc('\n', stderr);  // V8's last line has no end
  Error e(codes::kLimitExceeded,
          "the JavaScript engine stopped on a fatal error (V8's message is above): a string or array "
          "past V8's size limits");
  if (c && c->limits.hardStop) c->limits.hardStop(e);
  std::fprintf(stderr, "error[%s]: %s\n", e.code.c_str(), e.message.c_str());
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(3);
}

void afterGc(v8::Isolate* iso, v8::GCType, v8::GCCallbackFlags, void* data) {
  v8::HeapStatistics hs;
  iso->GetHeapStatistics(&hs);
  static_cast<JsCtx*>(data)->heapUsed = hs.used_heap_size();
}

v8::ModifyCodeGenerationFromStringsResult refuseCodeGen(Local<v8::Context>, Local<v8::Value>, bool) {
  return {false, {}};
}

MaybeLocal<v8::Promise> refuseDynamicImport(Local<v8::Context> ctx, Local<v8::Data>, Local<v8::Value>,
                                            Local<v8::String> specifier, Local<v8::FixedArray>) {
  v8::Isolate* iso = ctx->GetIsolate();
  JsCtx* c = ctxOf(iso);
  Local<v8::Promise::Resolver> r;
  if (!v8::Promise::Resolver::New(ctx).ToLocal(&r)) return {};
  Error e(codes::kPermissionDenied, "import('" + utf8(iso, specifier) +
                                        "'): dynamic import is not available in spells; use a static import of a file "
                                        "inside the spell's directory");
  (void)r->Reject(ctx, makeError(c, e));
  return r->GetPromise();
}

// ---- modules ----

std::string normalizeRel(const std::string& from, const std::string& spec) {
  namespace fs = std::filesystem;
  fs::path base = fs::path(from).parent_path();
  return (base / spec).lexically_normal().generic_string();
}

MaybeLocal<v8::Module> compileModule(JsCtx* c, const std::string& text, const std::string& name, const std::string& rel,
                                     Error* err);

MaybeLocal<v8::Module> resolveModule(Local<v8::Context> ctx, Local<v8::String> specifier, Local<v8::FixedArray>,
                                     Local<v8::Module> referrer) {
  v8::Isolate* iso = ctx->GetIsolate();
  JsCtx* c = ctxOf(iso);
  std::string spec = utf8(iso, specifier);
  std::string from;
  auto it = c->modulesByHash.find(referrer->GetIdentityHash());
  if (it != c->modulesByHash.end())
    for (ModuleInfo* m : it->second)
      if (m->module.Get(iso) == referrer) from = m->rel;
  if (spec.rfind("./", 0) != 0 && spec.rfind("../", 0) != 0) {
    throwError(c, Error(codes::kPermissionDenied, "import '" + spec +
                                                      "': spells import files of their own by relative path ('./lib.js'); "
                                                      "there are no packages or Node modules"));
    return {};
  }
  std::string rel = normalizeRel(from, spec);
  if (auto m = c->modulesByPath.find(rel); m != c->modulesByPath.end()) return m->second->module.Get(iso);
  try {
    SpellSource src = readSpellSource(*c->run, rel, "import '" + spec + "'");
    Error e;
    MaybeLocal<v8::Module> mod = compileModule(c, src.text, src.chunkName, rel, &e);
    if (mod.IsEmpty()) {
      throwError(c, e.code == codes::kInvalidArgument ? sourceSyntaxError(src, e) : e);
      return {};
    }
    return mod;
  } catch (const Exception& e) {
    throwError(c, e.error());
    return {};
  }
}

Error syntaxError(JsCtx* c, v8::TryCatch& tc) {
  if (c->killed || tc.HasTerminated()) return c->killed ? c->killReason : Error(codes::kLimitExceeded, "stopped");
  Error e = errorFromJs(c, tc.Exception(), tc.Message());
  e.code = std::string(codes::kInvalidArgument);
  e.details = Value();
  e.message = "syntax error: " + e.message;
  return e;
}

MaybeLocal<v8::Module> compileModule(JsCtx* c, const std::string& text, const std::string& name, const std::string& rel,
                                     Error* err) {
  v8::Isolate* iso = c->iso;
  v8::TryCatch tc(iso);
  v8::ScriptOrigin origin(iso, str(iso, name), 0, 0, false, -1, Local<v8::Value>(), false, false, true);
  v8::ScriptCompiler::Source source(str(iso, text), origin);
  Local<v8::Module> mod;
  if (!v8::ScriptCompiler::CompileModule(iso, &source).ToLocal(&mod)) {
    *err = syntaxError(c, tc);
    return {};
  }
  auto info = std::make_unique<ModuleInfo>();
  info->rel = rel;
  info->module.Reset(iso, mod);
  c->modulesByHash[mod->GetIdentityHash()].push_back(info.get());
  c->modulesByPath[rel] = std::move(info);
  return mod;
}

}  // namespace

// ---- the context ----

class JsContext final : public ScriptContext, public Debuggable {
 public:
  JsContext(RunContext& run, const Limits& limits) {
    // V8 counts no instructions, and a budget silently ignored would be a limit that does not
    // hold: refused, with the limit that does.
    if (limits.instructions)
      fail(codes::kConfigError, "the js engine cannot count instructions (--instruction-limit, limits.instructions): "
                                "use --timeout (limits.timeout) to bound a JavaScript spell");
    initV8();
    c_.run = &run;
    c_.loop = &run.loop();
    c_.limits = limits;
    c_.memLimit = limits.memoryBytes ? limits.memoryBytes : SIZE_MAX / 2;
    c_.buffers.admit = [this](size_t bytes) {
      if (c_.killed) return false;
      if (c_.used() + bytes > c_.memLimit) {
        c_.kill(Error(codes::kLimitExceeded, "memory limit of " + std::to_string(c_.memLimit >> 20) + " MiB exceeded"));
        return false;
      }
      return true;
    };
    allocator_ = js::newBufferAllocator(&c_.buffers);
    v8::Isolate::CreateParams params;
    params.array_buffer_allocator = static_cast<v8::ArrayBuffer::Allocator*>(allocator_);
    // The old generation holds the cap; the young one stays small (V8 would size it from the
    // cap, and a large one is RSS a short spell touches for nothing).
    // Set even without a cap: V8's defaults for an unset heap cost 100 MB of RSS at start.
    params.constraints.set_max_old_generation_size_in_bytes(limits.memoryBytes ? c_.memLimit : (size_t{4} << 30));
    params.constraints.set_max_young_generation_size_in_bytes(std::min<size_t>(c_.memLimit / 4, 8u << 20));
    params.constraints.set_initial_young_generation_size_in_bytes(1u << 20);
    iso_ = v8::Isolate::New(params);
    c_.iso = iso_;
    iso_->SetData(0, &c_);
    iso_->SetMicrotasksPolicy(v8::MicrotasksPolicy::kExplicit);
    iso_->AddNearHeapLimitCallback(nearHeapLimit, &c_);
    iso_->AddGCEpilogueCallback(afterGc, &c_);
    iso_->SetModifyCodeGenerationFromStringsCallback(refuseCodeGen);
    iso_->SetHostImportModuleDynamicallyCallback(refuseDynamicImport);
    iso_->SetPromiseRejectCallback(onPromiseReject);
    iso_->SetOOMErrorHandler(onOutOfMemory);
    iso_->SetPromiseHook(promiseHook);
    {
      v8::Isolate::Scope is(iso_);
      v8::HandleScope hs(iso_);
      Local<v8::Context> ctx = v8::Context::New(iso_);
      ctx->AllowCodeGenerationFromStrings(false);
      ctx->SetErrorMessageForCodeGenerationFromStrings(
          str(iso_, "code generation from strings (eval, new Function, string timers) is not available in spells"));
      c_.context.Reset(iso_, ctx);
      c_.boxKey.Reset(iso_, v8::Private::New(iso_, str(iso_, "llmspell.box")));
      c_.taskKey.Reset(iso_, v8::Private::New(iso_, str(iso_, "llmspell.task")));
      v8::Context::Scope cs(ctx);
      runPrelude();
      bindRegistry(&c_);
      v8::HeapStatistics st;
      iso_->GetHeapStatistics(&st);
      c_.heapUsed = st.used_heap_size();
    }
    run.include = [this](const SpellSource& src) { return includeFile(src); };
    run.sourceExtensions = jsEngine().extensions();
    run.memory().attach({.limit = limits.memoryBytes,
                         .used = [this] { return c_.used(); },
                         .charge = [this](int64_t n) { c_.hostBytes += n; },
                         .stop = [this](const Error& e) { interrupt(e); }});
  }

  ~JsContext() override {
    close();
    c_.run->memory().detach();
  }

  void close() override {
    restoreStderr();  // a memory stop's /dev/null must not outlive the spell (the CLI prints after)
    if (!iso_) return;
    if (session_) session_->setWaker(nullptr);
    watchdog_.reset();
    deadlineTimer_.cancel();
    c_.alive.reset();
    {
      v8::Isolate::Scope is(iso_);
      if (debugger_) {
        v8::HandleScope hs(iso_);
        v8::Context::Scope cs(c_.ctx());
        c_.dbg = nullptr;
        debugger_.reset();
      }
      for (Boxed* b : c_.boxes) {
        b->wrapper.Reset();
        delete b;
      }
      c_.boxes.clear();
      c_.modulesByHash.clear();
      c_.unhandled.clear();
      c_.modulesByPath.clear();
      c_.types.clear();
      for (PromiseLink* l : c_.links) delete l;
      c_.links.clear();
      // Host promises still pending: drop the script's resolvers while the isolate exists, and
      // their hold on themselves (the promise goes when nothing else holds it).
      for (const auto& weak : c_.waiting) {
        if (auto w = weak.lock()) {
          if (w->resolver) w->resolver->Reset();
          w->resolver.reset();
          PromisePtr p = std::move(w->p);
        }
      }
      c_.waiting.clear();
      c_.boxKey.Reset();
      c_.taskKey.Reset();
      c_.tasks.clear();
      c_.errorClass.Reset();
      c_.context.Reset();
    }
    iso_->Dispose();
    iso_ = nullptr;
    js::deleteBufferAllocator(allocator_);
    allocator_ = nullptr;
  }

  std::optional<Error> stopped() const override {
    if (!c_.killed) return std::nullopt;
    return c_.killReason;
  }

  std::optional<Error> check(std::string_view source, std::string_view chunkName) override {
    v8::Isolate::Scope is(iso_);
    v8::HandleScope hs(iso_);
    v8::Context::Scope cs(c_.ctx());
    std::string name(chunkName);
    try {
      Error err;
      if (isFileChunk(name)) {
        v8::TryCatch tc(iso_);
        v8::ScriptOrigin origin(iso_, str(iso_, name), 0, 0, false, -1, Local<v8::Value>(), false, false, true);
        v8::ScriptCompiler::Source src(str(iso_, source), origin);
        if (v8::ScriptCompiler::CompileModule(iso_, &src).IsEmpty()) return syntaxError(&c_, tc);
        return std::nullopt;
      }
      v8::TryCatch tc(iso_);
      if (compileScript(source, name, isRepl(name)).IsEmpty()) return syntaxError(&c_, tc);
      return std::nullopt;
    } catch (const Exception& e) {
      return e.error();
    }
  }

  PromisePtr run(std::string_view source, std::string_view chunkName) override {
    startDeadline();
    c_.chunkName = std::string(chunkName);
    if (c_.killed) return Promise::rejected(c_.killReason);
    v8::Isolate::Scope is(iso_);
    v8::HandleScope hs(iso_);
    Local<v8::Context> ctx = c_.ctx();
    v8::Context::Scope cs(ctx);
    PromisePtr out;
    try {
      if (c_.dbg) c_.dbg->beforeRun(c_.chunkName);
      out = isFileChunk(c_.chunkName) ? runModule(source, c_.chunkName) : runScript(source, c_.chunkName);
    } catch (const Exception& e) {
      out = Promise::rejected(c_.killed ? c_.killReason : e.error());
    }
    checkpoint(&c_);
    out->onSettle([this](const Promise&) { deadlineTimer_.cancel(); });
    return out;
  }

  size_t memoryUsed() const override { return c_.used(); }

  void interrupt(const Error& reason) override {
    c_.kill(reason);
    c_.run->scope().cancelAll(c_.killReason);
  }

  bool busy() const override { return c_.pendingCalls > 0 && !c_.killed; }

  void attachDebugger(std::shared_ptr<DebugSession> session) override {
    session_ = session;
    v8::Isolate::Scope is(iso_);
    v8::HandleScope hs(iso_);
    v8::Context::Scope cs(c_.ctx());
    JsDebugHost host;
    host.inspector = [this](js::Inspector::Hooks hooks) {
      return std::make_unique<js::Inspector>(iso_, c_.ctx(), std::move(hooks));
    };
    host.terminate = [this] {
      Error e(codes::kCancelled, "the debugger ended the spell");
      interrupt(e);
      c_.killReason = e;
    };
    host.evaluating = [this](bool on) {
      if (on) {
        evalSavedTask_ = c_.current;
        c_.current = nullptr;
      } else {
        c_.current = evalSavedTask_;
      }
    };
    host.running = [this] { return c_.depth > 0; };
    host.timeLimitSeconds = c_.limits.timeoutSeconds;
    debugger_ = std::make_unique<JsDebugger>(session, std::move(host));
    c_.dbg = debugger_.get();
    // A pause: an interrupt stops running JavaScript; a post to the loop stops a spell that waits.
    std::weak_ptr<bool> alive = c_.alive;
    Loop* loop = c_.loop;
    v8::Isolate* iso = iso_;
    session->setWaker([this, alive, loop, iso] {
      iso->RequestInterrupt(
          [](v8::Isolate* i, void*) {
            if (JsCtx* c = ctxOf(i); c && c->dbg && !c->killed) c->dbg->pauseRunning();
          },
          nullptr);
      loop->post([this, alive] {
        if (alive.expired() || !c_.dbg || c_.killed) return;
        v8::Isolate::Scope is(iso_);
        v8::HandleScope hs(iso_);
        v8::Context::Scope cs(c_.ctx());
        c_.dbg->pauseIdle();
      });
    });
  }

 private:
  static bool isRepl(const std::string& name) { return name.rfind("repl:", 0) == 0; }
  static bool isFileChunk(const std::string& name) { return name != "exec" && !isRepl(name); }

  void startDeadline() {
    if (c_.limits.timeoutSeconds <= 0 || watchdog_) return;
    double secs = c_.limits.timeoutSeconds;
    Error reason(codes::kLimitExceeded, "time limit of " + fmtSeconds(secs) + " exceeded");
    // While the spell waits on I/O no JavaScript runs: a timer on the loop stops it.
    armDeadline(secs, reason);
    // JavaScript that never returns to the loop (a loop, a microtask chain, a regular expression
    // that backtracks): the watchdog thread asks V8 to interrupt it, and the stop happens on
    // the isolate's own thread.
    auto* pending = new Error(reason);
    v8::Isolate* iso = iso_;
    watchdog_.emplace(secs, [iso, pending, this] {
      iso->RequestInterrupt(
          [](v8::Isolate* i, void* data) {
            auto* e = static_cast<Error*>(data);
            if (JsCtx* c = ctxOf(i)) c->kill(*e);
          },
          pending);
      (void)this;
    }, session_ ? std::function<double()>([s = session_] { return s->pausedSeconds(); }) : nullptr);
    interruptReason_.reset(pending);
  }

  // The time limit while the spell waits. A debugger's stops do not count (a paused spell's time
  // limit is suspended): the timer then waits for the rest.
  void armDeadline(double secs, const Error& reason) {
    std::weak_ptr<bool> alive = c_.alive;
    auto start = Clock::now();
    double pausedBefore = session_ ? session_->pausedSeconds() : 0;
    deadlineTimer_ = c_.loop->setTimeout(secs, [this, alive, reason, start, secs, pausedBefore] {
      if (alive.expired()) return;
      if (session_) {
        double left = secs + (session_->pausedSeconds() - pausedBefore) -
                      std::chrono::duration<double>(Clock::now() - start).count();
        if (left > 0) return armDeadline(left, reason);
      }
      interrupt(reason);
    });
  }

  void runPrelude() {
    Local<v8::Context> ctx = c_.ctx();
    Local<v8::Script> s = checked(v8::Script::Compile(ctx, str(iso_, kPrelude)));
    Local<v8::Function> f = checked(s->Run(ctx)).As<v8::Function>();
    Local<v8::Value> argv[2] = {checked(v8::Function::New(ctx, writeOut)), checked(v8::Function::New(ctx, writeErr))};
    Local<v8::Value> cls = checked(f->Call(ctx, v8::Undefined(iso_), 2, argv));
    c_.errorClass.Reset(iso_, cls.As<v8::Function>());
  }

  // exec code is an async function's body; a REPL line is a classic script.
  MaybeLocal<v8::Script> compileScript(std::string_view source, const std::string& name, bool repl) {
    std::string text = repl ? std::string(source) : "(async function () {" + std::string(source) + "\n})";
    v8::ScriptOrigin origin(iso_, str(iso_, name), 0, 0);
    v8::ScriptCompiler::Source src(str(iso_, text), origin);
    return v8::ScriptCompiler::Compile(c_.ctx(), &src);
  }

  PromisePtr runScript(std::string_view source, const std::string& name) {
    Local<v8::Context> ctx = c_.ctx();
    v8::TryCatch tc(iso_);
    Local<v8::Script> script;
    if (!compileScript(source, name, isRepl(name)).ToLocal(&script)) return Promise::rejected(syntaxError(&c_, tc));
    ++c_.depth;
    MaybeLocal<v8::Value> r = script->Run(ctx);
    Local<v8::Value> rv;
    if (r.ToLocal(&rv) && !isRepl(name)) r = rv.As<v8::Function>()->Call(ctx, v8::Undefined(iso_), 0, nullptr);
    --c_.depth;
    if (!r.ToLocal(&rv)) return Promise::rejected(c_.killed || tc.HasTerminated() ? stop() : errorFromJs(&c_, tc.Exception(), tc.Message()));
    if (rv->IsPromise()) return hostPromiseFor(&c_, rv.As<v8::Promise>());
    return Promise::resolved(toValue(&c_, rv));
  }

  PromisePtr runModule(std::string_view source, const std::string& name) {
    Local<v8::Context> ctx = c_.ctx();
    Error err;
    Local<v8::Module> mod;
    if (!compileModule(&c_, std::string(source), name, name, &err).ToLocal(&mod)) return Promise::rejected(err);
    v8::TryCatch tc(iso_);
    ++c_.depth;
    bool ok = mod->InstantiateModule(ctx, resolveModule).FromMaybe(false);
    MaybeLocal<v8::Value> r;
    if (ok) r = mod->Evaluate(ctx);
    --c_.depth;
    Local<v8::Value> rv;
    if (!ok || !r.ToLocal(&rv)) {
      if (c_.killed || tc.HasTerminated()) return Promise::rejected(stop());
      Error e = errorFromJs(&c_, tc.Exception(), tc.Message());
      return Promise::rejected(e);
    }
    // Evaluate gives a promise (top-level await); the spell's result is its default export.
    PromisePtr done = rv->IsPromise() ? hostPromiseFor(&c_, rv.As<v8::Promise>()) : Promise::resolved(Value());
    auto out = Promise::create();
    auto g = std::make_shared<v8::Global<v8::Module>>(iso_, mod);
    std::weak_ptr<bool> alive = c_.alive;
    done->onSettle([this, g, alive, out](const Promise& q) {
      if (q.rejected()) {
        const_cast<Promise&>(q).markHandled();
        out->reject(q.error());
        return;
      }
      if (alive.expired() || c_.killed) {
        out->reject(c_.killed ? c_.killReason : Error(codes::kCancelled, "spell ended"));
        return;
      }
      v8::Isolate::Scope is(iso_);
      v8::HandleScope hs(iso_);
      Local<v8::Context> ctx = c_.ctx();
      v8::Context::Scope cs(ctx);
      Local<v8::Module> m = g->Get(iso_);
      Local<v8::Value> def;
      Value result;
      try {
        if (m->GetStatus() == v8::Module::kEvaluated &&
            m->GetModuleNamespace().As<v8::Object>()->Get(ctx, str(iso_, "default")).ToLocal(&def))
          result = toValue(&c_, def);
      } catch (const Exception& e) {
        out->reject(e.error());
        return;
      }
      out->resolve(std::move(result));
    });
    return out;
  }

  // spell.include: runs a source file of the spell as a module.
  PromisePtr includeFile(const SpellSource& src) {
    if (c_.killed) return Promise::rejected(c_.killReason);
    v8::Isolate::Scope is(iso_);
    v8::HandleScope hs(iso_);
    v8::Context::Scope cs(c_.ctx());
    try {
      PromisePtr p = runModule(src.text, src.chunkName);
      checkpoint(&c_);
      return p;
    } catch (const Exception& e) {
      return Promise::rejected(e.error());
    }
  }

  Error stop() const { return c_.killed ? c_.killReason : Error(codes::kLimitExceeded, "the spell was stopped"); }

 public:
  void defineRaw(const char* name, v8::FunctionCallback cb) {
    v8::Isolate::Scope is(iso_);
    v8::HandleScope hs(iso_);
    Local<v8::Context> ctx = c_.ctx();
    (void)ctx->Global()->Set(ctx, str(iso_, name), checked(v8::Function::New(ctx, cb)));
  }

 private:

  JsCtx c_;
  v8::Isolate* iso_ = nullptr;
  void* allocator_ = nullptr;
  Loop::TimerHandle deadlineTimer_;
  std::optional<Watchdog> watchdog_;
  std::unique_ptr<Error> interruptReason_;
  std::shared_ptr<DebugSession> session_;
  std::unique_ptr<JsDebugger> debugger_;
  JsTask* evalSavedTask_ = nullptr;
};

namespace {
class JsEngine final : public Engine {
 public:
  std::string_view name() const override { return "js"; }
  std::vector<std::string> extensions() const override { return {".js", ".mjs"}; }
  std::unique_ptr<ScriptContext> createContext(RunContext& run, const Limits& limits) override {
    return std::make_unique<JsContext>(run, limits);
  }
};
}  // namespace

Engine& jsEngine() {
  static JsEngine e;
  return e;
}

bool jsDefineRawFunction(ScriptContext& ctx, const char* name, void (*callback)(const v8::FunctionCallbackInfo<v8::Value>&)) {
  auto* jc = dynamic_cast<JsContext*>(&ctx);
  if (!jc) return false;
  jc->defineRaw(name, callback);
  return true;
}

}  // namespace llmspell

// The module's entry point, found by src/engines/engines.cpp with dlsym.
extern "C" __attribute__((visibility("default"))) llmspell::Engine* llmspell_js_engine() {
  return &llmspell::jsEngine();
}
