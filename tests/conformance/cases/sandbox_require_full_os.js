// No internal module is reachable from a spell: neither a name like Lua's __os_full nor Node's
// node:os.
const reachable = async (name) => {
  try { await import(name); return true; } catch (e) { return e.code !== "permission_denied"; }
};
print("__os_full:", (await reachable("__os_full")) || (await reachable("node:os")) ? "reachable" : "unreachable");
