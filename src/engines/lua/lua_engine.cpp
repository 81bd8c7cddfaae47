// The Lua 5.4 engine: allow-list sandbox, memory/instruction/time limits enforced by the VM's
// allocator and count hook, a coroutine scheduler driven by the runtime loop, and one generic
// thunk that binds every registry declaration.
//
// Rules this file keeps (STYLE.md 3): no Lua API call that can raise (lua_error, lua_yieldk,
// allocation failure) happens while a C++ object with a destructor is alive in the same frame.
// Allocation failures cannot happen inside host code because the allocator never fails while
// `inHost` is set (it records the overrun and the hook stops the spell right after).
#include "llmspell/engines/lua/lua_engine.hpp"

#include <lua.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "llmspell/bridge/arg_buffer.hpp"
#include "llmspell/bridge/call_trace.hpp"
#include "llmspell/bridge/script_call.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/suggest.hpp"
#include "engines/lua/lua_debug.hpp"
#include "engines/lua/lua_prelude.hpp"

namespace llmspell {

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kHookEvery = 1000;
constexpr size_t kKillHeadroom = 4u << 20;  // lets a stopped spell unwind
const char* const kErrorMeta = "llmspell.error";
const char* const kHandlePrefix = "llmspell.type.";
char kYieldSentinel;  // its address marks our own yields
char kKillSentinel;   // error value raised by the hook after a stop
char kCtxKey;         // registry key of the LuaCtx lightuserdata

struct LuaCtx;
struct BindIndex;

// A root coroutine run by the scheduler: the main chunk, a spawned function or a callback.
struct Task : std::enable_shared_from_this<Task> {
  lua_State* co = nullptr;
  int ref = LUA_NOREF;  // keeps the thread alive in the registry
  PromisePtr done;
  // Cancellation: cancelling `done` (a workflow step, a timed-out callback) cancels the host
  // promise the task waits on, so the wait raises `cancelled` in the script; every later wait
  // of a cancelled task fails the same way, so the coroutine ends at its next wait.
  PromisePtr waitingOn;
  bool cancelled = false;
  // The usage scope the task runs in: the one current when it started (a workflow step's, for
  // a step function and everything it spawns). Swapped into the run while the task runs.
  UsageScopePtr usageScope;
  int id = 0;  // the debugger's thread id: 1 for the main chunk, then in start order
};
using TaskPtr = std::shared_ptr<Task>;

// Boxed Value inside a userdata (promises and host objects).
struct Boxed {
  Value v;
};

// Memory for one Lua state's small blocks. A short run allocates and frees a few thousand small
// objects (strings, closures, tables); through malloc they were a third of a `serve` run's
// instructions, because glibc's per-thread cache keeps 7 blocks of a size and the rest take its
// slow paths. Blocks up to 256 bytes come from free lists by 16-byte size class, carved from
// 32 KiB chunks that the state owns and frees when it closes; larger blocks use malloc. Lua
// passes a block's size when it frees or resizes it, so blocks carry no header. Written here
// rather than taken from a packaged allocator: mimalloc's heaps, the one with per-state release,
// must allocate on the thread that made the heap.
class SmallBlocks {
 public:
  static constexpr size_t kGranule = 16, kLargest = 256, kChunkBytes = 32u << 10;
  SmallBlocks() = default;
  SmallBlocks(const SmallBlocks&) = delete;
  SmallBlocks& operator=(const SmallBlocks&) = delete;
  ~SmallBlocks() {
    for (void* c : chunks_) std::free(c);
  }
  static bool small(size_t n) { return n > 0 && n <= kLargest; }
  static bool sameClass(size_t a, size_t b) { return classOf(a) == classOf(b); }
  // A block of n bytes (1 <= n <= kLargest), or null when no chunk can be had.
  void* get(size_t n) {
    size_t k = classOf(n);
    if (Free* f = free_[k]) {
      free_[k] = f->next;
      return f;
    }
    size_t bytes = (k + 1) * kGranule;
    if (static_cast<size_t>(end_ - next_) < bytes) {
      auto* chunk = static_cast<char*>(std::malloc(kChunkBytes));  // malloc aligns to 16
      if (!chunk) return nullptr;
      chunks_.push_back(chunk);  // the old chunk's tail (under 256 bytes) is left unused
      next_ = chunk;
      end_ = chunk + kChunkBytes;
    }
    void* p = next_;
    next_ += bytes;
    return p;
  }
  // Takes back a block that get(m) returned, m >= n (a shrunk block is put back by its new size).
  void put(void* p, size_t n) {
    size_t k = classOf(n);
    auto* f = static_cast<Free*>(p);
    f->next = free_[k];
    free_[k] = f;
  }

 private:
  struct Free {
    Free* next;
  };
  static size_t classOf(size_t n) { return (n - 1) / kGranule; }
  Free* free_[kLargest / kGranule] = {};
  char* next_ = nullptr;
  char* end_ = nullptr;
  std::vector<void*> chunks_;
};

struct LuaCtx {
  lua_State* L = nullptr;
  SmallBlocks blocks;  // before L closes, these must not go: declared first, destroyed last
  RunContext* run = nullptr;
  Loop* loop = nullptr;
  Limits limits;
  size_t memUsed = 0;
  size_t memLimit = 0;
  bool inHost = false;
  bool killed = false;
  Error killReason;
  uint64_t instructions = 0;
  Clock::time_point deadline = Clock::time_point::max();
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  Task* currentRoot = nullptr;
  int resumeDepth = 0;  // nested synchronous resumes (spawn inside spawn...)
  std::unordered_set<TaskPtr> tasks;
  // Threads of tasks that returned normally, with their registry refs, reused by the next
  // tasks: a host callback per streamed chunk would otherwise create and collect a thread each.
  std::vector<std::pair<lua_State*, int>> idleThreads;
  std::string chunkName = "spell";
  // Debugging (null unless a debugger is attached): the tasks being resumed now, innermost
  // last, so that a stop can show the ones suspended in a nested resume too.
  LuaDebugger* dbg = nullptr;
  int nextTaskId = 1;
  std::vector<Task*> resuming;
  // The registry's bindings (see bindRegistry): which namespaces this state has made so far.
  std::shared_ptr<const BindIndex> binds;
  std::vector<char> nsBound;
  // The standard libraries opened on first use (kLazyLibraries): made so far, and those whose
  // global is settled (set by the host, or assigned by the spell first).
  unsigned libsMade = 0, libsGlobal = 0;
  // Per namespace made, which of its functions are settled (bound, or assigned by the spell).
  std::vector<std::vector<char>> fnBound;
  std::vector<char> globalBound;  // the same for the registry's global functions
  bool eagerMembers = false;  // a debugger is attached: namespaces are made whole
  // The collector stays stopped after set-up until the state has grown to twice its set-up size,
  // as Lua would pause it after a collection (its default pause is 200%): restarting it there
  // began a cycle at the first allocation, marking the whole fresh state in every short run (4%
  // of an echo run). The allocator asks for the restart; the count hook does it.
  bool gcParked = false, gcWakeAsked = false;
  size_t gcWakeAt = 0;
  lua_State* gcHookThread = nullptr;  // the thread whose hook was set to the next instruction

  void kill(Error reason);
};

void countHook(lua_State* L, lua_Debug*);

void LuaCtx::kill(Error reason) {
  if (killed) return;
  killed = true;
  killReason = std::move(reason);
  killReason.code = std::string(codes::kLimitExceeded);
  // Stop at the very next instruction of the running task, not at the next periodic check
  // (lua_sethook is safe to call at any point, even from the allocator).
  if (currentRoot && currentRoot->co) lua_sethook(currentRoot->co, countHook, LUA_MASKCOUNT, 1);
}

LuaCtx* ctxOf(lua_State* L) { return *static_cast<LuaCtx**>(lua_getextraspace(L)); }

// ---- allocator: the memory cap, and small blocks from the state's own pool ----

void* luaAlloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* c = static_cast<LuaCtx*>(ud);
  size_t old = ptr ? osize : 0;
  if (nsize == 0) {
    c->memUsed -= old;
    if (SmallBlocks::small(old)) c->blocks.put(ptr, old);
    else free(ptr);
    return nullptr;
  }
  if (nsize > old) {
    size_t grow = nsize - old;
    size_t limit = c->memLimit + (c->killed ? kKillHeadroom : 0);
    if (c->memUsed + grow > limit) {
      if (!c->killed)
        c->kill(Error(codes::kLimitExceeded,
                      "memory limit of " + std::to_string(c->memLimit >> 20) + " MiB exceeded"));
      if (!c->inHost) return nullptr;  // Lua raises a memory error; the hook finishes the stop
    }
  }
  void* p;
  bool wasSmall = ptr && SmallBlocks::small(old), small = SmallBlocks::small(nsize);
  if (!ptr) {
    p = small ? c->blocks.get(nsize) : malloc(nsize);
  } else if (!wasSmall && !small) {
    p = realloc(ptr, nsize);
  } else if (wasSmall && small && (nsize <= old || SmallBlocks::sameClass(old, nsize))) {
    p = ptr;  // a shrunk block stays where it is; freed later by its new size, into a smaller class
  } else {
    // Moves between the pool and malloc, or to a larger class. Lua expects a shrink never to
    // fail; only a shrink from malloc into the pool can need a new chunk.
    p = small ? c->blocks.get(nsize) : malloc(nsize);
    if (!p && nsize < old) {
      std::fputs("llmspell: out of memory\n", stderr);
      std::abort();
    }
    if (p) {
      std::memcpy(p, ptr, std::min(old, nsize));
      if (wasSmall) c->blocks.put(ptr, old);
      else free(ptr);
    }
  }
  if (p) c->memUsed = c->memUsed - old + nsize;
  if (c->gcParked && !c->gcWakeAsked && c->memUsed > c->gcWakeAt) {
    c->gcWakeAsked = true;  // the running task's next instruction restarts the collector
    if (c->currentRoot && c->currentRoot->co && !c->killed) {
      lua_State* co = c->currentRoot->co;
      c->gcHookThread = co;
      lua_sethook(co, lua_gethook(co) ? lua_gethook(co) : countHook, lua_gethookmask(co) | LUA_MASKCOUNT, 1);
    }
  }
  return p;
}

// ---- the count hook: instruction budget, deadline, depth, and the uncatchable stop ----

void countHook(lua_State* L, lua_Debug*) {
  LuaCtx* c = ctxOf(L);
  if (c->gcParked && c->gcWakeAsked) {  // any thread's hook may be the first to see it
    c->gcParked = false;
    lua_gc(L, LUA_GCRESTART);
  }
  if (L == c->gcHookThread && !c->killed) {
    // The early call the allocator asked for: back to the usual count, nothing counted.
    c->gcHookThread = nullptr;
    lua_sethook(L, lua_gethook(L), lua_gethookmask(L), kHookEvery);
    return;
  }
  if (!c->killed) {
    c->instructions += kHookEvery;
    if (c->limits.instructions && c->instructions > c->limits.instructions) {
      c->kill(Error(codes::kLimitExceeded, "instruction limit of " +
                                               std::to_string(c->limits.instructions) +
                                               " exceeded"));
    } else if (Clock::now() > c->deadline) {
      c->kill(Error(codes::kLimitExceeded,
                    "time limit of " + fmtSeconds(c->limits.timeoutSeconds) + " exceeded"));
    } else {
      lua_Debug ar;
      if (c->limits.maxCallDepth > 0 && lua_getstack(L, c->limits.maxCallDepth, &ar))
        c->kill(Error(codes::kLimitExceeded, "call depth limit of " +
                                                 std::to_string(c->limits.maxCallDepth) +
                                                 " exceeded (runaway recursion?)"));
    }
    if (c->dbg && !c->killed) c->dbg->onCount(L);  // a pause request; may end in a kill
  }
  if (c->killed) {
    // Every further instruction on this thread raises again, so pcall cannot swallow the stop.
    lua_sethook(L, countHook, LUA_MASKCOUNT, 1);
    lua_pushlightuserdata(L, &kKillSentinel);
    lua_error(L);
  }
}

