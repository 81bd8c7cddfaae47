// The JavaScript analogue of string.dump: serialising compiled code (node:v8's serializer and
// code cache) is out of reach; node:v8 cannot be imported.
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:v8"));
