// The debugger seam between an engine and a debugger front end (`llmspell debug`, `llmspell
// dap`). An engine that can be debugged implements Debuggable beside ScriptContext; the front end
// implements DebugSession. The spell never sees any of it: the engine drives its VM's debug API
// from C++ (Lua's lua_sethook/lua_getlocal), so `debug` stays out of the sandbox.
//
// Threads: the engine calls DebugSession::stopped on the runtime thread and blocks there until it
// returns; every task of the spell is stopped meanwhile, and the DebugTarget it is given may be
// used (on that thread) until it returns. Breakpoints, the pause request and the error switch may
// be changed from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace llmspell {

struct DebugBreakpoint {
  int id = 0;
  int line = 0;
  std::string condition;     // an expression of the spell's language; stops when truthy
  std::string hitCondition;  // "N" or ">=N" (from the Nth hit on), "==N", ">N", "%N"
  int hits = 0;
};

enum class DebugStopReason { kEntry, kBreakpoint, kStep, kException, kPause };
const char* debugStopReasonName(DebugStopReason r);  // "entry", "breakpoint", ... (DAP's words)

struct DebugStop {
  DebugStopReason reason = DebugStopReason::kPause;
  int threadId = 0;
  std::string text;  // an exception's message
  int breakpointId = 0;
};

struct DebugThread {
  int id = 0;
  std::string name;  // "main", "task 2 (worker.lua:12)"
};

struct DebugFrame {
  int id = 0;         // for scopes() and evaluate(); valid until the stop ends
  std::string name;   // function name, "main chunk", "?"
  std::string source; // the chunk name as the engine knows it ("main.lua", "lib/util.lua")
  int line = 0;
};

struct DebugScope {
  std::string name;  // "Locals", "Upvalues", "Globals"
  int ref = 0;       // for variables()
};

struct DebugVariable {
  std::string name, value, type;
  int ref = 0;  // > 0: expandable with variables(ref)
};

// What the stopped engine offers. Valid only during DebugSession::stopped, on its thread.
class DebugTarget {
 public:
  virtual ~DebugTarget() = default;
  virtual std::vector<DebugThread> threads() = 0;
  // Frames of a thread, innermost first; empty for an unknown thread.
  virtual std::vector<DebugFrame> frames(int threadId) = 0;
  virtual std::vector<DebugScope> scopes(int frameId) = 0;
  virtual std::vector<DebugVariable> variables(int ref) = 0;
  // Evaluates `expr` in the frame (its locals and upvalues, then the spell's globals), under the
  // spell's sandbox and limits; an expression that waits is refused. Throws Exception on error.
  virtual DebugVariable evaluate(const std::string& expr, int frameId) = 0;
};

enum class DebugResume { kContinue, kStepIn, kStepOver, kStepOut, kTerminate };

// A debugger front end. The breakpoint table and switches are shared state with the engine.
class DebugSession {
 public:
  virtual ~DebugSession() = default;

  // Called by the engine on the runtime thread; blocks until the front end resumes the spell.
  virtual DebugResume stopped(const DebugStop& stop, DebugTarget& target) = 0;

  // ---- shared state (any thread) ----
  // Replaces the breakpoints of one file; `file` is matched against the engine's chunk names
  // by whole path components from the end ("/home/a/spell/main.lua" matches "main.lua").
  // Returns the breakpoints with their ids.
  std::vector<DebugBreakpoint> setBreakpoints(const std::string& file, std::vector<DebugBreakpoint> bps);
  // True if any breakpoint is set in any file.
  bool anyBreakpoints() const { return any_.load(std::memory_order_relaxed); }
  // Bumped by every change to the breakpoints: engines re-read their hooks when it moves.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  // True if the chunk `source` (e.g. "@main.lua" or "main.lua") has breakpoints. Cheap enough for
  // a call hook: compares against the few files that have any.
  bool sourceHasBreakpoints(std::string_view source) const;
  // The files with breakpoints and their lines: engines keep a copy, refreshed on generation().
  std::vector<std::pair<std::string, std::vector<int>>> breakpointLines() const;
  // The breakpoint at `line` of `source`, copied out (the table may change); false if none.
  bool breakpointAt(std::string_view source, int line, DebugBreakpoint& out) const;
  // Counts a hit of breakpoint `id` (its condition held); true when its hit condition says stop.
  bool countHit(int id);

  std::atomic<bool> breakOnError{true};
  std::atomic<bool> pauseRequested{false};
  // Asks the spell to stop as soon as it can: at its next count hook when it runs, or through
  // the waker the engine set (a post to its loop) when it waits.
  void requestPause();
  // Set by the engine on attach (and cleared when its context closes); called from any thread.
  void setWaker(std::function<void()> wake);
  bool stopOnEntry = false;

  // Seconds spent stopped so far (counting a stop in progress): a run's time limit is extended
  // by it, since a paused spell's time limit is suspended while paused.
  double pausedSeconds() const;
  // Wraps stopped(): keeps the paused time. Engines call this, not stopped().
  DebugResume stop(const DebugStop& stop, DebugTarget& target);

 private:
  struct File {
    std::string path;
    std::vector<DebugBreakpoint> bps;
  };
  mutable std::mutex mu_;
  std::function<void()> wake_;
  std::vector<File> files_;
  int nextId_ = 1;
  std::atomic<bool> any_{false};
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> pausedNanos_{0};
  std::atomic<int64_t> pauseStart_{0};  // steady clock nanos; 0 when running
};

// A string as a debugger shows it: quoted, escaped, the first 200 bytes (and its length past that).
std::string debugQuote(std::string_view s);

// True if the chunk name `source` (a leading '@' ignored) and `file` name the same file: equal,
// or one ends with the other at a '/' boundary.
bool debugSourceMatches(std::string_view source, std::string_view file);

// An engine context that can be debugged (dynamic_cast from ScriptContext).
class Debuggable {
 public:
  virtual ~Debuggable() = default;
  // Attaches the session before run(); the context keeps it for its life.
  virtual void attachDebugger(std::shared_ptr<DebugSession> session) = 0;
};

}  // namespace llmspell
