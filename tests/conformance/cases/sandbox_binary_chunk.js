// The JavaScript analogue of loading a binary chunk: compiled code from bytes. There is no
// WebAssembly, and no module can be loaded from bytes (a data: URL here).
// @ts-expect-error: no WebAssembly in a spell, nor in its declarations
if (typeof WebAssembly !== "undefined") throw new Error("WebAssembly is reachable");
let ok = true, code = "nil";
// @ts-expect-error: no module to be had from a data: URL
try { await import("data:application/wasm;base64,AGFzbQEAAAA="); } catch (e) { ok = false; code = e.code; }
print(ok, code);
