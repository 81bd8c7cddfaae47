-- --approve deploy (tools_approval_names.args) approves only the tools named.
tools.define{name = "deploy", requires_approval = true, run = function() return "deployed" end}
tools.define{name = "wipe", requires_approval = true, run = function() return "wiped" end}
print(tools.call("deploy"))
local r = tools.try_call("wipe")
print(r.ok, r.error.code)
