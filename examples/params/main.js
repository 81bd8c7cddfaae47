// Params arrive typed: integers are integers, booleans are booleans.
const p = spell.params;
let line = text.template("Hello, {{name}}!", {name: p.name});
if (p.loud) line = line.toUpperCase();
for (let i = 1; i <= p.times; i++) print(i, line);
print(Number.isInteger(p.times) ? "integer" : "float", typeof p.loud);
