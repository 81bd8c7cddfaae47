// The JavaScript analogue of io.open: the file system modules cannot be imported.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
// @ts-expect-error: no require in a spell, nor in its declarations
if (typeof require !== "undefined") throw new Error("require is reachable");
print(...await imported("node:fs"));