// The hook of a debugged spell: the count hook as above, the rest to the debugger.
void debugHook(lua_State* L, lua_Debug* ar) {
  if (ar->event == LUA_HOOKCOUNT) countHook(L, ar);
  else if (LuaCtx* c = ctxOf(L); c->dbg) c->dbg->onHook(L, ar);
}

// Raises the stop from a host entry point (a call after the spell was stopped). A pcall around
// the call catches this one raise, so the hook is set to raise again at the very next instruction:
// the code after the pcall never runs.
int raiseStop(lua_State* L) {
  lua_sethook(L, countHook, LUA_MASKCOUNT, 1);
  lua_pushlightuserdata(L, &kKillSentinel);
  return lua_error(L);
}

// ---- finalizers: under the limits ----

// Lua calls a __gc metamethod with the debug hooks off (lgc.c, GCTM), so the count hook, and
// with it the instruction and time limits, could not stop a finalizer that loops. So a spell's
// table is never marked for finalization itself: the sandbox's setmetatable marks a sentinel
// (a userdata whose __gc is runFinalizer) that lives exactly as long as the table, through a
// weak-keyed registry table from the table to its sentinel, and holds the table as its user
// value. When the table dies, the collector resurrects both and calls runFinalizer, which runs
// the table's current __gc on a thread of its own (a new thread allows hooks whatever the
// collecting thread does). The spell sees its own metatable, __gc included, unchanged.
const char* const kFinalizerMeta = "llmspell.finalizer";
char kFinalizersKey;  // registry: table -> sentinel, weak keys

int runFinalizer(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  lua_getiuservalue(L, 1, 1);  // 2: the table
  // Finalized once, as Lua does: a setmetatable after a resurrection marks it again.
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFinalizersKey);
  lua_pushvalue(L, 2);
  lua_pushnil(L);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  if (c->killed || !lua_getmetatable(L, 2)) return 0;  // a stopped spell runs no finalizers
  lua_pushliteral(L, "__gc");
  if (lua_rawget(L, -2) == LUA_TNIL) return 0;  // 4: the finalizer
  lua_State* co = lua_newthread(L);
  lua_pushvalue(L, 4);
  lua_pushvalue(L, 2);
  lua_xmove(L, co, 2);
  Task* prevRoot = c->currentRoot;
  bool prevHost = c->inHost;
  c->currentRoot = nullptr;  // not a task the scheduler resumes: a wait in it fails
  c->inHost = false;         // the spell's code runs under the memory cap
  int nres = 0;
  lua_resume(co, L, 1, &nres);  // its errors are dropped, as Lua drops a finalizer's errors
  c->inHost = prevHost;
  c->currentRoot = prevRoot;
  // Stopped in the finalizer: the code the collection interrupted stops at its next instruction.
  if (c->killed) lua_sethook(L, countHook, LUA_MASKCOUNT, 1);
  return 0;
}

void bindEverythingIfGlobals(lua_State* L, int idx);  // see bindRegistry

// The base library's setmetatable, except that a metatable's __gc marks a sentinel for the
// table instead of the table (see runFinalizer). Lua marks an object only if its metatable has
// __gc when set, so the __gc is hidden while the metatable is set, then put back.
int safeSetmetatable(lua_State* L) {
  int t = lua_type(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
  if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
    return luaL_error(L, "cannot change a protected metatable");
  bindEverythingIfGlobals(L, 1);
  lua_settop(L, 2);
  lua_pushliteral(L, "__gc");  // 3
  bool finalize = t == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL;
  if (!finalize) {
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
  }
  // Each step below allocates nothing but the sentinel, made before the __gc is hidden.
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFinalizersKey);  // 4
  lua_pushvalue(L, 1);
  if (lua_rawget(L, 4) == LUA_TNIL) {  // 5
    lua_pop(L, 1);
    lua_newuserdatauv(L, 0, 1);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, kFinalizerMeta);  // marks the sentinel: its metatable has __gc
    lua_pushvalue(L, 1);
    lua_pushvalue(L, -2);
    lua_rawset(L, 4);
  }
  lua_pushliteral(L, "__gc");
  lua_pushnil(L);
  lua_rawset(L, 2);
  lua_pushvalue(L, 2);
  lua_setmetatable(L, 1);
  lua_pushliteral(L, "__gc");
  lua_pushvalue(L, 3);
  lua_rawset(L, 2);
  lua_settop(L, 1);
  return 1;
}

void openFinalizers(lua_State* L) {
  luaL_newmetatable(L, kFinalizerMeta);
  lua_pushcfunction(L, runFinalizer);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 1);
  lua_newtable(L);
  lua_createtable(L, 0, 1);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kFinalizersKey);
  lua_pushcfunction(L, safeSetmetatable);
  lua_setglobal(L, "setmetatable");
}

// ---- Value <-> Lua ----

void pushValue(lua_State* L, const Value& v, int depth = 0);
Value toValue(lua_State* L, int idx, int depth = 0);

// ---- JSON shape marks ----
//
// A Lua table does not say whether it is an array or an object, and {} is both. Tables made
// from host arrays and objects carry a metatable whose __jsontype says which ("array" or
// "object", the mark dkjson uses, so a spell can set it too), and toValue honours the mark:
// json.decode("[]") stays an array, a decoded array with nulls keeps them. An array whose last
// elements are null gets a metatable of its own that also records its length `n`.
const char* const kArrayMeta = "llmspell.json.array";
const char* const kObjectMeta = "llmspell.json.object";

void openJsonMarks(lua_State* L) {
  luaL_newmetatable(L, kArrayMeta);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__jsontype");
  lua_pop(L, 1);
  luaL_newmetatable(L, kObjectMeta);
  lua_pushliteral(L, "object");
  lua_setfield(L, -2, "__jsontype");
  lua_pop(L, 1);
}

// Marks the table at the top of the stack; `n` > 0 records an array's length.
void setJsonType(lua_State* L, const char* meta, size_t n) {
  if (n == 0) {
    luaL_setmetatable(L, meta);
    return;
  }
  lua_createtable(L, 0, 2);
  lua_pushliteral(L, "array");
  lua_setfield(L, -2, "__jsontype");
  lua_pushinteger(L, static_cast<lua_Integer>(n));
  lua_setfield(L, -2, "n");
  lua_setmetatable(L, -2);
}

enum class JsonType { kNone, kArray, kObject };

