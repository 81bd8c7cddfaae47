// `llm` namespace: chat, complete, stream, structured, embed, count_tokens, use, configure,
// providers, cost — over the llm layer's LlmClient, with the llm.call hook point, llm.request /
// llm.response / llm.error events, and the run's cost/token budget.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <deque>
#include <optional>
#include <cstdio>

#include "bridge/schema_shape.hpp"
#include "bridge/modules/llm_service.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/core/safe_fs.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/llm/catalog.hpp"
#include "llmspell/llm/json_repair.hpp"
#include "llmspell/llm/tokenizer.hpp"
#include "llmspell/net/http.hpp"
#include "llmspell/observe/trace.hpp"
#include "llmspell/runtime/journal.hpp"

namespace llmspell {

// ---------------- the service ----------------

LlmService::LlmService(RunContext& run, Loop& loop) : client(loop) {
  const Value& mr = run.config.get("mock_replies");
  if (mr.isString() && !mr.asString().empty()) {
    try {
      client.setMockReplies(llm::loadMockReplies(mr.asString()));
    } catch (const Exception& e) {
      mockRepliesError = e.error().message;
    }
  }
  // --record / --replay: a bad file fails the first call (with the reason) rather than the run.
  try {
    if (run.config.get("record").isString()) client.recordTo(run.config.getString("record"));
    if (run.config.get("replay").isString()) client.replayFrom(run.config.getString("replay"));
    std::string logPath = run.config.getString("call_log");
    if (logPath.empty() && std::getenv("LLMSPELL_CALL_LOG")) logPath = std::getenv("LLMSPELL_CALL_LOG");
    if (!logPath.empty() && logPath != "off") log = llm::CallLog::shared(logPath);
  } catch (const Exception& e) {
    setupError = e.error().message;
  }
  // By default every call is logged in <data dir>/calls.db (`llmspell logs`); a data directory
  // that cannot hold it only loses the log, never the run.
  if (!log && setupError.empty() && !run.dataDir.empty() && run.config.getString("call_log").empty() &&
      !std::getenv("LLMSPELL_CALL_LOG")) {
    try {
      std::error_code ec;
      std::filesystem::create_directories(run.dataDir, ec);
      log = llm::CallLog::shared(run.dataDir + "/calls.db");
    } catch (const Exception&) {
      log = nullptr;
    }
  }
}

// The run's calls are on disk when the run ends (`llmspell logs --run ID` right after), whether
// the log closes now or stays open for the process's next run.
LlmService::~LlmService() {
  if (!log) return;
  try {
    log->flush();
  } catch (const Exception& e) {
    logMessage(LogLevel::kWarn, e.error().message);
  }
}

std::string LlmService::resolve(RunContext& run, const Value& opts) {
  std::string m;
  const Value& om = opts.get("model");
  if (om.isString() && !om.asString().empty()) m = om.asString();
  else if (!om.isNull() && !om.isString()) fail(codes::kInvalidArgument, "opts.model must be a string like \"openai/gpt-4o-mini\", got " + om.describe());
  if (m.empty()) m = chosen;
  if (m.empty() && run.config.get("model").isString()) m = run.config.getString("model");
  if (m.empty() && std::getenv("LLMSPELL_MODEL")) m = std::getenv("LLMSPELL_MODEL");
  if (m.empty()) {
    if (!client.provider("openai").apiKey.empty()) m = "openai/gpt-4o-mini";
    else if (!client.provider("anthropic").apiKey.empty()) m = "anthropic/claude-haiku-4-5";
    else if (!client.provider("gemini").apiKey.empty()) m = "gemini/gemini-2.5-flash";
  }
  // Scripted mock replies (--mock-replies, llm.configure("mock", {replies})) say which model is
  // meant. Nothing else does: a spell that wants the offline mock names it (--model mock/echo),
  // so a missing key never turns into the user's prompt echoed back with exit 0.
  if (m.empty() && (client.mockRepliesLeft() > 0 || run.config.get("mock_replies").isString())) m = "mock/script";
  if (m.empty()) {
    fail(codes::kConfigError,
         "no model chosen and no provider key set: pass --model provider/model (e.g. --model openai/gpt-4o-mini; "
         "--model mock/echo for the offline mock), set LLMSPELL_MODEL, give the model in the call (opts.model) or "
         "the manifest, or set a provider key (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY or GOOGLE_API_KEY)");
  }
  const Value& aliases = run.config.get("aliases");
  if (aliases.isObject() && aliases.get(m).isString()) m = aliases.getString(m);
  if (!mockRepliesError.empty() && m.rfind("mock/", 0) == 0) fail(codes::kInvalidArgument, mockRepliesError);
  if (!setupError.empty()) fail(codes::kInvalidArgument, setupError);
  return m;
}

namespace {

constexpr size_t kMaxRepliesFile = 16u << 20;  // 16 MiB of scripted replies is plenty

using llm::ChatRequest;
using llm::Message;

// ---------------- options ----------------

const char* const kChatOpts[] = {"model", "system", "temperature", "top_p", "max_tokens", "stop", "seed",
                                 "tools", "tool_choice", "parallel_tool_calls", "response_format", "schema",
                                 "schema_name", "images", "timeout", "retries", "extra", "attempts", "mode",
                                 "on_chunk"};

// The opts schema of the chat-like functions, with `extra` options of their own.
std::string chatOptsSchema(std::vector<std::string_view> extra = {}, std::string_view typeJson = "\"object\"") {
  std::vector<std::string_view> names(std::begin(kChatOpts), std::end(kChatOpts));
  names.insert(names.end(), extra.begin(), extra.end());
  return optionsSchema(names, typeJson);
}

void checkKnown(const Value& opts, std::string_view fname) {
  if (!opts.isObject()) return;
  for (const auto& [k, v] : opts.asObject()) {
    bool ok = false;
    for (const char* n : kChatOpts) ok |= k == n;
    if (!ok) {
      fail(codes::kInvalidArgument, std::string(fname) + ": unknown option `" + k +
                                        "` (model, system, temperature, top_p, max_tokens, stop, seed, tools, "
                                        "tool_choice, parallel_tool_calls, response_format, schema, images, "
                                        "timeout, retries, extra)");
    }
  }
}

double number(const Value& opts, std::string_view k, double lo, double hi) {
  const Value& v = opts.get(k);
  if (!v.isNumber() || v.asNumber() < lo || v.asNumber() > hi) {
    fail(codes::kInvalidArgument, "opts." + std::string(k) + " must be a number between " + toJsonText(Value(lo)) +
                                      " and " + toJsonText(Value(hi)) + ", got " + v.describe());
  }
  return v.asNumber();
}

ChatRequest buildRequest(const Value& pm, const Value& opts, std::string_view fname) {
  checkKnown(opts, fname);
  ChatRequest req;
  req.messages = llm::messagesFromValue(pm);
  if (!opts.isObject()) return req;
  const Value& sys = opts.get("system");
  if (sys.isString()) req.messages.insert(req.messages.begin(), Message::system(sys.asString()));
  else if (!sys.isNull()) fail(codes::kInvalidArgument, "opts.system must be a string, got " + sys.describe());
  const Value& imgs = opts.get("images");
  if (!imgs.isNull()) {
    if (!imgs.isArray()) fail(codes::kInvalidArgument, "opts.images must be a list of URLs or {data, media_type} tables");
    Message* last = nullptr;
    for (auto& m : req.messages) if (m.role == llm::Role::kUser) last = &m;
    if (!last) fail(codes::kInvalidArgument, "opts.images needs a user message to attach to");
    Value tmp = Value::object({{"role", "user"}, {"content", ""}, {"images", imgs}});
    for (auto& p : llm::messageFromValue(tmp).parts) if (p.kind == llm::ContentPart::Kind::kImage) last->parts.push_back(p);
  }
  if (!opts.get("temperature").isNull()) req.temperature = number(opts, "temperature", 0, 2);
  if (!opts.get("top_p").isNull()) req.topP = number(opts, "top_p", 0, 1);
  if (!opts.get("max_tokens").isNull()) req.maxTokens = static_cast<int64_t>(number(opts, "max_tokens", 1, 1e9));
  if (!opts.get("seed").isNull()) req.seed = static_cast<int64_t>(number(opts, "seed", -9e18, 9e18));
  const Value& stop = opts.get("stop");
  if (stop.isString()) req.stop.push_back(stop.asString());
  else if (stop.isArray()) {
    for (const auto& s : stop.asArray()) {
      if (!s.isString()) fail(codes::kInvalidArgument, "opts.stop must be a string or a list of strings");
      req.stop.push_back(s.asString());
    }
  } else if (!stop.isNull()) fail(codes::kInvalidArgument, "opts.stop must be a string or a list of strings, got " + stop.describe());
  const Value& tools = opts.get("tools");
  if (tools.isArray()) {
    for (const auto& t : tools.asArray()) {
      req.tools.push_back(llm::toolSpecFromValue(t));
      req.tools.back().parameters = schemaFromScript(req.tools.back().parameters);
    }
  } else if (!tools.isNull() && !(tools.isObject() && tools.asObject().empty())) {
    fail(codes::kInvalidArgument, "opts.tools must be a list of {name, description, parameters}, got " + tools.describe());
  }
  const Value& tc = opts.get("tool_choice");
  if (tc.isString()) {
    const std::string& s = tc.asString();
    if (s == "auto" || s == "none" || s == "required") req.toolChoice.mode = s;
    else req.toolChoice = {"tool", s};
  } else if (tc.isObject() && tc.get("name").isString()) {
    req.toolChoice = {"tool", tc.getString("name")};
  } else if (!tc.isNull()) {
    fail(codes::kInvalidArgument, "opts.tool_choice must be \"auto\", \"none\", \"required\" or a tool name");
  }
  if (opts.get("parallel_tool_calls").isBool()) req.parallelToolCalls = opts.getBool("parallel_tool_calls");
  const Value& rf = opts.get("response_format");
  if (rf.isString()) {
    if (rf.asString() == "json" || rf.asString() == "json_object") req.jsonMode = true;
    else if (rf.asString() != "text") fail(codes::kInvalidArgument, "opts.response_format must be \"text\", \"json\" or a schema table");
  } else if (rf.isObject()) {
    std::string type = rf.getString("type");
    if (type == "json_object") req.jsonMode = true;
    else if (type == "json_schema") {
      const Value& js = rf.get("json_schema").isObject() ? rf.get("json_schema") : rf;
      req.responseSchema = js.get("schema");
      if (!js.getString("name").empty()) req.responseSchemaName = js.getString("name");
    } else {
      req.responseSchema = rf;  // a bare JSON Schema
    }
  }
  const Value& schema = opts.get("schema");
  if (schema.isObject()) req.responseSchema = schema;
  else if (!schema.isNull()) fail(codes::kInvalidArgument, "opts.schema must be a JSON Schema table");
  if (opts.get("schema_name").isString()) req.responseSchemaName = opts.getString("schema_name");
  if (opts.get("extra").isObject()) req.extra = opts.get("extra");
  if (!req.responseSchema.isNull()) req.responseSchema = schemaFromScript(req.responseSchema);
  return req;
}

llm::CallOptions callOptions(const Value& opts) {
  llm::CallOptions co;
  if (opts.get("retries").isNumber()) co.maxRetries = static_cast<int>(opts.getNumber("retries"));
  if (opts.get("timeout").isNumber()) co.timeoutSeconds = opts.getNumber("timeout");
  return co;
}

// ---------------- one hooked, evented, budgeted call ----------------

struct CallEnv {
  CallEnv(RunContext* r, Loop* l, HookRegistry* h = nullptr)
      : run(r), loop(l), hooks(h), usageScope(r->usageScope), parentSpan(observe::tracerFor(*r).current()) {}
  RunContext* run;
  Loop* loop;
  HookRegistry* hooks;  // the llm.call hooks to run; null: the run's
  // The usage scope current when the call (or the batch, or the structured retries) began:
  // completed calls count there, whenever they finish.
  UsageScopePtr usageScope;
  // The span current when the call was made: the call's span goes under it, though the
  // llm.call hooks may start the call later, when another span is current.
  std::string parentSpan;
};

PromisePtr budgetCheck(RunContext& run, LlmService& s) {
  const Value& maxCost = run.config.get("max_cost_usd");
  if (maxCost.isNumber() && s.spentUsd >= maxCost.asNumber()) {
    return Promise::rejected(Error(codes::kBudgetExceeded, "the spell has spent $" + toJsonText(Value(s.spentUsd)) +
                                                               " of its $" + toJsonText(maxCost) + " budget (--max-cost)"));
  }
  const Value& maxTok = run.config.get("max_tokens");
  if (maxTok.isNumber() && static_cast<double>(s.spentTokens) >= maxTok.asNumber()) {
    return Promise::rejected(Error(codes::kBudgetExceeded, "the spell has used " + std::to_string(s.spentTokens) +
                                                               " tokens of its " + toJsonText(maxTok) + " token limit"));
  }
  return nullptr;
}

// A model call's span, after the OpenTelemetry GenAI semantic conventions: named
// "{operation} {model}", a client span, with the request's model and parameters.
std::string chatSpan(observe::Tracer& tracer, std::string_view op, const std::string& provider, const std::string& id,
                     const ChatRequest& req, std::string parent = "") {
  Value attrs = Value::object({{"gen_ai.operation.name", op},
                               {"gen_ai.provider.name", observe::genAiProviderName(provider)},
                               {"gen_ai.system", provider},  // the older name, still read by many backends
                               {"gen_ai.request.model", id}});
  if (req.temperature) attrs.asObject().set("gen_ai.request.temperature", *req.temperature);
  if (req.topP) attrs.asObject().set("gen_ai.request.top_p", *req.topP);
  if (req.maxTokens) attrs.asObject().set("gen_ai.request.max_tokens", *req.maxTokens);
  if (req.seed) attrs.asObject().set("gen_ai.request.seed", *req.seed);
  return tracer.start(std::string(op) + " " + id, observe::SpanKind::kClient, attrs, std::move(parent));
}

// Ends a model call's span with what the reply said (or the error).
void endModelSpan(observe::Tracer& tracer, const std::string& span, const Promise& q) {
  if (q.rejected()) {
    tracer.end(span, q.error().code, q.error().message);
    return;
  }
  const Value& v = q.value();
  if (v.isObject()) {
    // The model the provider says answered ("gpt-4o-mini-2024-07-18"), else the one asked for.
    std::string model = v.getString("raw_model");
    if (model.empty() && !v.getString("model").empty()) model = llm::splitModelName(v.getString("model")).second;
    if (!model.empty()) tracer.setAttribute(span, "gen_ai.response.model", model);
    const Value& usage = v.get("usage");
    if (usage.get("input_tokens").isNumber()) tracer.setAttribute(span, "gen_ai.usage.input_tokens", usage.getInt("input_tokens"));
    if (usage.get("output_tokens").isNumber()) tracer.setAttribute(span, "gen_ai.usage.output_tokens", usage.getInt("output_tokens"));
    if (v.get("finish_reason").isString())
      tracer.setAttribute(span, "gen_ai.response.finish_reasons", Value::array({v.get("finish_reason")}));
    if (v.get("cost_usd").isNumber()) tracer.setAttribute(span, "llmspell.cost_usd", v.get("cost_usd"));
  }
  tracer.end(span);
}

// Runs one chat call through the llm.call hooks. `onChunk` streams when set.
PromisePtr hookedChat(CallEnv env, const Value& messages, const Value& opts,
                      std::function<void(const llm::StreamChunk&)> onChunk) {
  RunContext& run = *env.run;
  Value args = Value::object({{"messages", messages}, {"opts", opts.isObject() ? opts : Value::object()}});
  auto inner = [env, onChunk](Value a) -> PromisePtr {
    RunContext& run = *env.run;
    try {
      LlmService& s = run.service<LlmService>([&] { return std::make_shared<LlmService>(run, *env.loop); });
      if (auto b = budgetCheck(run, s)) return b;
      const Value& o = a.get("opts");
      ChatRequest req = buildRequest(a.get("messages"), o, "llm.chat");
      std::string model = s.resolve(run, o);
      llm::CallOptions co = callOptions(o);
      auto& bus = busFor(run);
      // A streamed call's text also goes out as `llm.token` events ({model, text}), so whoever
      // follows the run (a `serve` client of /v1/runs/{id}/events, events.on) sees the tokens;
      // with no subscriber on the bus nothing is built.
      if (onChunk)
        co.onChunk = [onChunk, busp = &bus, model](const llm::StreamChunk& c) {
          if (!c.text.empty() && busp->subscriberCount() > 0)
            busp->emit("llm.token", Value::object({{"model", model}, {"text", c.text}}));
          onChunk(c);
        };
      auto [prov, id] = llm::splitModelName(model);
      bus.emit("llm.request", Value::object({{"model", model}, {"provider", prov}, {"messages", static_cast<int64_t>(req.messages.size())},
                                             {"stream", static_cast<bool>(onChunk)}}));
      auto tracer = observe::tracerFor(run).shared_from_this();
      std::string span = chatSpan(*tracer, "chat", prov, id, req, env.parentSpan);
      auto started = std::chrono::steady_clock::now();
      // A durable run gives back a model call it completed before, and records the ones it makes.
      Journal* journal = run.findService<Journal>();
      std::string jkey;
      if (journal) {
        jkey = journal->next(journal->pathOf(env.usageScope.get()) + "/llm:" +
                             journalHash(llm::canonicalRequest(model, req)));
        Value hit = journal->find(jkey);
        if (!hit.isNull()) {
          ++journal->replayed;
          if (co.onChunk && hit.get("text").isString()) co.onChunk(llm::StreamChunk{.text = hit.getString("text")});
          if (env.usageScope) env.usageScope->add(hit.get("usage"), hit.getNumber("cost_usd"));
          hit.asObject().set("replayed", true);
          return Promise::resolved(std::move(hit));
        }
      }
      PromisePtr p = s.client.chat(model, std::move(req), std::move(co));
      if (journal) {
        auto recorded = Promise::create();
        p->onSettle([journal, jkey, recorded](const Promise& q) {
          if (q.rejected()) {
            const_cast<Promise&>(q).markHandled();
            recorded->reject(q.error());
            return;
          }
          try {
            journal->record(jkey, q.value());
            recorded->resolve(q.value());
          } catch (...) {
            recorded->rejectCurrentException();
          }
        });
        recorded->setCanceller([p] { if (p->pending()) p->cancel(); });
        p = recorded;
      }
      RunContext* rp = &run;
      std::string m = model;
      std::string provider = prov;
      p->onSettle([rp, m, provider, started, scope = env.usageScope, tracer, span](const Promise& q) {
        endModelSpan(*tracer, span, q);
        auto* svc = rp->findService<LlmService>();
        auto& bus = busFor(*rp);
        if (svc && svc->log) {
          // append() only queues the row: the log's own thread writes it (see CallLog).
          llm::CallLog::Row row;
          row.runId = rp->runId;
          row.spell = rp->spellName;
          row.model = m;
          if (q.fulfilled()) {
            const Value& v = q.value();
            row.provider = v.getString("provider");
            // No usage reported: the row's tokens and cost stay empty (NULL), not 0.
            const Value& usage = v.get("usage");
            if (usage.get("input_tokens").isNumber()) row.inputTokens = usage.getInt("input_tokens");
            if (usage.get("output_tokens").isNumber()) row.outputTokens = usage.getInt("output_tokens");
            if (v.get("cost_usd").isNumber()) row.costUsd = v.getNumber("cost_usd");
            row.latencyMs = v.getInt("latency_ms");
            row.finishReason = v.getString("finish_reason");
          } else {
            // A failed call still has a provider and took time (retries included).
            std::string pv = q.error().details.getString("provider");
            row.provider = pv.empty() ? provider : pv;
            row.latencyMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started).count();
            row.errorCode = q.error().code;
          }
          svc->log->append(std::move(row));
        }
        if (q.fulfilled()) {
          const Value& v = q.value();
          if (svc) {
            svc->spentUsd += v.getNumber("cost_usd");
            svc->spentTokens += v.get("usage").getInt("total_tokens");
          }
          if (scope) scope->add(v.get("usage"), v.getNumber("cost_usd"));
          bus.emit("llm.response", Value::object({{"model", m}, {"provider", v.getString("provider")}, {"usage", v.get("usage")},
                                                  {"cost_usd", v.get("cost_usd")}, {"latency_ms", v.get("latency_ms")},
                                                  {"finish_reason", v.get("finish_reason")}}));
        } else {
          bus.emit("llm.error", Value::object({{"model", m}, {"code", q.error().code}, {"message", q.error().message}}));
        }
      });
      return p;
    } catch (...) {
      PromisePtr p = Promise::create();
      p->rejectCurrentException();
      return p;
    }
  };
  if (env.hooks) return env.hooks->run(hook_points::kLlmCall, std::move(args), inner);
  return runHooked(run, hook_points::kLlmCall, std::move(args), inner);
}

Value messagesArg(const Value& v) {
  // Validate early so argument errors name the right function.
  (void)llm::messagesFromValue(v);
  return v;
}

// ---------------- structured output ----------------

// A reply's text read as the schema's value: the JSON in it repaired (llm::repairJson), then
// coerced where the schema leaves one reading, then validated. `errors` empty = valid.
struct StructuredRead {
  Value value;
  std::vector<std::string> repairs, errors;
};
StructuredRead readStructured(const std::string& text, const Value& schema) {
  StructuredRead r;
  auto rep = llm::repairJson(text);
  if (!rep) {
    r.errors.push_back("$: the reply contains no JSON value");
    return r;
  }
  r.repairs = std::move(rep->repairs);
  llm::coerceToSchema(rep->value, schema, &r.repairs);
  r.errors = validateSchema(rep->value, schema);
  r.value = std::move(rep->value);
  return r;
}

Value stringList(const std::vector<std::string>& xs) {
  Value out = Value::array();
  for (const auto& x : xs) out.asArray().push(x);
  return out;
}

struct StructuredRun : std::enable_shared_from_this<StructuredRun> {
  explicit StructuredRun(CallEnv e) : env(std::move(e)) {}
  CallEnv env;
  Value messages;  // array of message values
  Value opts;
  Value schema;
  int attempts = 3;
  bool report = false;  // resolve with {value, repairs, attempts} rather than the bare value
  int n = 0;
  PromisePtr out = Promise::create();
  PromisePtr current;

