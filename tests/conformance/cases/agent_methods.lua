-- Agent methods: tools (add, remove, list), as_tool, its own state, stream events, reset,
-- delegate, and agent.remove.
local function show(label, v) print(label, json.encode(v, {sort_keys = true})) end
local a = agent.create{name = "helper", model = "mock/echo", description = "echoes"}
show("tools", a:tools())
show("add_tool", a:add_tool("calculator"))
tools.define{name = "shout", description = "upper-cases", parameters = {type = "object", properties = {s = {type = "string"}}},
             run = function(args) return string.upper(args.s) end}
show("add_tool", a:add_tool("shout"))
show("tools", a:tools())
show("remove_tool", a:remove_tool("calculator"))
show("remove_tool_again", a:remove_tool("calculator"))
show("tools", a:tools())
a:set("mood", {level = 3})
show("get", a:get("mood"))
show("get_missing", a:get("nothing"))
a:run("first")
print("history", #a:history())
a:reset()
print("after_reset", #a:history())
local events = {}
local r = a:stream("streamed words here", {}, function(ev)
  if ev.type == "text" then events[#events + 1] = ev.text else events[#events + 1] = "<" .. ev.type .. ">" end
end)
print("stream", r.text, r.status)
print("stream_events", table.concat(events, "|"))

local tool_name = a:as_tool({name = "ask_helper", description = "asks the helper"})
show("as_tool", tool_name)
show("as_tool_call", tools.call("ask_helper", {input = "via tool"}))

llm.configure("mock", {replies = {{text = "delegated answer"}}})
local boss = agent.create{name = "boss", model = "mock/script"}
local worker = agent.create{name = "worker", model = "mock/script"}
local d = agent.delegate("boss", "worker", "do the thing")
print("delegate", d.text, d.agent)
show("remove", agent.remove("worker"))
show("remove_again", agent.remove("worker"))
print("get_removed", agent.get("worker") == nil)
