// The JavaScript analogue of loading a binary chunk: compiled code from bytes. There is no
// WebAssembly, and no module can be loaded from bytes (a data: URL here).
if (typeof WebAssembly !== "undefined") throw new Error("WebAssembly is reachable");
let ok = true, code = "nil";
try { await import("data:application/wasm;base64,AGFzbQEAAAA="); } catch (e) { ok = false; code = e.code; }
print(ok, code);
