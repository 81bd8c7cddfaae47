// The JavaScript analogue of os.execute: node:child_process cannot be imported.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:child_process"));
