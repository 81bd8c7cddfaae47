// A handle's native state is in an internal field no script can see; an object made from a
// handle's prototype is not a handle, and a handle's methods refuse any other receiver.
const ch = channel(1);
print("handle metatable:", Object.getOwnPropertyNames(ch).length === 0 ? "locked" : "open");
const proto = Object.getPrototypeOf(ch);
const refused = (f) => {
  try { f(); return false; } catch (e) { return e.code === "invalid_argument"; }
};
const forged = Object.create(proto);
const ok = !(refused(() => forged.len()) && refused(() => proto.len.call({})) &&
             refused(() => proto.len.call(agent.create({name: "other", model: "mock/echo"}))));
print("retyped or forged handle:", ok ? "accepted" : "refused");
