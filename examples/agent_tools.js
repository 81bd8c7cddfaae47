// An agent with tools: the model asks for tools (two at once here), the agent runs them
// concurrently, sends the results back and the model answers. Offline: the model's turns are
// scripted with the mock provider, so this runs without a key.
llm.configure("mock", {replies: [
  {tool_calls: [{name: "get_weather", arguments: {city: "Edinburgh"}},
                {name: "get_weather", arguments: {city: "Lisbon"}}]},
  {tool_calls: [{name: "calculator", arguments: {expression: "19 - 11"}}]},
  {text: "Lisbon is 8 degrees warmer than Edinburgh."},
]});

tools.define({
  name: "get_weather",
  description: "Current temperature in Celsius for a city",
  parameters: {type: "object", properties: {city: {type: "string"}}, required: ["city"]},
  run: async (args) => {
    await sleep(0.05); // a slow API: both calls of a turn wait at the same time
    const temps = {Edinburgh: 11, Lisbon: 19};
    return {city: args.city, temp_c: temps[args.city]};
  },
});

const a = agent.create({
  name: "weather",
  model: "mock/script",
  system: "You compare the weather of cities.",
  tools: ["get_weather", "calculator"],
  max_iterations: 5,
});
const r = await a.run("How much warmer is Lisbon than Edinburgh?");
for (const c of r.tool_calls) {
  print(`tool ${c.name} ${json.encode(c.arguments)} -> ${json.encode(c.result, {sort_keys: true})}`);
}
print(`answer: ${r.text}`);
print(`status: ${r.status}, iterations: ${r.iterations}`);
