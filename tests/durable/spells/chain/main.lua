-- Three steps, each a model call (the fake provider echoes the prompt) and an optional pause
-- after it, so a worker killed at a random moment is often between a call and its step's end.
local p = spell.params
local function step(name)
  return {name = name, run = function(input)
    local r = llm.chat(name .. " " .. p.n .. " <- " .. tostring(input))
    if p.pause > 0 then sleep(p.pause) end
    return r.text
  end}
end
local w = workflow.sequential{name = "chain", steps = {step("a"), step("b"), step("c")}}
local r = w:run("x")
if r.status ~= "completed" then error(r.error.message) end
return r.output
