// errors helpers, events subscriptions / waiting / recording / stats, hooks introspection.
const codes = errors.codes();
print("codes", codes.length, codes[0]);
const base = errors.new("timeout", "took too long");
const w = errors.wrap(base, "loading config");
print("wrap", w.code, w.message, w.cause.code);
print("is", errors.is(w, "timeout"), errors.is(w, "not_found"), errors.is(null, "timeout"));
let agg = errors.aggregate([errors.new("not_found", "a"), errors.new("not_found", "b")]);
print("aggregate", agg.code, agg.message, agg.details.errors.length);
agg = errors.aggregate([errors.new("not_found", "a"), errors.new("timeout", "b")], "two failed");
print("aggregate", agg.code, agg.message);
print("try", await errors.try(() => "fine"));
const log = [];
print("try", await errors.try(() => { throw errors.new("not_found", "gone"); },
  (err) => { log.push("catch " + err.code); return "recovered"; },
  () => { log.push("finally"); }));
print("try_log", log.join(","));
print("retry", await errors.retry((n) => {
  if (n < 3) throw errors.new("network_error", "flaky");
  return "ok after " + n;
}, {attempts: 5, backoff: 0}));
const fails = async (label, f) => {
  try { await f(); print(label, true); } catch (e) { print(label, false, e.code); }
};
await fails("retry_fatal", () => errors.retry(() => { throw errors.new("config_error", "bad"); }, {backoff: 0}));
print("fallback", await errors.fallback([
  () => { throw errors.new("timeout", "first"); },
  () => "second",
]));
await fails("fallback_all", () => errors.fallback([() => { throw errors.new("timeout", "x"); }]));

const seen = [];
const id = events.on("order.*", (ev) => { seen.push("on:" + ev.name); });
events.once("order.**", (ev) => { seen.push("once:" + ev.data.n); });
events.emit("order.created", {n: 1});
events.emit("order.paid", {n: 2});
print("off", events.off(id), events.off(id));
events.emit("order.shipped", {n: 3});
print("seen", seen.join(" "));
spawn(async () => { await sleep(0.01); events.emit("job.done", {ok: true}); });
const ev = await events.wait("job.*", {timeout: 5});
print("wait", ev.name, ev.data.ok);
await fails("wait_timeout", () => events.wait("never.happens", {timeout: 0.01}));
const st = events.stats("order.**");
print("stats", st.pattern, st.count, st.names["order.paid"].count);
const path = "/tmp/llmspell_conformance_events_" + crypto.uuid() + ".jsonl";
const rec = events.record(path, {filter: "rec.**"});
events.emit("rec.one", {v: 1});
events.emit("other", {v: 0});
events.emit("rec.two", {v: 2});
print("stop", events.stopRecording(rec));
const replayed = [];
events.on("rec.*", (ev) => { replayed.push(ev.name + "=" + ev.data.v); });
print("replay", await events.replay(path, {speed: 0}));
print("replayed", replayed.join(" "));
fs.remove(path);

print("points", hooks.points().sort().join(","));
const h1 = hooks.before("tool.call", (ctx) => {}, {name: "first", priority: 5});
const h2 = hooks.after("state.set", (ctx) => {}, {name: "second"});
for (const h of hooks.list()) print("hook", h.point, h.kind, h.priority, h.name);
print("list_point", hooks.list("state.set").length);
hooks.remove(h1);
hooks.remove(h2);
print("list_after", hooks.list().length);
