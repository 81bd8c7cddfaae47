// The JavaScript analogue of async_order.lua: host promises are native Promises (no :status()),
// (a sleeps 30 times longer than b: under load, starting a task can take longer than 10 ms)
// so a settled/pending check races the promise against an already-resolved marker.
const marker = Symbol("pending");
const state = async (p) => (await Promise.race([p, marker])) === marker ? "pending" : "fulfilled";

const order = [];
const a = spawn(async () => { await sleep(0.3); order.push("a"); });
const b = spawn(async () => { await sleep(0.01); order.push("b"); });
await a; await b;
print(order.join(","));
const p = new Promise((resolve) => resolve(42));
print(await p, await state(p));
const chained = Promise.resolve(1).then((v) => v + 1);
print(await chained);
try {
  await Promise.reject(errors.new("not_found", "gone"));
  print(true);
} catch (e) {
  print(false, e.code);
}
// The language's own functions are untouched by the async globals.
const count = (...args) => args.length;
print(count(1, 2, 3), ["a", "b"].slice(1).join("\t"));
const c1 = channel(1), c2 = channel(1);
await c2.send("from c2");
const got = await recvAny([c1, c2], 1);
print(got.index, got.value);
// An async function's call starts it and returns its promise at once.
const double = async (x) => { await sleep(0.01); return x * 2; };
const pr = double(21);
print(await state(pr), await pr);
