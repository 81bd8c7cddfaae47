const t = [];
for (;;) t.push([1, 2, 3]);
