// ToolRegistry: lookup, argument validation, permission and approval checks, the tool.call hook
// chain, events and per-call timeouts around every tool call.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/core/suggest.hpp"
#include "llmspell/tools/tools.hpp"
#include "tools/builtins.hpp"

namespace llmspell::tools {

namespace {

// Providers accept [A-Za-z0-9_-]{1,64}; '.' is allowed besides for namespaced tools (an MCP
// server's "fs.read_file"), which agents send to providers as "fs__read_file".
bool validName(const std::string& n) {
  if (n.empty() || n.size() > 64 || n.front() == '.' || n.back() == '.') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The canonical form of arguments for remembering approvals: JSON with sorted keys.
std::string canonicalArgs(const Value& args) {
  try {
    return toJsonText(args, {.sortKeys = true});
  } catch (const Exception&) {
    return args.describe();  // functions or handles in the args: never equal to a JSON text
  }
}

double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

std::atomic<uint64_t> gCallSeq{0};

// Settles `out` like `in` (when `out` is still pending).
void forward(const PromisePtr& in, const PromisePtr& out) {
  in->onSettle([out](const Promise& p) {
    if (!out->pending()) return;
    if (p.rejected()) {
      const_cast<Promise&>(p).markHandled();
      out->reject(p.error());
    } else {
      out->resolve(p.value());
    }
  });
}

// Runs a tool's function: exceptions become rejections, keeping their code.
PromisePtr invoke(const ToolPtr& tool, const Value& args, const std::shared_ptr<ToolEnv>& env) {
  PromisePtr p;
  try {
    p = tool->run(args, *env);
    if (!p) p = Promise::resolved(Value());
  } catch (...) {
    p = Promise::create();
    p->rejectCurrentException();
  }
  p->onSettle([env](const Promise&) {});  // the env lives until the tool is done
  return p;
}

std::string permissionFlag(const std::string& perm) {
  if (perm == "net") return "--allow-net=HOST";
  if (perm == "read") return "--allow-read=PATH";
  if (perm == "write") return "--allow-write=PATH";
  if (perm == "env") return "--allow-env=NAME";
  if (perm == "run") return "--allow-run";
  return "";
}

bool granted(const Permissions& p, const std::string& perm) {
  if (perm == "none" || perm.empty()) return true;
  if (perm == "net") return !p.netHosts().empty() || p.canNet("any.host.invalid");
  if (perm == "read") return !p.readPaths().empty() || p.canRead("/");
  if (perm == "write") {
    if (!p.writePaths().empty()) return true;
    try {
      p.checkWrite("/");
      return true;
    } catch (const Exception&) {
      return false;
    }
  }
  if (perm == "env") return !p.envNames().empty();
  if (perm == "run") return p.run();
  return false;
}

}  // namespace

Value toolInfo(const Tool& t) {
  return Value::object(
      {{"name", t.name},
       {"description", t.description},
       {"category", t.category},
       {"parameters", t.parameters.isNull() ? Value::object({{"type", "object"}}) : t.parameters},
       {"examples", t.examples.isNull() ? Value::array() : t.examples},
       {"permission", t.permission},
       {"requires_approval", t.requiresApproval},
       {"side_effects", t.sideEffects},
       {"builtin", t.builtin},
       {"timeout", t.timeoutSeconds > 0 ? Value(t.timeoutSeconds) : Value()}});
}

Approver approvalPolicy(const std::string& policy) {
  if (policy.empty() || policy == "deny" || policy == "none")
    return [](const std::string&, const Value&) { return Promise::resolved(Value(false)); };
  if (policy == "all")
    return [](const std::string&, const Value&) { return Promise::resolved(Value(true)); };
  if (policy == "ask") {
    // A question on the terminal. Reading a line blocks the loop thread, which is what an
    // interactive run wants (nothing should proceed while the user decides). Without a
    // terminal the call is refused.
    return [](const std::string& tool, const Value& args) {
      if (!::isatty(0))
        return Promise::rejected(Error(
            codes::kPermissionDenied,
            "tool '" + tool + "' requires approval and --approve=ask cannot ask: standard input is not a "
            "terminal; run with --approve=" + tool + " (or --approve=all), or approve it in tools.set_approver"));
      std::fprintf(stderr, "Allow tool %s with %s? [y/N] ", tool.c_str(),
                   canonicalArgs(args).c_str());
      std::fflush(stderr);
      std::string line;
      if (!std::getline(std::cin, line)) return Promise::resolved(Value(false));
      line = lower(line);
      return Promise::resolved(Value(line == "y" || line == "yes"));
    };
  }
  std::set<std::string> names;
  std::stringstream ss(policy);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b == std::string::npos)
      fail(codes::kInvalidArgument,
           "--approve: empty tool name in '" + policy + "' (use deny, all, ask or name1,name2)");
    names.insert(item.substr(b, e - b + 1));
  }
  if (policy.back() == ',')
    fail(codes::kInvalidArgument,
         "--approve: empty tool name in '" + policy + "' (use deny, all, ask or name1,name2)");
  return [names](const std::string& tool, const Value&) {
    return Promise::resolved(Value(names.count(tool) > 0));
  };
}

