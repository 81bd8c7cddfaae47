// The JavaScript analogue of package.loadlib: native addons load through process.dlopen or
// node:module's createRequire; there is no process and node:module cannot be imported.
// @ts-expect-error: no process in a spell, nor in its declarations
if (typeof process !== "undefined") throw new Error("process is reachable");
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:module"));
