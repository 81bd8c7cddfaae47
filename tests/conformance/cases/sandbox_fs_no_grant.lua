local ok, e = pcall(fs.read, "/etc/hostname")
print(ok, e.code)
