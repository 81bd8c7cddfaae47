// llm.session: a conversation object. s:send / s:stream go through llmChat (hooks, budget,
// events, call log); the history is trimmed oldest-turn-first (the system message stays) so the
// prompt fits the model's context window (catalog, or opts.context_window) less the tokens
// reserved for the reply; s:save / llm.session_load keep it in the state store through
// state.set / state.get (same scopes, hooks and persistence as a script's own state calls).
#include <algorithm>

#include "bridge/modules/llm_service.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/llm/catalog.hpp"
#include "llmspell/llm/tokenizer.hpp"

namespace llmspell {

namespace {

// Options that belong to the session, not to each chat call.
const char* const kSessionKeys[] = {"system", "context_window", "reserve"};

bool isSessionKey(std::string_view k) {
  for (const char* s : kSessionKeys) if (k == s) return true;
  return false;
}

class Session : public HostObject {
 public:
  std::string_view typeName() const override { return "session"; }

  Value chatOpts = Value::object();  // passed to every call (model, temperature, tools, ...)
  std::string system;
  int64_t contextWindow = 0;  // 0 = the catalog's, for the resolved model
  int64_t reserve = -1;       // -1 = max_tokens, else min(max output, window / 4)
  std::vector<Value> history;  // message tables; the system message first when there is one
  int64_t trimmed = 0;         // messages dropped so far
  PromisePtr tail;             // the send in flight (sends are queued in order)
  // Token counts of history[i] for costModel (-1 = not counted yet); see trim.
  std::vector<int64_t> costs;
  std::string costModel;

  // Every change to `history` other than appending goes through here so counts stay aligned.
  void setHistory(std::vector<Value> h) {
    history = std::move(h);
    costs.clear();
  }

  void configure(const Value& opts) {
    if (!opts.isObject()) return;
    for (const auto& [k, v] : opts.asObject()) {
      if (k == "system") {
        if (!v.isString()) fail(codes::kInvalidArgument, "llm.session: opts.system must be a string, got " + v.describe());
        system = v.asString();
      } else if (k == "context_window" || k == "reserve") {
        if (!v.isNumber() || v.asNumber() < 0 || v.asNumber() > 1e9) {
          fail(codes::kInvalidArgument, "llm.session: opts." + k + " must be a number of tokens, got " + v.describe());
        }
        (k == "reserve" ? reserve : contextWindow) = static_cast<int64_t>(v.asNumber());
      } else {
        chatOpts.asObject().set(k, v);
      }
    }
  }

  void resetHistory() {
    history.clear();
    costs.clear();
    if (!system.empty()) history.push_back(Value::object({{"role", "system"}, {"content", system}}));
  }

  Value toSaved() const {
    Value opts = chatOpts.deepCopy();
    if (!system.empty()) opts.asObject().set("system", system);
    if (contextWindow > 0) opts.asObject().set("context_window", contextWindow);
    if (reserve >= 0) opts.asObject().set("reserve", reserve);
    Value msgs = Value::array();
    for (const auto& m : history) msgs.asArray().push(m.deepCopy());
    return Value::object({{"kind", "llmspell.session"}, {"version", 1}, {"opts", opts}, {"messages", msgs},
                          {"trimmed", trimmed}});
  }

