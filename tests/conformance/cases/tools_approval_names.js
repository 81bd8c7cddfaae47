// --approve deploy (tools_approval_names.args) approves only the tools named.
tools.define({name: "deploy", requires_approval: true, run: () => "deployed"});
tools.define({name: "wipe", requires_approval: true, run: () => "wiped"});
print(await tools.call("deploy"));
const r = await tools.tryCall("wipe");
print(r.ok, r.error.code);
