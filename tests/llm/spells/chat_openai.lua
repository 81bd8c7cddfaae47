-- Plain, streamed and tool round trip through the OpenAI provider (pointed at the fake server).
local r = llm.chat("Hi", {model = "openai/gpt-4o-mini", system = "Be brief."})
print("text=" .. r.text, "finish=" .. r.finish_reason, "provider=" .. r.provider)
print("usage=" .. r.usage.input_tokens .. "/" .. r.usage.output_tokens)
local parts = {}
local s = llm.stream("stream me", {model = "openai/gpt-4o-mini"}, function(c) parts[#parts + 1] = c.text end)
print("chunks=" .. #parts, "joined=" .. table.concat(parts), "final=" .. s.text)
local tools = {{name = "get_weather", description = "weather", parameters = {type = "object", properties = {city = {type = "string"}}}}}
local msgs = {{role = "user", content = "Weather in Paris?"}}
local t = llm.chat(msgs, {model = "openai/gpt-4o-mini", tools = tools})
print("tool=" .. t.tool_calls[1].name, "city=" .. t.tool_calls[1].arguments.city, "finish=" .. t.finish_reason)
msgs[#msgs + 1] = t.message
msgs[#msgs + 1] = {role = "tool", tool_call_id = t.tool_calls[1].id, name = "get_weather", content = "sunny"}
print("answer=" .. llm.complete(msgs, {model = "openai/gpt-4o-mini", tools = tools}))
