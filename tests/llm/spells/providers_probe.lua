-- llm.providers() probes every ready provider's model-list endpoint at once.
llm.configure("down", {kind = "openai-compatible", base_url = "http://127.0.0.1:1/v1"})
local seen = {}
for _, p in ipairs(llm.providers({probe_timeout = 1})) do seen[p.name] = p end
local function show(n)
  local p = seen[n]
  print(n, p.ready, p.reachable, p.status, p.error ~= nil, type(p.latency_ms))
end
show("openai")
show("down")
show("mock")
show("groq")
local quiet = llm.providers({probe = false})
print(#quiet > 0, quiet[1].reachable)
