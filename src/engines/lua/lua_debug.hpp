// The Lua engine's debugger: breakpoints, stepping, pause and error stops through Lua's hooks,
// and the frames, scopes and evaluation a stopped spell offers, all from C++ (the spell never gets
// `debug`). Private to the Lua engine (lua_engine.cpp owns one per debugged context).
//
// Cost when nothing is asked: the engine's count hook (which it has anyway for its limits) checks
// one flag. With breakpoints set, a call/return hook checks whether the function entered (or
// returned to) comes from a file with breakpoints, and only such functions run with the line
// hook. A pending step turns the line hook on for the stepping coroutine only.
#pragma once

#include <lua.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llmspell/engines/debug.hpp"

namespace llmspell {

struct LuaDebugThread {
  int id = 0;
  lua_State* L = nullptr;  // the task's coroutine
};

// What the debugger needs from the engine.
struct LuaDebugHost {
  lua_Hook hook = nullptr;                           // the engine's hook (forwards to us)
  int countEvery = 1000;                             // its count
  std::function<std::vector<LuaDebugThread>()> threads;  // running first, then suspended
  std::function<int()> currentThread;                // the id of the task running now (0: none)
  std::function<void(double)> paused;                // the spell was stopped this many seconds
  std::function<void()> terminate;                   // ends the spell (kTerminate)
  // Enters (true) or leaves (false) evaluation of debugger code: host memory off the cap while
  // we build tables, and no current task, so a wait in an expression fails instead of resuming
  // the stopped task.
  std::function<void(bool)> evaluating;
  // Host work on (true: the allocator does not fail while we build our tables) or off.
  // Returns the previous setting.
  std::function<bool(bool)> hostWork;
};

class LuaDebugger final : public DebugTarget {
 public:
  LuaDebugger(lua_State* L, std::shared_ptr<DebugSession> session, LuaDebugHost host);
  ~LuaDebugger() override;

  // Hook events other than count (call, tail call, return, line).
  void onHook(lua_State* L, lua_Debug* ar);
  // The count hook's part: pause requests and breakpoint changes.
  void onCount(lua_State* L) {
    if (session_->pauseRequested.load(std::memory_order_relaxed) || seenGeneration_ != session_->generation())
      onCountSlow(L);
  }
  // Before a task's coroutine is resumed: its hook mask may be stale.
  void beforeResume(lua_State* co) {
    if (seenGeneration_ != session_->generation() || stepL_) syncMask(co, true);
  }
  // A task ended in an uncaught error; its coroutine's stack is still there to look at.
  void onError(lua_State* co, int threadId, const std::string& message);
  // A task's coroutine finished: a step pending on it is over.
  void onTaskEnd(lua_State* co) {
    if (co == stepL_ || co == stepRoot_) stepL_ = stepRoot_ = nullptr;
  }
  // A pause asked for while the spell waits (no hook runs): stop now, on the loop.
  void pauseIdle();

  // DebugTarget
  std::vector<DebugThread> threads() override;
  std::vector<DebugFrame> frames(int threadId) override;
  std::vector<DebugScope> scopes(int frameId) override;
  std::vector<DebugVariable> variables(int ref) override;
  DebugVariable evaluate(const std::string& expr, int frameId) override;

 private:
  struct Frame {
    lua_State* L;
    int level;
  };
  enum class RefKind { kLocals, kUpvalues, kGlobals, kValue };
  struct Ref {
    RefKind kind;
    int frame;     // kLocals/kUpvalues/kGlobals
    int value;     // kValue: registry ref of the table
  };

  void onCountSlow(lua_State* L);
  void refreshBreakpoints();
  bool sourceHasBreakpoints(const char* source, size_t len) const;
  bool functionHasBreakpoints(lua_State* L, lua_Debug* ar);
  // Sets L's hook mask for where it is now (top frame), keeping a pending step's line hook.
  void syncMask(lua_State* L, bool top);
  // `line`: the line hook; `ret`: the return hook (needed when a function with breakpoints is on
  // the stack below).
  void setMask(lua_State* L, bool line, bool ret);
  int depth(lua_State* L);
  void onLine(lua_State* L, lua_Debug* ar);
  // Stops: builds nothing until the front end asks; clears it all afterwards.
  // `running`: the coroutine stopped in its hook (null for an idle pause); `canStep`: a step
  // may start from here (not from a coroutine that died of an error).
  void stopHere(lua_State* running, int threadId, DebugStop stop, bool canStep);
  void clearStop();
  int frameOf(lua_State* L, int level);  // a frame id for (L, level), made on demand
  bool getFrame(int frameId, lua_Debug& ar);
  int addRef(Ref r);
  DebugVariable describe(lua_State* S, int idx, std::string name);  // value at idx of S
  // Runs `code` (an expression, or statements) in frame `frameId`; leaves its results on the
  // scratch thread's stack from `base`. Throws Exception.
  int run(const std::string& code, int frameId, int base);
  bool conditionHolds(lua_State* L, const std::string& cond, std::string& error);

  lua_State* main_;
  lua_State* scratch_ = nullptr;  // a thread for our own stack work
  int scratchRef_ = LUA_NOREF;
  std::shared_ptr<DebugSession> session_;
  LuaDebugHost host_;
  uint64_t seenGeneration_ = ~uint64_t{0};
  struct FileLines {
    std::string path;
    std::vector<int> lines;
  };
  std::vector<FileLines> files_;  // a copy of the session's table, refreshed on generation
  bool entryPending_ = false;
  bool inStop_ = false;
  bool evaluating_ = false;
  // A pending step: the coroutine, the mode and the stack depth it started at.
  lua_State* stepL_ = nullptr;
  lua_State* stepRoot_ = nullptr;  // the coroutine of the stepping task (stepL_ or its resumer)
  DebugResume stepMode_ = DebugResume::kContinue;
  int stepDepth_ = 0;
  // Per stop.
  lua_State* runningL_ = nullptr;
  int runningThread_ = 0;
  std::vector<Frame> frames_;
  std::vector<Ref> refs_;
};

}  // namespace llmspell
