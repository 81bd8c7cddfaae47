// Hooks at tool.call and the tool.call / tool.result events.
tools.define({name: "greet", parameters: {type: "object", properties: {who: {type: "string"}}},
              run: (args) => `hello ${args.who}`});
events.on("tool.*", (e) => {
  if (e.name === "tool.call") print("event tool.call", e.data.name, e.data.args.who ?? "nil");
  else print("event tool.result", e.data.name, e.data.ok, e.data.error ? e.data.error.code : "nil");
});
const id = hooks.before("tool.call", (ctx) => {
  if (ctx.args.name === "greet" && ctx.args.args.who === "bob") {
    ctx.args.args.who = "Robert";
    return ctx;
  }
});
print(await tools.call("greet", {who: "bob"}));
hooks.remove(id);
// An around hook that caches results.
const cache = new Map();
let calls = 0;
hooks.around("tool.call", async (ctx, next) => {
  const key = `${ctx.args.name}:${json.encode(ctx.args.args)}`;
  if (!cache.has(key)) { calls++; cache.set(key, await next()); }
  return cache.get(key);
});
print(await tools.call("greet", {who: "ann"}), await tools.call("greet", {who: "ann"}), calls);
// An after hook changes the result.
hooks.after("tool.call", (ctx) => {
  if (ctx.args.name === "calculator") return {result: {result: ctx.result.result * 10}};
});
print((await tools.call("calculator", {expression: "1 + 2"})).result);
hooks.before("tool.call", (ctx) => ({cancel: "tools are closed"}), {priority: 100});
const r = await tools.tryCall("greet", {who: "ann"});
print(r.ok, r.error.code, r.error.message);
