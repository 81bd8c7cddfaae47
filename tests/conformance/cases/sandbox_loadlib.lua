local ok, e = pcall(package.loadlib, "/lib/x86_64-linux-gnu/libc.so.6", "system")
print(ok, e.code)
