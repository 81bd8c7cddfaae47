// `errors` namespace: error values scripts can create and test, and the higher-order helpers
// (try, retry, fallback) built on promises so they work the same in every engine.
#include <cmath>
#include <random>

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

namespace {

// Any error-like script value as an Error: an error value, a {code, message} table, or a
// message string (code internal).
ErrorPtr errorOf(const Value& v) {
  if (v.isError()) return v.asError();
  if (v.isObject()) return std::make_shared<Error>(Error::fromValue(v));
  if (v.isString()) return std::make_shared<Error>(codes::kInternal, v.asString());
  return std::make_shared<Error>(codes::kInternal, v.describe());
}

bool defaultRetryable(std::string_view code) {
  return code == codes::kTimeout || code == codes::kRateLimited || code == codes::kNetworkError;
}

// Errors that end a retry loop even when no `on` list is given: retrying cannot help.
bool hardStop(std::string_view code) {
  return code == codes::kCancelled || code == codes::kPermissionDenied ||
         code == codes::kBudgetExceeded || code == codes::kConfigError;
}

// Settles `out` like `p` (value or error).
void adopt(const PromisePtr& p, const PromisePtr& out) {
  p->onSettle([out](const Promise& q) {
    if (q.fulfilled())
      out->resolve(q.value());
    else
      out->reject(q.error());
  });
}

struct RetryState {
  FunctionPtr fn;
  Loop* loop = nullptr;
  int64_t attempts = 3;
  double backoff = 0.5;
  double maxBackoff = 30;
  double jitter = 0;
  std::vector<std::string> on;  // empty: every error except hard stops
  int64_t n = 0;
  PromisePtr out;
  PromisePtr current;  // the attempt or the sleep in flight (cancelled with `out`)
};

bool shouldRetry(const RetryState& st, const Error& e) {
  if (st.on.empty()) return !hardStop(e.code);
  for (const auto& c : st.on)
    if (c == e.code) return true;
  return false;
}

double retryDelay(const RetryState& st) {
  double d = st.backoff * std::pow(2.0, static_cast<double>(st.n - 1));
  d = std::min(d, st.maxBackoff);
  if (st.jitter > 0) {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_real_distribution<double> u(1.0 - st.jitter, 1.0 + st.jitter);
    d *= u(rng);
  }
  return std::max(d, 0.0);
}

void attempt(const std::shared_ptr<RetryState>& st) {
  ++st->n;
  st->current = st->fn->call({Value(st->n)});
  st->current->onSettle([st](const Promise& q) {
    if (!st->out->pending()) return;
    if (q.fulfilled()) {
      st->out->resolve(q.value());
      return;
    }
    const Error& e = q.error();
    if (!shouldRetry(*st, e)) {
      st->out->reject(e);
      return;
    }
    if (st->n >= st->attempts) {
      Error final = e;
      final.message = "errors.retry: gave up after " + std::to_string(st->n) + " attempt" +
                      (st->n == 1 ? "" : "s") + ": " + e.message;
      final.cause = q.errorPtr();
      st->out->reject(std::move(final));
      return;
    }
    st->current = st->loop->sleep(retryDelay(*st));
    st->current->onSettle([st](const Promise& s) {
      if (s.fulfilled() && st->out->pending()) attempt(st);
    });
  });
}

void tryNext(const std::shared_ptr<std::vector<FunctionPtr>>& fns, size_t i,
             const std::shared_ptr<std::vector<ErrorPtr>>& errs, const PromisePtr& out,
             const std::shared_ptr<PromisePtr>& current) {
  if (!out->pending()) return;
  if (i >= fns->size()) {
    Error e(errs->back()->code,
            "errors.fallback: all " + std::to_string(fns->size()) + " alternatives failed: ");
    std::vector<Value> list;
    for (size_t k = 0; k < errs->size(); ++k) {
      e.message += (k ? "; " : "") + std::to_string(k + 1) + ") " + (*errs)[k]->message;
      list.emplace_back((*errs)[k]);
    }
    e.details = Value::object({{"errors", Value::array(std::move(list))}});
    e.cause = errs->back();
    out->reject(std::move(e));
    return;
  }
  *current = (*fns)[i]->call({});
  (*current)->onSettle([fns, i, errs, out, current](const Promise& q) {
    if (!out->pending()) return;
    if (q.fulfilled()) {
      out->resolve(q.value());
      return;
    }
    if (q.error().code == codes::kCancelled) {  // cancellation is not a failure to fall back from
      out->reject(q.error());
      return;
    }
    errs->push_back(q.errorPtr());
    tryNext(fns, i + 1, errs, out, current);
  });
}

}  // namespace

