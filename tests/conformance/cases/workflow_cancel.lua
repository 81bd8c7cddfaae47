-- Cancelling a run stops the steps in flight: w:cancel() ends it with status "cancelled";
-- a timeout on run() cancels it and the call fails with `timeout`. The 30 s tool sleeps are
-- cancelled, so the spell ends at once.
local finished = {}
events.on("workflow.finish", function(e) finished[#finished + 1] = e.data.workflow .. "=" .. e.data.status end)
local w = workflow.parallel{name = "crawl", steps = {
  {name = "a", tool = "sleep", args = {seconds = 30}},
  workflow.sequential{name = "inner", steps = {{name = "b", tool = "sleep", args = {seconds = 30}}}},
}}
local p = w:run_async({})
sleep(0.02)
print(w:cancel())
local r = await(p)
print(r.status, r.steps[1].status, r.steps[2].status, r.steps[2].error.code)
local ok, e = pcall(function() return w:run({}, {timeout = 0.02}) end)
print(ok, e.code)
sleep(0)
table.sort(finished)
print(table.concat(finished, " "))
