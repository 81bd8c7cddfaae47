-- An agent's own hooks (config `hooks`): they run for that agent's runs, model calls and tool
-- calls only, can rewrite tool arguments and wrap calls, travel with a clone, and a bad spec is
-- refused with a message naming the field.
local seen = {}
llm.configure("mock", {replies = {
  {tool_calls = {{name = "calculator", arguments = {expression = "6*7"}}}},
  {text = "42"},
  {text = "plain"},
  {text = "cloned"},
}})
local a = agent.create{name = "hooked", model = "mock/script", tools = {"calculator"}, hooks = {
  ["agent.run"] = {before = function(ctx) seen[#seen + 1] = "run " .. tostring(ctx.args.input) end},
  ["llm.call"] = {after = function(ctx) seen[#seen + 1] = "llm " .. tostring(ctx.result.text) end},
  ["tool.call"] = {
    before = function(ctx)
      seen[#seen + 1] = "tool " .. ctx.args.name
      ctx.args.args.expression = "6*7+1"
      return ctx
    end,
    around = function(ctx, next)
      local r = next()
      seen[#seen + 1] = "around " .. tostring(r.result)
      return r
    end,
  },
}}
local r = a:run("what is six times seven?")
print(r.text, r.tool_calls[1].result.result)
-- Another agent, and a plain call, are not hooked.
local b = agent.create{name = "plain", model = "mock/script"}
print(b:run("hi").text)
for _, s in ipairs(seen) do print(s) end
seen = {}
local c = a:clone{name = "copy"}
print(c:run("again").text, #seen, seen[1], seen[2])
for _, bad in ipairs({
  {hooks = 5},
  {hooks = {["state.set"] = {before = print}}},
  {hooks = {["llm.call"] = {during = print}}},
  {hooks = {["llm.call"] = {before = 1}}},
}) do
  bad.model = "mock/script"
  local ok, e = pcall(agent.create, bad)
  print(ok, e.code, e.message)
end