  // Drops the oldest turns (a user message and everything up to the next one) until the prompt
  // fits. The system message and the newest user message always stay; when they alone do not
  // fit, limit_exceeded.
  void trim(const std::string& model, const std::string& dataDir) {
    int64_t window = contextWindow;
    int64_t maxOut = 0;
    if (const auto* info = llm::findModel(model)) {
      if (window == 0) window = info->contextWindow;
      maxOut = info->maxOutput;
    }
    if (window <= 0) return;  // unknown window: nothing to fit
    int64_t keep = reserve;
    if (keep < 0) {
      const Value& mt = chatOpts.get("max_tokens");
      keep = mt.isNumber() ? static_cast<int64_t>(mt.asNumber()) : std::min<int64_t>(maxOut, window / 4);
    }
    int64_t limit = window - keep;
    // Per-message counts are kept between turns (for the same model): each turn counts only the
    // messages added since the last one.
    if (costModel != model) {
      costs.clear();
      costModel = model;
    }
    costs.resize(history.size(), -1);
    std::vector<int64_t>& cost = costs;
    int64_t total = 3;
    for (size_t i = 0; i < history.size(); ++i) {
      if (cost[i] < 0) cost[i] = llm::countMessageTokens(model, {llm::messageFromValue(history[i])}, dataDir).tokens - 3;
      total += cost[i];
    }
    size_t first = !history.empty() && history[0].getString("role") == "system" ? 1 : 0;
    while (total > limit) {
      // The oldest turn: from `first` to the next user message after it.
      size_t end = first + 1;
      while (end < history.size() && history[end].getString("role") != "user") ++end;
      if (end >= history.size()) {
        fail(codes::kLimitExceeded, "llm.session: the prompt needs " + std::to_string(total) + " tokens but " + model +
                                        " has room for " + std::to_string(limit) + " (context window " +
                                        std::to_string(window) + ", " + std::to_string(keep) +
                                        " reserved for the reply) even with the older turns dropped");
      }
      for (size_t i = first; i < end; ++i) total -= cost[i];
      history.erase(history.begin() + static_cast<std::ptrdiff_t>(first), history.begin() + static_cast<std::ptrdiff_t>(end));
      cost.erase(cost.begin() + static_cast<std::ptrdiff_t>(first), cost.begin() + static_cast<std::ptrdiff_t>(end));
      trimmed += static_cast<int64_t>(end - first);
    }
  }
};

Session& sessionOf(const Value& v) {
  auto* s = v.isHandle() ? dynamic_cast<Session*>(v.asHandle().get()) : nullptr;
  if (!s) fail(codes::kInvalidArgument, "expected a session (from llm.session), got " + v.describe());
  return *s;
}

// A user turn: a string, or a message table ({role, content, ...}, e.g. a tool result).
Value turnOf(const Value& msg) {
  if (msg.isString()) return Value::object({{"role", "user"}, {"content", msg}});
  if (msg.isObject()) {
    (void)llm::messageFromValue(msg);  // validates
    Value m = msg.deepCopy();
    if (m.get("role").isNull()) m.asObject().set("role", "user");
    return m;
  }
  fail(codes::kInvalidArgument, "session:send: the message must be a string or a {role, content} table, got " + msg.describe());
}

// One turn: append, trim, call, append the reply (or roll back on failure).
PromisePtr sendTurn(RunContext& run, Loop& loop, std::shared_ptr<Session> s, Value turn, Value callOpts,
                    std::function<void(const llm::StreamChunk&)> onChunk) {
  try {
    Value opts = s->chatOpts.deepCopy();
    if (callOpts.isObject()) {
      for (const auto& [k, v] : callOpts.asObject()) {
        if (isSessionKey(k)) fail(codes::kInvalidArgument, "session:send: `" + k + "` is a session option (set it in llm.session)");
        opts.asObject().set(k, v);
      }
    }
    LlmService& svc = run.service<LlmService>([&] { return std::make_shared<LlmService>(run, loop); });
    std::string model = svc.resolve(run, opts);
    opts.asObject().set("model", model);
    std::vector<Value> before = s->history;
    int64_t trimmedBefore = s->trimmed;
    s->history.push_back(turn);
    try {
      s->trim(model, run.dataDir);
    } catch (...) {
      s->setHistory(std::move(before));
      s->trimmed = trimmedBefore;
      throw;
    }
    PromisePtr p = llmChat(run, loop, Value::array(s->history), opts, std::move(onChunk));
    PromisePtr out = Promise::create();
    p->onSettle([s, out, before = std::move(before), trimmedBefore](const Promise& q) mutable {
      if (q.fulfilled()) {
        Value msg = q.value().get("message");
        if (!msg.isObject()) msg = Value::object({{"role", "assistant"}, {"content", q.value().get("text")}});
        s->history.push_back(msg);
        out->resolve(q.value());
      } else {
        // A failed turn leaves the conversation as it was, so it can be retried.
        s->setHistory(std::move(before));
        s->trimmed = trimmedBefore;
        out->reject(q.error());
      }
    });
    std::weak_ptr<Promise> wp = p;
    out->setCanceller([wp] { if (auto x = wp.lock()) x->cancel(); });
    return out;
  } catch (...) {
    PromisePtr p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
}

// Queues the turn behind the one in flight.
PromisePtr enqueue(CallContext& cx, const Value& handle, Value turn, Value callOpts,
                   std::function<void(const llm::StreamChunk&)> onChunk) {
  auto s = std::static_pointer_cast<Session>(handle.asHandle());
  RunContext* run = &cx.run;
  Loop* loop = &cx.loop;
  PromisePtr out;
  if (!s->tail || !s->tail->pending()) {
    out = sendTurn(*run, *loop, s, std::move(turn), std::move(callOpts), std::move(onChunk));
  } else {
    out = Promise::create();
    s->tail->onSettle([run, loop, s, turn, callOpts, onChunk, out](const Promise&) {
      if (!out->pending()) return;
      PromisePtr p = sendTurn(*run, *loop, s, turn, callOpts, onChunk);
      p->onSettle([out](const Promise& q) {
        if (!out->pending()) return;
        if (q.fulfilled()) out->resolve(q.value());
        else out->reject(q.error());
      });
    });
  }
  s->tail = out;
  return out;
}

Value savedArg(const Value& v, const std::string& key) {
  if (!v.isObject() || v.getString("kind") != "llmspell.session" || !v.get("messages").isArray()) {
    fail(codes::kInvalidArgument, "llm.session_load: the value under '" + key + "' is not a saved session");
  }
  return v;
}

const FunctionDecl& stateFn(const char* name) {
  const FunctionDecl* d = Registry::global().find(name);
  if (!d) fail(codes::kInternal, std::string(name) + " is not registered");
  return *d;
}

}  // namespace

void llmspell_register_llm_session(Registry& r) {
  r.type("session", "A conversation from llm.session: send, stream, history, clear, save");

  r.fn("llm", "session")
      .opt("opts", R"({"type":"object"})",
           "as for llm.chat (model, temperature, tools, ...), plus system, context_window (tokens; default: the "
           "catalog's for the model) and reserve (tokens kept for the reply; default max_tokens, else "
           "min(max output, window / 4))")
      .returns("session")
      .doc("A conversation that keeps its history and trims the oldest turns to fit the context window.")
      .sync([](CallContext&, Args a) -> Value {
        auto s = std::make_shared<Session>();
        s->configure(a[0]);
        s->resetHistory();
        return Value(HostObjectPtr(s));
      });

  r.fn("llm", "session_load")
      .param("key", R"({"type":"string","minLength":1})", "the key given to session:save")
      .opt("opts", R"({"type":"object"})", "scope (as for state.get), and session options that override the saved ones")
      .returns("session")
      .doc("A session saved with session:save, from the state store.")
      .sync([](CallContext& cx, Args a) -> Value {
        const FunctionDecl& get = stateFn("state.get");
        Value opts = a[1].isObject() ? a[1].deepCopy() : Value::object();
        Value scope = opts.get("scope");
        opts.asObject().erase("scope");
        Value getOpts = Value::object();
        if (!scope.isNull()) getOpts.asObject().set("scope", scope);
        std::vector<Value> args = {a[0], Value(), getOpts};
        if (auto err = Registry::validate(get, args)) throw Exception(*err);
        CallContext sub{cx.run, cx.loop, get.qualifiedName()};
        ErrorPtr err;
        Value v = Registry::callSync(get, sub, args, err);
        if (err) throw Exception(*err);
        if (v.isNull()) fail(codes::kNotFound, "llm.session_load: no saved session under '" + a[0].asString() + "'");
        const Value& saved = savedArg(v, a[0].asString());
        auto s = std::make_shared<Session>();
        s->configure(saved.get("opts"));
        s->configure(opts);
        for (const auto& m : saved.get("messages").asArray()) {
          (void)llm::messageFromValue(m);
          s->history.push_back(m.deepCopy());
        }
        s->trimmed = saved.getInt("trimmed");
        return Value(HostObjectPtr(s));
      });

  r.method("session", "send")
      .param("self", R"({"type":"handle"})")
      .param("message", R"({"type":["string","object"]})", "the user's message (or a {role, content} table)")
      .opt("opts", R"({"type":"object"})", "llm.chat options for this turn only")
      .returns("the llm.chat result of the reply")
      .doc("Adds a turn and asks the model; the reply joins the history. Sends are answered in order.")
      .async([](CallContext& cx, Args a) { return enqueue(cx, a[0], turnOf(a[1]), a[2], nullptr); });

  r.method("session", "stream")
      .param("self", R"({"type":"handle"})")
      .param("message", R"({"type":["string","object"]})")
      .param("on_chunk", R"({"type":"function"})", "called with {text, reasoning, tool_call_delta, refusal, server_tool_delta} per delta")
      .opt("opts", R"({"type":"object"})", "llm.chat options for this turn only")
      .returns("the llm.chat result of the reply")
      .doc("As send, streaming the reply to on_chunk.")
      .async([](CallContext& cx, Args a) {
        (void)sessionOf(a[0]);
        FunctionPtr fn = a[2].asFunction();
        auto holder = std::make_shared<std::weak_ptr<Promise>>();
        auto onChunk = scriptChunkHandler(fn, holder);
        PromisePtr p = enqueue(cx, a[0], turnOf(a[1]), a[3], onChunk);
        *holder = p;
        return p;
      });

  r.method("session", "history")
      .param("self", R"({"type":"handle"})")
      .returns("the messages, oldest first ({role, content, ...}; the system message first)")
      .doc("The conversation so far, as it will be sent.")
      .sync([](CallContext&, Args a) -> Value {
        Value out = Value::array();
        for (const auto& m : sessionOf(a[0]).history) out.asArray().push(m.deepCopy());
        return out;
      });

  r.method("session", "trimmed")
      .param("self", R"({"type":"handle"})")
      .returns("the number of messages dropped to fit the context window so far")
      .doc("How much history trimming has dropped.")
      .sync([](CallContext&, Args a) -> Value { return Value(sessionOf(a[0]).trimmed); });

  r.method("session", "clear")
      .param("self", R"({"type":"handle"})")
      .returns("nothing")
      .doc("Forgets the conversation (the system message stays).")
      .sync([](CallContext&, Args a) -> Value {
        Session& s = sessionOf(a[0]);
        s.resetHistory();
        s.trimmed = 0;
        return Value();
      });

  r.method("session", "save")
      .param("self", R"({"type":"handle"})")
      .param("key", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object"})", "scope and ttl, as for state.set")
      .returns("the key's new version number")
      .doc("Saves the conversation and its options in the state store (state.set; llm.session_load reads it back).")
      .async([](CallContext& cx, Args a) {
        Session& s = sessionOf(a[0]);
        const FunctionDecl& set = stateFn("state.set");
        Value opts = Value::object();
        if (a[2].isObject()) {
          for (const auto& [k, v] : a[2].asObject()) {
            if (k != "scope" && k != "ttl") fail(codes::kInvalidArgument, "session:save: unknown option `" + k + "` (scope, ttl)");
            opts.asObject().set(k, v);
          }
        }
        std::vector<Value> args = {a[1], s.toSaved(), opts};
        if (auto err = Registry::validate(set, args)) return Promise::rejected(*err);
        CallContext sub{cx.run, cx.loop, set.qualifiedName()};
        return Registry::callAsync(set, sub, args);
      });
}

}  // namespace llmspell
