-- opts.report: the value with what was repaired or coerced, and the attempts it took.
local schema = {type = "object", required = {"name", "age"},
                properties = {name = {type = "string"}, age = {type = "integer"}, score = {type = "number"},
                              admin = {type = "boolean"}, tags = {type = "array", items = {type = "string"}}}}
local r = llm.structured("Who?", schema, {model = "openai/gpt-4o-mini", report = true})
print(json.encode(r.value, {sort_keys = true}))
print("attempts=" .. r.attempts)
for _, line in ipairs(r.repairs) do print(line) end
-- Without report the bare value, as before.
local v = llm.structured("Who?", schema, {model = "openai/gpt-4o-mini"})
print("plain name=" .. v.name .. " age=" .. v.age .. " repairs=" .. tostring(v.repairs))
