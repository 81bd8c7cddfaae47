const f = (n) => f(n + 1) + 1;
print(f(1));
