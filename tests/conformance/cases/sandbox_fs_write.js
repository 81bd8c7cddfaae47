let ok = true, code = "nil";
try { await fs.write("/tmp/llmspell-sandbox-test.txt", "x"); } catch (e) { ok = false; code = e.code; }
print(ok, code);
