-- Scripted replies from --mock-replies (JSON Lines), served in order by mock/script.
local r = llm.chat("anything", {model = "mock/script"})
print(r.text, r.usage.output_tokens)
local t = llm.chat("anything", {model = "mock/script"})
print(t.tool_calls[1].name, t.tool_calls[1].arguments.q, t.finish_reason)
local ok, e = pcall(llm.chat, "more", {model = "mock/script"})
print(ok, e.code)
