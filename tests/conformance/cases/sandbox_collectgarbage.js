// The JavaScript analogue of stopping or retuning the collector: there is no gc() (no
// --expose-gc), and the modules that could force a collection or change the collector's flags
// (node:v8's setFlagsFromString, the inspector's HeapProfiler.collectGarbage) cannot be imported.
// @ts-expect-error: no gc() in a spell, nor in its declarations
if (typeof gc !== "undefined" || typeof globalThis.gc !== "undefined") throw new Error("gc is reachable");
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:v8"), ...await imported("node:inspector"));
