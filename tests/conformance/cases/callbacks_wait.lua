-- Functions the host calls back may wait on async calls, as the main chunk does: workflow
-- function steps (in a sequence and in parallel), a tool's run used by an agent, a spawn body,
-- a promise handler and an event handler. Each uses what it waited for.
llm.configure("mock", {replies = {
  {text = "scripted"},
  {tool_calls = {{name = "slow_add", arguments = {a = 2, b = 3}}}},
  {text = "the sum is 5"},
}})
local echo = {model = "mock/echo"}
local seq = workflow.sequential({steps = {
  function(x, ctx) sleep(0.01); return x .. " " .. llm.chat("hi", {model = "mock/script"}).text end,
}})
local r = seq:run("step:")
print(r.status .. " " .. r.output)
local par = workflow.parallel({merge = "object", steps = {
  {name = "a", run = function(x, ctx) sleep(0.02); return llm.chat(x .. "a", echo).text end},
  {name = "b", run = function(x, ctx) sleep(0.01); return llm.chat(x .. "b", echo).text end},
}})
r = par:run("par ")
print(r.status .. " " .. r.output.a .. ", " .. r.output.b)
tools.define({name = "slow_add", description = "adds slowly", parameters = {type = "object"},
  run = function(args, ctx)
    sleep(0.01)
    return {sum = args.a + args.b, note = llm.chat("added", echo).text}
  end})
local a = agent.create({name = "adder", model = "mock/script", tools = {"slow_add"}})
r = a:run("add 2 and 3")
print(r.status .. " " .. r.text .. " " .. tostring(r.tool_calls[1].result.sum) .. " " .. r.tool_calls[1].result.note)
print(await(spawn(function(x) sleep(0.01); return llm.chat("spawned " .. x, echo).text end, 21)))
print(await(sleep_async(0.01):next(function(v) sleep(0.01); return llm.chat("handled", echo).text end)))
local ch = channel(1)
events.on("ping", function(e) sleep(0.01); ch:send(llm.chat("event " .. e.data, echo).text) end)
events.emit("ping", "received")
print(ch:recv())
