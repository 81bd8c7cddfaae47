-- N sequential tools/call "echo" round trips to a stdio MCP server after one warm-up (the same
-- work as sdk_client.mjs). Prints ms per call.
local p = spell.params
local server, n = p.server, tonumber(p.n or 1000)
local c = mcp.connect{command = server, env = {PATH = p.path}}
c:call("echo", {message = "warm"})
local t0 = time.monotonic()
for i = 1, n do c:call("echo", {message = "hi " .. i}) end
local ms = (time.monotonic() - t0) * 1000
print(string.format("llmspell   %.3f ms per tools/call (%d calls)", ms / n, n))
c:close()
