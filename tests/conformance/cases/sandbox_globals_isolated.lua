x_global = 1
print(type(require), type(io), type(debug), rawget(_G, "dofile") ~= nil)
