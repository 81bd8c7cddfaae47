// A step's timeout stops the script's own step function too: it never gets to print.
const w = workflow.sequential({on_error: "continue", steps: [
  {name: "slow", timeout: 0.05, run: async () => { await sleep(0.2); print("should not print"); }},
]});
const r = await w.run(1);
await sleep(0.3);
print(r.steps[0].status, r.steps[0].error.code);
