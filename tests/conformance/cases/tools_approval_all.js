// --approve all (tools_approval_all.args) approves every call that needs approval.
tools.define({name: "deploy", requires_approval: true, run: (args) => `deployed ${args.env}`});
tools.define({name: "wipe", requires_approval: true, run: () => "wiped"});
print(await tools.call("deploy", {env: "prod"}));
print(await tools.call("wipe"));
