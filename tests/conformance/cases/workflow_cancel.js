// Cancelling a run stops the steps in flight: w.cancel() ends it with status "cancelled";
// a timeout on run() cancels it and the call fails with `timeout`. The 30 s tool sleeps are
// cancelled, so the spell ends at once.
const finished = [];
events.on("workflow.finish", (e) => { finished.push(`${e.data.workflow}=${e.data.status}`); });
const w = workflow.parallel({name: "crawl", steps: [
  {name: "a", tool: "sleep", args: {seconds: 30}},
  workflow.sequential({name: "inner", steps: [{name: "b", tool: "sleep", args: {seconds: 30}}]}),
]});
const p = w.run({});
await sleep(0.02);
print(w.cancel());
const r = await p;
print(r.status, r.steps[0].status, r.steps[1].status, r.steps[1].error.code);
try {
  await w.run({}, {timeout: 0.02});
  print(true);
} catch (e) {
  print(false, e.code);
}
await sleep(0);
print(finished.sort().join(" "));
