// An agent's own hooks (config `hooks`): they run for that agent's runs, model calls and tool
// calls only, can rewrite tool arguments and wrap calls, travel with a clone, and a bad spec is
// refused with a message naming the field.
let seen = [];
llm.configure("mock", {replies: [
  {tool_calls: [{name: "calculator", arguments: {expression: "6*7"}}]},
  {text: "42"},
  {text: "plain"},
  {text: "cloned"},
]});
const a = agent.create({name: "hooked", model: "mock/script", tools: ["calculator"], hooks: {
  "agent.run": {before: (ctx) => { seen.push(`run ${ctx.args.input}`); }},
  "llm.call": {after: (ctx) => { seen.push(`llm ${ctx.result.text}`); }},
  "tool.call": {
    before: (ctx) => {
      seen.push(`tool ${ctx.args.name}`);
      ctx.args.args.expression = "6*7+1";
      return ctx;
    },
    around: async (ctx, next) => {
      const r = await next();
      seen.push(`around ${r.result}`);
      return r;
    },
  },
}});
const r = await a.run("what is six times seven?");
print(r.text, r.tool_calls[0].result.result);
// Another agent, and a plain call, are not hooked.
const b = agent.create({name: "plain", model: "mock/script"});
print((await b.run("hi")).text);
for (const s of seen) print(s);
seen = [];
const c = a.clone({name: "copy"});
print((await c.run("again")).text, seen.length, seen[0], seen[1]);
for (const bad of [
  {hooks: 5},
  {hooks: {"state.set": {before: print}}},
  {hooks: {"llm.call": {during: print}}},
  {hooks: {"llm.call": {before: 1}}},
]) {
  bad.model = "mock/script";
  try {
    agent.create(bad);
    print(true);
  } catch (e) {
    print(false, e.code, e.message);
  }
}
