// The JavaScript analogue of dofile / loadfile: running a file outside the spell's directory,
// by path or by file: URL, is refused.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("/etc/passwd"), ...await imported("file:///etc/passwd"));