  void attempt() {
    ++n;
    auto self = shared_from_this();
    current = hookedChat(env, messages, opts, nullptr);
    current->onSettle([self](const Promise& p) {
      if (!self->out->pending()) return;
      if (p.rejected()) {
        self->out->reject(p.error());
        return;
      }
      std::string text = p.value().getString("text");
      // A reply that repair and coercion make valid costs no retry.
      StructuredRead r = readStructured(text, self->schema);
      const auto& errors = r.errors;
      if (errors.empty()) {
        if (self->report) {
          self->out->resolve(Value::object({{"value", r.value}, {"repairs", stringList(r.repairs)}, {"attempts", self->n}}));
        } else {
          self->out->resolve(r.value);
        }
        return;
      }
      if (self->n >= self->attempts) {
        Error e(codes::kValidationFailed, "the model's reply did not match the schema after " + std::to_string(self->n) +
                                              " attempt(s): " + errors[0]);
        e.details = Value::object({{"errors", stringList(errors)}, {"repairs", stringList(r.repairs)}, {"text", text},
                                   {"attempts", self->n}});
        self->out->reject(e);
        return;
      }
      std::string fix = "Your reply did not match the required JSON Schema:\n";
      for (const auto& x : errors) fix += "- " + x + "\n";
      fix += "Reply again with only the corrected JSON value.";
      self->messages.asArray().push(Value::object({{"role", "assistant"}, {"content", text}}));
      self->messages.asArray().push(Value::object({{"role", "user"}, {"content", fix}}));
      self->attempt();
    });
  }
};

PromisePtr structured(CallContext& cx, const Value& prompt, const Value& schema, const Value& optsIn) {
  if (!schema.isObject()) fail(codes::kInvalidArgument, "llm.structured: schema must be a JSON Schema table, got " + schema.describe());
  Value opts = optsIn.isObject() ? optsIn.deepCopy() : Value::object();
  const Value& rep = opts.get("report");
  if (!rep.isNull() && !rep.isBool()) fail(codes::kInvalidArgument, "llm.structured: opts.report must be a boolean, got " + rep.describe());
  bool report = rep.isBool() && rep.asBool();
  opts.asObject().erase("report");
  checkKnown(opts, "llm.structured");
  LlmService& s = LlmService::of(cx);
  std::string model = s.resolve(cx.run, opts);
  auto [prov, id] = llm::splitModelName(model);
  std::string kind = s.client.provider(prov).kind;
  std::string mode = opts.getString("mode", "auto");
  if (mode != "auto" && mode != "native" && mode != "instructed") {
    fail(codes::kInvalidArgument, "llm.structured: opts.mode must be \"auto\", \"native\" or \"instructed\"");
  }
  bool native = mode == "native" || (mode == "auto" && kind != "mock");
  auto run = std::make_shared<StructuredRun>(CallEnv{&cx.run, &cx.loop});
  run->schema = schema;
  run->report = report;
  run->attempts = static_cast<int>(opts.getInt("attempts", 3));
  if (run->attempts < 1) fail(codes::kInvalidArgument, "llm.structured: opts.attempts must be at least 1");
  opts.asObject().erase("attempts");
  opts.asObject().erase("mode");
  opts.asObject().set("model", model);
  Value msgs = Value::array();
  for (const auto& m : llm::messagesFromValue(prompt)) msgs.asArray().push(llm::toValue(m));
  std::string instruction = "Respond with only a JSON value (no prose, no code fences) that validates against this JSON Schema:\n" +
                            toJsonText(schema);
  if (native) {
    opts.asObject().set("schema", schema);
  } else {
    msgs.asArray().items().insert(msgs.asArray().items().begin(), Value::object({{"role", "system"}, {"content", instruction}}));
  }
  run->messages = msgs;
  run->opts = opts;
  run->attempt();
  std::weak_ptr<StructuredRun> weak = run;
  run->out->setCanceller([weak] {
    if (auto r = weak.lock()) {
      if (r->current) r->current->cancel();
    }
  });
  return run->out;
}

// llm.stream with a schema: the reply so far, read by the repairing scanner at each chunk into
// the partial value (as the AI SDK's streamObject shows it). The reply is the streamed text, or
// for Anthropic the forced tool's input (structured output arrives as its arguments).
struct PartialJson {
  Value schema;
  std::string toolName;  // the forced tool's name (opts.schema_name)
  std::string text;
  Value partial;  // the value read from `text` (null: none yet)
  int64_t toolIndex = -1;
  // The chunk's table with `partial` set (absent while no JSON has begun).
  Value chunkValue(const llm::StreamChunk& c) {
    Value v = llm::toValue(c);
    size_t before = text.size();
    text += c.text;
    if (c.toolCall) {
      if (!c.toolCall->name.empty() && c.toolCall->name == toolName) toolIndex = c.toolCall->index;
      if (c.toolCall->index == toolIndex) text += c.toolCall->argumentsDelta;
    }
    // The whole text is read again at each chunk that adds to it (as the AI SDK does): a reply
    // is small, and a lenient read of a prefix cannot be resumed where the last one stopped.
    if (text.size() != before) {
      partial = Value();
      if (auto r = llm::repairJson(text)) {
        llm::coerceToSchema(r->value, schema, nullptr);
        partial = std::move(r->value);
      }
    }
    if (!partial.isNull()) v.asObject().set("partial", partial.deepCopy());
    return v;
  }
};

std::shared_ptr<PartialJson> partialFor(const Value& opts) {
  if (!opts.isObject() || !opts.get("schema").isObject()) return nullptr;
  auto pj = std::make_shared<PartialJson>();
  pj->schema = opts.get("schema");
  pj->toolName = opts.getString("schema_name", llm::ChatRequest{}.responseSchemaName);
  return pj;
}

// The chunk's table: with `partial` when the stream has a schema.
Value chunkTable(const std::shared_ptr<PartialJson>& pj, const llm::StreamChunk& c) {
  return pj ? pj->chunkValue(c) : llm::toValue(c);
}

// The iterator form of llm.stream: `for chunk in llm.stream(prompt) do ... end`. Resolves at
// once with a function; each call returns the next chunk (waiting for it), nil at the end, or
// raises the call's error. Dropping the iterator before the end cancels the call.
struct StreamQueue {
  std::deque<Value> chunks;
  bool done = false;
  std::optional<Error> error;
  PromisePtr waiter;
  PromisePtr call;
  ~StreamQueue() {
    if (call && call->pending()) call->cancel();
  }
  void wake() {
    if (!waiter || !waiter->pending()) return;
    PromisePtr w = std::move(waiter);
    waiter = nullptr;
    if (!chunks.empty()) {
      Value v = std::move(chunks.front());
      chunks.pop_front();
      w->resolve(std::move(v));
    } else if (error) {
      w->reject(*error);
    } else if (done) {
      w->resolve(Value());
    }
  }
};

PromisePtr streamIterator(CallEnv env, const Value& messages, const Value& opts) {
  auto q = std::make_shared<StreamQueue>();
  std::weak_ptr<StreamQueue> weak = q;
  auto onChunk = [weak, pj = partialFor(opts)](const llm::StreamChunk& c) {
    if (auto s = weak.lock()) {
      s->chunks.push_back(chunkTable(pj, c));
      s->wake();
    }
  };
  q->call = hookedChat(env, messages, opts, onChunk);
  q->call->onSettle([weak](const Promise& p) {
    auto s = weak.lock();
    if (!s) return;
    s->done = true;
    if (p.rejected()) s->error = p.error();
    s->wake();
  });
  auto next = std::make_shared<HostFunction>(
      [q](std::vector<Value>) -> PromisePtr {
        if (!q->chunks.empty()) {
          Value v = std::move(q->chunks.front());
          q->chunks.pop_front();
          return Promise::resolved(std::move(v));
        }
        if (q->error) return Promise::rejected(*q->error);
        if (q->done) return Promise::resolved(Value());
        if (q->waiter && q->waiter->pending()) {
          return Promise::rejected(Error(codes::kInvalidArgument, "llm.stream iterator: already waiting for a chunk"));
        }
        q->waiter = Promise::create();
        return q->waiter;
      },
      "llm.stream iterator");
  return Promise::resolved(Value(FunctionPtr(next)));
}

// llm.batch: many prompts, at most `concurrency` in flight; results in input order, failures as
// error values.
struct Batch : std::enable_shared_from_this<Batch> {
  explicit Batch(CallEnv e) : env(std::move(e)) {}
  CallEnv env;
  std::vector<Value> prompts;
  Value opts;
  size_t next = 0, done = 0, limit = 4;
  std::vector<Value> results;
  std::vector<PromisePtr> inflight;
  PromisePtr out = Promise::create();

