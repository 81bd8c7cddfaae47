-- An OpenAI refusal: streamed as refusal chunks, finish_reason content_filter, raw_finish_reason
-- the provider's own word.
local texts, refusals = 0, {}
local r = llm.stream("something bad", {model = "openai/gpt-4o"}, function(c)
  if c.text ~= "" then texts = texts + 1 end
  if c.refusal then refusals[#refusals + 1] = c.refusal end
end)
print("text chunks", texts, "refusal", table.concat(refusals))
print("stream", r.refusal, r.finish_reason, r.raw_finish_reason)
local c = llm.chat("something bad", {model = "openai/gpt-4o"})
print("chat", c.refusal, c.finish_reason, c.raw_finish_reason)
