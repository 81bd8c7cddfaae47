// The Tengo engine's debugger (see tengo_debug.hpp). Everything here runs on the runtime
// thread, inside the VM's hook or on the loop.
#include "engines/tengo_debug.hpp"

#include <algorithm>
#include <chrono>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace tg = llmspell::tengo;

namespace {

constexpr size_t kMaxEntries = 1000;  // an array's or map's entries shown; the rest are summarized

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// "file:line:col" -> "file:line"
std::string fileLine(const std::string& pos) {
  auto c = pos.rfind(':');
  return c == std::string::npos ? pos : pos.substr(0, c);
}

// The VM's "Runtime Error: msg\n\tat ..." as the message alone.
std::string vmMessage(std::string msg) {
  for (const char* prefix : {"Runtime Error: ", "Parse Error: ", "Compile Error: "})
    if (msg.rfind(prefix, 0) == 0) msg = msg.substr(std::char_traits<char>::length(prefix));
  if (auto at = msg.find("\n\tat "); at != std::string::npos) msg = msg.substr(0, at);
  return msg;
}

}  // namespace

TengoDebugger::TengoDebugger(std::shared_ptr<DebugSession> session, TengoDebugHost host)
    : session_(std::move(session)), host_(std::move(host)) {
  entryPending_ = session_->stopOnEntry;
}

void TengoDebugger::attach(tg::Vm* vm) {
  vm_ = vm;
  if (!vm_) return;
  vm_->setDebugHook(this);
  refreshBreakpoints();
}

// ---- hooks ----

void TengoDebugger::refreshBreakpoints() {
  seenGeneration_ = session_->generation();
  files_.clear();
  for (auto& [path, lines] : session_->breakpointLines()) files_.push_back({path, lines});
  bpInProgram_ = false;
  if (vm_)
    for (const auto& name : vm_->debugFiles())
      for (const auto& f : files_)
        if (debugSourceMatches(name, f.path)) bpInProgram_ = true;
  updateLineMode();
}

void TengoDebugger::updateLineMode() {
  if (!vm_) return;
  // A pause request turns it on at the VM's next periodic check (onCheck), as Lua's count hook
  // takes it, or the loop takes it when the spell waits.
  vm_->setDebugLineMode(bpInProgram_ || entryPending_ || stepThread_ != 0);
}

void TengoDebugger::onCheck(tg::Vm&) {
  if (inStop_ || evaluating_) return;
  if (seenGeneration_ != session_->generation()) refreshBreakpoints();
  // A pause is taken at the next line.
  if (session_->pauseRequested.load(std::memory_order_relaxed)) vm_->setDebugLineMode(true);
}

void TengoDebugger::onLine(tg::Vm& vm, const std::string& file, int line) {
  if (inStop_ || evaluating_) return;
  if (seenGeneration_ != session_->generation()) refreshBreakpoints();
  int thread = vm.debugId();
  if (entryPending_) {
    entryPending_ = false;
    stopHere(thread, {DebugStopReason::kEntry, 0, "", 0}, true);
    return;
  }
  if (session_->pauseRequested.load()) {
    stopHere(thread, {DebugStopReason::kPause, 0, "", 0}, true);
    return;
  }
  for (const auto& f : files_) {
    if (std::find(f.lines.begin(), f.lines.end(), line) == f.lines.end() || !debugSourceMatches(file, f.path))
      continue;
    DebugBreakpoint bp;
    if (!session_->breakpointAt(file, line, bp)) break;
    std::string condError;
    if (!bp.condition.empty() && !conditionHolds(thread, bp.condition, condError)) break;
    if (!session_->countHit(bp.id)) break;
    stopHere(thread, {DebugStopReason::kBreakpoint, 0, condError, bp.id}, true);
    return;
  }
  if (stepThread_ == thread) {
    int d = vm.debugDepth();
    bool stop = stepMode_ == DebugResume::kStepIn || (stepMode_ == DebugResume::kStepOver && d <= stepDepth_) ||
                (stepMode_ == DebugResume::kStepOut && d < stepDepth_);
    if (stop) stopHere(thread, {DebugStopReason::kStep, 0, "", 0}, true);
  }
}

void TengoDebugger::onError(tg::Vm& vm, const std::string& message) {
  if (inStop_ || evaluating_ || !session_->breakOnError.load()) return;
  stopHere(vm.debugId(), {DebugStopReason::kException, 0, message, 0}, false);
}