  void pump() {
    while (out->pending() && next < prompts.size() && next - done < limit) {
      size_t i = next++;
      auto self = shared_from_this();
      PromisePtr p = hookedChat(env, prompts[i], opts, nullptr);
      inflight.push_back(p);
      p->onSettle([self, i](const Promise& q) {
        self->results[i] = q.fulfilled() ? q.value() : Value(std::make_shared<Error>(q.error()));
        ++self->done;
        if (self->done == self->prompts.size()) {
          self->out->resolve(Value::array(self->results));
          return;
        }
        self->pump();
      });
    }
  }
};

}  // namespace

namespace {

// scriptChunkHandler, with `pj` (when set) adding each chunk's partial structured value.
std::function<void(const llm::StreamChunk&)> chunkHandler(FunctionPtr fn, std::shared_ptr<std::weak_ptr<Promise>> stream,
                                                          std::shared_ptr<PartialJson> pj) {
  return [fn = std::move(fn), stream = std::move(stream), pj = std::move(pj)](const llm::StreamChunk& c) {
    PromisePtr r = fn->call({chunkTable(pj, c)});
    auto stopOnError = [stream](const Promise& q) {
      if (!q.rejected()) return;
      if (auto p = stream->lock()) p->cancel(q.error());
    };
    if (r->pending()) r->onSettle(stopOnError);
    else stopOnError(*r);  // the usual case: the callback returned without waiting
  };
}

// llm.stream's result with a schema: `output` is the whole reply read as the schema's value
// (repaired and coerced as llm.structured does); a reply that still does not validate rejects.
PromisePtr withOutput(PromisePtr p, const Value& schema) {
  PromisePtr out = Promise::create();
  p->onSettle([out, schema](const Promise& q) {
    if (q.rejected()) {
      out->reject(q.error());
      return;
    }
    Value res = q.value();
    std::string text = res.getString("text");
    StructuredRead r = readStructured(text, schema);
    if (!r.errors.empty()) {
      Error e(codes::kValidationFailed, "the streamed reply did not match the schema: " + r.errors[0]);
      e.details = Value::object({{"errors", stringList(r.errors)}, {"repairs", stringList(r.repairs)}, {"text", text}});
      out->reject(e);
      return;
    }
    if (res.isObject()) res.asObject().set("output", r.value);
    out->resolve(res);
  });
  std::weak_ptr<Promise> wp = p;
  out->setCanceller([wp] { if (auto x = wp.lock()) x->cancel(); });
  return out;
}

}  // namespace

