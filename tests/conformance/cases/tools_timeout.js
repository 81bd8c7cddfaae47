// A tool's own timeout, and the per-call timeout option.
tools.define({name: "slow", timeout: 0.05, run: async () => { await sleep(5); return "late"; }});
const t0 = time.now();
let r = await tools.tryCall("slow");
print(r.ok, r.error.code, r.error.message);
tools.define({name: "slow2", run: async () => { await sleep(5); return "late"; }});
try {
  await tools.call("slow2", {}, {timeout: 0.05});
  print(true);
} catch (e) {
  print(false, e.code);
}
print("fast enough:", time.now() - t0 < 2);
r = await tools.tryCall("sleep", {seconds: 5}, {timeout: 0.05});
print(r.ok, r.error.code);
