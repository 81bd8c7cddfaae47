// Async calls suspend the spell; host calls return promises to await together.
const p = sleep(0.01);
const q = sleep(0.02);
await p;
await q;
print(await Promise.race([p, "pending"]) === "pending" ? "pending" : "fulfilled");
const ch = channel(2);
await ch.send("one");
await ch.send("two");
print(await ch.recv());
print(ch.len());
