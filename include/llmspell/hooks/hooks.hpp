// Hooks: named interception points (llm.call, tool.call, agent.run, workflow.step, state.set)
// with before / after / around handlers, priorities, and the runHooked() helper the layers call.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {

enum class HookKind : uint8_t { kBefore, kAfter, kAround };
std::string_view hookKindName(HookKind k);  // "before", "after", "around"

// The points the runtime defines. Other names can be declared with HookRegistry::declarePoint.
namespace hook_points {
inline constexpr std::string_view kLlmCall = "llm.call";
inline constexpr std::string_view kToolCall = "tool.call";
inline constexpr std::string_view kAgentRun = "agent.run";
inline constexpr std::string_view kWorkflowStep = "workflow.step";
inline constexpr std::string_view kStateSet = "state.set";
}  // namespace hook_points

// Calls the next layer of an around chain (or the real operation). A null `args` means
// "the arguments I was given".
using HookNext = std::function<PromisePtr(Value args)>;
// The real operation a point wraps.
using HookInner = std::function<PromisePtr(Value args)>;

// A hook handler. `ctx` is a fresh object {point, args} (plus `result` for after hooks);
// `next` is set for around hooks only. The returned promise (null means "resolved with null")
// carries the hook's decision:
//   before: null -> continue; {cancel = reason} -> the call fails with code `cancelled` and
//           message `reason`; {args = v} (or the ctx table itself) -> continue with v.
//   after:  null -> keep the result; an object with a `result` field -> that becomes the result.
//   around: the result of the call (usually what `next` resolved with).
// A handler that throws or rejects makes the call fail with that error.
using HookFn = std::function<PromisePtr(const Value& ctx, const HookNext& next)>;

struct HookInfo {
  uint64_t id = 0;
  std::string point;
  HookKind kind = HookKind::kBefore;
  int priority = 0;
  std::string name;  // for list(): a description of the handler
};

// A set of hooks. Thread-safe: add/remove/list/run may be called from any thread; run() calls
// the handlers on the calling thread (the loop thread of the call) and its promise is affine to
// that loop. A registry may have a parent (the per-run registry's parent is global()); run()
// merges both, ordered by priority (higher first) and, for equal priority, by registration
// order.
class HookRegistry {
 public:
  explicit HookRegistry(HookRegistry* parent = nullptr) : parent_(parent) {}
  HookRegistry(const HookRegistry&) = delete;
  HookRegistry& operator=(const HookRegistry&) = delete;

  // Process-wide hooks for C++ embedders; handlers there must be thread-agnostic.
  static HookRegistry& global();

  // The known points: the built-in five plus declared ones.
  static std::vector<std::string> points();
  static void declarePoint(std::string_view name);
  static bool knownPoint(std::string_view name);

  // Adds a hook; returns its id (> 0, unique per process). Throws invalid_argument for an
  // unknown point or an empty handler.
  uint64_t add(std::string_view point, HookKind kind, HookFn fn, int priority = 0,
               std::string name = "");
  // False when the id is not in this registry.
  bool remove(uint64_t id);
  // This registry's hooks (not the parent's), by point then priority order.
  std::vector<HookInfo> list() const;
  // True when this registry or its parent has a hook for `point` (the fast path check).
  bool has(std::string_view point) const;

  // Runs the chain for `point`: before hooks, then around hooks (highest priority outermost)
  // around `inner`, then after hooks. Never throws: failures reject the returned promise.
  // Cancelling the returned promise cancels the step in flight.
  PromisePtr run(std::string_view point, Value args, HookInner inner) const;

 private:
  struct Entry {
    HookInfo info;
    uint64_t seq;
    std::shared_ptr<HookFn> fn;
  };
  void collect(std::string_view point, std::vector<Entry>& out) const;

  HookRegistry* parent_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;
};

// runHooked with the process-wide registry: what a C++ layer calls when it has no run context.
PromisePtr runHooked(std::string_view point, Value args, HookInner inner);

// The hooks of a run: a RunContext service whose parent is the global registry (created on
// first use). `Run` is any type with RunContext's service API, so this layer does not depend on
// the bridge.
template <typename Run>
HookRegistry& hooksFor(Run& run) {
  return run.template service<HookRegistry>(
      [] { return std::make_shared<HookRegistry>(&HookRegistry::global()); });
}

// runHooked for a run: the run's hooks plus the global ones. Layers call this from their
// host functions: runHooked(cx.run, "tool.call", args, [&](Value a) { return callTool(a); }).
template <typename Run>
PromisePtr runHooked(Run& run, std::string_view point, Value args, HookInner inner) {
  return hooksFor(run).run(point, std::move(args), std::move(inner));
}

}  // namespace llmspell
