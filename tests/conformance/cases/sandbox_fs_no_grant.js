let ok = true, code = "nil";
try { await fs.read("/etc/hostname"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
