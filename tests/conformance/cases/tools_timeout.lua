-- A tool's own timeout, and the per-call timeout option.
tools.define{name = "slow", timeout = 0.05, run = function() sleep(5); return "late" end}
local t0 = time.now()
local r = tools.try_call("slow")
print(r.ok, r.error.code, r.error.message)
tools.define{name = "slow2", run = function() sleep(5); return "late" end}
local ok, e = pcall(tools.call, "slow2", {}, {timeout = 0.05})
print(ok, e.code)
print("fast enough:", time.now() - t0 < 2)
r = tools.try_call("sleep", {seconds = 5}, {timeout = 0.05})
print(r.ok, r.error.code)
