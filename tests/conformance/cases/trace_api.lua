-- trace: spans with attributes and events, the current span's context, the OTLP export.
local v = trace.span("outer", function()
  trace.set_attribute("app.user", "ann")
  trace.event("step", {n = 2})
  return trace.span("inner", function() return 42 end, {["app.k"] = true})
end, {["app.kind"] = "demo"})
print(v)
local ok, e = pcall(trace.span, "failing", function() error({code = "not_found", message = "gone"}) end)
print(ok, e.code)
local function attr(s, k)
  for _, a in ipairs(s.attributes) do if a.key == k then return a.value end end
end
local spans = trace.export().resourceSpans[1].scopeSpans[1].spans
local by = {}
for _, s in ipairs(spans) do by[s.name] = s end
print(#spans, by.inner.parentSpanId == by.outer.spanId, by.outer.parentSpanId == by.failing.parentSpanId)
print(by.outer.status.code, by.failing.status.code, attr(by.failing, "error.type").stringValue)
print(attr(by.outer, "app.kind").stringValue, attr(by.outer, "app.user").stringValue, attr(by.inner, "app.k").boolValue)
print(by.outer.events[1].name, attr(by.outer.events[1], "n").intValue, #by.outer.traceId, #by.outer.spanId)
local ctx = trace.context()
print(#ctx.trace_id, #ctx.span_id, ctx.traceparent == "00-" .. ctx.trace_id .. "-" .. ctx.span_id .. "-01")
print(type(trace.export({format = "json"})))
ok, e = pcall(trace.set_attribute, "x", {a = 1})
print(ok, e.code)