ToolRegistry::ToolRegistry(Loop& loop, const Permissions& perms, HookRegistry* hooks, EventBus* bus)
    : loop_(loop), perms_(perms), hooks_(hooks), bus_(bus) {}

ToolRegistry::~ToolRegistry() {
  ended_->store(true);
}

const std::vector<ToolPtr>& ToolRegistry::builtins() {
  static const std::vector<ToolPtr> all = makeBuiltins();
  return all;
}

void ToolRegistry::define(Tool t) {
  if (!validName(t.name))
    fail(codes::kInvalidArgument, "tool name '" + t.name +
                                      "' is not valid: use 1 to 64 letters, digits, '_', '-' or "
                                      "'.' (what model providers accept; agents send '.' as '__')");
  for (const auto& b : builtins())
    if (b->name == t.name)
      fail(codes::kInvalidArgument,
           "'" + t.name + "' is a built-in tool and cannot be redefined; choose another name");
  if (!t.parameters.isNull()) {
    if (!t.parameters.isObject())
      fail(codes::kInvalidArgument, "tool '" + t.name +
                                        "': parameters must be a JSON Schema object, got " +
                                        t.parameters.describe());
    const Value& type = t.parameters.get("type");
    if (!type.isNull() && !(type.isString() && type.asString() == "object"))
      fail(codes::kInvalidArgument,
           "tool '" + t.name +
               "': parameters must describe an object (type = \"object\"), got type " +
               type.describe());
  }
  if (!t.run) fail(codes::kInvalidArgument, "tool '" + t.name + "' has no run function");
  if (t.timeoutSeconds < 0)
    fail(codes::kInvalidArgument, "tool '" + t.name + "': timeout must be >= 0 seconds");
  static const std::set<std::string> perms = {"none", "net", "read", "write", "env", "run"};
  if (!perms.count(t.permission))
    fail(codes::kInvalidArgument,
         "tool '" + t.name + "': permission must be none, net, read, write, env or run, got '" +
             t.permission + "'");
  t.builtin = false;
  auto p = std::make_shared<const Tool>(std::move(t));
  for (auto& d : defined_)
    if (d->name == p->name) {
      d = p;
      return;
    }
  defined_.push_back(std::move(p));
}

bool ToolRegistry::remove(const std::string& name) {
  auto it = std::find_if(defined_.begin(), defined_.end(),
                         [&](const ToolPtr& t) { return t->name == name; });
  if (it == defined_.end()) return false;
  defined_.erase(it);
  return true;
}

ToolPtr ToolRegistry::find(const std::string& name) const {
  for (const auto& t : defined_)
    if (t->name == name) return t;
  for (const auto& t : builtins())
    if (t->name == name) return t;
  return nullptr;
}

std::vector<ToolPtr> ToolRegistry::list(const std::string& category) const {
  std::vector<ToolPtr> out;
  for (const auto& t : builtins())
    if (category.empty() || t->category == category) out.push_back(t);
  for (const auto& t : defined_)
    if (category.empty() || t->category == category) out.push_back(t);
  return out;
}

std::vector<ToolPtr> ToolRegistry::search(const std::string& text) const {
  std::vector<std::string> words;
  std::string w;
  for (char c : lower(text) + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      w += c;
    } else if (!w.empty()) {
      words.push_back(w);
      w.clear();
    }
  }
  std::vector<std::pair<int, ToolPtr>> scored;
  for (const auto& t : list()) {
    std::string name = lower(t->name), desc = lower(t->description), cat = lower(t->category);
    int score = 0;
    for (const auto& word : words) {
      if (name == word)
        score += 10;
      else if (name.find(word) != std::string::npos)
        score += 5;
      if (cat == word) score += 3;
      if (desc.find(word) != std::string::npos) score += 2;
    }
    if (score > 0) scored.emplace_back(score, t);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<ToolPtr> out;
  for (auto& [s, t] : scored) out.push_back(t);
  return out;
}

