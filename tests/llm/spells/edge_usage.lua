-- A provider that reports no usage: usage and cost are nil, not 0.
local r = llm.chat("hi", {model = "openai/gpt-4o-mini"})
print("usage", r.usage, "cost", r.cost_usd, "text", r.text)
local s = llm.stream("hi", {model = "openai/gpt-4o-mini"}, function() end)
print("stream usage", s.usage, "cost", s.cost_usd)
local k = llm.chat("hi", {model = "openai/gpt-4o-mini"})
print("reported", k.usage.input_tokens, k.usage.output_tokens, k.cost_usd > 0)
