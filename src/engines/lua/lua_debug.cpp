// The Lua engine's debugger (see lua_debug.hpp). Everything here runs on the runtime thread,
// inside the engine's hook or on the loop, and never with Lua frames of its own between a raise
// and a C++ object: the stack work happens on a scratch thread while the engine treats it as
// host memory (the allocator does not fail), and expressions run on a coroutine of their own.
#include "engines/lua/lua_debug.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace {

constexpr int kMaxEntries = 1000;  // a table's entries shown; the rest are summarized

// A raw field of a table (no metamethods): the error tables' code and message, a type's __name.
std::string rawStringField(lua_State* S, int idx, const char* key) {
  idx = lua_absindex(S, idx);
  lua_pushstring(S, key);
  std::string out;
  if (lua_rawget(S, idx) == LUA_TSTRING) out = lua_tostring(S, -1);
  lua_pop(S, 1);
  return out;
}

std::string errorText(lua_State* S, int idx) {
  int t = lua_type(S, idx);
  if (t == LUA_TSTRING) return lua_tostring(S, idx);
  if (t == LUA_TTABLE) {
    std::string code = rawStringField(S, idx, "code"), msg = rawStringField(S, idx, "message");
    if (!code.empty()) return "error[" + code + "]: " + msg;
    if (!msg.empty()) return msg;
  }
  if (t == LUA_TLIGHTUSERDATA) return "the spell was stopped";
  return std::string("error object (") + lua_typename(S, t) + ")";
}

}  // namespace

LuaDebugger::LuaDebugger(lua_State* L, std::shared_ptr<DebugSession> session, LuaDebugHost host)
    : main_(L), session_(std::move(session)), host_(std::move(host)) {
  scratch_ = lua_newthread(main_);
  scratchRef_ = luaL_ref(main_, LUA_REGISTRYINDEX);
  lua_sethook(scratch_, host_.hook, LUA_MASKCOUNT, host_.countEvery);
  entryPending_ = session_->stopOnEntry;
  refreshBreakpoints();
  // The main state's mask is what new task threads start with.
  setMask(main_, entryPending_, false);
}

LuaDebugger::~LuaDebugger() {
  if (scratchRef_ != LUA_NOREF) luaL_unref(main_, LUA_REGISTRYINDEX, scratchRef_);
}

// ---- hooks ----

void LuaDebugger::refreshBreakpoints() {
  seenGeneration_ = session_->generation();
  files_.clear();
  for (auto& [path, lines] : session_->breakpointLines()) files_.push_back({path, lines});
}

bool LuaDebugger::sourceHasBreakpoints(const char* source, size_t len) const {
  for (const auto& f : files_)
    if (debugSourceMatches(std::string_view(source, len), f.path)) return true;
  return false;
}

bool LuaDebugger::functionHasBreakpoints(lua_State* L, lua_Debug* ar) {
  if (files_.empty() || !lua_getinfo(L, "S", ar) || ar->what[0] == 'C') return false;
  return sourceHasBreakpoints(ar->source, ar->srclen);
}

void LuaDebugger::setMask(lua_State* L, bool line, bool ret) {
  int mask = LUA_MASKCOUNT;
  if (!files_.empty() || stepL_ || entryPending_) mask |= LUA_MASKCALL;
  if (line || ret || stepL_ || entryPending_) mask |= LUA_MASKRET;
  if (line) mask |= LUA_MASKLINE;
  // A hook the engine set itself (the stop of a killed spell) stays.
  if (lua_gethook(L) != host_.hook) return;
  if (lua_gethookmask(L) != mask) lua_sethook(L, host_.hook, mask, host_.countEvery);
}