namespace {

std::string similarNames(const std::string& name, const std::vector<ToolPtr>& all) {
  std::vector<std::string> names;
  for (const auto& t : all) names.push_back(t->name);
  std::string out;
  for (const auto& n : closestNames(name, names)) out += (out.empty() ? "" : ", ") + n;
  return out;
}

Error notFound(const std::string& name, const std::vector<ToolPtr>& all) {
  std::string sim = similarNames(name, all);
  Error e(codes::kNotFound, "no tool named '" + name + "'" +
                                (sim.empty() ? "; tools.list() shows the tools there are"
                                             : "; did you mean " + sim + "?"));
  e.details = Value::object({{"tool", name}});
  return e;
}

Error validationError(const std::string& name, const std::vector<std::string>& errs) {
  std::string msg = "tool '" + name + "': invalid arguments: " + errs[0];
  if (errs.size() > 1) msg += " (and " + std::to_string(errs.size() - 1) + " more)";
  std::vector<Value> list;
  for (const auto& e : errs) list.emplace_back(e);
  Error err(codes::kValidationFailed, msg);
  err.details = Value::object({{"tool", name}, {"errors", Value::array(std::move(list))}});
  return err;
}

const Value& schemaOf(const Tool& t) {
  static const Value kObject = Value::object({{"type", "object"}});
  return t.parameters.isNull() ? kObject : t.parameters;
}

}  // namespace

std::vector<std::string> ToolRegistry::validate(const std::string& name, const Value& args) const {
  ToolPtr t = find(name);
  if (!t) throw Exception(notFound(name, list()));
  return validateSchema(args.isNull() ? Value::object() : args, schemaOf(*t));
}

