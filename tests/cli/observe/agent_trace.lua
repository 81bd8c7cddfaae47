-- A traced run: a span of the spell's own around an agent whose tools are a spell-defined one
-- (that itself calls a model) and a built-in one.
tools.define{
  name = "summarize",
  description = "Summarizes a text",
  parameters = {type = "object", properties = {text = {type = "string"}}, required = {"text"}},
  run = function(args)
    return llm.chat(args.text, {model = "openai/gpt-4o-mini"}).text
  end,
}
local a = agent.create{name = "helper", model = "openai/gpt-4o-mini", tools = {"summarize", "calculator"}}
local r = trace.span("work", function()
  trace.set_attribute("app.tier", "gold")
  trace.event("started", {n = 1})
  return a:run("go")
end, {["app.step"] = 1})
print(r.status, r.text, trace.context().trace_id)
