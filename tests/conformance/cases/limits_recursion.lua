local function f(n) return f(n + 1) + 1 end
print(f(1))
