-- The peer benchmark's agent workload (../shared/bench/peers/README.md, "The workload") as the
-- Lua spell bench/agent/workload.sh measures: N agent runs, C in flight, each two model calls and
-- two parallel tools, against the fake OpenAI server. Same work as bench/js/agent_peer.js.
--
--   llmspell run workload.lua --allow-env=FAKE_OPENAI_URL --allow-net=127.0.0.1 \
--       --param n=200 --param c=50 --param stream=1
local PROMPT = "What is the weather in Paris, and what is 2+3? Use the tools."
local EXPECTED = "It is sunny in Paris and 2+3=5."

local n, c, s = spell.params.n, spell.params.c, spell.params.stream
if math.type(n) ~= "integer" or n < 1 or math.type(c) ~= "integer" or c < 1 or (s ~= 0 and s ~= 1) then
  error("usage: llmspell run workload.lua --param n=N --param c=C --param stream=0|1")
end

llm.configure("openai", {base_url = env.get("FAKE_OPENAI_URL", "http://127.0.0.1:8089/v1")})

local function num(x)  -- JavaScript's String(a + b)
  if math.type(x) == "float" and x == math.floor(x) then return string.format("%d", x) end
  return tostring(x)
end

local bench = agent.create{
  name = "bench",
  model = "openai/gpt-4o-mini",
  memory = "none",
  max_iterations = 5,
  tools = {
    {name = "get_weather", description = "Get the current weather for a city.",
     parameters = {type = "object", properties = {city = {type = "string", description = "City name"}},
                   required = {"city"}, additionalProperties = false},
     run = function(args) return args.city .. ": sunny, 22 C" end},
    {name = "add", description = "Add two numbers and return the sum.",
     parameters = {type = "object", properties = {a = {type = "number"}, b = {type = "number"}},
                   required = {"a", "b"}, additionalProperties = false},
     run = function(args) return num(args.a + args.b) end},
  },
}

local function run_one()
  if s == 0 then return bench:run(PROMPT).text end
  local parts = {}
  bench:stream(PROMPT, nil, function(e) if e.type == "text" then parts[#parts + 1] = e.text end end)
  return table.concat(parts)
end

local next_i, bad = 0, 0
local function worker()
  while next_i < n do
    next_i = next_i + 1
    if run_one() ~= EXPECTED then bad = bad + 1 end
  end
end
local workers = {}
for k = 1, math.min(c, n) do workers[k] = spawn(worker) end
promise.all(workers)
if bad > 0 then error(bad .. " of " .. n .. " runs gave a wrong answer") end
