-- An agent with a spell-defined tool and a built-in one, run against a real provider protocol.
tools.define{
  name = "lookup",
  description = "Looks up a city's population in millions",
  parameters = {type = "object", properties = {city = {type = "string"}}, required = {"city"}},
  run = function(args)
    sleep(0.01)
    local pop = {Paris = 2.1, Rome = 2.8}
    if not pop[args.city] then error({code = "not_found", message = "no data for " .. args.city}) end
    return pop[args.city]
  end,
}
local a = agent.create{name = "geo", system = "Answer with numbers.",
                       tools = {"lookup", "calculator"}, max_iterations = 5}
local r = a:run("Sum the populations of Paris and Rome")
print("status=" .. r.status .. "\titerations=" .. r.iterations .. "\ttext=" .. r.text)
for _, c in ipairs(r.tool_calls) do
  print(c.name .. "\t" .. tostring(c.ok) .. "\t" .. json.encode(c.result or c.error.code))
end
print("history=" .. #a:history())
