local ok, e = pcall(function() return io.open("/etc/passwd") end)
print(ok, e.code)
