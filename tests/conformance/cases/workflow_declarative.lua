-- Declarative workflows: to_json, from_json, from_yaml; steps by name (named workflows of the
-- run, tools), inline workflows, declarative conditions; function steps cannot be rebuilt.
workflow.sequential{name = "trim", steps = {function(s) return (s:gsub("^%s+", ""):gsub("%s+$", "")) end}}
workflow.sequential{name = "shout", steps = {function(s) return s:upper() end}}

local w = workflow.from_yaml([[
type: sequential
name: clean
steps:
  - trim
  - type: conditional
    name: route
    branches:
      - when: {contains: "!"}
        step: {workflow: shout}
    otherwise: {workflow: trim}
]])
print(w:run("  calm  ").output, w:run("  loud!  ").output)
print(w:to_json())
print(workflow.from_json(w:to_json()):to_json() == w:to_json())
print(table.concat(workflow.list(), ","), workflow.get("clean"):name())

local t = workflow.from_json([[{"type": "parallel", "name": "tools", "merge": "object",
  "steps": [{"name": "sum", "tool": "calculator", "args": {"expression": "6 * 7"}},
            {"name": "nap", "tool": "sleep", "args": {"seconds": 0.01}}]}]])
local r = t:run()
print(r.status, r.output.sum.result, r.output.nap.slept)

local fn = workflow.sequential{name = "local", steps = {{name = "f", run = function(x) return x end}}}
local ok, e = pcall(workflow.from_json, fn:to_json())
print(ok, e.code, e.message)
ok, e = pcall(workflow.from_json, '{"type": "loop", "step": "trim", "while": {"kind": "function"}}')
print(ok, e.code, e.message)
r = workflow.from_json('{"type": "sequential", "steps": ["nothing_by_this_name"]}'):run({})
print(r.status, r.error.code)
