-- The state API on the run's in-memory "session" scope (nothing persists between runs), first
-- through state.* with opts.scope, then through a state_scope object.
local S = {scope = "session"}
local function show(label, v) print(label, json.encode(v, {sort_keys = true})) end
show("set", state.set("a", 1, S))
show("set", state.set("a", 2, S))
show("get", state.get("a", nil, S))
show("get_default", state.get("missing", "dflt", S))
local vs = {}
for _, v in ipairs(state.versions("a", S)) do vs[#vs + 1] = {v.version, v.value, v.deleted} end
show("versions", vs)
show("get_version", state.get_version("a", 1, S))
show("update", state.update("counter", function(cur) return (cur or 0) + 5 end, S))
show("update", state.update("counter", function(cur, key) return cur * 2 end, S))
show("transform", state.transform("counter", function(v, key) return key .. "=" .. v end, S))
local ok, e = pcall(state.transform, "nothing", function(v) return v end, S)
print(ok, e.code)
state.set("cfg", {db = {host = "h", port = 1}, tags = {"x"}}, S)
show("merge", state.merge("cfg", {db = {port = 2}, debug = true}, S))
state.set("user.1", {name = "ann", age = 30}, S)
state.set("user.2", {name = "bob", age = 17}, S)
show("filter", state.filter("user.", function(v, key) return v.age >= 18 end, S))
show("keys", state.keys("", S))
show("keys_user", state.keys("user.", S))
show("validate", state.validate("user.2", {type = "object", properties = {age = {type = "integer", minimum = 18}}}, S))
show("expire", state.expire("a", 3600, S))
show("expire_missing", state.expire("nope", 1, S))
show("snapshot", state.snapshot("snap1", S))
show("delete", state.delete("a", S))
show("delete_again", state.delete("a", S))
show("after_delete", state.keys("", S))
local names = {}
for _, s in ipairs(state.snapshots(S)) do names[#names + 1] = s.name .. ":" .. s.keys end
show("snapshots", names)
show("restore", state.restore("snap1", S))
show("restored", state.get("a", nil, S))
ok, e = pcall(state.restore, "nope", S)
print(ok, e.code)

local sc = state.scope("session")
show("name", sc:name())
for _, k in ipairs(sc:keys()) do sc:delete(k) end
show("sc_set", sc:set("k", "v1"))
show("sc_set", sc:set("k", "v2"))
show("sc_get", sc:get("k"))
show("sc_get_default", sc:get("zz", 7))
vs = {}
for _, v in ipairs(sc:versions("k")) do vs[#vs + 1] = v.value end
show("sc_versions", vs)
show("sc_get_version", sc:get_version("k", 1))
show("sc_update", sc:update("n", function(cur) return (cur or 10) + 1 end))
show("sc_transform", sc:transform("n", function(v) return v * 3 end))
sc:set("obj", {a = {b = 1}})
show("sc_merge", sc:merge("obj", {a = {c = 2}}))
show("sc_filter", sc:filter("", function(v) return type(v) == "number" end))
show("sc_validate", sc:validate("n", {type = "string"}))
show("sc_expire", sc:expire("k", 100))
show("sc_snapshot", sc:snapshot("s2"))
show("sc_delete", sc:delete("k"))
show("sc_keys", sc:keys())
names = {}
for _, s in ipairs(sc:snapshots()) do names[#names + 1] = s.name end
show("sc_snapshots", names)
show("sc_restore", sc:restore("s2"))
show("sc_keys", sc:keys())
