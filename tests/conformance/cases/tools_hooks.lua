-- Hooks at tool.call and the tool.call / tool.result events.
tools.define{name = "greet", parameters = {type = "object", properties = {who = {type = "string"}}},
             run = function(args) return "hello " .. args.who end}
events.on("tool.*", function(e)
  if e.name == "tool.call" then print("event tool.call", e.data.name, e.data.args.who)
  else print("event tool.result", e.data.name, e.data.ok, e.data.error and e.data.error.code) end
end)
local id = hooks.before("tool.call", function(ctx)
  if ctx.args.name == "greet" and ctx.args.args.who == "bob" then
    ctx.args.args.who = "Robert"
    return ctx
  end
end)
print(tools.call("greet", {who = "bob"}))
hooks.remove(id)
-- An around hook that caches results.
local cache, calls = {}, 0
hooks.around("tool.call", function(ctx, next)
  local key = ctx.args.name .. ":" .. json.encode(ctx.args.args)
  if cache[key] == nil then calls = calls + 1; cache[key] = next() end
  return cache[key]
end)
print(tools.call("greet", {who = "ann"}), tools.call("greet", {who = "ann"}), calls)
-- An after hook changes the result.
hooks.after("tool.call", function(ctx)
  if ctx.args.name == "calculator" then return {result = {result = ctx.result.result * 10}} end
end)
print(tools.call("calculator", {expression = "1 + 2"}).result)
hooks.before("tool.call", function(ctx) return {cancel = "tools are closed"} end, {priority = 100})
local r = tools.try_call("greet", {who = "ann"})
print(r.ok, r.error.code, r.error.message)
