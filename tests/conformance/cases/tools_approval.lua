-- A tool that requires approval: refused without an approver (no --approve flag).
tools.define{name = "deploy", requires_approval = true,
             parameters = {type = "object", properties = {env = {type = "string"}}},
             run = function(args) return "deployed to " .. args.env end}
local r = tools.try_call("deploy", {env = "prod"})
print(r.ok, r.error.code)
print(r.error.message)
-- A spell-side approver: approvals are bound to the exact arguments.
local asked = {}
tools.set_approver(function(name, args)
  asked[#asked + 1] = name .. ":" .. args.env
  return args.env ~= "prod"
end)
print(tools.call("deploy", {env = "staging"}))
print(tools.call("deploy", {env = "staging"}))
print(tools.try_call("deploy", {env = "prod"}).error.code)
print(table.concat(asked, " "))
