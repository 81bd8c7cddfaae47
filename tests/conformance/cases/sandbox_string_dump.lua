local ok, e = pcall(string.dump, function() end)
print(ok, e.code)