void llmspell_register_errors(Registry& r) {
  r.fn("errors", "new")
      .param("code", R"({"type":"string","minLength":1})",
             "a standard code (errors.codes()) or your own")
      .param("message", R"({"type":"string"})")
      .opt("details", R"({"type":"object"})", "extra facts for handlers and logs")
      .opt("opts", R"({"type":"object","properties":{"retryable":{"type":"boolean"}}})",
           "{retryable}: default true for timeout, rate_limited and network_error")
      .returns("error {code, message, retryable, details}")
      .doc("Creates an error value; raise it with error(e) (Lua) or throw e (JS)")
      .sync([](CallContext&, Args a) -> Value {
        auto e = makeError(a[0].asString(), a[1].asString());
        e->retryable =
            a[3].get("retryable").isBool() ? a[3].getBool("retryable") : defaultRetryable(e->code);
        e->details = a[2].isNull() ? Value() : a[2].deepCopy();
        return Value(e);
      });
  r.fn("errors", "is")
      .opt("error", R"({})",
           "an error value, a {code, message} table or a message; nil gives false")
      .param("code", R"({"type":"string"})")
      .returns("boolean")
      .doc("Whether the error, or any error it wraps, has the code")
      .sync([](CallContext&, Args a) -> Value {
        if (a[0].isNull()) return Value(false);
        int depth = 0;
        for (ErrorPtr e = errorOf(a[0]); e && depth < 64; e = e->cause, ++depth)
          if (e->code == a[1].asString()) return Value(true);
        return Value(false);
      });
  r.fn("errors", "wrap")
      .param("error", R"({})", "the error to wrap")
      .param("context", R"({"type":"string"})", "what was being done, e.g. \"loading config\"")
      .returns("error with message \"context: original\", the same code, and cause = the original")
      .doc("Adds context to an error, keeping its code and the original as cause")
      .sync([](CallContext&, Args a) -> Value {
        ErrorPtr orig = errorOf(a[0]);
        auto e = std::make_shared<Error>(*orig);
        e->message = a[1].asString() + ": " + orig->message;
        e->cause = orig;
        return Value(e);
      });
  r.fn("errors", "aggregate")
      .param("errors", R"({"type":"array","minItems":1})", "the errors to combine")
      .opt("message", R"({"type":"string"})", "a summary; default \"N errors: ...\"")
      .returns("error: shared code (else the first's), details.errors = the list")
      .doc("Combines several errors into one")
      .sync([](CallContext&, Args a) -> Value {
        std::vector<ErrorPtr> errs;
        for (const auto& v : a[0].asArray()) errs.push_back(errorOf(v));
        std::string code = errs.front()->code;
        bool retryable = true;
        std::string msg =
            std::to_string(errs.size()) + " error" + (errs.size() == 1 ? "" : "s") + ": ";
        std::vector<Value> list;
        for (size_t i = 0; i < errs.size(); ++i) {
          retryable = retryable && errs[i]->retryable;
          msg += (i ? "; " : "") + errs[i]->message;
          list.emplace_back(errs[i]);
        }
        auto e = makeError(code, a[1].isString() ? a[1].asString() : msg, retryable);
        e->details = Value::object({{"errors", Value::array(std::move(list))}});
        return Value(e);
      });
  r.fn("errors", "codes")
      .returns("array of strings")
      .doc("The standard error codes")
      .sync([](CallContext&, Args) -> Value {
        std::vector<Value> out;
        for (auto c : standardErrorCodes()) out.emplace_back(c);
        return Value::array(std::move(out));
      });
  r.fn("errors", "try")
      .param("fn", R"({"type":"function"})", "the work")
      .opt("catch", R"({"type":"function"})", "fn(err) -> replacement value (may raise)")
      .opt("finally", R"({"type":"function"})", "fn() run afterwards in every case")
      .returns("fn's value, or catch's value when fn failed")
      .doc("Runs fn; on failure calls catch(err); always calls finally")
      .async([](CallContext&, Args a) -> PromisePtr {
        FunctionPtr fn = a[0].asFunction();
        FunctionPtr onErr = a[1].isFunction() ? a[1].asFunction() : nullptr;
        FunctionPtr fin = a[2].isFunction() ? a[2].asFunction() : nullptr;
        auto out = Promise::create();
        auto current = std::make_shared<PromisePtr>(fn->call({}));
        out->setCanceller([w = std::weak_ptr<PromisePtr>(current)] {
          if (auto c = w.lock(); c && *c) (*c)->cancel();
        });
        // Runs finally, then settles `out` with `result` unless finally itself failed.
        auto finish = [out, fin, current](const Promise& result) {
          if (!fin) return adopt(std::const_pointer_cast<Promise>(result.shared_from_this()), out);
          bool ok = result.fulfilled();
          Value v = ok ? result.value() : Value();
          ErrorPtr e = ok ? nullptr : result.errorPtr();
          *current = fin->call({});
          (*current)->onSettle([out, ok, v, e](const Promise& f) {
            if (f.rejected())
              out->reject(f.error());
            else if (ok)
              out->resolve(v);
            else
              out->reject(*e);
          });
        };
        (*current)->onSettle([out, onErr, finish, current](const Promise& q) {
          if (!out->pending()) return;
          if (q.fulfilled() || !onErr || q.error().code == codes::kCancelled) return finish(q);
          *current = onErr->call({Value(q.errorPtr())});
          (*current)->onSettle([finish](const Promise& c) { finish(c); });
        });
        return out;
      });
  r.fn("errors", "retry")
      .param("fn", R"({"type":"function"})", "fn(attempt) with attempt = 1, 2, ...")
      .opt("opts", R"({"type":"object","properties":{
              "attempts":{"type":"integer","minimum":1,"maximum":100},
              "backoff":{"type":"number","minimum":0},
              "max_backoff":{"type":"number","minimum":0},
              "jitter":{"type":["boolean","number"],"minimum":0,"maximum":1},
              "on":{"type":"array","items":{"type":"string"}}}})",
           "{attempts = 3, backoff = 0.5 (seconds, doubled each retry), max_backoff = 30, "
           "jitter = false | true (±50%) | fraction, on = {codes to retry}}")
      .returns("fn's value from the first attempt that succeeds")
      .doc(
          "Calls fn until it succeeds; without `on`, every error but cancelled, "
          "permission_denied, budget_exceeded and config_error is retried")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        auto st = std::make_shared<RetryState>();
        st->fn = a[0].asFunction();
        st->loop = &cx.loop;
        const Value& o = a[1];
        st->attempts = o.getInt("attempts", 3);
        st->backoff = o.getNumber("backoff", 0.5);
        st->maxBackoff = o.getNumber("max_backoff", 30);
        const Value& j = o.get("jitter");
        st->jitter = j.isBool() ? (j.asBool() ? 0.5 : 0.0) : j.isNumber() ? j.asNumber() : 0.0;
        if (o.get("on").isArray())
          for (const auto& c : o.get("on").asArray()) st->on.push_back(c.asString());
        st->out = Promise::create();
        st->out->setCanceller([w = std::weak_ptr<RetryState>(st)] {
          if (auto s = w.lock(); s && s->current) s->current->cancel();
        });
        attempt(st);
        return st->out;
      });
  r.fn("errors", "fallback")
      .param("fns", R"({"type":"array","minItems":1,"items":{"type":"function"}})",
             "alternatives, tried in order")
      .returns("the value of the first alternative that succeeds")
      .doc("Tries each function in turn; when all fail, raises an error listing every failure")
      .async([](CallContext&, Args a) -> PromisePtr {
        auto fns = std::make_shared<std::vector<FunctionPtr>>();
        for (const auto& v : a[0].asArray()) fns->push_back(v.asFunction());
        auto out = Promise::create();
        auto current = std::make_shared<PromisePtr>();
        out->setCanceller([w = std::weak_ptr<PromisePtr>(current)] {
          if (auto c = w.lock(); c && *c) (*c)->cancel();
        });
        tryNext(fns, 0, std::make_shared<std::vector<ErrorPtr>>(), out, current);
        return out;
      });
}

}  // namespace llmspell