// The __jsontype mark of the table at `idx` (read raw), and the length recorded with it.
JsonType jsonTypeOf(lua_State* L, int idx, lua_Integer& n) {
  n = 0;
  if (!lua_getmetatable(L, idx)) return JsonType::kNone;
  lua_pushliteral(L, "__jsontype");
  JsonType t = JsonType::kNone;
  if (lua_rawget(L, -2) == LUA_TSTRING) {
    const char* s = lua_tostring(L, -1);
    if (strcmp(s, "array") == 0) t = JsonType::kArray;
    else if (strcmp(s, "object") == 0) t = JsonType::kObject;
  }
  lua_pop(L, 1);
  if (t == JsonType::kArray) {
    lua_pushliteral(L, "n");
    if (lua_rawget(L, -2) == LUA_TNUMBER && lua_isinteger(L, -1)) n = std::max<lua_Integer>(0, lua_tointeger(L, -1));
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return t;
}

void pushError(lua_State* L, const Error& e) {
  lua_createtable(L, 0, 6);
  lua_pushlstring(L, e.code.data(), e.code.size());
  lua_setfield(L, -2, "code");
  lua_pushlstring(L, e.message.data(), e.message.size());
  lua_setfield(L, -2, "message");
  lua_pushboolean(L, e.retryable);
  lua_setfield(L, -2, "retryable");
  if (!e.details.isNull()) {
    pushValue(L, e.details, 1);
    lua_setfield(L, -2, "details");
  }
  if (!e.source.empty()) {
    lua_pushlstring(L, e.source.data(), e.source.size());
    lua_setfield(L, -2, "source");
  }
  if (e.line > 0) {
    lua_pushinteger(L, e.line);
    lua_setfield(L, -2, "line");
  }
  if (e.cause) {
    pushError(L, *e.cause);
    lua_setfield(L, -2, "cause");
  }
  luaL_setmetatable(L, kErrorMeta);
}

void pushTypeMeta(lua_State* L, LuaCtx* c, std::string_view type);

void pushBoxed(lua_State* L, const Value& v, std::string_view typeName) {
  void* mem = lua_newuserdatauv(L, sizeof(Boxed), 0);
  new (mem) Boxed{v};
  pushTypeMeta(L, ctxOf(L), typeName);
  lua_setmetatable(L, -2);
}

int callHostFunctionValue(lua_State* L);

void pushValue(lua_State* L, const Value& v, int depth) {
  if (depth > 200) {
    lua_pushnil(L);
    return;
  }
  lua_checkstack(L, 4);
  switch (v.kind()) {
    case ValueKind::kNull: lua_pushnil(L); break;
    case ValueKind::kBool: lua_pushboolean(L, v.asBool()); break;
    case ValueKind::kInt: lua_pushinteger(L, v.asInt()); break;
    case ValueKind::kDouble: lua_pushnumber(L, v.asDouble()); break;
    case ValueKind::kString: lua_pushlstring(L, v.asString().data(), v.asString().size()); break;
    case ValueKind::kBytes:
      lua_pushlstring(L, v.asBytes().data.data(), v.asBytes().data.size());
      break;
    case ValueKind::kArray: {
      const Array& a = v.asArray();
      lua_createtable(L, static_cast<int>(a.size()), 0);
      for (size_t i = 0; i < a.size(); ++i) {
        pushValue(L, a[i], depth + 1);
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
      setJsonType(L, kArrayMeta, !a.empty() && a[a.size() - 1].isNull() ? a.size() : 0);
      break;
    }
    case ValueKind::kObject: {
      const Object& o = v.asObject();
      lua_createtable(L, 0, static_cast<int>(o.size()));
      for (const auto& e : o.entries()) {
        lua_pushlstring(L, e.first.data(), e.first.size());
        pushValue(L, e.second, depth + 1);
        lua_rawset(L, -3);
      }
      setJsonType(L, kObjectMeta, 0);
      break;
    }
    case ValueKind::kFunction: {
      const auto& f = v.asFunction();
      if (auto* lf = dynamic_cast<const LuaFunctionBase*>(f.get());
          lf && lf->state() == L && lf->valid()) {
        lf->push(L);
        break;
      }
      pushBoxed(L, v, "function");
      lua_pushcclosure(L, callHostFunctionValue, 1);
      break;
    }
    case ValueKind::kPromise: pushBoxed(L, v, "promise"); break;
    case ValueKind::kHandle: pushBoxed(L, v, v.asHandle()->typeName()); break;
    case ValueKind::kError: pushError(L, *v.asError()); break;
  }
}

bool isErrorTable(lua_State* L, int idx) {
  if (!lua_getmetatable(L, idx)) return false;
  luaL_getmetatable(L, kErrorMeta);
  bool same = lua_rawequal(L, -1, -2);
  lua_pop(L, 2);
  return same;
}

// Parses "chunk:12: message" into source/line/message.
Error errorFromString(std::string s) {
  Error e(codes::kInternal, s);
  e.code = "script_error";
  auto c1 = s.find(':');
  if (c1 != std::string::npos && c1 > 0) {
    auto c2 = s.find(':', c1 + 1);
    if (c2 != std::string::npos && c2 > c1 + 1) {
      std::string num = s.substr(c1 + 1, c2 - c1 - 1);
      if (!num.empty() && num.find_first_not_of("0123456789") == std::string::npos) {
        e.source = s.substr(0, c1);
        e.line = std::stoi(num);
        e.message = s.substr(c2 + 1);
        if (!e.message.empty() && e.message[0] == ' ') e.message.erase(0, 1);
      }
    }
  }
  if (e.message.find("stack overflow") != std::string::npos) {
    e.code = std::string(codes::kLimitExceeded);
    e.message = "call depth limit exceeded (stack overflow): " + e.message;
  } else if (e.message == "not enough memory") {
    e.code = std::string(codes::kLimitExceeded);
  }
  return e;
}

Error errorFromLua(lua_State* L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_touserdata(L, idx) == &kKillSentinel) {
    LuaCtx* c = ctxOf(L);
    return c->killReason;
  }
  if (lua_type(L, idx) == LUA_TTABLE) {
    Value v = toValue(L, idx);
    Error e = Error::fromValue(v);
    if (!isErrorTable(L, idx) && !v.get("code").isString()) {
      e.code = "script_error";
      if (e.message.empty()) e.message = "error object: " + toJsonText(v);
    }
    return e;
  }
  size_t n = 0;
  const char* s = luaL_tolstring(L, idx, &n);
  std::string msg(s, n);
  lua_pop(L, 1);
  return errorFromString(std::move(msg));
}

Value toValue(lua_State* L, int idx, int depth) {
  if (depth > 200) fail(codes::kInvalidArgument, "table is nested too deeply (or cyclic)");
  idx = lua_absindex(L, idx);
  switch (lua_type(L, idx)) {
    case LUA_TNIL:
    case LUA_TNONE: return Value();
    case LUA_TBOOLEAN: return Value(lua_toboolean(L, idx) != 0);
    case LUA_TNUMBER:
      if (lua_isinteger(L, idx)) return Value(static_cast<int64_t>(lua_tointeger(L, idx)));
      return Value(lua_tonumber(L, idx));
    case LUA_TSTRING: {
      size_t n;
      const char* s = lua_tolstring(L, idx, &n);
      if (n >= kHostCopyCheck) ctxOf(L)->run->memory().require(n, "a string passed to the host");
      return Value(std::string(s, n));
    }
    case LUA_TTABLE: {
      if (depth == 0 || true) {
        if (isErrorTable(L, idx)) {
          // Error tables become Error values (fields read raw).
          auto e = std::make_shared<Error>();
          lua_checkstack(L, 4);
          lua_getfield(L, idx, "code");
          if (lua_type(L, -1) == LUA_TSTRING) e->code = lua_tostring(L, -1);
          lua_getfield(L, idx, "message");
          if (lua_type(L, -1) == LUA_TSTRING) e->message = lua_tostring(L, -1);
          lua_getfield(L, idx, "retryable");
          e->retryable = lua_toboolean(L, -1);
          lua_getfield(L, idx, "source");
          if (lua_type(L, -1) == LUA_TSTRING) e->source = lua_tostring(L, -1);
          lua_getfield(L, idx, "line");
          e->line = static_cast<int>(lua_tointeger(L, -1));
          lua_pop(L, 5);
          lua_getfield(L, idx, "details");
          e->details = toValue(L, -1, depth + 1);
          lua_pop(L, 1);
          return Value(e);
        }
      }
      // A marked table is what its mark says (see jsonTypeOf); an unmarked one is an array
      // when its keys are exactly 1..n, an object otherwise (an empty table is an object).
      lua_checkstack(L, 4);
      lua_Integer markedLen = 0;
      JsonType mark = jsonTypeOf(L, idx, markedLen);
      lua_Integer n = static_cast<lua_Integer>(lua_rawlen(L, idx));
      lua_Integer maxKey = 0;
      size_t count = 0;
      bool allIntKeys = true;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        ++count;
        if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1) allIntKeys = false;
        else maxKey = std::max(maxKey, lua_tointeger(L, -2));
        lua_pop(L, 1);
      }
      if (mark == JsonType::kArray && allIntKeys) {
        // Holes are the array's nulls; a length far beyond the elements is not an array.
        n = std::max(maxKey, markedLen);
        if (static_cast<size_t>(n) > 2 * count + static_cast<size_t>(markedLen) + 16) {
          mark = JsonType::kNone;
        } else {
          // The recorded length is the spell's to change: its nulls are host memory to ask for.
          if (static_cast<size_t>(n) - count > 4096)
            ctxOf(L)->run->memory().require((static_cast<size_t>(n) - count) * sizeof(Value),
                                            "the nulls of an array");
          count = static_cast<size_t>(n);
        }
      }
      bool isArray = mark == JsonType::kArray
                         ? allIntKeys
                         : mark == JsonType::kNone && count > 0 && allIntKeys && static_cast<size_t>(n) == count;
      if (isArray) {
        auto a = std::make_shared<Array>();
        a->reserve(count);
        for (lua_Integer i = 1; i <= n; ++i) {
          lua_rawgeti(L, idx, i);
          a->push(toValue(L, -1, depth + 1));
          lua_pop(L, 1);
        }
        return Value(std::move(a));
      }
      // Lua tables have no key order; sorting the keys makes every conversion deterministic
      // (printed results, provider requests that record/replay must match).
      std::vector<Object::Entry> entries;
      entries.reserve(count);
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        std::string key;
        if (lua_type(L, -2) == LUA_TSTRING) {
          size_t kn;
          const char* k = lua_tolstring(L, -2, &kn);
          key.assign(k, kn);
        } else if (lua_isinteger(L, -2)) {
          key = std::to_string(lua_tointeger(L, -2));
        } else if (lua_type(L, -2) == LUA_TNUMBER) {
          char buf[64];
          snprintf(buf, sizeof buf, "%.14g", lua_tonumber(L, -2));
          key = buf;
        } else {
          lua_pop(L, 1);
          continue;  // boolean/table keys have no Value form
        }
        entries.emplace_back(std::move(key), toValue(L, -1, depth + 1));
        lua_pop(L, 1);
      }
      std::sort(entries.begin(), entries.end(),
                [](const Object::Entry& a, const Object::Entry& b) { return a.first < b.first; });
      auto o = std::make_shared<Object>();
      o->entries() = std::move(entries);  // keys are unique and no index exists yet
      return Value(std::move(o));
    }
    case LUA_TFUNCTION: {
      if (lua_tocfunction(L, idx) == callHostFunctionValue) {
        lua_getupvalue(L, idx, 1);
        auto* b = static_cast<Boxed*>(lua_touserdata(L, -1));
        Value v = b ? b->v : Value();
        lua_pop(L, 1);
        return v;
      }
      return Value(makeLuaFunction(L, idx));
    }
    case LUA_TUSERDATA: {
      if (lua_getmetatable(L, idx)) {
        lua_getfield(L, -1, "__llmspell");
        bool ours = lua_toboolean(L, -1);
        lua_pop(L, 2);
        if (ours) return static_cast<Boxed*>(lua_touserdata(L, idx))->v;
      }
      fail(codes::kInvalidArgument, "a userdata value cannot leave the script");
    }
    case LUA_TTHREAD: fail(codes::kInvalidArgument, "a coroutine cannot leave the script");
    default: return Value();
  }
}

// ---- scheduler ----

void finishTask(LuaCtx* c, const TaskPtr& t, int status, int nres);

// An uncaught error ends task `t`: the debugger may stop on it while its stack is still there.
void debugError(LuaCtx* c, const TaskPtr& t) {
  std::string text;
  bool prev = c->inHost;
  c->inHost = true;
  try {
    Error e = errorFromLua(t->co, -1);
    text = "error[" + e.code + "]: " + e.message;
  } catch (const Exception& e) {
    text = e.error().message;
  }
  c->inHost = prev;
  c->dbg->onError(t->co, t->id, text);
}

// Resumes root task `t` with `nargs` values already pushed on its thread.
void resumeTask(LuaCtx* c, const TaskPtr& t, int nargs) {
  Task* prev = c->currentRoot;
  bool prevHost = c->inHost;
  c->currentRoot = t.get();
  c->inHost = false;  // Lua code runs under the memory cap
  ++c->resumeDepth;
  // Swapped rather than copied (no reference counting per resume): while the task runs, its
  // field holds the scope to put back.
  std::swap(c->run->usageScope, t->usageScope);
  int nres = 0;
  if (c->dbg) {
    c->dbg->beforeResume(t->co);
    c->resuming.push_back(t.get());
  }
  int status = lua_resume(t->co, c->L, nargs, &nres);
  if (c->dbg) {
    if (status != LUA_OK && status != LUA_YIELD && !c->killed) debugError(c, t);
    c->resuming.pop_back();
  }
  std::swap(c->run->usageScope, t->usageScope);
  --c->resumeDepth;
  c->inHost = prevHost;
  c->currentRoot = prev;
  if (status == LUA_YIELD) {
    if (nres >= 1 && lua_touserdata(t->co, -1) == &kYieldSentinel) {
      lua_pop(t->co, nres);
      return;  // waiting on a host promise; its callback resumes us
    }
    lua_pop(t->co, nres);
    lua_pushstring(t->co, "coroutine.yield called outside a coroutine (use sleep/await to wait)");
    status = LUA_ERRRUN;
    nres = 1;
  }
  finishTask(c, t, status, nres);
}

void finishTask(LuaCtx* c, const TaskPtr& t, int status, int nres) {
  lua_State* co = t->co;
  if (c->dbg) c->dbg->onTaskEnd(co);
  ErrorPtr err;
  Value result;
  c->inHost = true;
  try {
    if (c->killed) {
      // A stop that the script swallowed before the hook could fire again still ends it.
      err = std::make_shared<Error>(c->killReason);
    } else if (status == LUA_OK) {
      if (nres > 0) result = toValue(co, -nres);
    } else if (c->killed) {
      err = std::make_shared<Error>(c->killReason);
    } else {
      err = std::make_shared<Error>(errorFromLua(co, -1));
      if (err->code == codes::kLimitExceeded && !c->killed) c->kill(*err);
    }
  } catch (const Exception& e) {
    err = std::make_shared<Error>(e.error());
  }
  c->inHost = false;
  lua_settop(co, 0);
  // A thread whose function returned is back at its base and can run another function; one
  // that raised is dead.
  if (status == LUA_OK && !c->killed && lua_status(co) == LUA_OK && c->idleThreads.size() < 16)
    c->idleThreads.emplace_back(co, t->ref);
  else
    luaL_unref(c->L, LUA_REGISTRYINDEX, t->ref);
  t->ref = LUA_NOREF;
  t->co = nullptr;
  TaskPtr keep = t;
  c->tasks.erase(t);
  if (err) keep->done->reject(*err); else keep->done->resolve(std::move(result));
}