void LuaDebugger::syncMask(lua_State* L, bool top) {
  if (seenGeneration_ != session_->generation()) refreshBreakpoints();
  bool line = entryPending_ || (stepL_ && (L == stepL_ || L == stepRoot_));
  lua_Debug ar;
  if (!line && top && !files_.empty() && lua_getstack(L, 0, &ar)) line = functionHasBreakpoints(L, &ar);
  // The return hook is needed while a function with breakpoints waits below.
  bool ret = line;
  for (int level = 1; !ret && !files_.empty() && lua_getstack(L, level, &ar); ++level)
    ret = functionHasBreakpoints(L, &ar);
  setMask(L, line, ret);
}

void LuaDebugger::onCountSlow(lua_State* L) {
  if (inStop_ || evaluating_) return;
  if (seenGeneration_ != session_->generation()) syncMask(L, true);
  if (session_->pauseRequested.load()) stopHere(L, host_.currentThread(), {DebugStopReason::kPause, 0, "", 0}, true);
}

void LuaDebugger::onHook(lua_State* L, lua_Debug* ar) {
  if (inStop_ || evaluating_) return;
  switch (ar->event) {
    case LUA_HOOKLINE:
      onLine(L, ar);
      return;
    case LUA_HOOKCALL:
    case LUA_HOOKTAILCALL:
      if ((stepL_ && (L == stepL_ || L == stepRoot_)) || entryPending_) return;  // the line hook stays on
      // The return hook only once a function with breakpoints has been entered: it turns the
      // line hook back on in that function when a call from it returns. A spell whose
      // breakpoints are all elsewhere pays the call hook alone.
      setMask(L, functionHasBreakpoints(L, ar), (lua_gethookmask(L) & (LUA_MASKLINE | LUA_MASKRET)) != 0);
      return;
    case LUA_HOOKRET: {
      if ((stepL_ && (L == stepL_ || L == stepRoot_)) || entryPending_) return;
      // Back to the caller: its file decides.
      lua_Debug up;
      setMask(L, lua_getstack(L, 1, &up) && functionHasBreakpoints(L, &up), true);
      return;
    }
    default:
      return;
  }
}

int LuaDebugger::depth(lua_State* L) {
  lua_Debug ar;
  int n = 0;
  while (lua_getstack(L, n, &ar)) ++n;
  return n;
}

void LuaDebugger::onLine(lua_State* L, lua_Debug* ar) {
  if (entryPending_) {
    entryPending_ = false;
    stopHere(L, host_.currentThread(), {DebugStopReason::kEntry, 0, "", 0}, true);
    return;
  }
  if (!files_.empty() && lua_getinfo(L, "S", ar)) {
    std::string_view src(ar->source, ar->srclen);
    for (const auto& f : files_) {
      if (std::find(f.lines.begin(), f.lines.end(), ar->currentline) == f.lines.end() ||
          !debugSourceMatches(src, f.path))
        continue;
      DebugBreakpoint bp;
      if (!session_->breakpointAt(src, ar->currentline, bp)) break;
      std::string condError;
      if (!bp.condition.empty() && !conditionHolds(L, bp.condition, condError)) break;
      if (!session_->countHit(bp.id)) break;
      DebugStop s{DebugStopReason::kBreakpoint, 0, condError, bp.id};
      stopHere(L, host_.currentThread(), s, true);
      return;
    }
  }
  // A step begun in a coroutine the task resumed ends where the task goes on after it yields.
  if (stepL_ && L != stepL_ && L == stepRoot_) {
    stopHere(L, host_.currentThread(), {DebugStopReason::kStep, 0, "", 0}, true);
    return;
  }
  if (L == stepL_) {
    int d = depth(L);
    bool stop = stepMode_ == DebugResume::kStepIn || (stepMode_ == DebugResume::kStepOver && d <= stepDepth_) ||
                (stepMode_ == DebugResume::kStepOut && d < stepDepth_);
    if (stop) stopHere(L, host_.currentThread(), {DebugStopReason::kStep, 0, "", 0}, true);
  }
}

void LuaDebugger::onError(lua_State* co, int threadId, const std::string& message) {
  if (inStop_ || evaluating_ || !session_->breakOnError.load()) return;
  stopHere(co, threadId, {DebugStopReason::kException, 0, message, 0}, false);
}

