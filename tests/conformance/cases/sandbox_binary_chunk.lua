local ok, e = pcall(load, "\27Lua\84\0\25\147\13\10\26\10")
print(ok, e.code)
