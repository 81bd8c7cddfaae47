local ok, e = pcall(os.getenv, "HOME")
print(ok, e.code)
