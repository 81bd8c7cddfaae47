// The JavaScript analogue of os.remove / os.rename: node:fs and node:fs/promises cannot be
// imported.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:fs"), ...await imported("node:fs/promises"));
