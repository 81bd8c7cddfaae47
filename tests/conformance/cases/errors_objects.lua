local ok, e = pcall(sleep, "x")
print(ok, e.code, e.message, e.line)
print(tostring(e))
