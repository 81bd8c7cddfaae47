-- Errors reach the spell as values with API.md codes; retries are invisible when they succeed.
local r = llm.chat("x", {model = "openai/gpt-4o-mini"})
print("after retry: " .. r.text)
local ok, e = pcall(llm.chat, "x", {model = "openai/gpt-4o-mini"})
print("auth ok=" .. tostring(ok) .. " code=" .. e.code .. " retryable=" .. tostring(e.retryable))
local ok2, e2 = pcall(llm.chat, "x", {model = "anthropic/claude-sonnet-4-5", timeout = 0.3})
print("timeout ok=" .. tostring(ok2) .. " code=" .. e2.code)
local ok3, e3 = pcall(llm.chat, "x", {model = "nobody/none"})
print("bad model code=" .. e3.code)