std::function<void(const llm::StreamChunk&)> scriptChunkHandler(
    FunctionPtr fn, std::shared_ptr<std::weak_ptr<Promise>> stream) {
  return chunkHandler(std::move(fn), std::move(stream), nullptr);
}

PromisePtr llmChat(RunContext& run, Loop& loop, const Value& messages, const Value& opts,
                   std::function<void(const llm::StreamChunk&)> onChunk, HookRegistry* hooks) {
  return hookedChat({&run, &loop, hooks}, messages, opts, std::move(onChunk));
}

void llmspell_register_llm(Registry& r) {
  r.fn("llm", "batch")
      .param("prompts", R"({"type":"array"})", "prompts or message lists")
      .opt("opts", chatOptsSchema({"concurrency"}), "as for llm.chat, plus concurrency (default 4)")
      .returns("the llm.chat results in input order; a failed prompt gives an error value")
      .doc("Many prompts with bounded concurrency.")
      .async([](CallContext& cx, Args a) {
        auto b = std::make_shared<Batch>(CallEnv{&cx.run, &cx.loop});
        for (const auto& p : a[0].asArray()) b->prompts.push_back(messagesArg(p));
        Value opts = a[1].isObject() ? a[1].deepCopy() : Value::object();
        if (!opts.get("concurrency").isNull()) {
          double c = number(opts, "concurrency", 1, 1000);
          b->limit = static_cast<size_t>(c);
          opts.asObject().erase("concurrency");
        }
        checkKnown(opts, "llm.batch");
        b->opts = opts;
        b->results.assign(b->prompts.size(), Value());
        if (b->prompts.empty()) return Promise::resolved(Value::array());
        b->pump();
        std::weak_ptr<Batch> weak = b;
        b->out->setCanceller([weak] {
          if (auto x = weak.lock()) {
            for (auto& p : x->inflight) if (p->pending()) p->cancel();
          }
        });
        return b->out;
      });

  r.fn("llm", "compare")
      .param("prompt", R"({"type":["string","array","object"]})")
      .param("models", R"({"type":"array","minItems":1})", "model names")
      .opt("opts", chatOptsSchema(), "as for llm.chat")
      .returns("[{model, text, finish_reason, latency_ms, usage, cost_usd, error}] in the order of `models`")
      .doc("The same prompt to several models at once, side by side.")
      .async([](CallContext& cx, Args a) {
        Value prompt = messagesArg(a[0]);
        std::vector<PromisePtr> calls;
        std::vector<std::string> names;
        for (const auto& m : a[1].asArray()) {
          if (!m.isString()) fail(codes::kInvalidArgument, "llm.compare: models must be model names, got " + m.describe());
          Value opts = a[2].isObject() ? a[2].deepCopy() : Value::object();
          opts.asObject().set("model", m);
          names.push_back(m.asString());
          calls.push_back(hookedChat({&cx.run, &cx.loop}, prompt, opts, nullptr));
        }
        PromisePtr out = Promise::create();
        promiseAllSettled(calls)->onSettle([out, names](const Promise& all) {
          Value rows = Value::array();
          for (size_t i = 0; i < names.size(); ++i) {
            const Value& s = all.value().asArray()[i];
            Value row = Value::object({{"model", names[i]}});
            const Value& v = s.get("value");
            if (v.isObject()) {
              for (const char* k : {"text", "latency_ms", "usage", "cost_usd", "finish_reason"}) row.asObject().set(k, v.get(k));
            } else {
              row.asObject().set("error", s.get("error"));
            }
            rows.asArray().push(row);
          }
          out->resolve(rows);
        });
        return out;
      });

  r.fn("llm", "chat")
      .param("messages", R"({"type":["string","array","object"]})", "a prompt or a list of {role, content} messages")
      .opt("opts", chatOptsSchema(), "model, system, temperature, top_p, max_tokens, stop, seed, tools, tool_choice, response_format / schema, images, timeout, retries")
      .returns("{text, reasoning, message, tool_calls, finish_reason, raw_finish_reason, usage (nil when not reported), cost_usd, model, raw_model, provider, latency_ms, refusal, raw, pool_model (through a pool), consensus (a consensus pool's votes)}")
      .doc("One model call.")
      .async([](CallContext& cx, Args a) {
        return hookedChat({&cx.run, &cx.loop}, messagesArg(a[0]), a[1], nullptr);
      });

  r.fn("llm", "complete")
      .param("prompt", R"({"type":["string","array","object"]})")
      .opt("opts", chatOptsSchema())
      .returns("the reply text")
      .doc("One model call; only the text of the reply.")
      .async([](CallContext& cx, Args a) {
        PromisePtr p = hookedChat({&cx.run, &cx.loop}, messagesArg(a[0]), a[1], nullptr);
        PromisePtr out = Promise::create();
        p->onSettle([out](const Promise& q) {
          if (q.fulfilled()) out->resolve(q.value().get("text"));
          else out->reject(q.error());
        });
        std::weak_ptr<Promise> wp = p;
        out->setCanceller([wp] { if (auto x = wp.lock()) x->cancel(); });
        return out;
      });

  r.fn("llm", "stream")
      .param("messages", R"({"type":["string","array","object"]})")
      .opt("opts", chatOptsSchema({}, R"(["object","function"])"), "as for llm.chat (or the callback)")
      .opt("on_chunk", R"({"type":"function"})", "called with {text, reasoning, tool_call_delta, refusal, server_tool_delta} per delta; "
           "with opts.schema also `partial`, the value parsed so far (unfinished strings, arrays and objects closed)")
      .returns("the same final result as llm.chat, plus `output` (the validated value, repaired and coerced as by llm.structured) "
               "when opts.schema is given; without on_chunk, an iterator over the chunks")
      .doc("Streams a model call, calling on_chunk for every delta (or: for chunk in llm.stream(prompt) do ... end).")
      .async([](CallContext& cx, Args a) {
        Value opts = a[1];
        Value cb = a[2];
        if (opts.isFunction()) {
          cb = opts;
          opts = Value::object();
        }
        if (cb.isNull() && opts.get("on_chunk").isFunction()) cb = opts.get("on_chunk");
        if (cb.isNull()) return streamIterator({&cx.run, &cx.loop}, messagesArg(a[0]), opts);
        if (!cb.isFunction()) fail(codes::kInvalidArgument, "llm.stream: on_chunk must be a function");
        FunctionPtr fn = cb.asFunction();
        auto holder = std::make_shared<std::weak_ptr<Promise>>();
        auto pj = partialFor(opts);
        auto onChunk = chunkHandler(fn, holder, pj);
        if (opts.isObject() && opts.get("on_chunk").isFunction()) {
          opts = opts.deepCopy();
          opts.asObject().erase("on_chunk");
        }
        PromisePtr p = hookedChat({&cx.run, &cx.loop}, messagesArg(a[0]), opts, onChunk);
        *holder = p;
        if (opts.get("timeout").isNumber() && opts.getNumber("timeout") > 0) {
          double secs = opts.getNumber("timeout");
          std::weak_ptr<Promise> wp = p;
          auto t = cx.loop.setTimeout(secs, [wp, secs] {
            if (auto x = wp.lock()) x->cancel(Error(codes::kTimeout, "llm.stream timed out after " + fmtSeconds(secs), true));
          });
          p->onSettle([t](const Promise&) mutable { t.cancel(); });
        }
        return pj ? withOutput(p, pj->schema) : p;
      });

  r.fn("llm", "structured")
      .param("prompt", R"({"type":["string","array","object"]})")
      .param("schema", R"({"type":"object"})", "a JSON Schema")
      .opt("opts", chatOptsSchema({"report"}), "as for llm.chat, plus attempts (default 3), mode (auto | native | instructed) "
           "and report (true: return {value, repairs, attempts})")
      .returns("a value that validates against the schema; with opts.report, {value, repairs (a list of \"$.path: what was repaired or coerced\"), attempts}")
      .doc("Structured output: native mode where the provider has one, else instructed JSON. The reply's JSON is repaired "
           "(code fences and prose, trailing commas, single quotes, unquoted keys, comments, a truncated value) and coerced "
           "where the schema is unambiguous (\"5\" for an integer, \"true\" for a boolean, a single value for an array), "
           "then validated; only a reply that still fails costs a retry, which is sent the errors.")
      .async([](CallContext& cx, Args a) { return structured(cx, a[0], a[1], a[2]); });

  r.fn("llm", "embed")
      .param("texts", R"({"type":["string","array"]})")
      .opt("opts", R"({"type":"object"})", "model, dimensions, timeout")
      .returns("a vector (for a string) or a list of vectors")
      .doc("Embeddings.")
      .async([](CallContext& cx, Args a) {
        LlmService& s = LlmService::of(cx);
        const Value& opts = a[1];
        std::vector<std::string> texts;
        bool single = a[0].isString();
        if (single) texts.push_back(a[0].asString());
        else {
          for (const auto& t : a[0].asArray()) {
            if (!t.isString()) fail(codes::kInvalidArgument, "llm.embed: texts must be strings, got " + t.describe());
            texts.push_back(t.asString());
          }
        }
        std::string model = opts.getString("model");
        if (model.empty()) {
          auto [prov, id] = llm::splitModelName(s.resolve(cx.run, Value::object()));
          std::string kind = s.client.provider(prov).kind;
          model = kind == "openai" ? "openai/text-embedding-3-small"
                  : kind == "gemini" ? "gemini/gemini-embedding-001"
                  : kind == "ollama" ? prov + "/all-minilm"
                  : kind == "mock" ? "mock/embed"
                                   : prov + "/" + id;
        }
        auto tracer = observe::tracerFor(cx.run).shared_from_this();
        auto [prov, id] = llm::splitModelName(model);
        std::string span = chatSpan(*tracer, "embeddings", prov, id, ChatRequest{});
        PromisePtr p = s.client.embed(model, texts, opts);
        p->onSettle([tracer, span](const Promise& q) {
          if (q.rejected()) tracer->end(span, q.error().code, q.error().message);
          else tracer->end(span);
        });
        if (!single) return p;
        PromisePtr out = Promise::create();
        p->onSettle([out](const Promise& q) {
          if (q.fulfilled()) out->resolve(q.value().asArray()[0]);
          else out->reject(q.error());
        });
        return out;
      });

  r.fn("llm", "count_tokens")
      .param("input", R"({"type":["string","array","object"]})", "text or messages")
      .opt("opts", R"({"type":"object"})", "model (default: the model calls would use)")
      .returns("{tokens, exact, estimated, method, model}")
      .doc("Token count: exact (BPE) for OpenAI models when the tokenizer data is installed (scripts/setup.sh), "
           "else an estimate (about 4 characters per token) with exact = false.")
      .sync([](CallContext& cx, Args a) {
        std::string model;
        const Value& om = a[1].get("model");
        if (om.isString()) model = om.asString();
        else if (!om.isNull()) fail(codes::kInvalidArgument, "llm.count_tokens: opts.model must be a string, got " + om.describe());
        if (model.empty()) {
          try {
            model = LlmService::of(cx).resolve(cx.run, Value::object());
          } catch (const Exception&) {
            model.clear();  // no usable default: estimate
          }
        }
        llm::TokenCount c;
        if (a[0].isString()) c = llm::countTokens(model, a[0].asString(), cx.run.dataDir);
        else c = llm::countMessageTokens(model, llm::messagesFromValue(a[0]), cx.run.dataDir);
        return Value::object({{"tokens", c.tokens}, {"exact", c.exact}, {"estimated", !c.exact},
                              {"method", c.method == "estimate" ? std::string("chars/4") : c.method}, {"model", model}});
      });

  r.fn("llm", "use")
      .param("model", R"({"type":"string","minLength":1})", "provider/model")
      .opt("opts", R"({"type":"object"})")
      .returns("the model now used by default")
      .doc("Sets the default model for this run.")
      .sync([](CallContext& cx, Args a) {
        LlmService& s = LlmService::of(cx);
        auto [prov, id] = llm::splitModelName(a[0].asString());
        (void)s.client.provider(prov);  // must exist
        s.chosen = prov + "/" + id;
        return Value(s.chosen);
      });

  r.fn("llm", "configure")
      .param("provider", R"({"type":"string","minLength":1})")
      .param("config", R"({"type":"object"})", "kind, base_url, api_key_env, headers, timeout, retries, replies (mock), ...")
      .returns("nothing")
      .doc("Configures (or adds) a provider. A base_url needs --allow-net for its host (loopback too); "
           "api_key_env other than the provider's own variable (OPENAI_API_KEY for openai, ...) needs "
           "--allow-env for it. Base URLs and keys from the operator's environment need no grant. A replies_file "
           "(mock) needs --allow-read for it.")
      .sync([](CallContext& cx, Args a) {
        LlmService& s = LlmService::of(cx);
        const Value& cfg = a[1];
        if (cfg.get("api_key").isString()) {
          fail(codes::kInvalidArgument, "llm.configure: keys never go in spell text; name the variable with api_key_env");
        }
        // The provider's key goes wherever base_url points, so the spell must be granted that
        // host, local services included (a loopback port may be anything).
        if (cfg.get("base_url").isString()) {
          net::UrlParts u = net::parseUrl(cfg.getString("base_url"));
          cx.run.permissions().checkNet(u.host, u.port);
        }
        // Reading a variable into a key is reading the environment: only the provider's own
        // variable (the operator set it for this provider) comes without --allow-env.
        if (cfg.get("api_key_env").isString()) {
          const std::string& var = cfg.get("api_key_env").asString();
          if (!llm::isStandardKeyEnv(a[0].asString(), var)) cx.run.permissions().checkEnv(var);
        }
        // The spell's replies file is read here, under its read grant; the operator's
        // --mock-replies is trusted and read by LlmService.
        std::optional<std::vector<llm::MockReply>> fileReplies;
        Value rest = cfg;
        if (!cfg.get("replies_file").isNull()) {
          if (!cfg.get("replies_file").isString())
            fail(codes::kInvalidArgument, "llm.configure: `replies_file` must be a string");
          const std::string& path = cfg.get("replies_file").asString();
          safefs::Target t = safefs::forRead(cx.run.permissions(), path);
          fileReplies = llm::parseMockReplies(
              safefs::readFile("llm.configure: replies_file", t, kMaxRepliesFile, "16 MiB"), path);
          rest.asObject().erase("replies_file");
        }
        s.client.configure(a[0].asString(), rest);
        if (fileReplies) s.client.setMockReplies(std::move(*fileReplies));
        return Value();
      });

  r.fn("llm", "providers")
      .opt("opts", R"({"type":"object","properties":{"probe":{"type":"boolean"},"probe_timeout":{"type":"number","minimum":0.05,"maximum":60}}})",
           "probe (default true): check reachability; probe_timeout (seconds, default 2)")
      .returns("[{name, kind, base_url, base_url_env, has_key, key_env, ready, reachable, latency_ms, status, error}]")
      .doc("The configured providers (keys are never shown) and whether they answer: a GET of each ready provider's "
           "model-list endpoint, all at once. Providers without a key are not probed (reachable = nil).")
      .async([](CallContext& cx, Args a) {
        auto& client = LlmService::of(cx).client;
        Value list = client.providers();
        bool probe = !a[0].get("probe").isBool() || a[0].getBool("probe");
        double timeout = a[0].get("probe_timeout").isNumber() ? a[0].getNumber("probe_timeout") : 2.0;
        std::vector<PromisePtr> probes;
        std::vector<size_t> which;
        auto& rows = list.asArray();
        for (size_t i = 0; i < rows.size(); ++i) {
          Value& p = rows[i];
          std::string kind = p.getString("kind");
          std::string base = p.getString("base_url");
          bool local = kind == "mock" || kind == "ollama" || base.find("localhost") != std::string::npos ||
                       base.find("127.0.0.1") != std::string::npos;
          bool ready = p.getBool("has_key") || local;
          p.asObject().set("ready", ready);
          if (!probe) continue;
          if (!ready) {
            p.asObject().set("error", "not probed: no API key (set " + p.getString("key_env") + ")");
            continue;
          }
          probes.push_back(client.probe(p.getString("name"), timeout));
          which.push_back(i);
        }
        if (probes.empty()) return Promise::resolved(list);
        PromisePtr out = Promise::create();
        promiseAll(probes)->onSettle([out, list, which](const Promise& all) mutable {
          if (all.rejected()) {
            out->reject(all.error());
            return;
          }
          for (size_t k = 0; k < which.size(); ++k) {
            const Value& r = all.value().asArray()[k];
            for (const auto& [key, v] : r.asObject()) list.asArray()[which[k]].asObject().set(key, v);
          }
          out->resolve(list);
        });
        return out;
      });

  r.fn("llm", "pool")
      .param("opts", R"({"type":"object","required":["models"]})", "{models = {...}, strategy = \"fallback\" | \"fastest\" | \"round_robin\" | \"consensus\", name}")
      .returns("the pool's model name (\"pool/<name>\"), usable wherever a model name is")
      .doc("A virtual model over several models: fallback (in order until one succeeds), fastest (all at once, the first "
           "success wins, the rest are cancelled), round_robin, consensus (all answer; the most common normalized answer "
           "wins, with result.consensus = {agreement, votes, answered, models, answers}). Results carry pool_model.")
      .sync([](CallContext& cx, Args a) {
        LlmService& s = LlmService::of(cx);
        const Value& ms = a[0].get("models");
        if (!ms.isArray() || ms.asArray().empty()) fail(codes::kInvalidArgument, "llm.pool: models must be a non-empty list of model names");
        std::vector<std::string> models;
        for (const auto& m : ms.asArray()) {
          if (!m.isString()) fail(codes::kInvalidArgument, "llm.pool: every model must be a string, got " + m.describe());
          models.push_back(m.asString());
        }
        std::string name = a[0].getString("name");
        if (name.empty()) name = "pool" + std::to_string(++s.pools);
        return Value(s.client.definePool(name, std::move(models), a[0].getString("strategy", "fallback")));
      });

  r.fn("llm", "cost")
      .param("usage", R"({"type":"object"})", "{input_tokens, output_tokens, cached_tokens}")
      .opt("model", R"({"type":"string"})")
      .returns("USD, or null when the catalog has no price for the model")
      .doc("Cost of a call from the model catalog.")
      .sync([](CallContext& cx, Args a) {
        std::string model = a[1].isString() ? a[1].asString() : LlmService::of(cx).resolve(cx.run, Value::object());
        auto c = llm::costUsd(llm::usageFromValue(a[0]), model);
        return c ? Value(*c) : Value();
      });
}

}  // namespace llmspell
