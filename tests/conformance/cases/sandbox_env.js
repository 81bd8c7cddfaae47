let ok = true, code = "nil";
try { await env.get("HOME"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