// Starts a root task running the function at the top of L's stack with `nargs` args above it.
TaskPtr startTask(LuaCtx* c, lua_State* L, int nargs) {
  auto t = std::make_shared<Task>();
  t->id = c->nextTaskId++;
  t->done = Promise::create();
  t->usageScope = c->run->usageScope;
  // A raw pointer is enough: while `done` is pending its task is alive (on this stack, or in
  // c->tasks once suspended), and settling drops the canceller.
  t->done->setCanceller([task = t.get()] {
    task->cancelled = true;
    if (auto p = std::move(task->waitingOn)) p->cancel();
  });
  if (!c->idleThreads.empty()) {
    std::tie(t->co, t->ref) = c->idleThreads.back();
    c->idleThreads.pop_back();
  } else {
    t->co = lua_newthread(c->L);
    t->ref = luaL_ref(c->L, LUA_REGISTRYINDEX);
  }
  lua_xmove(L, t->co, nargs + 1);
  if (c->killed) {
    finishTask(c, t, LUA_ERRRUN, 0);
    return t;
  }
  if (c->resumeDepth >= 16) {
    c->tasks.insert(t);
    // Deeply nested starts (spawn inside spawn...) go through the loop to bound the C stack.
    std::weak_ptr<bool> alive = c->alive;
    c->loop->post([c, t, alive, nargs] {
      if (alive.expired() || t->ref == LUA_NOREF) return;
      resumeTask(c, t, nargs);
    });
    return t;
  }
  resumeTask(c, t, nargs);
  // Only a task that is still running (waiting on the host) joins the table: most callbacks
  // finish in the resume above.
  if (t->ref != LUA_NOREF) c->tasks.insert(t);
  return t;
}

void pushErrorAt(lua_State* L, Error e);

// Schedules resumption of `root` once `p` settles: pushes (true, value) or (false, error).
void resumeWhenSettled(LuaCtx* c, const PromisePtr& p, Task* root) {
  TaskPtr t = root->shared_from_this();
  std::weak_ptr<bool> alive = c->alive;
  Loop* loop = c->loop;  // outlives the context; `c` may be gone when the promise settles
  t->waitingOn = p;
  if (t->cancelled) p->cancel();
  p->onSettle([c, t, alive, p, loop](const Promise&) {
    if (t->waitingOn == p) t->waitingOn = nullptr;
    if (alive.expired()) return;
    loop->post([c, t, alive, p] {
      if (alive.expired() || t->ref == LUA_NOREF) return;
      lua_State* co = t->co;
      if (c->killed) {
        // A stopped spell's task is not resumed: a resume would raise the stop inside the
        // script, where a pcall around the wait could catch it.
        finishTask(c, t, LUA_ERRRUN, 0);
        return;
      }
      if (p->fulfilled()) {
        c->inHost = true;
        lua_pushboolean(co, 1);
        pushValue(co, p->value());
        c->inHost = false;
      } else {
        c->inHost = true;
        lua_pushboolean(co, 0);
        pushErrorAt(co, p->error());  // the script line that waited, as a sync call's error has
        c->inHost = false;
      }
      resumeTask(c, t, 2);
    });
  });
}

// ---- the generic thunk ----

// Continuation after an async host call resumes: stack top is (ok, value|error).
int asyncContinuation(lua_State* L, int, lua_KContext) {
  if (lua_toboolean(L, -2)) return 1;
  return lua_error(L);
}

enum ThunkMode { kSync = 0, kSuspend = 1, kPromise = 2 };

// Does the C++ part of a call. Returns the number of results pushed, or -1 when an error
// object was pushed (raise it), or -2 when the caller must yield on ctx->pending.
struct ThunkOut {
  PromisePtr pending;
};

// Host errors get the script position of the call (chunk and line).
void pushErrorAt(lua_State* L, Error e) {
  if (e.source.empty()) {
    // The nearest Lua frame: pcall(f, ...) puts a C frame between the call and the script.
    lua_Debug ar;
    for (int level = 1; level < 8 && lua_getstack(L, level, &ar); ++level) {
      if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
        e.source = ar.short_src;
        e.line = ar.currentline;
        break;
      }
    }
  }
  pushError(L, e);
}

// A settled promise pushes its value (returns 1) or its error object (returns -1); a pending
// one pushes nothing (returns 0).
int pushSettled(lua_State* L, const PromisePtr& p) {
  if (p->fulfilled()) {
    pushValue(L, p->value());
    return 1;
  }
  if (p->rejected()) {
    p->markHandled();
    pushErrorAt(L, p->error());
    return -1;
  }
  return 0;
}

int thunkImpl(lua_State* L, const FunctionDecl* d, int mode, ThunkOut& out) {
  LuaCtx* c = ctxOf(L);
  int n = lua_gettop(L);
  ArgBuffer buf(std::max<size_t>(static_cast<size_t>(n), d->params.size()));
  Value* args = buf.data();
  size_t nargs = static_cast<size_t>(n);
  try {
    for (int i = 0; i < n; ++i) args[i] = toValue(L, i + 1);
  } catch (const Exception& e) {
    Error err = e.error();
    err.message = d->qualifiedName() + ": " + err.message;
    pushErrorAt(L, err);
    return -1;
  }
  traceScriptCall(*d);
  if (auto err = Registry::validate(*d, args, nargs)) {
    pushErrorAt(L, *err);
    return -1;
  }
  CallContext cx{*c->run, *c->loop, d->qualifiedName()};
  Args span(args, nargs);
  if (!d->async) {
    ErrorPtr err;
    Value r = Registry::callSync(*d, cx, span, err);
    if (err) {
      pushErrorAt(L, *err);
      return -1;
    }
    pushValue(L, r);
    return 1;
  }
  PromisePtr p = Registry::callAsync(*d, cx, span);
  if (mode == kPromise) {
    pushValue(L, Value(p));
    return 1;
  }
  if (int r = pushSettled(L, p); r != 0) return r;
  if (!lua_isyieldable(L) || !c->currentRoot) {
    p->cancel();
    pushErrorAt(L, Error(codes::kInvalidArgument,
                       d->qualifiedName() +
                           " cannot wait here (inside a metamethod or a C callback such as "
                           "table.sort or string.gsub); call " + d->qualifiedName() +
                           "_async and await the promise outside"));
    return -1;
  }
  resumeWhenSettled(c, p, c->currentRoot);
  out.pending = std::move(p);
  return -2;
}

int thunk(lua_State* L) {
  auto* d = static_cast<const FunctionDecl*>(lua_touserdata(L, lua_upvalueindex(1)));
  int mode = static_cast<int>(lua_tointeger(L, lua_upvalueindex(2)));
  LuaCtx* c = ctxOf(L);
  if (c->killed) return raiseStop(L);
  int r;
  {
    ThunkOut out;
    bool prev = c->inHost;
    c->inHost = true;
    r = thunkImpl(L, d, mode, out);
    c->inHost = prev;
  }
  // All C++ scopes have ended: raising or yielding is safe now.
  if (r == -1) return lua_error(L);
  if (r == -2) {
    lua_pushlightuserdata(L, &kYieldSentinel);
    return lua_yieldk(L, 1, 0, asyncContinuation);
  }
  return r;
}

// Calls a host Function value (a Boxed upvalue) from Lua: suspends until its promise settles.
int callHostFunctionValueImpl(lua_State* L, ThunkOut& out) {
  LuaCtx* c = ctxOf(L);
  auto* b = static_cast<Boxed*>(lua_touserdata(L, lua_upvalueindex(1)));
  std::vector<Value> args;
  try {
    int n = lua_gettop(L);
    for (int i = 1; i <= n; ++i) args.push_back(toValue(L, i));
  } catch (const Exception& e) {
    pushError(L, e.error());
    return -1;
  }
  PromisePtr p = b->v.asFunction()->call(std::move(args));
  if (int r = pushSettled(L, p); r != 0) return r;
  if (!lua_isyieldable(L) || !c->currentRoot) {
    // Not resumable here: hand back the promise so the caller can await it.
    pushValue(L, Value(p));
    return 1;
  }
  resumeWhenSettled(c, p, c->currentRoot);
  out.pending = std::move(p);
  return -2;
}

int callHostFunctionValue(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  if (c->killed) return raiseStop(L);
  int r;
  {
    ThunkOut out;
    bool prev = c->inHost;
    c->inHost = true;
    r = callHostFunctionValueImpl(L, out);
    c->inHost = prev;
  }
  if (r == -1) return lua_error(L);
  if (r == -2) {
    lua_pushlightuserdata(L, &kYieldSentinel);
    return lua_yieldk(L, 1, 0, asyncContinuation);
  }
  return r;
}

// ---- sandbox ----

int boxedGc(lua_State* L) {
  auto* b = static_cast<Boxed*>(lua_touserdata(L, 1));
  if (b) b->~Boxed();
  return 0;
}

int boxedToString(lua_State* L) {
  auto* b = static_cast<Boxed*>(lua_touserdata(L, 1));
  std::string s = b ? (b->v.isHandle() ? std::string(b->v.asHandle()->typeName())
                                       : std::string(b->v.kindName()))
                    : "handle";
  lua_pushfstring(L, "%s: %p", s.c_str(), static_cast<void*>(b));
  return 1;
}

// "code: message (at file:line)", as the CLI prints a spell's error: an error that crossed a
// task boundary (a spawned task's, awaited) keeps the position where it was raised.
int errorToString(lua_State* L) {
  lua_getfield(L, 1, "code");
  lua_getfield(L, 1, "message");
  lua_getfield(L, 1, "source");
  lua_getfield(L, 1, "line");
  if (lua_type(L, -2) == LUA_TSTRING && lua_isinteger(L, -1) && lua_tointeger(L, -1) > 0)
    lua_pushfstring(L, "%s: %s (at %s:%d)", luaL_optstring(L, -4, "error"), luaL_optstring(L, -3, ""),
                    lua_tostring(L, -2), static_cast<int>(lua_tointeger(L, -1)));
  else
    lua_pushfstring(L, "%s: %s", luaL_optstring(L, -4, "error"), luaL_optstring(L, -3, ""));
  return 1;
}

int denied(lua_State* L) {
  const char* what = lua_tostring(L, lua_upvalueindex(1));
  LuaCtx* c = ctxOf(L);
  c->inHost = true;
  pushError(L, Error(codes::kPermissionDenied, std::string(what)));
  c->inHost = false;
  return lua_error(L);
}

void setDenied(lua_State* L, int tableIdx, const char* name, const char* message) {
  tableIdx = lua_absindex(L, tableIdx);
  lua_pushstring(L, message);
  lua_pushcclosure(L, denied, 1);
  lua_setfield(L, tableIdx, name);
}

// load(chunk, name, mode, env): text chunks only.
int safeLoad(lua_State* L) {
  size_t n = 0;
  const char* s = nullptr;
  if (lua_type(L, 1) == LUA_TSTRING) {
    s = lua_tolstring(L, 1, &n);
    if (n > 0 && s[0] == LUA_SIGNATURE[0]) {
      LuaCtx* c = ctxOf(L);
      c->inHost = true;
      pushError(L, Error(codes::kPermissionDenied, "loading binary (precompiled) chunks is not allowed in spells"));
      c->inHost = false;
      return lua_error(L);
    }
  } else if (!lua_isnoneornil(L, 1)) {
    lua_pushnil(L);
    lua_pushstring(L, "load: only string chunks are supported in spells");
    return 2;
  } else {
    lua_pushnil(L);
    lua_pushstring(L, "load: expected a string chunk");
    return 2;
  }
  const char* name = luaL_optstring(L, 2, "=(load)");
  int status = luaL_loadbufferx(L, s, n, name, "t");
  if (status != LUA_OK) {
    lua_pushnil(L);
    lua_insert(L, -2);
    return 2;
  }
  if (!lua_isnoneornil(L, 4)) {
    lua_pushvalue(L, 4);
    if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
  }
  return 1;
}

