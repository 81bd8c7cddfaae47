// trace: spans with attributes and events, the current span's context, the OTLP export.
const v = await trace.span("outer", async () => {
  trace.setAttribute("app.user", "ann");
  trace.event("step", {n: 2});
  return await trace.span("inner", () => 42, {"app.k": true});
}, {"app.kind": "demo"});
print(v);
try {
  await trace.span("failing", () => { throw errors.new("not_found", "gone"); });
} catch (e) {
  print(false, e.code);
}
const attr = (s, k) => s.attributes.find((a) => a.key === k).value;
const spans = trace.export().resourceSpans[0].scopeSpans[0].spans;
const by = {};
for (const s of spans) by[s.name] = s;
print(spans.length, by.inner.parentSpanId === by.outer.spanId, by.outer.parentSpanId === by.failing.parentSpanId);
print(by.outer.status.code, by.failing.status.code, attr(by.failing, "error.type").stringValue);
print(attr(by.outer, "app.kind").stringValue, attr(by.outer, "app.user").stringValue, attr(by.inner, "app.k").boolValue);
print(by.outer.events[0].name, attr(by.outer.events[0], "n").intValue, by.outer.traceId.length, by.outer.spanId.length);
const ctx = trace.context();
print(ctx.trace_id.length, ctx.span_id.length, ctx.traceparent === "00-" + ctx.trace_id + "-" + ctx.span_id + "-01");
print(typeof trace.export({format: "json"}));
try {
  // @ts-expect-error: an object is not an attribute value (the point of this line)
  trace.setAttribute("x", {a: 1});
} catch (e) {
  print(false, e.code);
}
