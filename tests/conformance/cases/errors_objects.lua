local ok, e = pcall(sleep, "x")
print(ok, e.code, e.message, e.line)
-- The spell's file name without its extension, so that every engine prints the same line.
print((tostring(e):gsub("%.lua:", ":")))
