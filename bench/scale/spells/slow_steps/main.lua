-- Four steps of 0.5 s each (no model): the resume benchmark measures the queue, not a provider.
local function pause(x) sleep(0.5) return x + 1 end
local w = workflow.sequential{name = "slow", steps = {pause, pause, pause, pause}}
return w:run(0).output
