-- A session against a real protocol: each turn sends the whole (trimmed) history.
local s = llm.session({model = "openai/gpt-4o-mini", system = "Be brief.", context_window = 40, reserve = 0})
for i = 1, 3 do print(s:send("alpha beta gamma delta epsilon").text) end
print(#s:history(), s:trimmed())
