-- Chatting with a model: one call, a streamed call, and the usage/cost of each.
-- Runs offline on mock/echo; pass --model openai/gpt-4o-mini (with OPENAI_API_KEY) for real.
local model = spell.config("model", "mock/echo")
local r = llm.chat("Tell me about spells.", {model = model, system = "Answer in one sentence."})
print("reply: " .. r.text)
print("finish: " .. r.finish_reason .. ", tokens: " .. r.usage.total_tokens)

local pieces = 0
local final = llm.stream("streaming word by word", {model = model}, function(chunk)
  pieces = pieces + 1
end)
print("streamed " .. pieces .. " chunks: " .. final.text)
