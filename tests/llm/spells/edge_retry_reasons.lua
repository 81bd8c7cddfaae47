-- 429s that are not retried say why.
local ok, e = pcall(llm.chat, "hi", {model = "openai/gpt-4o-mini"})
print("quota", e.code, e.retryable, e.message)
ok, e = pcall(llm.chat, "hi", {model = "openai/gpt-4o-mini"})
print("long wait", e.code, e.retryable, e.message)
