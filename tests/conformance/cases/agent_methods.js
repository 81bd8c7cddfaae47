// Agent methods: tools (add, remove, list), asTool, its own state, stream events, reset,
// delegate, and agent.remove.
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
const a = agent.create({name: "helper", model: "mock/echo", description: "echoes"});
show("tools", a.tools());
show("add_tool", a.addTool("calculator"));
tools.define({name: "shout", description: "upper-cases", parameters: {type: "object", properties: {s: {type: "string"}}},
              run: (args) => args.s.toUpperCase()});
show("add_tool", a.addTool("shout"));
show("tools", a.tools());
show("remove_tool", a.removeTool("calculator"));
show("remove_tool_again", a.removeTool("calculator"));
show("tools", a.tools());
a.set("mood", {level: 3});
show("get", a.get("mood"));
show("get_missing", a.get("nothing"));
await a.run("first");
print("history", a.history().length);
await a.reset();
print("after_reset", a.history().length);
const events = [];
const r = await a.stream("streamed words here", {}, (ev) => {
  events.push(ev.type === "text" ? ev.text : "<" + ev.type + ">");
});
print("stream", r.text, r.status);
print("stream_events", events.join("|"));

const toolName = a.asTool({name: "ask_helper", description: "asks the helper"});
show("as_tool", toolName);
show("as_tool_call", await tools.call("ask_helper", {input: "via tool"}));

llm.configure("mock", {replies: [{text: "delegated answer"}]});
const boss = agent.create({name: "boss", model: "mock/script"});
const worker = agent.create({name: "worker", model: "mock/script"});
const d = await agent.delegate("boss", "worker", "do the thing");
print("delegate", d.text, d.agent);
show("remove", agent.remove("worker"));
show("remove_again", agent.remove("worker"));
print("get_removed", agent.get("worker") == null);
