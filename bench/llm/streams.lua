-- 1,000 concurrent streaming calls from one spell against the fake provider (bench/llm/streams.sh).
local n = tonumber(spell.params.n or "1000")
local chunks, done = 0, 0
local ps = {}
for i = 1, n do
  ps[i] = llm.stream_async("call " .. i .. " one two three four five six seven eight nine ten",
                           {model = "openai/gpt-4o-mini", timeout = 120}, function(c) chunks = chunks + 1 end)
end
for i = 1, n do
  local r = await(ps[i])
  if r.text ~= nil then done = done + 1 end
end
print("completed", done, "of", n, "chunks", chunks)
