-- A caching hook: an `around` hook on llm.call answers repeated prompts from a table instead of
-- calling the model again.
local cache, calls = {}, 0
hooks.around("llm.call", function(ctx, next)
  local key = json.encode(ctx.args.messages)
  if cache[key] then return cache[key] end
  calls = calls + 1
  local result = next()
  cache[key] = result
  return result
end)

for _ = 1, 3 do
  local r = llm.chat("What is 6 times 7?", {model = "mock/echo"})
  print(r.text)
end
print("model calls: " .. calls)
