// Tools: named operations with a JSON Schema for their arguments, called by spells
// (tools.call), by agents (the model's tool calls) and by workflows (a step named by a tool).
// The registry validates arguments before a tool runs, checks the permission the tool declares,
// asks for approval when the tool requires it (bound to the exact arguments), applies the
// per-call timeout, runs the `tool.call` hooks and emits `tool.call` / `tool.result` events.
//
// Usage (on the loop thread):
//   tools::ToolRegistry reg(loop, perms, &hooks, &bus);     // built-ins are always present
//   reg.define(tools::Tool{.name = "add", .parameters = schema, .run = fn});
//   PromisePtr p = reg.call("calculator", Value::object({{"expression", "1+2"}}));
//
// Thread-safety: loop-affine. Failure: call() never throws; its promise rejects with an API.md
// code (not_found, validation_failed, permission_denied, timeout, cancelled, or the tool's own).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "llmspell/core/permissions.hpp"
#include "llmspell/core/value.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/runtime/journal.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell::tools {

// What a tool's run function gets besides its (validated) arguments.
struct ToolEnv {
  Loop& loop;
  const Permissions& permissions;
  std::string toolName;
  Value ctx;  // {tool, call_id, caller}: passed to spell-defined tools as run(args, ctx)
  // Becomes true when the registry (the run) goes away: work on other threads (shell) stops
  // instead of keeping the process alive. Null for an env made outside the registry.
  std::shared_ptr<const std::atomic<bool>> runEnded = nullptr;
};

// Resolves with the tool's result, or rejects with an Error.
using ToolRun = std::function<PromisePtr(const Value& args, ToolEnv& env)>;

struct Tool {
  // [A-Za-z0-9_.-]{1,64}: providers accept [A-Za-z0-9_-] only, so agents send a '.' (an MCP
  // prefix: "fs.read_file") as "__" and map the model's calls back.
  std::string name;
  std::string description;
  std::string category = "custom";
  Value parameters;  // JSON Schema for the arguments object; null = {"type":"object"}
  Value examples;    // [{args, result?, description?}] for discovery, or null
  // "none", "net", "read", "write", "env" or "run": the grant the tool needs, checked before
  // it runs (the tool still checks each path / host itself).
  std::string permission = "none";
  double timeoutSeconds = 0;  // 0 = no per-call timeout
  bool requiresApproval = false;
  // The tool changes something outside the run (sends a message, writes a record). In a
  // durable run its call is marked started in the journal before it runs, so a resumed run
  // knows a call that never completed may have had its effect (it runs again: at-least-once),
  // and warns. Every tool in a durable run gets ctx.idempotency_key to deduplicate with.
  bool sideEffects = false;
  bool builtin = false;
  ToolRun run;
};
using ToolPtr = std::shared_ptr<const Tool>;

// {name, description, category, parameters, examples, permission, requires_approval, builtin,
//  timeout} for tools.info / tools.list.
Value toolInfo(const Tool& t);

// Decides whether a call that requires approval may go ahead. Resolves with true or false.
using Approver = std::function<PromisePtr(const std::string& tool, const Value& args)>;

// The --approve policy: "deny" (default: refuse every call that needs approval), "all",
// a comma-separated list of tool names, or "ask" (a question on the terminal). Throws
// invalid_argument for an empty name in a list.
Approver approvalPolicy(const std::string& policy);

class ToolRegistry {
 public:
  ToolRegistry(Loop& loop, const Permissions& perms, HookRegistry* hooks = nullptr,
               EventBus* bus = nullptr);
  ~ToolRegistry();  // tells tools still running on other threads to stop (ToolEnv::runEnded)
  ToolRegistry(const ToolRegistry&) = delete;
  ToolRegistry& operator=(const ToolRegistry&) = delete;

  // The built-in tools (http_request, web_fetch, file_read, file_write, file_list, file_search,
  // calculator, datetime, json_query, text_template, csv_parse, uuid, hash, shell, sleep).
  static const std::vector<ToolPtr>& builtins();

  // Adds or replaces a tool. Throws invalid_argument for a bad name, a parameters value that is
  // not a schema object, or a missing run function.
  void define(Tool t);
  bool remove(const std::string& name);         // false when unknown or built in
  ToolPtr find(const std::string& name) const;  // null when unknown
  // Every tool, built-ins first then defined ones in definition order; `category` filters
  // when non-empty.
  std::vector<ToolPtr> list(const std::string& category = "") const;
  // Tools whose name, description or category matches the words of `text`, best first.
  std::vector<ToolPtr> search(const std::string& text) const;
  // The argument errors ("$.path: message"), empty when valid. Throws not_found.
  std::vector<std::string> validate(const std::string& name, const Value& args) const;

  // A call-time approver (tools.set_approver / the CLI's --approve). Approvals are remembered
  // per tool and exact arguments for the registry's lifetime.
  void setApprover(Approver a) { approver_ = std::move(a); }
  const Approver& approver() const { return approver_; }

  // The validated, approved, hooked, timed call. `ctx` is merged into the ctx the tool gets.
  // `hooks`, when given, replaces the registry's own for this call's tool.call hooks (an
  // agent's registry, whose parent is the run's).
  PromisePtr call(const std::string& name, Value args, Value ctx = {}, HookRegistry* hooks = nullptr);

  Loop& loop() { return loop_; }

  // A durable run's journal (runtime/journal.hpp): a call found in it is given back without
  // running, and each completed call is recorded. `path` gives the key of the step a call is
  // made in.
  void setJournal(Journal* j, std::function<std::string()> path) {
    journal_ = j;
    journalPath_ = std::move(path);
  }
  // Told of each call as it starts (the runner's tracer opens an `execute_tool` span there and
  // makes it current, so what the tool calls nests under it); the function it returns, when
  // set, is told how the call settled.
  using CallObserver = std::function<std::function<void(const Promise&)>(
      const std::string& name, const std::string& callId, const Value& ctx)>;
  void setObserver(CallObserver o) { observer_ = std::move(o); }

 private:
  Journal* journal_ = nullptr;
  std::function<std::string()> journalPath_;
  Loop& loop_;
  const Permissions& perms_;
  HookRegistry* hooks_;
  EventBus* bus_;
  Approver approver_;
  std::set<std::string> approved_;  // tool name + "\n" + canonical args JSON
  std::vector<ToolPtr> defined_;
  std::shared_ptr<std::atomic<bool>> ended_ = std::make_shared<std::atomic<bool>>(false);
  CallObserver observer_;
};

// The run's tool registry (a RunContext service), wired to the run's hooks and event bus.
// `Run` is any type with RunContext's service API, so this layer does not depend on the bridge.
// When the run's config has `approve` (the CLI's --approve POLICY), that policy is the
// registry's approver until a spell sets its own.
template <typename Run>
ToolRegistry& toolsFor(Run& run) {
  return run.template service<ToolRegistry>([&] {
    auto reg =
        std::make_shared<ToolRegistry>(run.loop(), run.permissions(), &hooksFor(run), &busFor(run));
    if constexpr (requires { run.config; }) {
      const Value& policy = run.config.get("approve");
      if (policy.isString()) reg->setApprover(approvalPolicy(policy.asString()));
    }
    if constexpr (requires { run.usageScope; }) {
      if (Journal* j = run.template findService<Journal>())
        reg->setJournal(j, [j, &run] { return j->pathOf(run.usageScope.get()); });
    }
    return reg;
  });
}

}  // namespace llmspell::tools
