-- --approve all (tools_approval_all.args) approves every call that needs approval.
tools.define{name = "deploy", requires_approval = true,
             run = function(args) return "deployed " .. tostring(args.env) end}
tools.define{name = "wipe", requires_approval = true, run = function() return "wiped" end}
print(tools.call("deploy", {env = "prod"}))
print(tools.call("wipe"))
