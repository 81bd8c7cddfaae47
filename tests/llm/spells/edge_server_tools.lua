-- Anthropic server tools (web search) next to a real tool call: only the real one is a tool call.
local calls, servers = {}, {}
local r = llm.stream("weather in Paris?", {model = "anthropic/claude-sonnet-4-5", tools = {
  {name = "get_weather", description = "weather", parameters = {type = "object", properties = {city = {type = "string"}}}}}},
  function(c)
    local d = c.tool_call_delta
    if d then
      local k = d.index + 1
      calls[k] = calls[k] or {name = "", args = ""}
      if d.name ~= "" then calls[k].name = d.name end
      calls[k].args = calls[k].args .. d.arguments
    end
    local s = c.server_tool_delta
    if s and s.name ~= "" then servers[#servers + 1] = s.name end
  end)
local seen = {}
for i, c in pairs(calls) do seen[#seen + 1] = (i - 1) .. "=" .. c.name .. " " .. c.args end
table.sort(seen)
print("tool_call_delta", table.concat(seen, " | "))
print("server tools", table.concat(servers, " "))
print("tool_calls", #r.tool_calls, r.tool_calls[1].name, r.tool_calls[1].arguments.city)
local blocks = r.raw.server_blocks
print("server blocks", #blocks, blocks[1].type, blocks[1].input.query, blocks[2].type)
print("text", r.text)
