local ok, e = pcall(collectgarbage, "stop")
local ok2, e2 = pcall(collectgarbage, "generational")
print(ok, e.code, ok2, e2.code, type(collectgarbage("count")))
