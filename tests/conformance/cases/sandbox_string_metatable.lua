print(getmetatable(""))
local ok = pcall(function() getmetatable("").__index = {} end)
print(ok, ("abc"):upper())
