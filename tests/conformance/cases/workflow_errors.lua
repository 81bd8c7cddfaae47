-- Workflow failures are results (status "failed", the step's error), bad configurations are
-- invalid_argument errors naming the field, retries and timeouts follow on_error.
local tries = 0
local r = workflow.sequential{name = "retrying", steps = {
  {name = "flaky", on_error = {retry = 2, backoff = 0.001}, run = function(x, ctx)
    tries = tries + 1
    if ctx.attempt < 3 then error(errors.new("rate_limited", "busy")) end
    return x .. " after " .. ctx.attempt
  end},
}}:run("done")
print(r.status, r.output, tries, r.steps[1].attempts)

r = workflow.sequential{name = "stops", steps = {
  function(x) return x end,
  {name = "broken", run = function(x) error(errors.new("provider_error", "upstream down")) end},
  function(x) return "never" end,
}}:run("x")
print(r.status, r.output, #r.steps, r.error.code, r.error.message, r.error.details.step)

r = workflow.parallel{name = "fanout", steps = {
  {name = "slow", tool = "sleep", args = {seconds = 30}},
  {name = "fails", run = function() sleep(0.01); error(errors.new("timeout", "gave up")) end},
}}:run({})
print(r.status, r.steps[1].status, r.steps[2].status, r.error.code)

r = workflow.sequential{steps = {{name = "slow", timeout = 0.02, tool = "sleep", args = {seconds = 30}}}}:run()
print(r.status, r.error.code, r.error.message)

r = workflow.loop{name = "spin", step = function(x) return x + 1 end, until_ = function(x) return false end,
                  max_iterations = 3}:run(0)
print(r.status, r.error.code, r.error.message, #r.steps)

local function try(f, arg)
  local ok, e = pcall(f, arg)
  print(ok, e.code, e.message)
end
try(workflow.sequential, {steps = {true}})
try(workflow.sequential, {name = "t", steps = {{name = "x"}}})
try(workflow.parallel, {name = "dup", merge = "object", steps = {{name = "a", run = print}, {name = "a", run = print}}})
try(workflow.loop, {step = print, times = 3, items = {1}})
try(workflow.map, {step = print, concurrency = 0})
try(workflow.sequential, {steps = {}, on_error = {retry = "twice"}})
try(workflow.conditional, {branches = {{step = print}}})
