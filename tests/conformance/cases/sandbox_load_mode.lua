local f, err = load("return 1 + 1", "x", "b")
print(f ~= nil and f() or err)
