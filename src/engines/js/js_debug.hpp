// The JavaScript engine's debugger: breakpoints, stepping, pause and exception stops, frames,
// scopes, variables and evaluation, through V8's inspector driven in-process (js_inspector.hpp).
// The spell never sees the inspector: it is a C++ session on the isolate, not a module or global.
// Private to the JavaScript engine (js_engine.cpp owns one per debugged context).
//
// Cost: none without a session (no inspector is created). With one, V8 runs with its debugger
// on (breakpoints are V8's own, set by url); the engine checks one generation number per entry
// from the host so that breakpoints changed while the spell runs take effect.
//
// Threads: JavaScript tasks (spawn, callbacks) are promise chains on one stack, not separate
// stacks that could be looked at while suspended; the debugger shows one thread, "main".
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engines/js/js_inspector.hpp"
#include "llmspell/engines/debug.hpp"

namespace llmspell {

// What the debugger needs from the engine.
struct JsDebugHost {
  // Makes the inspector for the context, with the debugger's hooks.
  std::function<std::unique_ptr<js::Inspector>(js::Inspector::Hooks)> inspector;
  std::function<void()> terminate;     // ends the spell (kTerminate)
  // Enters (true) or leaves (false) evaluation of debugger code: no current task, so a host
  // call made by an expression is not counted as the stopped task's.
  std::function<void(bool)> evaluating;
  std::function<bool()> running;  // JavaScript is on the stack (else the spell waits)
  // The spell's time limit (0: none), which also bounds each expression the debugger evaluates
  // (the spell's own clock is stopped meanwhile).
  double timeLimitSeconds = 0;
};

class JsDebugger final : public DebugTarget {
 public:
  JsDebugger(std::shared_ptr<DebugSession> session, JsDebugHost host);
  ~JsDebugger() override;

  // Before the main chunk runs: stop on entry when asked.
  void beforeRun(const std::string& chunkName);
  // At each entry from the host into JavaScript: breakpoints or the error switch changed.
  void poll() {
    if (seenGeneration_ != session_->generation() || seenBreakOnError_ != static_cast<int>(session_->breakOnError.load(std::memory_order_relaxed)))
      sync();
  }
  // A pause asked for: on the isolate's thread while JavaScript runs (an interrupt)...
  void pauseRunning();
  // ... or on the loop while the spell waits (nothing runs to stop in: a stop with no frames).
  void pauseIdle();

  // DebugTarget
  std::vector<DebugThread> threads() override;
  std::vector<DebugFrame> frames(int threadId) override;
  std::vector<DebugScope> scopes(int frameId) override;
  std::vector<DebugVariable> variables(int ref) override;
  DebugVariable evaluate(const std::string& expr, int frameId) override;

 private:
  struct Ref {
    std::vector<std::string> objectIds;  // a scope list (merged, innermost first) or one object
    bool scope = false;
  };
  struct V8Breakpoint {
    std::string file;
    int line = 0;
  };

  void sync();
  void onNotification(const std::string& text);
  void onPaused();
  nlohmann::json call(const std::string& method, const nlohmann::json& params);
  // Stops: the front end looks around until it resumes. `canStep`: V8 is paused (not idle).
  DebugResume stopHere(const DebugStop& stop, bool paused);
  void resume(DebugResume r);
  int addRef(Ref r);
  DebugVariable describe(const nlohmann::json& remote, std::string name);
  // Evaluates in frame `frameId` (0: the global scope); throws Exception on an exception.
  nlohmann::json eval(const std::string& expr, int frameId);
  std::string sourceOf(const nlohmann::json& frame) const;

  std::shared_ptr<DebugSession> session_;
  JsDebugHost host_;
  std::unique_ptr<js::Inspector> inspector_;
  uint64_t seenGeneration_ = ~uint64_t{0};
  int seenBreakOnError_ = -1;  // the error switch as last given to V8 (-1: not yet)
  std::map<std::string, V8Breakpoint> v8Breakpoints_;  // V8's breakpoint id -> ours
  std::map<std::string, std::string> scriptUrls_;      // scriptId -> url
  std::string entryBreakpoint_;                        // V8's id of the stop-on-entry breakpoint
  nlohmann::json pausedEvent_;
  bool inStop_ = false;
  bool stepping_ = false;
  // Where the step began: a step ends on another line or in another frame (V8 stops at each
  // expression of a statement; a line debugger does not).
  DebugResume stepMode_ = DebugResume::kContinue;
  std::string stepSource_;
  int stepLine_ = 0;
  size_t stepDepth_ = 0;
  // Per stop.
  nlohmann::json callFrames_ = nlohmann::json::array();
  std::vector<Ref> refs_;
};

}  // namespace llmspell