// xpcall's message handler, around the spell's (upvalue 1): skipped once the spell is stopped.
// Lua runs a message handler with the hooks off, so a handler that loops after a limit stop
// would never be stopped.
int xpcallHandler(lua_State* L) {
  if (ctxOf(L)->killed) return 1;  // the error as it is
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

int xpcallDone(lua_State* L, int, lua_KContext) { return lua_gettop(L); }

// xpcall(f, handler, ...): the base library's (upvalue 1) with the handler wrapped as above.
// Called with a continuation, so f may still yield (a host async call inside it).
int safeXpcall(lua_State* L) {
  luaL_checktype(L, 2, LUA_TFUNCTION);
  lua_pushvalue(L, 2);
  lua_pushcclosure(L, xpcallHandler, 1);
  lua_replace(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_callk(L, lua_gettop(L) - 1, LUA_MULTRET, 0, xpcallDone);
  return xpcallDone(L, LUA_OK, 0);
}

int safeCollectGarbage(lua_State* L) {
  const char* opt = luaL_optstring(L, 1, "collect");
  if (strcmp(opt, "count") == 0) {
    int kb = lua_gc(L, LUA_GCCOUNT, 0);
    int b = lua_gc(L, LUA_GCCOUNTB, 0);
    lua_pushnumber(L, kb + b / 1024.0);
    return 1;
  }
  if (strcmp(opt, "collect") == 0 || strcmp(opt, "step") == 0) {
    lua_gc(L, strcmp(opt, "collect") == 0 ? LUA_GCCOLLECT : LUA_GCSTEP, 0);
    lua_pushinteger(L, 0);
    return 1;
  }
  if (strcmp(opt, "isrunning") == 0) {
    lua_pushboolean(L, ctxOf(L)->gcParked || lua_gc(L, LUA_GCISRUNNING, 0));  // parked: not stopped, waiting
    return 1;
  }
  LuaCtx* c = ctxOf(L);
  c->inHost = true;
  pushError(L, Error(codes::kPermissionDenied,
                     std::string("collectgarbage(\"") + opt +
                         "\") is not allowed in spells (only count, collect, step, isrunning)"));
  c->inHost = false;
  return lua_error(L);
}

// Compiles `code` as a text chunk named `chunk` ("@main.lua") and pushes the function; or pushes
// nothing and returns the error: a syntax error (invalid_argument), or the memory limit reached
// while compiling (limit_exceeded, the same stop as at run time).
// Chunks compiled in this process, as bytecode, by name and source text: a serve worker runs the
// same spell again and again in fresh states, and compiling its source was a tenth of an echo
// run, where loading the bytecode dumped from it (with its debug information: lines and names
// read the same) is a fraction of that. Keyed by the whole text, so a changed file compiles
// afresh; only what compiled is kept. Spells themselves never load bytecode (load and require
// refuse it): this is the host's, made by this same Lua from the spell's source.
class CompiledChunks {
 public:
  static CompiledChunks& instance() {
    static CompiledChunks c;
    return c;
  }
  // Pushes the chunk as luaL_loadbufferx would, from bytecode when this source compiled before.
  int load(lua_State* L, std::string_view code, const std::string& chunk) {
    if (code.size() > kMaxEntryBytes) return luaL_loadbufferx(L, code.data(), code.size(), chunk.c_str(), "t");
    std::string key = chunk;
    key += '\0';
    key += code;
    {
      std::lock_guard lk(mu_);
      if (auto it = chunks_.find(key); it != chunks_.end()) {
        std::shared_ptr<const std::string> bytes = it->second;
        return luaL_loadbufferx(L, bytes->data(), bytes->size(), chunk.c_str(), "b");
      }
    }
    int st = luaL_loadbufferx(L, code.data(), code.size(), chunk.c_str(), "t");
    if (st != LUA_OK) return st;
    auto bytes = std::make_shared<std::string>();
    // No exception may cross Lua's C frames: a failed append stops the dump, and nothing is kept.
    int failed = lua_dump(L, [](lua_State*, const void* p, size_t n, void* out) {
      try {
        static_cast<std::string*>(out)->append(static_cast<const char*>(p), n);
        return 0;
      } catch (...) {
        return 1;
      }
    }, bytes.get(), 0);
    if (failed) return LUA_OK;
    std::lock_guard lk(mu_);
    if (held_ + key.size() + bytes->size() > kMaxBytes) {  // a simple bound: start again
      chunks_.clear();
      held_ = 0;
    }
    held_ += key.size() + bytes->size();
    chunks_.emplace(std::move(key), std::move(bytes));
    return LUA_OK;
  }

 private:
  static constexpr size_t kMaxEntryBytes = 1u << 20, kMaxBytes = 16u << 20;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const std::string>> chunks_;
  size_t held_ = 0;
};

std::optional<Error> compileChunk(lua_State* L, LuaCtx* c, std::string_view code, const std::string& chunk) {
  int st = CompiledChunks::instance().load(L, code, chunk);
  if (st == LUA_OK) return std::nullopt;
  Error e;
  if (st == LUA_ERRMEM) {
    e = c->killed ? c->killReason
                  : Error(codes::kLimitExceeded, "memory limit of " + std::to_string(c->memLimit >> 20) +
                                                     " MiB exceeded while compiling");
    e.code = std::string(codes::kLimitExceeded);
  } else {
    e = errorFromString(lua_tostring(L, -1) ? lua_tostring(L, -1) : "syntax error");
    e.code = std::string(codes::kInvalidArgument);
    e.message = "syntax error: " + e.message;
  }
  lua_pop(L, 1);
  return e;
}

// Compiles a file the spell includes or requires (read by readSpellSource); see compileChunk.
std::optional<Error> compileSource(lua_State* L, LuaCtx* c, const SpellSource& src) {
  auto err = compileChunk(L, c, src.text, "@" + src.chunkName);
  if (err && err->code == codes::kInvalidArgument) err = sourceSyntaxError(src, *err);
  return err;
}

// require(name): "a.b" is a/b.lua or a/b/init.lua under the spell's directory, read with the
// rules of spell.include (readSpellSource). Pushes the function (returns 0) or an error (-1).
int requireLoad(lua_State* L, LuaCtx* c, const char* name) {
  std::string rel = name;
  for (auto& ch : rel)
    if (ch == '.') ch = '/';
  std::optional<SpellSource> src;
  try {
    try {
      src = readSpellSource(*c->run, rel + ".lua", std::string("require('") + name + "')");
    } catch (const Exception& e) {
      if (e.error().code != codes::kNotFound) throw;
      src = readSpellSource(*c->run, rel + "/init.lua", std::string("require('") + name + "')");
    }
  } catch (const Exception& e) {
    Error err = e.error();
    if (err.code == codes::kNotFound)
      err.message = std::string("module '") + name + "' not found in the spell's directory (looked for " +
                    rel + ".lua and " + rel + "/init.lua)";
    pushError(L, err);
    return -1;
  }
  if (auto err = compileSource(L, c, *src)) {
    pushError(L, *err);
    return -1;
  }
  return 0;
}

std::optional<size_t> lazyLibrary(lua_State* L, int k);  // the standard libraries made on first use
void pushLibrary(lua_State* L, LuaCtx* c, size_t i);

int safeRequire(lua_State* L) {
  const char* name = luaL_checkstring(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_getfield(L, -1, name);
  if (!lua_isnil(L, -1)) return 1;
  lua_pop(L, 1);
  LuaCtx* c = ctxOf(L);
  if (auto lib = lazyLibrary(L, 1); lib && !(c->libsMade & (1u << *lib))) {
    pushLibrary(L, c, *lib);  // a library not made yet (one made and then taken out of package.loaded is gone, as in Lua)
    return 1;
  }
  bool prev = c->inHost;
  c->inHost = true;
  int r = requireLoad(L, c, name);
  c->inHost = prev;
  if (r < 0) return lua_error(L);
  lua_pushstring(L, name);
  lua_callk(L, 1, 1, 0, nullptr);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushboolean(L, 1);
  }
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, name);
  return 1;
}

// The io/debug proxies' __index(t, k) and __newindex: upvalues are the name and the message.
int refuseField(lua_State* L) {
  const char* name = lua_tostring(L, lua_upvalueindex(1));
  const char* msg = lua_tostring(L, lua_upvalueindex(2));
  luaL_tolstring(L, 2, nullptr);
  LuaCtx* c = ctxOf(L);
  c->inHost = true;
  {  // no C++ object may be alive at lua_error (a longjmp: its destructor would not run)
    std::string full = std::string(msg) + " (" + name + "." + lua_tostring(L, -1) + ")";
    pushError(L, Error(codes::kPermissionDenied, full));
  }
  c->inHost = false;
  return lua_error(L);
}

int refuseAssignment(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  c->inHost = true;
  pushError(L, Error(codes::kPermissionDenied, lua_tostring(L, lua_upvalueindex(1))));
  c->inHost = false;
  return lua_error(L);
}

// Loads one of the host's own chunks (the prelude) as luaL_loadbuffer would, `source` naming
// it. Compiled once per process and then loaded as bytecode: compiling
// them was a fifth of a context's start. Scripts never load bytecode (load and require refuse
// it); these chunks are the host's, dumped by this same Lua with their debug information.
int loadHostChunk(lua_State* L, const char* source, const char* name) {
  static std::mutex mu;
  static std::map<const char*, std::string> compiled;  // by the source's address
  {
    std::lock_guard lk(mu);
    if (auto it = compiled.find(source); it != compiled.end())
      return luaL_loadbufferx(L, it->second.data(), it->second.size(), name, "b");
  }
  int rc = luaL_loadbufferx(L, source, std::strlen(source), name, "t");
  if (rc != LUA_OK) return rc;
  std::string bytes;
  lua_dump(L, [](lua_State*, const void* p, size_t n, void* out) {
    static_cast<std::string*>(out)->append(static_cast<const char*>(p), n);
    return 0;
  }, &bytes, 0);
  std::lock_guard lk(mu);
  compiled.emplace(source, std::move(bytes));
  return LUA_OK;
}

// os for spells: only time, clock, date and difftime; the rest refuse with a message. Opened into
// a scratch table and copied; leaves it on the stack, and as package.loaded.os.
void makeOs(lua_State* L) {
  luaL_requiref(L, "__os_full", luaopen_os, 0);
  lua_newtable(L);
  for (const char* f : {"time", "clock", "date", "difftime"}) {
    lua_getfield(L, -2, f);
    lua_setfield(L, -2, f);
  }
  for (const char* f : {"execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"})
    setDenied(L, -1, f, (std::string("os.") + f +
                         " is not available in spells (use env.get with --allow-env, fs.* with "
                         "--allow-read/--allow-write)").c_str());
  // The full library must not stay reachable through require's cache.
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, -2);
  lua_setfield(L, -2, "os");
  lua_pushnil(L);
  lua_setfield(L, -2, "__os_full");
  lua_pop(L, 1);
  lua_remove(L, -2);  // the full library
}

// Libraries allowed in spells, beyond base and string: made on first use (see pushLibrary).
void makeTable(lua_State* L) { luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 0); }
void makeMath(lua_State* L) { luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 0); }
void makeUtf8(lua_State* L) { luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 0); }
void makeCoroutine(lua_State* L);  // with the prelude's wrappers; after the lazy-library helpers

struct LazyLibrary {
  const char* name;
  void (*make)(lua_State* L);  // pushes the library and sets package.loaded[name]
};
const LazyLibrary kLazyLibraries[] = {
    {LUA_TABLIBNAME, makeTable}, {LUA_MATHLIBNAME, makeMath}, {LUA_UTF8LIBNAME, makeUtf8},
    {"os", makeOs},              {LUA_COLIBNAME, makeCoroutine},
};
constexpr size_t kTableLibrary = 0;

