-- Spell-level version of the parallel benchmark: 100 Lua steps that each sleep 50 ms, run as a
-- parallel workflow, against one sleep(0.05) measured in the same run. Prints wall times in ms.
-- Run: llmspell run bench/workflow/parallel_100.lua
local t = time.now()
sleep(0.05)
local baseline = (time.now() - t) * 1000

local steps = {}
for i = 1, 100 do steps[i] = function(x) sleep(0.05); return i end end
local w = workflow.parallel{name = "p100", steps = steps}
local best = math.huge
for _ = 1, 5 do
  t = time.now()
  local r = w:run()
  assert(r.status == "completed" and #r.output == 100)
  best = math.min(best, (time.now() - t) * 1000)
end

local seq = {}
for i = 1, 1000 do seq[i] = function(x) return x + 1 end end
local s = workflow.sequential{steps = seq}
t = time.now()
assert(s:run(0).output == 1000)
local per_step_us = (time.now() - t) * 1e6 / 1000

print(string.format("baseline sleep(0.05): %.1f ms", baseline))
print(string.format("parallel 100 x 50 ms (best of 5): %.1f ms", best))
print(string.format("sequential 1000 Lua function steps: %.1f us per step", per_step_us))
