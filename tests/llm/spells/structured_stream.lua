-- llm.stream with a schema: each chunk carries the value parsed so far; the result its output.
local schema = {type = "object", required = {"city", "pop"},
                properties = {city = {type = "string"}, pop = {type = "integer"}, tags = {type = "array", items = {type = "string"}}}}
local last
local r = llm.stream("A city?", {model = "openai/gpt-4o-mini", schema = schema}, function(chunk)
  local p = chunk.partial == nil and "nil" or json.encode(chunk.partial, {sort_keys = true})
  if p ~= last then print("partial " .. p) end
  last = p
end)
print("output " .. json.encode(r.output, {sort_keys = true}) .. " text=" .. #r.text)
local ok, e = pcall(llm.stream, "A city?", {model = "openai/gpt-4o-mini", schema = schema}, function() end)
print("invalid ok=" .. tostring(ok) .. " code=" .. e.code)
local n, final = 0, nil
for chunk in llm.stream("A city?", {model = "openai/gpt-4o-mini", schema = schema}) do
  if chunk.partial then n = n + 1; final = chunk.partial end
end
print("iterator partials=" .. n .. " city=" .. final.city .. " pop=" .. final.pop)
