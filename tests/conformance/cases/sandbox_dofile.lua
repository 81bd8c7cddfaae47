local ok, e = pcall(dofile, "/etc/passwd")
local ok2, e2 = pcall(loadfile, "/etc/passwd")
print(ok, e.code, ok2, e2.code)
