local ok, e = pcall(fs.read, "sandbox_data/../../../../../../etc/passwd")
print(ok, e.code)
