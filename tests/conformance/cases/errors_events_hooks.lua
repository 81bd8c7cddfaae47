-- errors helpers, events subscriptions / waiting / recording / stats, hooks introspection.
local codes = errors.codes()
print("codes", #codes, codes[1])
local base = errors.new("timeout", "took too long")
local w = errors.wrap(base, "loading config")
print("wrap", w.code, w.message, w.cause.code)
print("is", errors.is(w, "timeout"), errors.is(w, "not_found"), errors.is(nil, "timeout"))
local agg = errors.aggregate({errors.new("not_found", "a"), errors.new("not_found", "b")})
print("aggregate", agg.code, agg.message, #agg.details.errors)
agg = errors.aggregate({errors.new("not_found", "a"), errors.new("timeout", "b")}, "two failed")
print("aggregate", agg.code, agg.message)
print("try", errors.try(function() return "fine" end))
local log = {}
print("try", errors.try(function() error(errors.new("not_found", "gone")) end,
  function(err) log[#log + 1] = "catch " .. err.code; return "recovered" end,
  function() log[#log + 1] = "finally" end))
print("try_log", table.concat(log, ","))
local attempts = 0
print("retry", errors.retry(function(n)
  attempts = n
  if n < 3 then error(errors.new("network_error", "flaky")) end
  return "ok after " .. n
end, {attempts = 5, backoff = 0}))
local ok, e = pcall(errors.retry, function() error(errors.new("config_error", "bad")) end, {backoff = 0})
print("retry_fatal", ok, e.code)
print("fallback", errors.fallback({
  function() error(errors.new("timeout", "first")) end,
  function() return "second" end,
}))
ok, e = pcall(errors.fallback, {function() error(errors.new("timeout", "x")) end})
print("fallback_all", ok, e.code)

local seen = {}
local id = events.on("order.*", function(ev) seen[#seen + 1] = "on:" .. ev.name end)
events.once("order.**", function(ev) seen[#seen + 1] = "once:" .. ev.data.n end)
events.emit("order.created", {n = 1})
events.emit("order.paid", {n = 2})
print("off", events.off(id), events.off(id))
events.emit("order.shipped", {n = 3})
print("seen", table.concat(seen, " "))
spawn(function() sleep(0.01); events.emit("job.done", {ok = true}) end)
local ev = events.wait("job.*", {timeout = 5})
print("wait", ev.name, ev.data.ok)
ok, e = pcall(events.wait, "never.happens", {timeout = 0.01})
print("wait_timeout", ok, e.code)
local st = events.stats("order.**")
print("stats", st.pattern, st.count, st.names["order.paid"].count)
local path = "/tmp/llmspell_conformance_events_" .. crypto.uuid() .. ".jsonl"
local rec = events.record(path, {filter = "rec.**"})
events.emit("rec.one", {v = 1})
events.emit("other", {v = 0})
events.emit("rec.two", {v = 2})
print("stop", events.stop_recording(rec))
local replayed = {}
events.on("rec.*", function(ev) replayed[#replayed + 1] = ev.name .. "=" .. ev.data.v end)
print("replay", events.replay(path, {speed = 0}))
print("replayed", table.concat(replayed, " "))
fs.remove(path)

local points = hooks.points()
table.sort(points)
print("points", table.concat(points, ","))
local h1 = hooks.before("tool.call", function(ctx) end, {name = "first", priority = 5})
local h2 = hooks.after("state.set", function(ctx) end, {name = "second"})
for _, h in ipairs(hooks.list()) do print("hook", h.point, h.kind, h.priority, h.name) end
print("list_point", #hooks.list("state.set"))
hooks.remove(h1)
hooks.remove(h2)
print("list_after", #hooks.list())
