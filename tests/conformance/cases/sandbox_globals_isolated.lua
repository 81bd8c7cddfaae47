-- A spell's globals are its own table: it may set one, and the sandbox's stand-ins for the
-- refused standard functions are there (they refuse when called, see the other sandbox cases).
x_global = 1
assert(type(require) == "function" and type(io) == "table" and type(debug) == "table")
assert(rawget(_G, "dofile") ~= nil)
print("x_global:", rawget(_G, "x_global"))