void TengoDebugger::pauseIdle() {
  if (inStop_ || evaluating_ || !vm_ || !session_->pauseRequested.load()) return;
  auto stacks = vm_->debugStacks();
  int thread = stacks.empty() ? 1 : stacks.front().id;
  for (const auto& s : stacks)
    if (s.id == 1) thread = 1;  // the main function when it waits
  stopHere(thread, {DebugStopReason::kPause, 0, "", 0}, false);
}

void TengoDebugger::onTaskEnd(int id) {
  if (stepThread_ != id) return;
  stepThread_ = 0;
  updateLineMode();
}

void TengoDebugger::stopHere(int threadId, DebugStop stop, bool canStep) {
  inStop_ = true;
  stepThread_ = 0;
  stop.threadId = threadId;
  stopStart_ = nowSeconds();
  shifted_ = 0;
  DebugResume r = session_->stop(stop, *this);
  double secs = nowSeconds() - stopStart_;
  // A paused spell's time limit is suspended: the VM's deadline and the engine's move on.
  if (vm_) vm_->debugPaused(secs - shifted_);
  host_.paused(secs);
  clearStop();
  if (seenGeneration_ != session_->generation()) refreshBreakpoints();
  if (r == DebugResume::kTerminate) {
    inStop_ = false;
    host_.terminate();
    return;
  }
  if (canStep && vm_ && r != DebugResume::kContinue) {
    stepThread_ = threadId;
    stepMode_ = r;
    stepDepth_ = vm_->debugDepth();
  }
  updateLineMode();
  inStop_ = false;
}

void TengoDebugger::clearStop() {
  refs_.clear();
  frames_.clear();
}

// ---- what a stop shows ----

std::vector<DebugThread> TengoDebugger::threads() {
  std::vector<DebugThread> out;
  if (!vm_) return out;
  auto stacks = vm_->debugStacks();
  // The running one first, then by id.
  std::stable_sort(stacks.begin(), stacks.end(), [](const auto& a, const auto& b) {
    return a.running != b.running ? a.running : a.id < b.id;
  });
  for (const auto& s : stacks) out.push_back({s.id, host_.threadName(s.id)});
  return out;
}

std::vector<DebugFrame> TengoDebugger::frames(int threadId) {
  std::vector<DebugFrame> out;
  if (!vm_) return out;
  for (const auto& s : vm_->debugStacks()) {
    if (s.id != threadId) continue;
    for (size_t level = 0; level < s.frames.size(); ++level) {
      const auto& fi = s.frames[level];
      frames_.push_back({threadId, static_cast<int>(level)});
      out.push_back({static_cast<int>(frames_.size()), fi.function, fi.file, fi.line});
    }
    break;
  }
  return out;
}

int TengoDebugger::addRef(Ref r) {
  refs_.push_back(std::move(r));
  return static_cast<int>(refs_.size());
}

std::vector<DebugScope> TengoDebugger::scopes(int frameId) {
  if (frameId < 1 || frameId > static_cast<int>(frames_.size())) return {};
  return {{"Locals", addRef({RefKind::kLocals, frameId, {}})},
          {"Upvalues", addRef({RefKind::kUpvalues, frameId, {}})},
          {"Globals", addRef({RefKind::kGlobals, frameId, {}})}};
}

DebugVariable TengoDebugger::describe(const tg::Value& v, std::string name) {
  DebugVariable d;
  d.name = std::move(name);
  d.type = tg::typeName(v);
  auto count = [](size_t n, const char* one, const char* many) { return std::to_string(n) + " " + (n == 1 ? one : many); };
  switch (v.type()) {
    case tg::Type::kUndefined: d.value = "undefined"; break;
    case tg::Type::kString: d.value = debugQuote(v.as<tg::StringObj>()->s); break;
    case tg::Type::kArray:
    case tg::Type::kImmutableArray: {
      size_t n = v.as<tg::ArrayObj>()->len;
      d.value = n == 0 ? "[]" : "array (" + count(n, "element", "elements") + ")";
      if (n > 0) d.ref = addRef({RefKind::kValue, 0, v});
      break;
    }
    case tg::Type::kMap:
    case tg::Type::kImmutableMap: {
      size_t n = v.as<tg::MapObj>()->m.size();
      d.value = n == 0 ? "{}" : "map (" + count(n, "entry", "entries") + ")";
      if (n > 0) d.ref = addRef({RefKind::kValue, 0, v});
      break;
    }
    case tg::Type::kError: {
      d.value = tg::toDisplay(v);
      const tg::Value& payload = v.as<tg::ErrorObj>()->v;
      if (payload.type() == tg::Type::kMap || payload.type() == tg::Type::kImmutableMap) d.ref = addRef({RefKind::kValue, 0, v});
      break;
    }
    case tg::Type::kFunction: {
      tg::FunctionInfo info;
      d.value = tg::describeFunction(v, &info) ? "function " + fileLine(info.defined) : "function";
      break;
    }
    case tg::Type::kBuiltin:
    case tg::Type::kNative: d.value = "function (built-in)"; break;
    default: {
      // Numbers, booleans, chars, bytes, times: Tengo's own display, cut to a line.
      d.value = tg::toDisplay(v);
      if (d.value.size() > 200) d.value = d.value.substr(0, 200) + "... (" + std::to_string(d.value.size()) + " characters)";
    }
  }
  return d;
}

