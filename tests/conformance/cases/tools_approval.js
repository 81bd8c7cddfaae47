// A tool that requires approval: refused without an approver (no --approve flag).
tools.define({name: "deploy", requires_approval: true,
              parameters: {type: "object", properties: {env: {type: "string"}}},
              run: (args) => `deployed to ${args.env}`});
const r = await tools.tryCall("deploy", {env: "prod"});
print(r.ok, r.error.code);
print(r.error.message);
// A spell-side approver: approvals are bound to the exact arguments.
const asked = [];
tools.setApprover((name, args) => {
  asked.push(`${name}:${args.env}`);
  return args.env !== "prod";
});
print(await tools.call("deploy", {env: "staging"}));
print(await tools.call("deploy", {env: "staging"}));
print((await tools.tryCall("deploy", {env: "prod"})).error.code);
print(asked.join(" "));
