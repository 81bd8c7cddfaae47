local u = require("lib.util")
print(u.twice(5))
