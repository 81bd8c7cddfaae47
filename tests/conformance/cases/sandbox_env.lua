local ok, e = pcall(env.get, "HOME")
print(ok, e.code)
