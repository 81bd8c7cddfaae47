local ok, e = pcall(os.exit, 0)
print(ok, e.code)
