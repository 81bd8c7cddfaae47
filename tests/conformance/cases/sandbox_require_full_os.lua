-- The runtime's internal full os library is not a module a spell can require; os.execute is the
-- sandbox's stand-in that refuses.
local ok, e = pcall(require, "__os_full")
assert(os.execute ~= nil)
print("__os_full:", (not ok and e.code == "not_found") and "unreachable" or "reachable")
