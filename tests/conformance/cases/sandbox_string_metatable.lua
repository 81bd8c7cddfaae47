-- The string metatable is hidden and locked: a spell cannot change the string methods.
assert(getmetatable("") == false)
local ok = pcall(function() getmetatable("").__index = {} end)
print("string methods:", ok and "changed" or "unchanged")
print(("abc"):upper())
