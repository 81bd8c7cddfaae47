print(await fs.read("sandbox_data/inside.txt"));
let ok = true, code = "nil";
try { await fs.read("sandbox_data/escape/hostname"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
