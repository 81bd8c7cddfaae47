-- A redacting hook: a `before` hook on llm.call removes e-mail addresses and card numbers from
-- every message before it leaves the process; an `after` hook on tool.call redacts tool results.
local function redact(s)
  s = s:gsub("[%w%.%-_]+@[%w%.%-]+%.%a+", "[email]")
  s = s:gsub("%d%d%d%d[ %-]?%d%d%d%d[ %-]?%d%d%d%d[ %-]?%d%d%d%d", "[card]")
  return s
end

hooks.before("llm.call", function(ctx)
  local msgs = ctx.args.messages
  if type(msgs) == "string" then
    ctx.args.messages = redact(msgs)
  else
    for _, m in ipairs(msgs) do
      if type(m.content) == "string" then m.content = redact(m.content) end
    end
  end
  return ctx
end)

-- mock/echo answers with what the model received.
local r = llm.chat("Mail ada@example.com, card 4111 1111 1111 1111.", {model = "mock/echo"})
print("model saw: " .. r.text)

tools.define{name = "whois", description = "contact for a user",
             parameters = {type = "object", properties = {user = {type = "string"}}},
             run = function(args) return "contact: " .. args.user .. "@corp.example.com" end}
hooks.after("tool.call", function(ctx)
  return {result = redact(ctx.result)}
end)
print("tool gave: " .. tools.call("whois", {user = "grace"}))