void LuaDebugger::pauseIdle() {
  if (inStop_ || evaluating_ || !session_->pauseRequested.load()) return;
  auto ts = host_.threads();
  stopHere(nullptr, ts.empty() ? 1 : ts.front().id, {DebugStopReason::kPause, 0, "", 0}, false);
}

void LuaDebugger::stopHere(lua_State* running, int threadId, DebugStop stop, bool canStep) {
  inStop_ = true;
  stepL_ = stepRoot_ = nullptr;
  runningL_ = running;
  runningThread_ = threadId ? threadId : 1;
  stop.threadId = runningThread_;
  bool wasHost = host_.hostWork(true);
  auto t0 = std::chrono::steady_clock::now();
  DebugResume r = session_->stop(stop, *this);
  host_.paused(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  clearStop();
  host_.hostWork(wasHost);
  if (seenGeneration_ != session_->generation()) refreshBreakpoints();
  if (r == DebugResume::kTerminate) {
    inStop_ = false;
    host_.terminate();
    return;
  }
  if (canStep && running && r != DebugResume::kContinue) {
    stepL_ = running;
    stepMode_ = r;
    stepDepth_ = depth(running);
    stepRoot_ = running;
    for (const auto& t : host_.threads())
      if (t.id == runningThread_) stepRoot_ = t.L;
    if (stepRoot_ != running) syncMask(stepRoot_, true);
  }
  if (running && lua_status(running) <= LUA_YIELD) syncMask(running, true);
  setMask(main_, entryPending_, false);
  inStop_ = false;
}

void LuaDebugger::clearStop() {
  for (const auto& r : refs_)
    if (r.kind == RefKind::kValue) luaL_unref(main_, LUA_REGISTRYINDEX, r.value);
  refs_.clear();
  frames_.clear();
  lua_settop(scratch_, 0);
}

// ---- what a stop shows ----

std::vector<DebugThread> LuaDebugger::threads() {
  std::vector<DebugThread> out;
  for (const auto& t : host_.threads()) {
    std::string name = t.id == 1 ? "main" : "task " + std::to_string(t.id);
    lua_Debug ar;
    int level = depth(t.L) - 1;
    if (level >= 0 && lua_getstack(t.L, level, &ar) && lua_getinfo(t.L, "S", &ar) && ar.what[0] != 'C' && t.id != 1)
      name += std::string(" (") + ar.short_src + ":" + std::to_string(ar.linedefined) + ")";
    out.push_back({t.id, name});
  }
  return out;
}

int LuaDebugger::frameOf(lua_State* L, int level) {
  for (size_t i = 0; i < frames_.size(); ++i)
    if (frames_[i].L == L && frames_[i].level == level) return static_cast<int>(i) + 1;
  frames_.push_back({L, level});
  return static_cast<int>(frames_.size());
}

bool LuaDebugger::getFrame(int frameId, lua_Debug& ar) {
  if (frameId < 1 || frameId > static_cast<int>(frames_.size())) return false;
  const Frame& f = frames_[frameId - 1];
  return lua_getstack(f.L, f.level, &ar) != 0;
}

std::vector<DebugFrame> LuaDebugger::frames(int threadId) {
  std::vector<lua_State*> stacks;
  for (const auto& t : host_.threads())
    if (t.id == threadId) {
      // A coroutine the task resumed (coroutine.wrap) runs above the task's own stack.
      if (threadId == runningThread_ && runningL_ && runningL_ != t.L) stacks.push_back(runningL_);
      stacks.push_back(t.L);
    }
  if (stacks.empty() && threadId == runningThread_ && runningL_) stacks.push_back(runningL_);
  std::vector<DebugFrame> out;
  for (lua_State* L : stacks) {
    lua_Debug ar;
    for (int level = 0; lua_getstack(L, level, &ar); ++level) {
      // The engine's prelude (its wrappers of coroutine functions) is not the spell's code.
      if (!lua_getinfo(L, "Snl", &ar) || strcmp(ar.source, "=prelude") == 0) continue;
      DebugFrame f;
      f.id = frameOf(L, level);
      if (ar.what[0] == 'C') {
        f.name = std::string("[C] ") + (ar.name ? ar.name : "?");
      } else {
        f.name = ar.name ? ar.name
                 : ar.what[0] == 'm' ? "main chunk"
                                     : std::string("function <") + ar.short_src + ":" + std::to_string(ar.linedefined) + ">";
        f.source = ar.source[0] == '@' || ar.source[0] == '=' ? ar.source + 1 : ar.short_src;
        f.line = ar.currentline;
      }
      out.push_back(f);
    }
  }
  return out;
}

int LuaDebugger::addRef(Ref r) {
  refs_.push_back(r);
  return static_cast<int>(refs_.size());
}

std::vector<DebugScope> LuaDebugger::scopes(int frameId) {
  lua_Debug ar;
  if (!getFrame(frameId, ar)) return {};
  return {{"Locals", addRef({RefKind::kLocals, frameId, 0})},
          {"Upvalues", addRef({RefKind::kUpvalues, frameId, 0})},
          {"Globals", addRef({RefKind::kGlobals, frameId, 0})}};
}

DebugVariable LuaDebugger::describe(lua_State* S, int idx, std::string name) {
  idx = lua_absindex(S, idx);
  DebugVariable v;
  v.name = std::move(name);
  int t = lua_type(S, idx);
  v.type = lua_typename(S, t);
  switch (t) {
    case LUA_TNIL: v.value = "nil"; break;
    case LUA_TBOOLEAN: v.value = lua_toboolean(S, idx) ? "true" : "false"; break;
    case LUA_TNUMBER: {
      char buf[64];
      if (lua_isinteger(S, idx)) std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(lua_tointeger(S, idx)));
      else std::snprintf(buf, sizeof buf, "%.14g", lua_tonumber(S, idx));
      v.value = buf;
      break;
    }
    case LUA_TSTRING: {
      size_t n = 0;
      const char* s = lua_tolstring(S, idx, &n);
      v.value = debugQuote(std::string_view(s, n));
      break;
    }
    case LUA_TTABLE: {
      std::string code = rawStringField(S, idx, "code"), msg = rawStringField(S, idx, "message");
      int n = 0;
      lua_pushnil(S);
      while (lua_next(S, idx)) {
        lua_pop(S, 1);
        if (++n > kMaxEntries) {
          lua_pop(S, 1);
          break;
        }
      }
      if (!code.empty() && !msg.empty()) v.value = "error[" + code + "]: " + msg;
      else v.value = n == 0 ? "{}" : "table (" + std::to_string(n) + (n > kMaxEntries ? "+" : "") + " entries)";
      if (n > 0) {
        lua_pushvalue(S, idx);
        v.ref = addRef({RefKind::kValue, 0, luaL_ref(S, LUA_REGISTRYINDEX)});
      }
      break;
    }
    case LUA_TFUNCTION: {
      lua_Debug ar;
      lua_pushvalue(S, idx);
      if (lua_getinfo(S, ">S", &ar) && ar.what[0] != 'C')
        v.value = std::string("function ") + ar.short_src + ":" + std::to_string(ar.linedefined);
      else v.value = "function (built-in)";
      break;
    }
    case LUA_TUSERDATA:
      // A host object: its type's name, never a __tostring of the spell's.
      if (lua_getmetatable(S, idx)) {
        v.value = rawStringField(S, -1, "__name");
        lua_pop(S, 1);
      }
      if (v.value.empty()) v.value = "userdata";
      v.type = v.value;
      break;
    case LUA_TTHREAD: v.value = "coroutine"; break;
    default: v.value = v.type;
  }
  return v;
}

