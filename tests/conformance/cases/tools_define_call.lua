-- A tool defined in the spell: validated call, try_call, validate, info, list, search.
tools.define{
  name = "add",
  description = "Adds two integers",
  category = "math",
  parameters = {type = "object", properties = {a = {type = "integer"}, b = {type = "integer"}},
                required = {"a", "b"}},
  run = function(args, ctx) return {sum = args.a + args.b, tool = ctx.tool} end,
}
local r = tools.call("add", {a = 2, b = 3})
print("sum", r.sum, r.tool)

local res = tools.try_call("add", {a = 2})
print("try_call", res.ok, res.error.code)
print(res.error.message)
res = tools.try_call("add", {a = 1, b = 1})
print("try_call", res.ok, res.result.sum)

local v = tools.validate("add", {a = "x", b = 1.5})
print("validate", v.ok, #v.errors)
for _, e in ipairs(v.errors) do print("  " .. e) end

local info = tools.info("add")
print("info", info.name, info.category, info.builtin, info.parameters.required[1])
print("calculator permission:", tools.info("calculator").permission)
print("shell permission:", tools.info("shell").permission)

local names = {}
for _, t in ipairs(tools.list("math")) do names[#names + 1] = t.name end
print("math tools:", table.concat(names, ", "))
print("defined:", #tools.list({builtin = false}))
print("search csv:", tools.search("csv")[1].name)

local ok, e = pcall(tools.call, "ad", {})
print(ok, e.code, e.message)
ok, e = pcall(tools.info, "calculater")
print(ok, e.code, e.message)
ok, e = pcall(tools.define, {name = "bad name", run = function() end})
print(ok, e.code, e.message)

-- An async tool: run may wait.
tools.define{name = "slow_echo", run = function(args) sleep(0.01); return args.text end,
             parameters = {type = "object", properties = {text = {type = "string"}}}}
print("async:", tools.call("slow_echo", {text = "hi"}))
print("removed:", tools.remove("slow_echo"), tools.remove("calculator"))