void openSandbox(lua_State* L) {
  // Allow-listed libraries only: base and string here (every string's methods are string's),
  // the others the first time a spell uses them (kLazyLibraries).
  luaL_requiref(L, LUA_GNAME, luaopen_base, 1);
  lua_pop(L, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  lua_pop(L, 1);
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  for (const char* f : {"dofile", "loadfile"})
    setDenied(L, g, f, (std::string(f) + " is not available in spells; use require or spell.include").c_str());
  setDenied(L, g, "io", "io is not available in spells; use fs.read/fs.write with --allow-read/--allow-write");
  lua_pushcfunction(L, safeLoad);
  lua_setfield(L, g, "load");
  lua_pushcfunction(L, safeCollectGarbage);
  lua_setfield(L, g, "collectgarbage");
  lua_getfield(L, g, "xpcall");
  lua_pushcclosure(L, safeXpcall, 1);
  lua_setfield(L, g, "xpcall");
  lua_pushcfunction(L, safeRequire);
  lua_setfield(L, g, "require");
  // package: only `loaded`; loadlib and searchers are refused.
  lua_newtable(L);
  lua_getfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_setfield(L, -2, "loaded");
  setDenied(L, -1, "loadlib", "package.loadlib is not available in spells (no native code)");
  setDenied(L, -1, "searchpath", "package.searchpath is not available in spells");
  lua_setfield(L, g, "package");
  // string.dump would produce bytecode; refuse it.
  lua_getfield(L, g, "string");
  setDenied(L, -1, "dump", "string.dump is not available in spells (no bytecode)");
  lua_pop(L, 1);
  // The string metatable is shared by every string: hide it from the script.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 2);
  lua_pop(L, 1);  // global table
  // `debug` and `io` tables are never opened. Refuse the names explicitly so the message helps.
  lua_pushglobaltable(L);
  setDenied(L, -1, "debug", "debug is not available in spells");
  lua_pop(L, 1);
  // io/debug as callables are odd; make them tables whose every field refuses.
  for (const char* name : {"io", "debug"}) {
    std::string msg = std::string(name) + " is not available in spells" +
                      (std::string_view(name) == "io" ? "; use fs.read/fs.write with --allow-read/--allow-write" : "");
    lua_newtable(L);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, name);
    lua_pushstring(L, msg.c_str());
    lua_pushcclosure(L, refuseField, 2);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, msg.c_str());
    lua_pushcclosure(L, refuseAssignment, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_setglobal(L, name);
  }
}

// ---- Binding the registry, on demand ----
//
// Every context binds the registry's functions into namespace tables, the globals and type
// metatables. A fresh state per run is the isolation guarantee, and binding all of it (about 350
// closures in 28 namespaces, 16 metatables) up front was over half of a short run's instructions
// under `llmspell serve`, while a spell uses a few namespaces. So a namespace's table is made the
// first time the spell reads its name (the globals' __index), and a type's metatable the first
// time a value of that type is pushed. What keeps this invisible to spells:
//  - a name the spell assigns before reading it keeps the spell's value (__newindex), and one it
//    assigned nil to stays nil, as when everything was bound up front;
//  - pairs(_G), rawget(_G, ns) and setmetatable(_G, mt) bind everything first (__pairs and the
//    wrappers below), and getmetatable(_G) does not show the host's metatable;
//  - an attached debugger binds everything, so its view of the globals is complete.
// next(_G, k) called directly (not through pairs) does not see unread namespaces.

// The registry's functions by namespace and by type, made once per process (the registry only
// grows at start-up, through Registry::extend; a change is noticed and the index rebuilt).
struct BindIndex {
  const FunctionDecl* base = nullptr;
  size_t count = 0;
  std::vector<std::string> namespaces;  // registration order
  std::unordered_map<std::string, size_t> nsIndex;
  std::vector<std::vector<const FunctionDecl*>> nsFunctions;
  std::vector<int> nsSlots;  // table size: async functions take two (name, name_async)
  std::vector<const FunctionDecl*> globals;  // no namespace: bound into _G up front
  std::unordered_map<std::string, std::vector<const FunctionDecl*>> methods;  // by type
  std::unordered_set<std::string> types;  // with a metatable of their own; others are "handle"
};

std::shared_ptr<const BindIndex> bindIndex() {
  static std::mutex mu;
  static std::shared_ptr<const BindIndex> cached;
  const auto& fns = Registry::global().functions();
  std::lock_guard lk(mu);
  if (cached && cached->base == fns.data() && cached->count == fns.size()) return cached;
  auto idx = std::make_shared<BindIndex>();
  idx->base = fns.data();
  idx->count = fns.size();
  idx->types = {"handle", "function", "promise"};
  for (const auto& t : Registry::global().types()) idx->types.insert(t.name);
  for (const auto& d : fns) {
    if (!d.self.empty()) {
      idx->methods[d.self].push_back(&d);
      idx->types.insert(d.self);
    } else if (d.ns.empty()) {
      idx->globals.push_back(&d);
    } else {
      auto [it, added] = idx->nsIndex.emplace(d.ns, idx->namespaces.size());
      if (added) {
        idx->namespaces.push_back(d.ns);
        idx->nsFunctions.emplace_back();
        idx->nsSlots.push_back(0);
      }
      idx->nsFunctions[it->second].push_back(&d);
      idx->nsSlots[it->second] += d.async && !d.property ? 2 : 1;
    }
  }
  cached = idx;
  return cached;
}

char kLazyGlobalsKey;  // registry key of the globals' metatable

// Sets the function (or property value) `d` into the table at the top of the stack.
// t[name] = v for the value on top and the table below it, without metamethods; pops the value.
void setRaw(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_insert(L, -2);
  lua_rawset(L, -3);
}

void bindFunction(lua_State* L, LuaCtx* c, const FunctionDecl& d) {
  auto pushThunk = [&](int mode) {
    lua_pushlightuserdata(L, const_cast<FunctionDecl*>(&d));
    lua_pushinteger(L, mode);
    lua_pushcclosure(L, thunk, 2);
  };
  if (d.property) {
    ErrorPtr err;
    CallContext cx{*c->run, *c->loop, d.name};
    Value v = Registry::callSync(d, cx, Args(), err);
    pushValue(L, err ? Value() : v);
    setRaw(L, d.name.c_str());
  } else if (d.async) {
    pushThunk(kSuspend);
    setRaw(L, d.name.c_str());
    pushThunk(kPromise);
    setRaw(L, (d.name + "_async").c_str());
  } else {
    pushThunk(kSync);
    setRaw(L, d.name.c_str());
  }
}

// Host work inside a spell's call: its allocations must not fail halfway (as during set-up).
struct HostSection {
  LuaCtx* c;
  bool prev;
  explicit HostSection(LuaCtx* ctx) : c(ctx), prev(ctx->inHost) { c->inHost = true; }
  ~HostSection() { c->inHost = prev; }
};

// Pushes the metatable of values of `type`, making it (and binding its methods) the first time.
// A type the registry does not know gets the generic "handle" one.
void pushTypeMeta(lua_State* L, LuaCtx* c, std::string_view typeName) {
  HostSection host(c);  // interning the name allocates: not a place for a memory error (longjmp)
  std::string type(typeName);
  if (!c->binds->types.count(type)) type = "handle";
  std::string meta = std::string(kHandlePrefix) + type;
  if (luaL_getmetatable(L, meta.c_str()) != LUA_TNIL) return;
  lua_pop(L, 1);
  luaL_newmetatable(L, meta.c_str());
  lua_pushstring(L, type.c_str());  // messages say "channel", not the registry key
  lua_setfield(L, -2, "__name");
  lua_pushboolean(L, 1);
  lua_setfield(L, -2, "__llmspell");
  lua_pushcfunction(L, boxedGc);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, boxedToString);
  lua_setfield(L, -2, "__tostring");
  lua_pushstring(L, "locked");
  lua_setfield(L, -2, "__metatable");
  auto it = c->binds->methods.find(type);
  lua_createtable(L, 0, it == c->binds->methods.end() ? 0 : static_cast<int>(it->second.size()));
  if (it != c->binds->methods.end())
    for (const FunctionDecl* d : it->second) bindFunction(L, c, *d);
  lua_setfield(L, -2, "__index");
}

// ---- standard libraries made on first use ----
// A fresh state for every run made every allowed library up front, and a run uses few of them:
// table, math, utf8, os and coroutine were a seventh of an echo run's instructions. Each is made
// the first time the spell reads its global, requires it, or looks at all the globals
// (pairs(_G), setmetatable(_G), a debugger), like the registry's namespaces below; rawget(_G, k)
// makes the one it names. Made once per state, kept in the registry (the spell may replace the
// global or package.loaded's entry; the coroutine wrappers take table's functions from there).

// The index in kLazyLibraries of the library named by the string at `k`, if it is one.
std::optional<size_t> lazyLibrary(lua_State* L, int k) {
  if (lua_type(L, k) != LUA_TSTRING) return std::nullopt;
  size_t n = 0;
  const char* s = lua_tolstring(L, k, &n);
  for (size_t i = 0; i < std::size(kLazyLibraries); ++i)
    if (std::string_view(s, n) == kLazyLibraries[i].name) return i;
  return std::nullopt;
}

// Pushes library `i`, making it the first time.
void pushLibrary(lua_State* L, LuaCtx* c, size_t i) {
  if (c->libsMade & (1u << i)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kLazyLibraries[i]);
    return;
  }
  HostSection host(c);
  c->libsMade |= 1u << i;
  kLazyLibraries[i].make(L);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kLazyLibraries[i]);
}

// Sets library `i` as its global (in the globals at `g`), unless that is settled already.
void bindLibrary(lua_State* L, LuaCtx* c, int g, size_t i) {
  if (c->libsGlobal & (1u << i)) return;
  c->libsGlobal |= 1u << i;
  g = lua_absindex(L, g);
  lua_pushstring(L, kLazyLibraries[i].name);
  pushLibrary(L, c, i);
  lua_rawset(L, g);
}

// The library named by the string at `k` when its global is not settled yet.
std::optional<size_t> unboundLibrary(lua_State* L, LuaCtx* c, int k) {
  auto i = lazyLibrary(L, k);
  if (i && (c->libsGlobal & (1u << *i))) return std::nullopt;
  return i;
}

void makeCoroutine(lua_State* L) {
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 0);
  if (loadHostChunk(L, kLuaCoroutinePrelude, "=prelude") != LUA_OK) lua_error(L);
  lua_pushvalue(L, -2);
  lua_pushlightuserdata(L, &kYieldSentinel);
  pushLibrary(L, ctxOf(L), kTableLibrary);
  lua_call(L, 3, 0);
}

// A namespace's functions are bound one by one, the first time the spell reads each: making all
// of `llm` (about 30 closures) for the one `llm.chat` an agent calls was 7% of an echo run. The
// namespace table's metatable keeps it invisible, as for the globals: __index binds a function
// on first read (a name that is no function of the namespace is a mistake, answered with the
// closest names), __newindex lets a name the spell assigns first keep the spell's value, __pairs
// binds the rest first, and rawget(ns, k) binds what it names. next(ns, k) called directly does
// not see unread functions.
char kNamespaceMark;  // in a namespace table's metatable: the namespace's index

// The function of namespace `ns` named by the string at `k` (its name, or name_async), if it
// is one not settled yet.
std::optional<size_t> unboundIn(lua_State* L, int k, const std::vector<const FunctionDecl*>& fns,
                                const std::vector<char>& bound) {
  if (lua_type(L, k) != LUA_TSTRING) return std::nullopt;
  size_t n = 0;
  const char* s = lua_tolstring(L, k, &n);
  std::string_view name(s, n);
  for (size_t j = 0; j < fns.size(); ++j) {
    const FunctionDecl& d = *fns[j];
    bool asAsync = d.async && !d.property && name.size() == d.name.size() + 6 && name.starts_with(d.name) &&
                   name.ends_with("_async");
    if (name == d.name || asAsync) return bound[j] ? std::nullopt : std::optional<size_t>(j);
  }
  return std::nullopt;
}

