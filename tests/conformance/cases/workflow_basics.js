// Workflows: every kind, with function and table steps, the same in every engine.
const seq = workflow.sequential({name: "seq", steps: [
  (x, ctx) => x + 1,
  {name: "double", run: (x, ctx) => x * 2},
]});
let r = await seq.run(1);
print(`${r.status} ${r.output} ${r.steps[1].name}=${r.steps[1].output}`);

const par = workflow.parallel({merge: "object", max_concurrency: 2, steps: [
  {name: "a", run: async (x, ctx) => { await sleep(0.01); return x + "a"; }},
  {name: "b", run: (x, ctx) => x + "b"},
]});
r = await par.run(">");
print(`${r.output.a} ${r.output.b} ${r.steps.length}`);

r = await workflow.map({concurrency: 2, step: (x, ctx) => x * x}).run([1, 2, 3]);
print(r.output[0] + r.output[1] + r.output[2]);

r = await workflow.loop({times: 3, step: (x, ctx) => x + ctx.index}).run("i");
print(r.output);

const route = workflow.conditional({
  branches: [{when: {path: "n", gt: 10}, step: (x, ctx) => "big"}],
  otherwise: (x, ctx) => "small",
});
print(`${(await route.run({n: 50})).output} ${(await route.run({n: 5})).output}`);

r = await workflow.sequential({on_error: "continue", steps: [
  (x, ctx) => { throw errors.new("provider_error", "boom"); },
  (x, ctx) => x + "!",
]}).run("kept");
print(`${r.status} ${r.output} ${r.steps[0].status} ${r.steps[0].error.code}`);
