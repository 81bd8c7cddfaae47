local ok, e = pcall(os.execute, "id")
print(ok, e.code)
