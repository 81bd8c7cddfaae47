// The state API on the run's in-memory "session" scope (nothing persists between runs), first
// through state.* with opts.scope, then through a state_scope object.
const S = {scope: "session"};
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
const fails = async (f) => {
  try { await f(); print(true); } catch (e) { print(false, e.code); }
};
show("set", await state.set("a", 1, S));
show("set", await state.set("a", 2, S));
show("get", state.get("a", null, S));
show("get_default", state.get("missing", "dflt", S));
show("versions", state.versions("a", S).map((v) => [v.version, v.value, v.deleted]));
show("get_version", state.getVersion("a", 1, S));
show("update", await state.update("counter", (cur) => (cur ?? 0) + 5, S));
show("update", await state.update("counter", (cur, key) => cur * 2, S));
show("transform", await state.transform("counter", (v, key) => key + "=" + v, S));
await fails(() => state.transform("nothing", (v) => v, S));
await state.set("cfg", {db: {host: "h", port: 1}, tags: ["x"]}, S);
show("merge", state.merge("cfg", {db: {port: 2}, debug: true}, S));
await state.set("user.1", {name: "ann", age: 30}, S);
await state.set("user.2", {name: "bob", age: 17}, S);
show("filter", await state.filter("user.", (v, key) => v.age >= 18, S));
show("keys", state.keys("", S));
show("keys_user", state.keys("user.", S));
show("validate", state.validate("user.2", {type: "object", properties: {age: {type: "integer", minimum: 18}}}, S));
show("expire", state.expire("a", 3600, S));
show("expire_missing", state.expire("nope", 1, S));
show("snapshot", state.snapshot("snap1", S));
show("delete", state.delete("a", S));
show("delete_again", state.delete("a", S));
show("after_delete", state.keys("", S));
show("snapshots", state.snapshots(S).map((s) => s.name + ":" + s.keys));
show("restore", state.restore("snap1", S));
show("restored", state.get("a", null, S));
await fails(() => state.restore("nope", S));

const sc = state.scope("session");
show("name", sc.name());
for (const k of sc.keys()) sc.delete(k);
show("sc_set", await sc.set("k", "v1"));
show("sc_set", await sc.set("k", "v2"));
show("sc_get", sc.get("k"));
show("sc_get_default", sc.get("zz", 7));
show("sc_versions", sc.versions("k").map((v) => v.value));
show("sc_get_version", sc.getVersion("k", 1));
show("sc_update", await sc.update("n", (cur) => (cur ?? 10) + 1));
show("sc_transform", await sc.transform("n", (v) => v * 3));
await sc.set("obj", {a: {b: 1}});
show("sc_merge", sc.merge("obj", {a: {c: 2}}));
show("sc_filter", await sc.filter("", (v) => typeof v === "number"));
show("sc_validate", sc.validate("n", {type: "string"}));
show("sc_expire", sc.expire("k", 100));
show("sc_snapshot", sc.snapshot("s2"));
show("sc_delete", sc.delete("k"));
show("sc_keys", sc.keys());
show("sc_snapshots", sc.snapshots().map((s) => s.name));
show("sc_restore", sc.restore("s2"));
show("sc_keys", sc.keys());
