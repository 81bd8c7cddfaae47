-- One long streamed reply: time per chunk from socket to script callback (bench/llm/streams.sh).
local words = tonumber(spell.params.words or "20000")
local model = spell.params.model or "openai/gpt-4o-mini"
local chunks = 0
local t0 = os.clock()
local r = llm.stream(string.rep("w ", words), {model = model, timeout = 120},
                     function(c) chunks = chunks + 1 end)
print("chunks", chunks, "cpu_s", string.format("%.3f", os.clock() - t0), "chars", #r.text)
