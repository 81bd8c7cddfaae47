// A CPU-bound loop for the debugger-overhead benchmark (run.sh js): function calls, arithmetic
// and array work. Ten times loop.lua's iterations: V8 compiles it to machine code, and the loop
// must outweigh starting the process.
function step(x, i) {
  return (x * 7 + i) % 1000003;
}
const t = [];
let s = 0;
for (let i = 1; i <= 30000000; i++) {
  s = step(s, i);
  t[i % 64] = s;
}
print(s, t.length);
