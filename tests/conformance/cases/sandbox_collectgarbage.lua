local ok, e = pcall(collectgarbage, "stop")
local ok2, e2 = pcall(collectgarbage, "generational")
-- Reading the memory count stays allowed.
assert(type(collectgarbage("count")) == "number")
print(ok, e.code, ok2, e2.code)
