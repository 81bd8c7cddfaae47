// Module names cannot climb out of the spell's directory, by dots or by slashes.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("../secret.js"), ...await imported("../../../../etc/passwd"));
