// Recursive fib(30): the same code runs under `node` as the baseline (bench/js/run.sh).
function fib(n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
const t0 = Date.now();
const r = fib(30);
const out = `fib(30)=${r} in ${Date.now() - t0} ms`;
if (typeof print === "function") print(out); else console.log(out);
