-- The agent loop from a spell: a spell-defined tool that fails, a built-in tool, parallel calls,
-- max_iterations, repeated calls, a budget, and a bad config.
llm.configure("mock", {replies = {
  {tool_calls = {{name = "flaky", arguments = {n = 1}}, {name = "calculator", arguments = {expression = "2^10"}}}},
  {text = "1024, and flaky failed"},
}})
tools.define{name = "flaky", description = "fails", parameters = {type = "object", properties = {n = {type = "integer"}}},
             run = function(args) error({code = "provider_error", message = "flaky is down"}) end}
local a = agent.create{name = "a", model = "mock/script", tools = {"flaky", "calculator"}}
local r = a:run("go")
print(r.status, r.iterations, r.text)
for _, c in ipairs(r.tool_calls) do print(c.name, c.ok, c.ok and c.result.result or c.error.code) end

-- max_iterations
local replies = {}
for i = 1, 5 do replies[i] = {tool_calls = {{name = "calculator", arguments = {expression = i .. "+1"}}}} end
llm.configure("mock", {replies = replies})
local b = agent.create{name = "b", model = "mock/script", tools = {"calculator"}, max_iterations = 2}
local rb = b:run("loop")
print(rb.status, rb.iterations)

-- repeated identical calls
replies = {}
for i = 1, 5 do replies[i] = {tool_calls = {{name = "calculator", arguments = {expression = "1+1"}}}} end
llm.configure("mock", {replies = replies})
local c = agent.create{name = "c", model = "mock/script", tools = {"calculator"}, max_repeats = 1}
local rc = c:run("stuck")
print(rc.status, rc.iterations)

-- budget
llm.configure("mock", {replies = {
  {tool_calls = {{name = "calculator", arguments = {expression = "3"}}}, usage = {input_tokens = 80, output_tokens = 40}},
  {text = "unreached"},
}})
local d = agent.create{name = "d", model = "mock/script", tools = {"calculator"}, budget = {max_tokens = 100}}
local ok, err = pcall(d.run, d, "spend")
print(ok, err.code)

-- bad configuration
ok, err = pcall(agent.create, {name = "e", max_iterations = 0})
print(ok, err.code)
ok, err = pcall(agent.create, {name = "f", tools = {"no_such_tool"}})
print(ok, err.code)
print(#agent.list(), agent.get("a"):info().name, agent.get("zzz"))
