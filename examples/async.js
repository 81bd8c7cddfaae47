// Concurrency without threads: many async functions wait at once, and the whole run takes about
// as long as the longest wait.
const started = time.now();
const tasks = [];
for (let i = 1; i <= 100; i++) {
  tasks.push(spawn(async () => {
    await sleep(0.05 + (i % 5) * 0.01);
    return i * i;
  }));
}
const results = await Promise.all(tasks);
const sum = results.reduce((a, b) => a + b, 0);
print("tasks:", results.length, "sum:", sum);

// Channels connect producers and consumers.
const ch = channel(4);
spawn(async () => {
  for (let i = 1; i <= 5; i++) await ch.send(i);
  ch.close();
});
const got = [];
for (;;) {
  const v = await ch.recv();
  if (v === null) break;
  got.push(v);
}
print("received:", got.join(","));

// A timeout is an error value a spell can test.
const timeout = (p, seconds) => Promise.race([p, sleep(seconds).then(() => {
  throw errors.new("timeout", `timed out after ${seconds}s`);
})]);
let err;
try { await timeout(sleep(1), 0.05); } catch (e) { err = e; }
print("timed out:", err !== undefined, err.code);
print("elapsed under 1s:", time.since(started) < 1.0);
