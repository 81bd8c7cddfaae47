// Workflows: steps composed as sequential, parallel, conditional, loop and map runs on the event
// loop. A step is a C++ callable returning a promise (the bridge adapts script functions, tools,
// agents and host objects to it) or a nested workflow. Every step goes through the
// `workflow.step` hook point and emits `workflow.step` on the run's bus.
//
// Usage (on the loop thread):
//   using namespace llmspell::workflow;
//   Config c;
//   c.kind = Kind::kParallel;
//   c.name = "fetch";
//   c.steps.push_back(Step::fn("a", [](Value in, StepEnv& e) { return e.run.loop.sleep(0.05); }));
//   auto w = Workflow::create(std::move(c));          // throws invalid_argument on a bad config
//   PromisePtr p = w->run(Value("x"), RunEnv{loop, &hooks, &bus});
//   // p resolves with {output, status, steps, usage, cost_usd, duration_ms[, error]}
//
// Thread-safety: a Workflow is immutable after create() and may be run many times, but each
// run is loop-affine (start it, and let it settle, on one loop thread).
// Failure: run() never throws. A step failure (after its on_error policy) resolves the run with
// status "failed" and `error`; cancelling the run's promise (Promise::cancel, a timeout) rejects
// it, cancels every step in flight and reports status "cancelled" in `workflow.finish`;
// Workflow::cancel() stops active runs, which then resolve with status "cancelled".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/core/usage.hpp"
#include "llmspell/core/value.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/runtime/journal.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell::workflow {

enum class Kind { kSequential, kParallel, kConditional, kLoop, kMap };
std::string_view kindName(Kind k);  // "sequential", "parallel", ...

// on_error: "fail" | "continue" | {retry = n, backoff = seconds, then = "fail" | "continue"}.
// A retried step runs up to 1 + retries times, waiting backoff * 2^(attempt-1) seconds between
// attempts (cancellable). `then` says what happens when every attempt failed.
struct ErrorPolicy {
  enum class Mode { kFail, kContinue };
  Mode mode = Mode::kFail;
  int retries = 0;
  double backoff = 0;
  bool set = false;  // false: inherit the workflow's policy

  // Throws invalid_argument naming the problem (`where` prefixes the message).
  static ErrorPolicy fromValue(const Value& v, const std::string& where);
  Value toValue() const;
};

// Where a run happens: the loop, the hooks and the bus it uses. `hooks` null: the process-wide
// registry; `bus` null: no events. `host` is an opaque pointer for the embedding (the bridge
// passes its RunContext) that step functions may use; the layer never touches it.
struct RunEnv {
  Loop& loop;
  HookRegistry* hooks = nullptr;
  EventBus* bus = nullptr;
  void* host = nullptr;
  // The usage scope current when the run started (see core/usage.hpp): the embedding's steps
  // count the model calls they make in scopes under it. The layer only passes it on.
  UsageScopePtr usageScope;
  // How many workflows this run is nested in. A step that starts a workflow passes depth + 1;
  // a run deeper than kMaxNesting fails with limit_exceeded (a workflow that runs itself).
  int depth = 0;
  static constexpr int kMaxNesting = 64;
  // A durable run's journal (runtime/journal.hpp), or null. With one, a step found in it
  // completes with its recorded output and usage without running (its record has
  // replayed = true), and every step that completes is recorded. `journalPath` is the key of
  // the step this run is nested in ("" at the top).
  Journal* journal = nullptr;
  std::string journalPath;
  RunEnv nested() const {
    RunEnv e = *this;
    ++e.depth;
    return e;
  }
};

// What a step's run function gets besides its input. Valid until the step's promise settles.
struct StepEnv {
  RunEnv run;
  std::string workflow;  // the workflow running the step
  std::string step;      // the step's name
  int attempt = 1;       // 1-based
  int64_t index = -1;    // position in a map / loop iteration (0-based), -1 otherwise
  // Usage that the step accounted itself (a nested workflow, an agent adapter): when set,
  // the step's output is not scanned for `usage` / `cost_usd`.
  Value usage;           // object of numeric counters, or null
  double costUsd = 0;
  bool accounted = false;
  Value details;         // null or an object whose fields are added to the step's record
  std::string journalKey;  // the step's key in a durable run's journal ("" when not durable)
  // {workflow, step, attempt[, index]}: the `ctx` script functions receive.
  Value ctxValue() const;
};

