// Declarative workflows: toJson, fromJson, fromYaml; steps by name (named workflows of the
// run, tools), inline workflows, declarative conditions; function steps cannot be rebuilt.
workflow.sequential({name: "trim", steps: [(s) => s.trim()]});
workflow.sequential({name: "shout", steps: [(s) => s.toUpperCase()]});

const w = workflow.fromYaml(`
type: sequential
name: clean
steps:
  - trim
  - type: conditional
    name: route
    branches:
      - when: {contains: "!"}
        step: {workflow: shout}
    otherwise: {workflow: trim}
`);
print((await w.run("  calm  ")).output, (await w.run("  loud!  ")).output);
print(w.toJson());
print(workflow.fromJson(w.toJson()).toJson() === w.toJson());
print(workflow.list().join(","), workflow.get("clean").name());

const t = workflow.fromJson(`{"type": "parallel", "name": "tools", "merge": "object",
  "steps": [{"name": "sum", "tool": "calculator", "args": {"expression": "6 * 7"}},
            {"name": "nap", "tool": "sleep", "args": {"seconds": 0.01}}]}`);
let r = await t.run();
print(r.status, r.output.sum.result, r.output.nap.slept);

const refused = (f) => {
  try {
    f();
    print(true);
  } catch (e) {
    print(false, e.code, e.message);
  }
};
const fn = workflow.sequential({name: "local", steps: [{name: "f", run: (x) => x}]});
refused(() => workflow.fromJson(fn.toJson()));
refused(() => workflow.fromJson('{"type": "loop", "step": "trim", "while": {"kind": "function"}}'));
r = await workflow.fromJson('{"type": "sequential", "steps": ["nothing_by_this_name"]}').run({});
print(r.status, r.error.code);
