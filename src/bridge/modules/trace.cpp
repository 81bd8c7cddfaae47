// `trace` namespace: the spell's own spans, attributes and events on the run's tracer
// (observe/trace.hpp), which also holds the spans the runtime opens for model calls, tool calls
// and agents; read back as OTLP JSON. The operator's OTLP endpoint receives them at run end.
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/observe/trace.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {
namespace {

using observe::Tracer;

constexpr const char* kAttrs = R"({"type":"object","additionalProperties":{"type":["string","number","boolean","array"]}})";

void checkAttr(const std::string& key, const Value& v) {
  if (key.empty()) fail(codes::kInvalidArgument, "an attribute name must not be empty");
  auto scalar = [](const Value& x) { return x.isString() || x.isNumber() || x.isBool(); };
  bool ok = scalar(v);
  if (v.isArray()) {
    ok = true;
    for (const auto& x : v.asArray()) ok = ok && scalar(x);
  }
  if (!ok)
    fail(codes::kInvalidArgument, "attribute '" + key + "' must be a string, number, boolean or a list of those, got " +
                                      v.describe());
}

void checkAttrs(const Value& attrs) {
  if (!attrs.isObject()) return;
  for (const auto& [k, v] : attrs.asObject()) checkAttr(k, v);
}

// The span trace.event and trace.set_attribute act on: the current one, else the run's root.
std::string target(Tracer& t) { return t.current(); }

}  // namespace

void llmspell_register_trace(Registry& r) {
  r.fn("trace", "span")
      .param("name", R"({"type":"string","minLength":1})", "what the work is (\"fetch pages\")")
      .param("fn", R"({"type":"function"})", "the work; it may wait")
      .opt("attrs", kAttrs, "attributes: strings, numbers, booleans or lists of those")
      .returns("what fn returns")
      .doc("Runs fn inside a new span, a child of the current one; model calls, tool calls and agents fn starts nest "
           "under it. The span ends when fn returns or raises (then with status error and error.type = the error's code)")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        checkAttrs(a[2]);
        auto tracer = observe::tracerFor(cx.run).shared_from_this();
        std::string span = tracer->start(a[0].asString(), observe::SpanKind::kInternal, a[2]);
        // Current until fn settles (Tracer::end puts the parent back): fn's code after a wait
        // runs from the loop, with no caller left to restore anything.
        tracer->swapCurrent(span);
        PromisePtr p;
        try {
          p = a[1].asFunction()->call({});
        } catch (...) {
          p = Promise::create();
          p->rejectCurrentException();
        }
        auto out = Promise::create();
        out->setCanceller([p] { p->cancel(); });
        p->onSettle([tracer, span, out](const Promise& q) {
          if (q.rejected()) {
            tracer->end(span, q.error().code, q.error().message);
            out->reject(q.error());
          } else {
            tracer->end(span);
            out->resolve(q.value());
          }
        });
        return out;
      });

  r.fn("trace", "event")
      .param("name", R"({"type":"string","minLength":1})")
      .opt("attrs", kAttrs, "attributes: strings, numbers, booleans or lists of those")
      .returns("nil")
      .doc("Records a point in time on the current span (an OTLP span event)")
      .sync([](CallContext& cx, Args a) -> Value {
        checkAttrs(a[1]);
        auto& t = observe::tracerFor(cx.run);
        t.addEvent(target(t), a[0].asString(), a[1]);
        return Value();
      });

  r.fn("trace", "set_attribute")
      .param("key", R"({"type":"string","minLength":1})", "a dotted name (\"app.user_tier\")")
      .param("value", R"({"type":["string","number","boolean","array"]})", "a string, number, boolean or a list of those")
      .returns("nil")
      .doc("Sets an attribute on the current span")
      .sync([](CallContext& cx, Args a) -> Value {
        checkAttr(a[0].asString(), a[1]);
        auto& t = observe::tracerFor(cx.run);
        t.setAttribute(target(t), a[0].asString(), a[1]);
        return Value();
      });

  r.fn("trace", "context")
      .returns("{trace_id, span_id, traceparent}")
      .doc("The run's trace id, the current span's id and a W3C traceparent header value to pass to a service the spell calls")
      .sync([](CallContext& cx, Args) -> Value {
        auto& t = observe::tracerFor(cx.run);
        return Value::object({{"trace_id", t.traceId()}, {"span_id", t.current()}, {"traceparent", t.traceparent()}});
      });

  r.fn("trace", "export")
      .opt("opts", R"({"type":"object","properties":{
            "format":{"enum":["table","json"],"description":"a table (default) or JSON text"}},
            "additionalProperties":false})",
           "{format}")
      .returns("the OTLP/HTTP JSON request body {resourceSpans = {{resource, scopeSpans = {{scope, spans}}}}}, as a table or text")
      .doc("The run's ended spans so far in the OTLP JSON encoding (what the operator's OTLP endpoint receives at run end: "
           "OTEL_EXPORTER_OTLP_ENDPOINT / --otlp-endpoint)")
      .sync([](CallContext& cx, Args a) -> Value {
        auto& t = observe::tracerFor(cx.run);
        std::vector<observe::SpanData> ended;
        for (auto& s : t.spans())
          if (s.endNs != 0) ended.push_back(std::move(s));
        Value doc = observe::otlpRequest(ended, observe::resourceAttributes());
        if (a[0].getString("format") == "json") return Value(toJsonText(doc));
        return doc;
      });
}

}  // namespace llmspell
