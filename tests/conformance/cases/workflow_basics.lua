-- Workflows: every kind, with function and table steps, the same in every engine.
local seq = workflow.sequential{name = "seq", steps = {
  function(x, ctx) return x + 1 end,
  {name = "double", run = function(x, ctx) return x * 2 end},
}}
local r = seq:run(1)
print(r.status .. " " .. r.output .. " " .. r.steps[2].name .. "=" .. r.steps[2].output)

local par = workflow.parallel{merge = "object", max_concurrency = 2, steps = {
  {name = "a", run = function(x, ctx) sleep(0.01); return x .. "a" end},
  {name = "b", run = function(x, ctx) return x .. "b" end},
}}
r = par:run(">")
print(r.output.a .. " " .. r.output.b .. " " .. #r.steps)

r = workflow.map{concurrency = 2, step = function(x, ctx) return x * x end}:run({1, 2, 3})
print(r.output[1] + r.output[2] + r.output[3])

r = workflow.loop{times = 3, step = function(x, ctx) return x .. ctx.index end}:run("i")
print(r.output)

local route = workflow.conditional{
  branches = {{when = {path = "n", gt = 10}, step = function(x, ctx) return "big" end}},
  otherwise = function(x, ctx) return "small" end,
}
print(route:run({n = 50}).output .. " " .. route:run({n = 5}).output)

r = workflow.sequential{on_error = "continue", steps = {
  function(x, ctx) error(errors.new("provider_error", "boom")) end,
  function(x, ctx) return x .. "!" end,
}}:run("kept")
print(r.status .. " " .. r.output .. " " .. r.steps[1].status .. " " .. r.steps[1].error.code)
