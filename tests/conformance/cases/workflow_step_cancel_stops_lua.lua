local w = workflow.sequential{on_error = "continue", steps = {
  {name = "slow", timeout = 0.05, run = function() sleep(0.2); print("should not print") end},
}}
local r = w:run(1)
sleep(0.3)
print(r.steps[1].status, r.steps[1].error.code)
