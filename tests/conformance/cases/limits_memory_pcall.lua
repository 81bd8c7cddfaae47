local ok = pcall(string.rep, "x", 1 << 30)
print("continued", ok)
local t = {}
for i = 1, 10 do t[i] = i end
print("still running")
