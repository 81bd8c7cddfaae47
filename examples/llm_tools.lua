-- A tool round trip by hand: the model asks for a tool, the spell runs it, the model answers.
-- Offline with scripted replies (llm_tools.args passes --mock-replies llm_tools.jsonl).
local tools = {{
  name = "get_weather",
  description = "Current weather for a city",
  parameters = {type = "object", properties = {city = {type = "string"}}, required = {"city"}},
}}
local function get_weather(args) return {city = args.city, temp_c = 11} end

local messages = {{role = "user", content = "What's the weather in Edinburgh?"}}
local r = llm.chat(messages, {model = "mock/script", tools = tools})
while r.finish_reason == "tool_calls" do
  messages[#messages + 1] = r.message
  for _, call in ipairs(r.tool_calls) do
    print("tool call: " .. call.name .. "(" .. json.encode(call.arguments) .. ")")
    messages[#messages + 1] = {role = "tool", tool_call_id = call.id, name = call.name,
                               content = json.encode(get_weather(call.arguments))}
  end
  r = llm.chat(messages, {model = "mock/script", tools = tools})
end
print("answer: " .. r.text)
