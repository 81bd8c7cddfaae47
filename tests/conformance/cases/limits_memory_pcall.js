// A memory stop cannot be caught: the catch never runs and the spell ends. (One allocation of
// 1 GiB on the heap; an ArrayBuffer is counted too, but its stop message names the buffer.)
let ok = true;
try { new Array(1 << 27).fill(0); } catch { ok = false; }
print("continued", ok);
const t = [];
for (let i = 1; i <= 10; i++) t.push(i);
print("still running");
