-- Native structured output (OpenAI json_schema, Anthropic forced tool) and a repair retry.
local schema = {type = "object", properties = {city = {type = "string"}, pop = {type = "integer"}}, required = {"city", "pop"}}
local v = llm.structured("Largest city in France?", schema, {model = "openai/gpt-4o-mini"})
print("openai city=" .. v.city .. " pop=" .. v.pop)
local a = llm.structured("Largest city in Italy?", schema, {model = "anthropic/claude-sonnet-4-5"})
print("anthropic city=" .. a.city .. " pop=" .. a.pop)
local fixed = llm.structured("Largest city in Spain?", schema, {model = "gemini/gemini-2.5-flash"})
print("gemini city=" .. fixed.city .. " pop=" .. fixed.pop)
local ok, e = pcall(llm.structured, "never valid", schema, {model = "ollama/llama3.2", attempts = 2})
print("invalid ok=" .. tostring(ok) .. " code=" .. e.code)
