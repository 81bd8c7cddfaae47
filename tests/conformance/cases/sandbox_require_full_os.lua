local ok, e = pcall(require, "__os_full")
print(ok, e.code, os.execute ~= nil and "os.execute refuses" or "")
