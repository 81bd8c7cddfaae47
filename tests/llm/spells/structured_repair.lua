-- Damaged JSON in the reply is repaired without asking the model again (attempts = 1: a retry
-- would fail the call).
local schema = {type = "object", required = {"city", "pop"},
                properties = {city = {type = "string"}, pop = {type = "integer"}, tags = {type = "array", items = {type = "string"}}}}
local kinds = {"trailing comma", "single quotes", "unquoted keys", "comments", "truncated object", "truncated array",
               "code fence", "prose"}
for _, kind in ipairs(kinds) do
  local v = llm.structured("A city?", schema, {model = "openai/gpt-4o-mini", attempts = 1})
  print(kind .. ": city=" .. v.city .. " pop=" .. v.pop .. " tags=" .. table.concat(v.tags or {}, ","))
end
