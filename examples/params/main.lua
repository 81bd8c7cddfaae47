-- Params arrive typed: integers are integers, booleans are booleans.
local p = spell.params
local line = text.template("Hello, {{name}}!", {name = p.name})
if p.loud then line = line:upper() end
for i = 1, p.times do print(i, line) end
print(math.type(p.times), type(p.loud))
