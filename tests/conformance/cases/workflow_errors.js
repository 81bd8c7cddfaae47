// Workflow failures are results (status "failed", the step's error), bad configurations are
// invalid_argument errors naming the field, retries and timeouts follow on_error.
let tries = 0;
let r = await workflow.sequential({name: "retrying", steps: [
  {name: "flaky", on_error: {retry: 2, backoff: 0.001}, run: (x, ctx) => {
    tries++;
    if (ctx.attempt < 3) throw errors.new("rate_limited", "busy");
    return `${x} after ${ctx.attempt}`;
  }},
]}).run("done");
print(r.status, r.output, tries, r.steps[0].attempts);

r = await workflow.sequential({name: "stops", steps: [
  (x) => x,
  {name: "broken", run: (x) => { throw errors.new("provider_error", "upstream down"); }},
  (x) => "never",
]}).run("x");
print(r.status, r.output ?? "nil", r.steps.length, r.error.code, r.error.message, r.error.details.step);

r = await workflow.parallel({name: "fanout", steps: [
  {name: "slow", tool: "sleep", args: {seconds: 30}},
  {name: "fails", run: async () => { await sleep(0.01); throw errors.new("timeout", "gave up"); }},
]}).run({});
print(r.status, r.steps[0].status, r.steps[1].status, r.error.code);

r = await workflow.sequential({steps: [{name: "slow", timeout: 0.02, tool: "sleep", args: {seconds: 30}}]}).run();
print(r.status, r.error.code, r.error.message);

r = await workflow.loop({name: "spin", step: (x) => x + 1, until_: (x) => false, max_iterations: 3}).run(0);
print(r.status, r.error.code, r.error.message, r.steps.length);

const refused = (f, arg) => {
  try {
    f(arg);
    print(true);
  } catch (e) {
    print(false, e.code, e.message);
  }
};
refused(workflow.sequential, {steps: [true]});
refused(workflow.sequential, {name: "t", steps: [{name: "x"}]});
refused(workflow.parallel, {name: "dup", merge: "object", steps: [{name: "a", run: print}, {name: "a", run: print}]});
refused(workflow.loop, {step: print, times: 3, items: [1]});
refused(workflow.map, {step: print, concurrency: 0});
refused(workflow.sequential, {steps: [], on_error: {retry: "twice"}});
refused(workflow.conditional, {branches: [{step: print}]});
