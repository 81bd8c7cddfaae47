-- Tools from Lua: the same registry functions as in Tengo.
tools.define{
  name = "add",
  parameters = {type = "object", properties = {a = {type = "integer"}, b = {type = "integer"}}, required = {"a", "b"}},
  run = function(args, ctx) return {sum = args.a + args.b, tool = ctx.tool} end,
}
local r = tools.call("add", {a = 2, b = 3})
print("sum " .. r.sum .. " from " .. r.tool)
local t = tools.try_call("add", {a = 1})
print("try_call " .. tostring(t.ok) .. " " .. t.error.code)
print("calculator " .. tools.call("calculator", {expression = "2 ^ 10"}).result)
local ok, e = pcall(tools.call, "nope", {})
print("unknown " .. tostring(not ok) .. " " .. e.code)
print("pipeline " .. tools.pipeline({"add", {tool = "calculator", args = {expression = "1 + 1"}}}, {a = 1, b = 1}).result)
