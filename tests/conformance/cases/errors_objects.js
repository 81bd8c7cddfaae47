let ok = true, e; try { await sleep(/** @type {any} */ ("x")); } catch (err) { ok = false; e = err; }
print(ok, e.code, e.message, e.line);
// The spell's file name without its extension, so that every engine prints the same line.
print(String(e).replace(".js:", ":"));
