-- What repair and coercion cannot fix still costs a retry, which is sent the errors.
local schema = {type = "object", required = {"city", "pop"}, properties = {city = {type = "string"}, pop = {type = "integer"}}}
local r = llm.structured("A city?", schema, {model = "openai/gpt-4o-mini", report = true})
print("city=" .. r.value.city .. " pop=" .. r.value.pop .. " attempts=" .. r.attempts)
for _, line in ipairs(r.repairs) do print(line) end
local ok, e = pcall(llm.structured, "A city?", schema, {model = "openai/gpt-4o-mini", attempts = 2})
print("ok=" .. tostring(ok) .. " code=" .. e.code .. " attempts=" .. e.details.attempts .. " error=" .. e.details.errors[1])
