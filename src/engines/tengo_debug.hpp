// The Tengo engine's debugger: breakpoints, stepping, pause and error stops through the Tengo
// VM's debug hook, and the frames, scopes and evaluation a stopped spell offers, all from C++
// (the spell never sees any of it). Private to the Tengo engine (tengo_engine.cpp owns one per
// debugged context).
//
// Cost: with no breakpoint in the spell's files and no step, pause or entry stop pending, the
// VM runs with line mode off and calls the hook only at its periodic limit checks (a pause
// request or changed breakpoints turn line mode on there). With line mode on, every instruction
// goes through the VM's line check first, and the hook runs on each new line.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "llmspell/engines/debug.hpp"
#include "llmspell/engines/tengo/tengo.hpp"

namespace llmspell {

// What the debugger needs from the engine.
struct TengoDebugHost {
  std::function<std::string(int)> threadName;  // "main", "task 2 (main.tengo:4)"
  std::function<bool(const std::string&)> hostGlobal;  // a global the engine predeclared
  std::function<void(double)> paused;           // the spell was stopped this many seconds
  std::function<void()> terminate;              // ends the spell (kTerminate)
  // Entering (true) or leaving (false) an evaluation; on leaving, true if the expression
  // started a wait (which the engine has withdrawn).
  std::function<bool(bool)> evaluating;
};

class TengoDebugger final : public DebugTarget, public tengo::DebugHook {
 public:
  TengoDebugger(std::shared_ptr<DebugSession> session, TengoDebugHost host);

  // The spell's VM, before it runs (null: it is gone).
  void attach(tengo::Vm* vm);
  // A pause asked for while the spell waits (no VM runs): stop now, on the loop.
  void pauseIdle();
  // Task `id` ended: a step pending in it is over.
  void onTaskEnd(int id);

  // tengo::DebugHook
  void onLine(tengo::Vm& vm, const std::string& file, int line) override;
  void onCheck(tengo::Vm& vm) override;
  void onError(tengo::Vm& vm, const std::string& message) override;

  // DebugTarget
  std::vector<DebugThread> threads() override;
  std::vector<DebugFrame> frames(int threadId) override;
  std::vector<DebugScope> scopes(int frameId) override;
  std::vector<DebugVariable> variables(int ref) override;
  DebugVariable evaluate(const std::string& expr, int frameId) override;

 private:
  enum class RefKind { kLocals, kUpvalues, kGlobals, kValue };
  struct Ref {
    RefKind kind;
    int frame;          // kLocals/kUpvalues/kGlobals
    tengo::Value value;  // kValue: the array, map or error
  };
  struct Frame {
    int thread, level;
  };

  void refreshBreakpoints();
  // Line mode on while something needs line events: a breakpoint in one of the program's
  // files, a step or the entry stop (a pause, from onCheck on).
  void updateLineMode();
  void stopHere(int threadId, DebugStop stop, bool canStep);
  void clearStop();
  int addRef(Ref r);
  DebugVariable describe(const tengo::Value& v, std::string name);
  // Evaluates in frame (thread, level); throws Exception.
  tengo::Value run(const std::string& expr, int thread, int level);
  bool conditionHolds(int thread, const std::string& cond, std::string& error);

  std::shared_ptr<DebugSession> session_;
  TengoDebugHost host_;
  tengo::Vm* vm_ = nullptr;
  uint64_t seenGeneration_ = ~uint64_t{0};
  struct FileLines {
    std::string path;
    std::vector<int> lines;
  };
  std::vector<FileLines> files_;  // a copy of the session's table, refreshed on generation
  bool bpInProgram_ = false;      // some breakpoint is in a file of the program
  bool entryPending_ = false;
  bool inStop_ = false;
  bool evaluating_ = false;
  // A pending step: the thread, the mode and the stack depth it started at.
  int stepThread_ = 0;
  DebugResume stepMode_ = DebugResume::kContinue;
  int stepDepth_ = 0;
  // Per stop.
  std::vector<Frame> frames_;
  std::vector<Ref> refs_;
  double stopStart_ = 0, shifted_ = 0;  // seconds (steady clock); the part of the stop the VM's deadline has moved by
};

}  // namespace llmspell