std::vector<DebugVariable> LuaDebugger::variables(int ref) {
  if (ref < 1 || ref > static_cast<int>(refs_.size())) return {};
  Ref r = refs_[ref - 1];
  std::vector<DebugVariable> out;
  lua_checkstack(scratch_, 8);
  int top = lua_gettop(scratch_);
  lua_Debug ar;
  if (r.kind == RefKind::kValue) {
    lua_rawgeti(scratch_, LUA_REGISTRYINDEX, r.value);
    int t = lua_gettop(scratch_);
    std::vector<std::pair<lua_Integer, DebugVariable>> numbered;
    std::vector<DebugVariable> named;
    lua_pushnil(scratch_);
    int n = 0;
    while (lua_next(scratch_, t)) {
      if (++n > kMaxEntries) {
        lua_pop(scratch_, 2);
        break;
      }
      if (lua_type(scratch_, -2) == LUA_TNUMBER && lua_isinteger(scratch_, -2)) {
        lua_Integer k = lua_tointeger(scratch_, -2);
        numbered.emplace_back(k, describe(scratch_, -1, "[" + std::to_string(k) + "]"));
      } else if (lua_type(scratch_, -2) == LUA_TSTRING) {
        named.push_back(describe(scratch_, -1, lua_tostring(scratch_, -2)));
      } else {
        named.push_back(describe(scratch_, -1, "[" + describe(scratch_, -2, "").value + "]"));
      }
      lua_pop(scratch_, 1);
    }
    std::sort(numbered.begin(), numbered.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::sort(named.begin(), named.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    for (auto& [k, v] : numbered) out.push_back(std::move(v));
    for (auto& v : named) out.push_back(std::move(v));
  } else if (getFrame(r.frame, ar)) {
    lua_State* L = frames_[r.frame - 1].L;
    lua_checkstack(L, 2);
    if (r.kind == RefKind::kLocals) {
      for (int i = 1;; ++i) {
        const char* name = lua_getlocal(L, &ar, i);
        if (!name) break;
        lua_xmove(L, scratch_, 1);
        if (name[0] != '(') out.push_back(describe(scratch_, -1, name));
        lua_pop(scratch_, 1);
      }
    } else {
      lua_getinfo(L, "f", &ar);
      lua_xmove(L, scratch_, 1);
      int fn = lua_gettop(scratch_);
      bool globals = r.kind == RefKind::kGlobals, found = false;
      for (int i = 1;; ++i) {
        const char* name = lua_getupvalue(scratch_, fn, i);
        if (!name) break;
        if (globals && strcmp(name, "_ENV") == 0 && lua_istable(scratch_, -1)) {
          found = true;
          break;
        }
        if (!globals && strcmp(name, "_ENV") != 0) out.push_back(describe(scratch_, -1, name));
        lua_pop(scratch_, 1);
      }
      if (globals) {
        if (!found) lua_pushglobaltable(scratch_);
        DebugVariable g = describe(scratch_, -1, "");
        lua_settop(scratch_, top);
        if (g.ref == 0) return out;
        refs_[ref - 1] = refs_[g.ref - 1];  // the globals table, listed as a table
        refs_.pop_back();
        return variables(ref);
      }
    }
  }
  lua_settop(scratch_, top);
  return out;
}

int LuaDebugger::run(const std::string& code, int frameId, int base) {
  lua_checkstack(scratch_, 8);
  lua_newtable(scratch_);  // base+1: the expression's environment
  int env = lua_gettop(scratch_);
  lua_pushnil(scratch_);  // env+1: the frame's globals (its _ENV)
  bool haveEnv = false;
  lua_Debug ar;
  if (getFrame(frameId, ar)) {
    lua_State* L = frames_[frameId - 1].L;
    lua_checkstack(L, 2);
    lua_getinfo(L, "f", &ar);
    lua_xmove(L, scratch_, 1);
    int fn = lua_gettop(scratch_);
    for (int i = 1;; ++i) {
      const char* name = lua_getupvalue(scratch_, fn, i);
      if (!name) break;
      if (strcmp(name, "_ENV") == 0) {
        if (!haveEnv && lua_istable(scratch_, -1)) {
          lua_replace(scratch_, env + 1);
          haveEnv = true;
        } else {
          lua_pop(scratch_, 1);
        }
        continue;
      }
      lua_setfield(scratch_, env, name);
    }
    lua_pop(scratch_, 1);  // fn
    // Locals after upvalues: a local shadows an upvalue of the same name, a later local an
    // earlier one.
    for (int i = 1;; ++i) {
      const char* name = lua_getlocal(L, &ar, i);
      if (!name) break;
      lua_xmove(L, scratch_, 1);
      if (name[0] == '(') lua_pop(scratch_, 1);
      else lua_setfield(scratch_, env, name);
    }
  }
  if (!haveEnv) {
    lua_pushglobaltable(scratch_);
    lua_replace(scratch_, env + 1);
  }
  lua_createtable(scratch_, 0, 1);
  lua_pushvalue(scratch_, env + 1);
  lua_setfield(scratch_, -2, "__index");
  lua_setmetatable(scratch_, env);
  lua_settop(scratch_, env);
  std::string expr = "return " + code;
  if (luaL_loadbufferx(scratch_, expr.data(), expr.size(), "=(debugger)", "t") != LUA_OK) {
    lua_pop(scratch_, 1);
    if (luaL_loadbufferx(scratch_, code.data(), code.size(), "=(debugger)", "t") != LUA_OK) {
      std::string msg = lua_tostring(scratch_, -1) ? lua_tostring(scratch_, -1) : "syntax error";
      lua_settop(scratch_, base);
      throw Exception(Error(codes::kInvalidArgument, "syntax error: " + msg));
    }
  }
  lua_pushvalue(scratch_, env);
  lua_setupvalue(scratch_, -2, 1);
  lua_State* co = lua_newthread(scratch_);
  lua_pushvalue(scratch_, -2);
  lua_xmove(scratch_, co, 1);
  int nres = 0;
  evaluating_ = true;
  bool wasHost = host_.hostWork(false);
  host_.evaluating(true);
  int status = lua_resume(co, scratch_, 0, &nres);
  host_.evaluating(false);
  host_.hostWork(wasHost);
  evaluating_ = false;
  if (status == LUA_YIELD) {
    lua_settop(scratch_, base);
    throw Exception(Error(codes::kInvalidArgument, "an expression that waits (sleep, await, an async call) cannot be evaluated while stopped"));
  }
  if (status != LUA_OK) {
    std::string msg = errorText(co, -1);
    lua_settop(scratch_, base);
    throw Exception(Error("script_error", msg));
  }
  lua_settop(scratch_, base);
  lua_checkstack(scratch_, nres + 1);
  lua_xmove(co, scratch_, nres);
  return nres;
}

DebugVariable LuaDebugger::evaluate(const std::string& expr, int frameId) {
  int base = lua_gettop(scratch_);
  int n = run(expr, frameId, base);
  DebugVariable v;
  if (n == 0) {
    v.value = "nil";
    v.type = "nil";
  } else {
    v = describe(scratch_, base + 1, expr);
    for (int i = 2; i <= n; ++i) v.value += ", " + describe(scratch_, base + i, "").value;
  }
  v.name = expr;
  lua_settop(scratch_, base);
  return v;
}

bool LuaDebugger::conditionHolds(lua_State* L, const std::string& cond, std::string& error) {
  inStop_ = true;  // frames and refs made for the condition are dropped below
  bool wasHost = host_.hostWork(true);
  bool holds = true;
  int base = lua_gettop(scratch_);
  try {
    int n = run(cond, frameOf(L, 0), base);
    holds = n > 0 && lua_toboolean(scratch_, base + 1);
  } catch (const Exception& e) {
    error = "breakpoint condition failed: " + e.error().message;  // stop and say why
  }
  clearStop();
  host_.hostWork(wasHost);
  inStop_ = false;
  return holds;
}

}  // namespace llmspell
