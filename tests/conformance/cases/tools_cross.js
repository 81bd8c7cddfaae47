// Tools from JavaScript: the same registry functions as in Lua and Tengo.
tools.define({
  name: "add",
  parameters: {type: "object", properties: {a: {type: "integer"}, b: {type: "integer"}}, required: ["a", "b"]},
  run: (args, ctx) => ({sum: args.a + args.b, tool: ctx.tool}),
});
const r = await tools.call("add", {a: 2, b: 3});
print(`sum ${r.sum} from ${r.tool}`);
const t = await tools.tryCall("add", {a: 1});
print(`try_call ${t.ok} ${t.error.code}`);
print(`calculator ${(await tools.call("calculator", {expression: "2 ^ 10"})).result}`);
try {
  await tools.call("nope", {});
} catch (e) {
  print(`unknown true ${e.code}`);
}
print(`pipeline ${(await tools.pipeline(["add", {tool: "calculator", args: {expression: "1 + 1"}}], {a: 1, b: 1})).result}`);
