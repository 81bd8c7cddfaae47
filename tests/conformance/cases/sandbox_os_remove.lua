local ok1, e1 = pcall(os.remove, "/tmp/x")
local ok2, e2 = pcall(os.rename, "/tmp/x", "/tmp/y")
print(ok1, e1.code, ok2, e2.code)