std::optional<size_t> unboundMember(lua_State* L, LuaCtx* c, size_t ns, int k) {
  if (ns >= c->fnBound.size()) return std::nullopt;
  return unboundIn(L, k, c->binds->nsFunctions[ns], c->fnBound[ns]);
}

// The registry's global functions (sleep, spawn, await, ...) are bound the same way, into the
// globals (at `g`).
std::optional<size_t> unboundGlobal(lua_State* L, LuaCtx* c, int k) {
  return unboundIn(L, k, c->binds->globals, c->globalBound);
}

void bindGlobal(lua_State* L, LuaCtx* c, int g, size_t j) {
  if (c->globalBound[j]) return;
  c->globalBound[j] = 1;
  HostSection host(c);
  lua_pushvalue(L, g);
  bindFunction(L, c, *c->binds->globals[j]);
  lua_pop(L, 1);
}

// Binds function `j` of namespace `ns` into its table (at `t`).
void bindMember(lua_State* L, LuaCtx* c, int t, size_t ns, size_t j) {
  if (c->fnBound[ns][j]) return;
  c->fnBound[ns][j] = 1;
  HostSection host(c);
  lua_pushvalue(L, t);
  bindFunction(L, c, *c->binds->nsFunctions[ns][j]);
  lua_pop(L, 1);
}

void bindMembers(lua_State* L, LuaCtx* c, int t, size_t ns) {
  t = lua_absindex(L, t);
  for (size_t j = 0; j < c->fnBound[ns].size(); ++j) bindMember(L, c, t, ns, j);
}

// The namespace index of the table at `t`, if it is a namespace table this state made.
std::optional<size_t> namespaceOf(lua_State* L, int t) {
  if (!lua_getmetatable(L, t)) return std::nullopt;
  lua_rawgetp(L, -1, &kNamespaceMark);
  std::optional<size_t> ns;
  if (lua_isinteger(L, -1)) ns = static_cast<size_t>(lua_tointeger(L, -1));
  lua_pop(L, 2);
  return ns;
}

// A namespace table's metamethods; upvalues: the namespace's index (and, for __index, its name).
int namespaceIndex(lua_State* L) {
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  LuaCtx* c = ctxOf(L);
  size_t ns = static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(1)));
  if (auto j = unboundMember(L, c, ns, 2)) {
    bindMember(L, c, 1, ns, *j);
    lua_pushvalue(L, 2);
    lua_rawget(L, 1);
    return 1;
  }
  // A name that is not there is a mistake (llm.chta), answered with the closest names instead of
  // a nil that fails later as "attempt to call a nil value".
  {
    HostSection host(c);
    std::set<std::string> members;
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      if (lua_type(L, -2) == LUA_TSTRING) members.emplace(lua_tostring(L, -2));
      lua_pop(L, 1);
    }
    if (ns < c->fnBound.size())
      for (size_t j = 0; j < c->fnBound[ns].size(); ++j) {
        const FunctionDecl& d = *c->binds->nsFunctions[ns][j];
        if (c->fnBound[ns][j]) continue;  // settled: what the table holds
        members.insert(d.name);
        if (d.async && !d.property) members.insert(d.name + "_async");
      }
    std::string nsName = lua_tostring(L, lua_upvalueindex(2));
    std::string name = lua_tostring(L, 2);
    Error e(codes::kNotFound, unknownMemberMessage(nsName, name, {members.begin(), members.end()}));
    e.details = Value::object({{"namespace", nsName}, {"name", name}});
    pushErrorAt(L, e);
  }
  return lua_error(L);
}

int namespaceNewIndex(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  size_t ns = static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(1)));
  if (auto j = unboundMember(L, c, ns, 2)) c->fnBound[ns][*j] = 1;  // the spell's value wins
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

int rawNext(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 2);
  if (lua_next(L, 1)) return 2;
  lua_pushnil(L);
  return 1;
}

int namespacePairs(lua_State* L) {
  bindMembers(L, ctxOf(L), 1, static_cast<size_t>(lua_tointeger(L, lua_upvalueindex(1))));
  lua_pushcfunction(L, rawNext);
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// Makes namespace `i` and sets it into the globals (at `g`), unless it is made or its name was
// taken by the spell already.
void bindNamespace(lua_State* L, LuaCtx* c, int g, size_t i) {
  if (c->nsBound[i]) return;
  c->nsBound[i] = 1;
  HostSection host(c);
  const BindIndex& idx = *c->binds;
  c->fnBound[i].assign(idx.nsFunctions[i].size(), 0);
  lua_createtable(L, 0, c->eagerMembers ? idx.nsSlots[i] : 4);
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, static_cast<lua_Integer>(i));
  lua_pushstring(L, idx.namespaces[i].c_str());
  lua_pushcclosure(L, namespaceIndex, 2);
  lua_setfield(L, -2, "__index");
  lua_pushinteger(L, static_cast<lua_Integer>(i));
  lua_pushcclosure(L, namespaceNewIndex, 1);
  lua_setfield(L, -2, "__newindex");
  lua_pushinteger(L, static_cast<lua_Integer>(i));
  lua_pushcclosure(L, namespacePairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushinteger(L, static_cast<lua_Integer>(i));
  lua_rawsetp(L, -2, &kNamespaceMark);
  lua_setmetatable(L, -2);
  if (c->eagerMembers) bindMembers(L, c, -1, i);
  lua_pushstring(L, idx.namespaces[i].c_str());
  lua_insert(L, -2);
  lua_rawset(L, g);
}

void bindAllNamespaces(lua_State* L, LuaCtx* c) {
  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  for (size_t i = 0; i < std::size(kLazyLibraries); ++i) bindLibrary(L, c, g, i);
  for (size_t j = 0; j < c->globalBound.size(); ++j) bindGlobal(L, c, g, j);
  for (size_t i = 0; i < c->nsBound.size(); ++i) bindNamespace(L, c, g, i);
  lua_pop(L, 1);
}

// The index of a namespace named by the string at `k`, if it is one not bound yet.
std::optional<size_t> unboundNamespace(lua_State* L, LuaCtx* c, int k) {
  if (lua_type(L, k) != LUA_TSTRING) return std::nullopt;
  size_t n = 0;
  const char* s = lua_tolstring(L, k, &n);
  auto it = c->binds->nsIndex.find(std::string(s, n));
  if (it == c->binds->nsIndex.end() || c->nsBound[it->second]) return std::nullopt;
  return it->second;
}

bool isGlobals(lua_State* L, int idx) {
  lua_pushglobaltable(L);
  bool same = lua_rawequal(L, idx, -1);
  lua_pop(L, 1);
  return same;
}

// The globals' metamethods: __index(t, k), __newindex(t, k, v), __pairs(t).
int globalsIndex(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  if (auto lib = unboundLibrary(L, c, 2)) {
    bindLibrary(L, c, 1, *lib);
    lua_pushvalue(L, 2);
    lua_rawget(L, 1);
    return 1;
  }
  if (auto j = unboundGlobal(L, c, 2)) {
    bindGlobal(L, c, 1, *j);
    lua_pushvalue(L, 2);
    lua_rawget(L, 1);
    return 1;
  }
  auto i = unboundNamespace(L, c, 2);
  if (!i) return 0;
  bindNamespace(L, c, 1, *i);
  lua_pushvalue(L, 2);
  lua_rawget(L, 1);
  return 1;
}

int globalsNewIndex(lua_State* L) {
  LuaCtx* c = ctxOf(L);
  if (auto i = unboundNamespace(L, c, 2)) c->nsBound[*i] = 1;  // the spell's value wins
  if (auto lib = lazyLibrary(L, 2)) c->libsGlobal |= 1u << *lib;
  if (auto j = unboundGlobal(L, c, 2)) c->globalBound[*j] = 1;
  lua_settop(L, 3);
  lua_rawset(L, 1);
  return 0;
}

int globalsPairs(lua_State* L) {
  bindAllNamespaces(L, ctxOf(L));
  lua_pushvalue(L, lua_upvalueindex(1));  // the base library's next, whatever the spell did to _G.next
  lua_pushvalue(L, 1);
  lua_pushnil(L);
  return 3;
}

// rawget and getmetatable as the spell sees them: the base library's, written out here (a few
// lines each) so that their argument errors still name them, after binding what the call could
// otherwise observe as missing. setmetatable is safeSetmetatable.
int spellRawget(lua_State* L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_checkany(L, 2);
  lua_settop(L, 2);
  if (isGlobals(L, 1)) {
    LuaCtx* c = ctxOf(L);
    if (auto lib = unboundLibrary(L, c, 2)) bindLibrary(L, c, 1, *lib);
    if (auto j = unboundGlobal(L, c, 2)) bindGlobal(L, c, 1, *j);
    if (auto i = unboundNamespace(L, c, 2)) bindNamespace(L, c, 1, *i);
  } else if (auto ns = namespaceOf(L, 1)) {
    LuaCtx* c = ctxOf(L);
    if (auto j = unboundMember(L, c, *ns, 2)) bindMember(L, c, 1, *ns, *j);
  }
  lua_rawget(L, 1);
  return 1;
}

int spellGetmetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (!lua_getmetatable(L, 1)) {
    lua_pushnil(L);
    return 1;
  }
  if (isGlobals(L, 1)) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &kLazyGlobalsKey);
    bool host = lua_rawequal(L, -1, -2);
    lua_pop(L, 1);
    if (host) {
      lua_pushnil(L);
      return 1;
    }
  }
  luaL_getmetafield(L, 1, "__metatable");  // pushes it if present, else leaves the metatable
  return 1;
}

// setmetatable(_G, mt) (safeSetmetatable): the spell's metatable replaces the host's, so
// everything is bound first.
void bindEverythingIfGlobals(lua_State* L, int idx) {
  if (isGlobals(L, idx)) bindAllNamespaces(L, ctxOf(L));
}

void bindRegistry(lua_State* L, LuaCtx* c) {
  c->binds = bindIndex();
  c->nsBound.assign(c->binds->namespaces.size(), 0);
  c->fnBound.assign(c->binds->namespaces.size(), {});
  luaL_newmetatable(L, kErrorMeta);
  lua_pushcfunction(L, errorToString);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);

  lua_pushglobaltable(L);
  int g = lua_gettop(L);
  // Bound on first read (bindGlobal); a base library function of the same name would go, so
  // that the first read finds the registry's.
  c->globalBound.assign(c->binds->globals.size(), 0);
  for (const FunctionDecl* d : c->binds->globals) {
    lua_pushnil(L);
    lua_setfield(L, g, d->name.c_str());
    if (d->async && !d->property) {
      lua_pushnil(L);
      lua_setfield(L, g, (d->name + "_async").c_str());
    }
  }
  const std::pair<const char*, lua_CFunction> wrapped[] = {
      {"rawget", spellRawget}, {"getmetatable", spellGetmetatable}};
  for (auto [name, fn] : wrapped) {
    lua_pushcfunction(L, fn);
    lua_setfield(L, g, name);
  }
  lua_createtable(L, 0, 3);
  lua_pushcfunction(L, globalsIndex);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, globalsNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_getfield(L, g, "next");
  lua_pushcclosure(L, globalsPairs, 1);
  lua_setfield(L, -2, "__pairs");
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kLazyGlobalsKey);
  lua_setmetatable(L, g);
  lua_pop(L, 1);
}

}  // namespace

// ---- Lua functions as Values ----

