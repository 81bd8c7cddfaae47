let ok = true, code = "nil";
try { await http.get("http://127.0.0.1:9/"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
