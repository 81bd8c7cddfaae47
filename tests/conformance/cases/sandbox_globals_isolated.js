// A spell's globals are its own: it may set one on globalThis (a bare assignment to an
// undeclared name is an error in a module), and the Node globals are not there.
globalThis.x_global = 1;
for (const name of ["require", "process", "module", "Buffer"]) {
  if (typeof globalThis[name] !== "undefined") throw new Error(`${name} is reachable`);
}
let bare = true;
// @ts-expect-error: assigning an undeclared name is the error this checks
try { undeclared_global = 2; } catch (e) { bare = !(e instanceof ReferenceError); }
if (bare) throw new Error("an undeclared name became a global");
print("x_global:", x_global);
