-- Three steps, each a model call; `fail_at` makes one of them fail after its call (a crash
-- stand-in), so a second run with the same --run-id resumes from it.
local p = spell.params
local function step(name)
  return {name = name, run = function(input)
    local r = llm.chat("write the " .. name .. " about " .. p.topic .. " after: " .. tostring(input))
    if p.fail_at == name then error("crashed in " .. name) end
    return r.text
  end}
end
local w = workflow.sequential{name = "essay", steps = {step("outline"), step("draft"), step("polish")}}
local r = w:run("start")
local replayed = 0
for _, s in ipairs(r.steps) do if s.replayed then replayed = replayed + 1 end end
if r.status ~= "completed" then error(r.error.message) end
return {output = r.output, replayed = replayed, calls = r.usage.total_tokens ~= nil}