using StepRun = std::function<PromisePtr(Value input, StepEnv& env)>;
// A predicate / merge / loop condition: resolves with a value (truthiness decides predicates).
using ValueFn = std::function<PromisePtr(std::vector<Value> args, StepEnv& env)>;

class Workflow;
using WorkflowPtr = std::shared_ptr<const Workflow>;

struct Step {
  std::string name;
  // Serialization: "function", "tool", "agent", "workflow", "ref" (a name resolved when it
  // runs), or "handle" (a script object with a run method).
  std::string kind = "function";
  Value spec;            // extra fields for to_json ({tool = "x"}, {agent = "y"}...)
  StepRun run;           // set unless `workflow` is
  WorkflowPtr workflow;  // a nested workflow
  ErrorPolicy onError;   // unset: the workflow's
  double timeout = 0;    // seconds; 0 = none. Expiry fails the attempt with code `timeout`.

  static Step fn(std::string name, StepRun run);
  static Step nested(WorkflowPtr w, std::string name = "");
};

// A `when` / `while` / `until` condition: a function, or a declarative test on the value
// ({path = "a.b", equals | not_equals | exists | gt | lt | contains = ...}), or a constant.
struct Condition {
  ValueFn fn;
  Value spec;  // declarative form, or a constant (true/false); null when fn is set
  bool isSet() const { return fn || !spec.isNull(); }
};

struct Branch {
  Condition when;
  Step step;
};

struct Config {
  Kind kind = Kind::kSequential;
  std::string name;           // default: the kind
  ErrorPolicy onError;        // default fail
  std::vector<Step> steps;    // sequential, parallel
  // parallel
  size_t maxConcurrency = 0;  // 0: all at once
  std::string merge = "list"; // "list" | "object" (by step name) | "function" (mergeFn)
  ValueFn mergeFn;            // called with (records) where records = {{name, status, output, error}}
  // conditional
  std::vector<Branch> branches;
  std::optional<Step> otherwise;
  // loop and map: the body
  std::optional<Step> body;
  int64_t times = -1;         // loop: run `times` times (-1: unset)
  Value items;                // loop / map: an array (map: null means "the input")
  Condition whileCond;        // loop: checked before each iteration with (value, i)
  Condition untilCond;        // loop: checked after each iteration with (output, i)
  int64_t maxIterations = 100;  // loop: always enforced; exceeding it fails with limit_exceeded
  size_t concurrency = 0;     // map: 0 = all at once
};

// Resolves a declarative step (a name, or {tool}, {agent}, {workflow = "name"}) into a Step.
// Throws invalid_argument / not_found. Inline workflow specs ({type = ...}) never reach it.
using StepResolver = std::function<Step(const Value& spec)>;

class Workflow : public std::enable_shared_from_this<Workflow> {
 public:
  // Validates the configuration; throws Exception(invalid_argument) naming the field.
  static WorkflowPtr create(Config c);

  // Builds a workflow from its declarative form (what toValue() produces, or hand-written
  // JSON/YAML): {type, name, steps, on_error, max_concurrency, merge, branches, otherwise, step,
  // times, items, while, until, max_iterations, concurrency}. Steps that are not inline
  // workflows go to `resolve`. Function steps and function conditions cannot be rebuilt: throws
  // invalid_argument saying so.
  static WorkflowPtr fromValue(const Value& spec, const StepResolver& resolve);

  // The structure: {type, name, on_error, steps = {{name, kind, ...}}, ...}. Function steps are
  // {name, kind = "function"}.
  Value toValue() const;

  const Config& config() const { return c_; }
  const std::string& name() const { return c_.name; }

  // Runs the workflow with `input`. Never throws; see the file comment for the outcome.
  PromisePtr run(Value input, const RunEnv& env) const;

  // Stops every active run of this workflow: steps in flight are cancelled and the runs
  // resolve with status "cancelled". Returns how many runs were stopped. Loop-affine.
  size_t cancel() const;

  explicit Workflow(Config c) : c_(std::move(c)) {}

 private:
  friend struct RunState;
  Config c_;
  mutable std::mutex activeMu_;
  mutable std::vector<std::weak_ptr<void>> active_;  // RunState of runs in flight
};

}  // namespace llmspell::workflow
