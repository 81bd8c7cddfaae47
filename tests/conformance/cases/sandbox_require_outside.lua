-- Module names cannot climb out of the spell's directory, by dots or by slashes.
local ok, e = pcall(require, "..secret")
local ok2, e2 = pcall(require, "../../../../etc/passwd")
local ok3, e3 = pcall(require, "no_such_module")
print(ok, e.code, ok2, e2.code)
assert(not ok3 and e3.code == "not_found")
