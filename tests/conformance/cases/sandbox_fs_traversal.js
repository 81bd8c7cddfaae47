let ok = true, code = "nil";
try { await fs.read("sandbox_data/../../../../../../etc/passwd"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