PromisePtr ToolRegistry::call(const std::string& name, Value args, Value ctx, HookRegistry* hooksOverride) {
  ToolPtr tool = find(name);
  if (!tool) return Promise::rejected(notFound(name, list()));
  if (args.isNull()) args = Value::object();

  uint64_t seq = ++gCallSeq;
  // The caller's id (an agent passes the model's tool-call id) so events correlate with it.
  std::string callId =
      ctx.get("call_id").isString() ? ctx.getString("call_id") : "call_" + std::to_string(seq);
  std::string caller = ctx.get("caller").isString() ? ctx.getString("caller") : "spell";
  double start = nowMs();
  auto out = Promise::create();
  EventBus* bus = bus_;
  if (bus) {
    try {
      bus->emit(
          "tool.call",
          Value::object({{"name", name}, {"args", args}, {"call_id", callId}, {"caller", caller}}));
    } catch (...) {
    }
  }
  std::function<void(const Promise&)> observed;
  if (observer_) {
    try {
      observed = observer_(name, callId, ctx);
    } catch (...) {
      // An observer never fails the call it watches.
    }
  }
  out->onSettle([bus, name, start, callId, observed](const Promise& p) {
    if (observed) observed(p);
    if (!bus) return;
    Value data = Value::object({{"name", name},
                                {"ok", p.fulfilled()},
                                {"duration_ms", nowMs() - start},
                                {"call_id", callId}});
    if (p.rejected()) data.asObject().set("error", p.error().toObject());
    try {
      bus->emit("tool.result", data);
    } catch (...) {
    }
  });

  // 1. Arguments.
  auto errs = validateSchema(args, schemaOf(*tool));
  if (!errs.empty()) {
    out->reject(validationError(name, errs));
    return out;
  }
  // 2. The tool's declared permission.
  if (!granted(perms_, tool->permission)) {
    Error e(codes::kPermissionDenied, "tool '" + name + "' needs " + tool->permission +
                                          " permission; run with " +
                                          permissionFlag(tool->permission));
    e.details = Value::object({{"tool", name}, {"permission", tool->permission}});
    out->reject(std::move(e));
    return out;
  }

  Value env = Value::object({{"tool", name}, {"call_id", callId}, {"caller", caller}});
  if (ctx.isObject())
    for (const auto& [k, v] : ctx.asObject()) env.asObject().set(k, v);

  // A durable run: a call completed before is given back; a new one is recorded when it
  // completes (the caller sees it done only once it is recorded).
  PromisePtr result = out;
  if (journal_) {
    std::string jkey = journal_->next(journalPath_() + "/tool:" + name + ":" + journalHash(args));
    Value hit = journal_->find(jkey);
    if (!hit.isNull()) {
      ++journal_->replayed;
      out->resolve(hit.get("result"));
      return out;
    }
    try {
      if (tool->sideEffects) {
        if (!journal_->find(jkey + "!started").isNull())
          std::fprintf(stderr,
                       "warning: durable run: tool '%s' (side effects) started before and did not complete; "
                       "running it again (ctx.idempotency_key %s)\n",
                       name.c_str(), jkey.c_str());
        else
          journal_->record(jkey + "!started", Value::object({{"tool", name}}));
      }
    } catch (...) {
      out->rejectCurrentException();
      return out;
    }
    env.asObject().set("idempotency_key", jkey);
    result = Promise::create();
    Journal* j = journal_;
    out->onSettle([j, jkey, result](const Promise& q) {
      if (q.rejected()) {
        const_cast<Promise&>(q).markHandled();
        result->reject(q.error());
        return;
      }
      try {
        j->record(jkey, Value::object({{"result", q.value()}}));
        result->resolve(q.value());
      } catch (...) {
        result->rejectCurrentException();
      }
    });
    result->setCanceller([out] { if (out->pending()) out->cancel(); });
  }

  // 3.-5. Approval, then hooks around the (timed) tool function.
  auto inflight = std::make_shared<PromisePtr>();
  out->setCanceller([inflight] {
    if (*inflight) (*inflight)->cancel();
  });
  Loop* loop = &loop_;
  const Permissions* perms = &perms_;
  HookRegistry* hooks = hooksOverride ? hooksOverride : hooks_;
  std::shared_ptr<const std::atomic<bool>> ended = ended_;
  auto run = [tool, loop, perms, hooks, env, out, inflight, name, ended](Value args) {
    auto inner = [tool, loop, perms, env, name, args, ended](Value hookArgs) -> PromisePtr {
      Value a = args;
      if (hookArgs.isObject() && hookArgs.asObject().contains("args")) {
        Value changed = hookArgs.get("args");
        if (changed.isNull()) changed = Value::object();
        if (!(changed.isObject() && args.isObject() && changed.objectPtr() == args.objectPtr())) {
          auto errs = validateSchema(changed, schemaOf(*tool));
          if (!errs.empty()) return Promise::rejected(validationError(name, errs));
        }
        a = changed;
      }
      auto te = std::make_shared<ToolEnv>(ToolEnv{*loop, *perms, name, env, ended});
      PromisePtr p = invoke(tool, a, te);
      if (tool->timeoutSeconds <= 0 || !p->pending()) return p;
      auto timed = Promise::create();
      auto timer =
          loop->setTimeout(tool->timeoutSeconds, [p, timed, name, t = tool->timeoutSeconds] {
            char secs[32];
            std::snprintf(secs, sizeof secs, "%gs", t);
            Error e(codes::kTimeout, "tool '" + name + "' timed out after " + secs, true);
            e.details = Value::object({{"tool", name}, {"timeout", t}});
            timed->reject(e);
            p->cancel(e);
          });
      timed->setCanceller([p] { p->cancel(); });
      p->onSettle([timed, timer](const Promise& q) mutable {
        timer.cancel();
        if (!timed->pending()) return;
        if (q.rejected())
          timed->reject(q.error());
        else
          timed->resolve(q.value());
      });
      return timed;
    };
    PromisePtr p;
    if (hooks && hooks->has(hook_points::kToolCall)) {
      p = hooks->run(hook_points::kToolCall, Value::object({{"name", name}, {"args", args}}),
                     inner);
    } else {
      p = inner(Value());
    }
    *inflight = p;
    forward(p, out);
  };

  if (!tool->requiresApproval) {
    run(args);
    return result;
  }
  std::string key = name + "\n" + canonicalArgs(args);
  if (approved_.count(key)) {
    run(args);
    return result;
  }
  PromisePtr decision;
  try {
    decision = approver_ ? approver_(name, args) : Promise::resolved(Value(false));
  } catch (...) {
    decision = Promise::create();
    decision->rejectCurrentException();
  }
  if (!decision) decision = Promise::resolved(Value(false));
  *inflight = decision;
  bool custom = static_cast<bool>(approver_);
  decision->onSettle([this, key, run, out, name, args, custom](const Promise& d) {
    if (!out->pending()) return;
    if (d.rejected()) {
      const_cast<Promise&>(d).markHandled();
      out->reject(d.error());
      return;
    }
    if (!d.value().truthy()) {
      Error e(codes::kPermissionDenied,
              "tool '" + name + "' requires approval and this call was not approved" +
                  (custom ? std::string("") : std::string(" (no approver is set)")) +
                  "; run with --approve=" + name +
                  " (or --approve=all), or approve it in tools.set_approver");
      e.details = Value::object({{"tool", name}, {"approval", "denied"}});
      out->reject(std::move(e));
      return;
    }
    approved_.insert(key);
    run(args);
  });
  return result;
}

}  // namespace llmspell::tools
