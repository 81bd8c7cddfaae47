// Functions the host calls back may wait on async calls, as the main chunk does: workflow
// function steps (in a sequence and in parallel), a tool's run used by an agent, a spawn body,
// a promise handler and an event handler. Each uses what it waited for.
llm.configure("mock", {replies: [
  {text: "scripted"},
  {tool_calls: [{name: "slow_add", arguments: {a: 2, b: 3}}]},
  {text: "the sum is 5"},
]});
const echo = {model: "mock/echo"};
const seq = workflow.sequential({steps: [
  async (x, ctx) => { await sleep(0.01); return x + " " + (await llm.chat("hi", {model: "mock/script"})).text; },
]});
let r = await seq.run("step:");
print(r.status + " " + r.output);
const par = workflow.parallel({merge: "object", steps: [
  {name: "a", run: async (x, ctx) => { await sleep(0.02); return (await llm.chat(x + "a", echo)).text; }},
  {name: "b", run: async (x, ctx) => { await sleep(0.01); return (await llm.chat(x + "b", echo)).text; }},
]});
r = await par.run("par ");
print(r.status + " " + r.output.a + ", " + r.output.b);
tools.define({name: "slow_add", description: "adds slowly", parameters: {type: "object"},
  run: async (args, ctx) => {
    await sleep(0.01);
    return {sum: args.a + args.b, note: (await llm.chat("added", echo)).text};
  }});
const a = agent.create({name: "adder", model: "mock/script", tools: ["slow_add"]});
const ar = await a.run("add 2 and 3");
print(ar.status + " " + ar.text + " " + String(ar.tool_calls[0].result.sum) + " " + ar.tool_calls[0].result.note);
print(await spawn(async (x) => { await sleep(0.01); return (await llm.chat("spawned " + x, echo)).text; }, 21));
print(await sleep(0.01).then(async (v) => { await sleep(0.01); return (await llm.chat("handled", echo)).text; }));
const ch = channel(1);
events.on("ping", async (e) => { await sleep(0.01); await ch.send((await llm.chat("event " + e.data, echo)).text); });
events.emit("ping", "received");
print(await ch.recv());
