// The agent loop from a spell: a spell-defined tool that fails, a built-in tool, parallel calls,
// max_iterations, repeated calls, a budget, and a bad config.
llm.configure("mock", {replies: [
  {tool_calls: [{name: "flaky", arguments: {n: 1}}, {name: "calculator", arguments: {expression: "2^10"}}]},
  {text: "1024, and flaky failed"},
]});
tools.define({name: "flaky", description: "fails", parameters: {type: "object", properties: {n: {type: "integer"}}},
              run: (args) => { throw errors.new("provider_error", "flaky is down"); }});
const a = agent.create({name: "a", model: "mock/script", tools: ["flaky", "calculator"]});
const r = await a.run("go");
print(r.status, r.iterations, r.text);
for (const c of r.tool_calls) print(c.name, c.ok, c.ok ? c.result.result : c.error.code);

// max_iterations
let replies = [];
for (let i = 1; i <= 5; i++) replies.push({tool_calls: [{name: "calculator", arguments: {expression: `${i}+1`}}]});
llm.configure("mock", {replies});
const b = agent.create({name: "b", model: "mock/script", tools: ["calculator"], max_iterations: 2});
const rb = await b.run("loop");
print(rb.status, rb.iterations);

// repeated identical calls
replies = [];
for (let i = 1; i <= 5; i++) replies.push({tool_calls: [{name: "calculator", arguments: {expression: "1+1"}}]});
llm.configure("mock", {replies});
const c = agent.create({name: "c", model: "mock/script", tools: ["calculator"], max_repeats: 1});
const rc = await c.run("stuck");
print(rc.status, rc.iterations);

// budget
llm.configure("mock", {replies: [
  {tool_calls: [{name: "calculator", arguments: {expression: "3"}}], usage: {input_tokens: 80, output_tokens: 40}},
  {text: "unreached"},
]});
const d = agent.create({name: "d", model: "mock/script", tools: ["calculator"], budget: {max_tokens: 100}});
const attempt = async (f) => {
  try {
    await f();
    print(true);
  } catch (e) {
    print(false, e.code);
  }
};
await attempt(() => d.run("spend"));

// bad configuration
await attempt(() => agent.create({name: "e", max_iterations: 0}));
await attempt(() => agent.create({name: "f", tools: ["no_such_tool"]}));
print(agent.list().length, agent.get("a").info().name, agent.get("zzz") ?? "nil");
