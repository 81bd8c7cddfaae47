-- llm calls pass through the llm.call hook point and emit llm.request / llm.response events.
local seen = {}
events.on("llm.*", function(e) seen[#seen + 1] = e.name end)
hooks.before("llm.call", function(ctx)
  ctx.args.opts.model = "openai/gpt-4o-mini"  -- redirect every call
  return ctx
end)
local r = llm.chat("hooked call", {model = "mock/echo"})
print(r.provider, r.text)
sleep(0.01)
print(table.concat(seen, ","))
hooks.before("llm.call", function(ctx) return {cancel = "no calls today"} end)
local ok, e = pcall(llm.chat, "hi", {model = "mock/echo"})
print(ok, e.code, e.message)
