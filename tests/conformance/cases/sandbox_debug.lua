local ok, e = pcall(function() return debug.getinfo(1) end)
local ok2, e2 = pcall(function() return debug.sethook() end)
print(ok, e.code, ok2, e2.code)
