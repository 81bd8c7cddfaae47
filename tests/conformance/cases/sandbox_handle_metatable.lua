local ch = channel(1)
print(getmetatable(ch))
print(pcall(setmetatable, ch, {}))
