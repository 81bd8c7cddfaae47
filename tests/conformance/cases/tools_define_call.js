// A tool defined in the spell: validated call, tryCall, validate, info, list, search.
tools.define({
  name: "add",
  description: "Adds two integers",
  category: "math",
  parameters: {type: "object", properties: {a: {type: "integer"}, b: {type: "integer"}},
               required: ["a", "b"]},
  run: (args, ctx) => ({sum: args.a + args.b, tool: ctx.tool}),
});
const r = await tools.call("add", {a: 2, b: 3});
print("sum", r.sum, r.tool);

let res = await tools.tryCall("add", {a: 2});
print("try_call", res.ok, res.error.code);
print(res.error.message);
res = await tools.tryCall("add", {a: 1, b: 1});
print("try_call", res.ok, res.result.sum);

const v = tools.validate("add", {a: "x", b: 1.5});
print("validate", v.ok, v.errors.length);
for (const e of v.errors) print(`  ${e}`);

const info = tools.info("add");
print("info", info.name, info.category, info.builtin, info.parameters.required[0]);
print("calculator permission:", tools.info("calculator").permission);
print("shell permission:", tools.info("shell").permission);

print("math tools:", tools.list("math").map((t) => t.name).join(", "));
print("defined:", tools.list({builtin: false}).length);
print("search csv:", tools.search("csv")[0].name);

const refused = async (f) => {
  try {
    await f();
    print(true);
  } catch (e) {
    print(false, e.code, e.message);
  }
};
await refused(() => tools.call("ad", {}));
await refused(() => tools.info("calculater"));
await refused(() => tools.define({name: "bad name", run: () => {}}));

// An async tool: run may wait.
tools.define({name: "slow_echo", run: async (args) => { await sleep(0.01); return args.text; },
              parameters: {type: "object", properties: {text: {type: "string"}}}});
print("async:", await tools.call("slow_echo", {text: "hi"}));
print("removed:", tools.remove("slow_echo"), tools.remove("calculator"));
