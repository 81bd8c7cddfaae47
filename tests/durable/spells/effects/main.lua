-- A side-effecting tool called inside a step that then fails: resumed, the step runs again but
-- the completed tool call is given back from the journal instead of posting twice.
tools.define{
  name = "post", side_effects = true,
  parameters = {type = "object", properties = {msg = {type = "string"}}},
  run = function(args, ctx)
    state.set("posted", state.get("posted", 0) + 1)
    state.set("key", ctx.idempotency_key)
    return "posted " .. args.msg
  end,
}
local w = workflow.sequential{name = "announce", steps = {
  {name = "post", run = function(x)
    local r = tools.call("post", {msg = x})
    if spell.params.fail == "yes" then error("crashed after posting") end
    return r
  end},
}}
local r = w:run("hello")
if r.status ~= "completed" then error(r.error.message) end
return {output = r.output, posted = state.get("posted"), key = state.get("key")}
