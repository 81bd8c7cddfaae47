// A tool round trip by hand: the model asks for a tool, the spell runs it, the model answers.
// Offline with scripted replies (llm_tools.args passes --mock-replies llm_tools.jsonl).
const toolSpecs = [{
  name: "get_weather",
  description: "Current weather for a city",
  parameters: {type: "object", properties: {city: {type: "string"}}, required: ["city"]},
}];
const getWeather = (args) => ({city: args.city, temp_c: 11});

const messages = [{role: "user", content: "What's the weather in Edinburgh?"}];
let r = await llm.chat(messages, {model: "mock/script", tools: toolSpecs});
while (r.finish_reason === "tool_calls") {
  messages.push(r.message);
  for (const call of r.tool_calls) {
    print(`tool call: ${call.name}(${json.encode(call.arguments)})`);
    messages.push({role: "tool", tool_call_id: call.id, name: call.name,
                   content: json.encode(getWeather(call.arguments))});
  }
  r = await llm.chat(messages, {model: "mock/script", tools: toolSpecs});
}
print(`answer: ${r.text}`);
