print(fs.read("sandbox_data/inside.txt"))
local ok, e = pcall(fs.read, "sandbox_data/escape/hostname")
print(ok, e.code)