std::vector<DebugVariable> TengoDebugger::variables(int ref) {
  if (ref < 1 || ref > static_cast<int>(refs_.size()) || !vm_) return {};
  Ref r = refs_[ref - 1];
  std::vector<DebugVariable> out;
  if (r.kind == RefKind::kValue) {
    tg::Value v = r.value;
    if (v.type() == tg::Type::kError) v = v.as<tg::ErrorObj>()->v;
    if (v.type() == tg::Type::kArray || v.type() == tg::Type::kImmutableArray) {
      auto* a = v.as<tg::ArrayObj>();
      for (size_t i = 0; i < a->len && i < kMaxEntries; ++i) out.push_back(describe(a->at(i), "[" + std::to_string(i) + "]"));
    } else if (v.type() == tg::Type::kMap || v.type() == tg::Type::kImmutableMap) {
      for (const auto& [k, x] : v.as<tg::MapObj>()->m) {
        if (out.size() >= kMaxEntries) break;
        out.push_back(describe(x, k));
      }
    }
    return out;
  }
  if (r.frame < 1 || r.frame > static_cast<int>(frames_.size())) return out;
  const Frame& f = frames_[r.frame - 1];
  if (r.kind == RefKind::kGlobals) {
    for (const auto& [name, v] : vm_->debugGlobals())
      if (!host_.hostGlobal(name)) out.push_back(describe(v, name));
    return out;
  }
  tg::DebugVars locals, free;
  vm_->debugVariables(f.thread, f.level, r.kind == RefKind::kLocals ? &locals : nullptr,
                      r.kind == RefKind::kUpvalues ? &free : nullptr);
  for (const auto& [name, v] : r.kind == RefKind::kLocals ? locals : free) out.push_back(describe(v, name));
  return out;
}

tg::Value TengoDebugger::run(const std::string& expr, int thread, int level) {
  if (!vm_) throw Exception(Error(codes::kInvalidArgument, "the spell has ended"));
  tg::Value out;
  bool wasEvaluating = evaluating_;
  evaluating_ = true;
  host_.evaluating(true);
  tg::Status st = vm_->debugEvaluate(expr, thread, level, &out);
  bool waited = host_.evaluating(false);
  evaluating_ = wasEvaluating;
  if (waited)
    throw Exception(Error(codes::kInvalidArgument,
                          "an expression that waits (sleep, await, an async call) cannot be evaluated while stopped"));
  switch (st.kind) {
    case tg::Status::Kind::kOk: return out;
    case tg::Status::Kind::kParseError:
      throw Exception(Error(codes::kInvalidArgument, "syntax error: " + vmMessage(st.message)));
    case tg::Status::Kind::kCompileError: throw Exception(Error(codes::kInvalidArgument, vmMessage(st.message)));
    case tg::Status::Kind::kLimitExceeded: throw Exception(Error(codes::kLimitExceeded, vmMessage(st.message)));
    default: throw Exception(Error("script_error", vmMessage(st.message)));
  }
}

DebugVariable TengoDebugger::evaluate(const std::string& expr, int frameId) {
  // The stop so far is not the spell's time: the deadline moves on before the expression runs.
  if (inStop_ && vm_) {
    double now = nowSeconds() - stopStart_;
    vm_->debugPaused(now - shifted_);
    shifted_ = now;
  }
  int thread = 0, level = 0;
  if (frameId >= 1 && frameId <= static_cast<int>(frames_.size())) {
    thread = frames_[frameId - 1].thread;
    level = frames_[frameId - 1].level;
  }
  return describe(run(expr, thread, level), expr);
}

bool TengoDebugger::conditionHolds(int thread, const std::string& cond, std::string& error) {
  inStop_ = true;  // refs made for the condition are dropped below
  bool holds = true;
  try {
    holds = !tg::isFalsy(run(cond, thread, 0));
  } catch (const Exception& e) {
    error = "breakpoint condition failed: " + e.error().message;  // stop and say why
  }
  clearStop();
  inStop_ = false;
  return holds;
}

}  // namespace llmspell
