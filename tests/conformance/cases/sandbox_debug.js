// The JavaScript analogue of the debug library: the inspector (stack frames, breakpoints) and
// async_hooks (a hook on every async step, like debug.sethook) cannot be imported, and a strict
// function cannot reach its caller.
function probe() { return probe.caller; }
let reached = true;
try { probe(); } catch (e) { reached = !(e instanceof TypeError); }
if (reached) throw new Error("a function reached its caller");
const imported = async (name) => {
  try { await import(name); return [true, "nil"]; } catch (e) { return [false, e.code]; }
};
print(...await imported("node:inspector"), ...await imported("node:async_hooks"));