class LuaFunction final : public LuaFunctionBase, public ArgsSeeingCall {
 public:
  LuaFunction(LuaCtx* c, int ref) : c_(c), ref_(ref), alive_(c->alive) {}
  ~LuaFunction() override {
    if (!alive_.expired() && ref_ != LUA_NOREF) luaL_unref(c_->L, LUA_REGISTRYINDEX, ref_);
  }
  PromisePtr call(std::vector<Value> args) override {
    if (alive_.expired())
      return Promise::rejected(Error(codes::kCancelled, "the spell that owned this function has ended"));
    lua_State* L = c_->L;
    lua_checkstack(L, static_cast<int>(args.size()) + 4);
    bool prev = c_->inHost;
    c_->inHost = true;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_);
    for (const auto& a : args) pushValue(L, a);
    c_->inHost = prev;
    TaskPtr t = startTask(c_, L, static_cast<int>(args.size()));
    return t->done;
  }
  // The tables made for the arguments are kept (registry refs) and read back when the call ends.
  PromisePtr callSeeingArgs(std::vector<Value> args) override {
    if (alive_.expired())
      return Promise::rejected(Error(codes::kCancelled, "the spell that owned this function has ended"));
    lua_State* L = c_->L;
    lua_checkstack(L, 2 * static_cast<int>(args.size()) + 4);
    bool prev = c_->inHost;
    c_->inHost = true;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref_);
    std::vector<int> refs;
    for (const auto& a : args) {
      pushValue(L, a);
      lua_pushvalue(L, -1);
      refs.push_back(luaL_ref(L, LUA_REGISTRYINDEX));
    }
    c_->inHost = prev;
    TaskPtr t = startTask(c_, L, static_cast<int>(args.size()));
    auto out = Promise::create();
    out->setCanceller([d = t->done] { d->cancel(); });
    LuaCtx* c = c_;
    std::weak_ptr<bool> alive = alive_;
    t->done->onSettle([c, alive, refs, out](const Promise& q) {
      if (alive.expired()) {
        out->reject(Error(codes::kCancelled, "the spell that owned this function has ended"));
        return;
      }
      bool was = c->inHost;
      c->inHost = true;
      std::optional<Error> err;
      std::vector<Value> back;
      if (q.rejected()) {
        const_cast<Promise&>(q).markHandled();
        err = q.error();
      } else {
        int top = lua_gettop(c->L);
        try {
          for (int r : refs) {
            lua_rawgeti(c->L, LUA_REGISTRYINDEX, r);
            back.push_back(toValue(c->L, -1));
            lua_pop(c->L, 1);
          }
        } catch (const Exception& e) {
          lua_settop(c->L, top);
          err = e.error();
        }
      }
      for (int r : refs) luaL_unref(c->L, LUA_REGISTRYINDEX, r);
      c->inHost = was;
      if (err) out->reject(*err);
      else out->resolve(Value::object({{"result", q.value()}, {"args", Value::array(std::move(back))}}));
    });
    return out;
  }
  const void* engineTag() const override { return &kCtxKey; }
  lua_State* state() const override { return alive_.expired() ? nullptr : c_->L; }
  bool valid() const override { return !alive_.expired(); }
  void push(lua_State* L) const override { lua_rawgeti(L, LUA_REGISTRYINDEX, ref_); }
  std::string describe() const override { return "lua function"; }

 private:
  LuaCtx* c_;
  int ref_;
  std::weak_ptr<bool> alive_;
};

FunctionPtr makeLuaFunction(lua_State* L, int idx) {
  LuaCtx* c = ctxOf(L);
  lua_pushvalue(L, idx);
  // Threads share the registry with the main state.
  int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return std::make_shared<LuaFunction>(c, ref);
}

// ---- the context ----

class LuaContext final : public ScriptContext, public Debuggable {
 public:
  LuaContext(RunContext& run, const Limits& limits) {
    c_.run = &run;
    c_.loop = &run.loop();
    c_.limits = limits;
    c_.memLimit = limits.memoryBytes ? limits.memoryBytes : SIZE_MAX / 2;
    c_.inHost = true;  // set-up allocations must not fail halfway
    L_ = lua_newstate(luaAlloc, &c_);
    c_.L = L_;
    *static_cast<LuaCtx**>(lua_getextraspace(L_)) = &c_;
    lua_sethook(L_, countHook, LUA_MASKCOUNT, kHookEvery);
    // Nothing made while setting up is garbage: collecting steps here were wasted work.
    lua_gc(L_, LUA_GCSTOP);
    openSandbox(L_);
    openFinalizers(L_);
    openJsonMarks(L_);
    bindRegistry(L_, &c_);
    c_.gcParked = true;  // see LuaCtx::gcParked
    c_.gcWakeAt = 2 * c_.memUsed;
    c_.inHost = false;
    run.include = [this](const SpellSource& src) { return includeFile(src); };
    run.sourceExtensions = luaEngine().extensions();
    // Host memory held for the spell is added to memUsed, so the allocator's check covers it.
    run.memory().attach({.limit = limits.memoryBytes,
                         .used = [this] { return c_.memUsed; },
                         .charge = [this](int64_t n) { c_.memUsed += static_cast<size_t>(n); },
                         .stop = [this](const Error& e) { interrupt(e); }});
  }

  // Finalizers run by close() may still call host functions: the budget stays until after.
  ~LuaContext() override {
    close();
    c_.run->memory().detach();
  }

  // lua_close runs the finalizers still pending, through gcTrampoline: under the limits.
  void close() override {
    if (!L_) return;
    if (session_) session_->setWaker(nullptr);
    c_.alive.reset();
    for (const auto& t : c_.tasks)
      if (t->done->pending()) t->done->reject(Error(codes::kCancelled, "spell ended"));
    c_.tasks.clear();
    c_.dbg = nullptr;
    debugger_.reset();
    lua_close(L_);
    L_ = nullptr;
    c_.L = nullptr;
  }

  std::optional<Error> stopped() const override {
    if (!c_.killed) return std::nullopt;
    return c_.killReason;
  }

  std::optional<Error> check(std::string_view source, std::string_view chunkName) override {
    auto err = compileChunk(L_, &c_, source, "@" + std::string(chunkName));
    if (!err) lua_pop(L_, 1);
    return err;
  }

  PromisePtr run(std::string_view source, std::string_view chunkName) override {
    if (c_.limits.timeoutSeconds > 0) {
      c_.deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                       std::chrono::duration<double>(c_.limits.timeoutSeconds));
      // While the spell waits on I/O the hook does not run: a timer enforces the deadline.
      armDeadline(c_.limits.timeoutSeconds);
    }
    c_.chunkName = std::string(chunkName);
    if (auto err = compileChunk(L_, &c_, source, "@" + std::string(chunkName))) return Promise::rejected(*err);
    TaskPtr t = startTask(&c_, L_, 0);
    auto p = t->done;
    p->onSettle([this](const Promise&) { deadlineTimer_.cancel(); });
    return p;
  }

  size_t memoryUsed() const override { return c_.memUsed; }

  void interrupt(const Error& reason) override {
    c_.kill(reason);
    c_.run->scope().cancelAll(c_.killReason);
    // Suspended tasks waiting on cancelled promises resume and stop. Tasks waiting on something
    // outside the scope (a channel, a promise nobody settles) are ended after those resumes ran.
    std::weak_ptr<bool> alive = c_.alive;
    c_.loop->post([this, alive] {
      if (alive.expired()) return;
      auto tasks = c_.tasks;
      for (const auto& t : tasks) {
        if (c_.currentRoot == t.get()) continue;
        finishTask(&c_, t, LUA_ERRRUN, 0);
      }
    });
  }

  bool busy() const override { return !c_.tasks.empty(); }
  lua_State* state() const { return L_; }

  void attachDebugger(std::shared_ptr<DebugSession> session) override {
    session_ = session;
    c_.eagerMembers = true;  // the globals view lists them all, whole
    bindAllNamespaces(L_, &c_);
    lua_sethook(L_, debugHook, LUA_MASKCOUNT, kHookEvery);
    LuaDebugHost host;
    host.hook = debugHook;
    host.countEvery = kHookEvery;
    host.threads = [this] {
      std::vector<LuaDebugThread> out;
      for (auto it = c_.resuming.rbegin(); it != c_.resuming.rend(); ++it)
        if ((*it)->co) out.push_back({(*it)->id, (*it)->co});
      size_t first = out.size();
      for (const auto& t : c_.tasks)
        if (t->co && std::none_of(out.begin(), out.begin() + static_cast<long>(first),
                                  [&](const LuaDebugThread& d) { return d.id == t->id; }))
          out.push_back({t->id, t->co});
      std::sort(out.begin() + static_cast<long>(first), out.end(),
                [](const LuaDebugThread& a, const LuaDebugThread& b) { return a.id < b.id; });
      return out;
    };
    host.currentThread = [this] { return c_.currentRoot ? c_.currentRoot->id : 0; };
    host.paused = [this](double secs) {
      // A paused spell's time limit is suspended while paused.
      if (c_.deadline != Clock::time_point::max())
        c_.deadline += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    };
    host.terminate = [this] {
      Error e(codes::kCancelled, "the debugger ended the spell");
      interrupt(e);
      c_.killReason = e;
    };
    host.evaluating = [this](bool on) {
      if (on) {
        evalSavedRoot_ = c_.currentRoot;
        c_.currentRoot = nullptr;
      } else {
        c_.currentRoot = evalSavedRoot_;
      }
    };
    host.hostWork = [this](bool on) { return std::exchange(c_.inHost, on); };
    bool prev = std::exchange(c_.inHost, true);
    debugger_ = std::make_unique<LuaDebugger>(L_, session, std::move(host));
    c_.inHost = prev;
    c_.dbg = debugger_.get();
    std::weak_ptr<bool> alive = c_.alive;
    Loop* loop = c_.loop;
    session->setWaker([this, alive, loop] {
      loop->post([this, alive] {
        if (!alive.expired() && c_.dbg) c_.dbg->pauseIdle();
      });
    });
  }

 private:
  // The time limit while the spell waits (the hook does not run then). A debugger's stops move
  // the deadline on; the timer then waits for the rest.
  void armDeadline(double secs) {
    std::weak_ptr<bool> alive = c_.alive;
    deadlineTimer_ = c_.loop->setTimeout(secs, [this, alive] {
      if (alive.expired()) return;
      auto left = c_.deadline - Clock::now();
      if (c_.dbg && left > Clock::duration::zero()) {
        armDeadline(std::chrono::duration<double>(left).count());
        return;
      }
      interrupt(Error(codes::kLimitExceeded, "time limit of " + fmtSeconds(c_.limits.timeoutSeconds) + " exceeded"));
    });
  }

  // spell.include: runs a source file of the spell as a new task.
  PromisePtr includeFile(const SpellSource& src) {
    if (auto err = compileSource(L_, &c_, src)) return Promise::rejected(*err);
    return startTask(&c_, L_, 0)->done;
  }

  LuaCtx c_;
  lua_State* L_ = nullptr;
  Loop::TimerHandle deadlineTimer_;
  std::shared_ptr<DebugSession> session_;
  std::unique_ptr<LuaDebugger> debugger_;
  Task* evalSavedRoot_ = nullptr;
};

namespace {
class LuaEngine final : public Engine {
 public:
  std::string_view name() const override { return "lua"; }
  std::vector<std::string> extensions() const override { return {".lua"}; }
  std::unique_ptr<ScriptContext> createContext(RunContext& run, const Limits& limits) override {
    return std::make_unique<LuaContext>(run, limits);
  }
};
}  // namespace

lua_State* luaStateOf(ScriptContext& ctx) {
  auto* lc = dynamic_cast<LuaContext*>(&ctx);
  return lc ? lc->state() : nullptr;
}

Engine& luaEngine() {
  static LuaEngine e;
  return e;
}

}  // namespace llmspell
