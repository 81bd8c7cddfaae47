-- Identical tool calls: within one turn they run once and answer every call id; across turns
-- the repeat guard stops the run and says why.
local runs = 0
tools.define{
  name = "lookup",
  description = "Looks up a city's population in millions",
  parameters = {type = "object", properties = {city = {type = "string"}}, required = {"city"}},
  run = function(args)
    runs = runs + 1
    return ({Paris = 2.1})[args.city]
  end,
}
local a = agent.create{name = "geo", tools = {"lookup"}, max_iterations = 5, max_repeats = 2, memory = "none"}
local r = a:run("Population of Paris?")
print("status=" .. r.status .. "\ttext=" .. r.text .. "\truns=" .. runs .. "\terror=" .. tostring(r.error))
for _, c in ipairs(r.tool_calls) do print(c.name, c.ok, json.encode(c.result)) end

runs = 0
local r2 = a:run("Population of Paris?")
print("status=" .. r2.status .. "\truns=" .. runs .. "\titerations=" .. r2.iterations)
print("text=" .. r2.text)
print("error=" .. r2.error.code .. ": " .. r2.error.message)
