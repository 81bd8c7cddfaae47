-- mcp.connect against an MCP server written in sh (canned answers in request order), so the
-- case needs no node: pagination, registered tools, validation, isError, resources, a JSON-RPC
-- error, close. The npm reference servers are tested in tests/cli/mcp_test.cpp.
local server = [==[
r() { read -r l || exit 0; }
say() { printf '%s\n' "$1"; }
r; say '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"sh","version":"1"}}}'
r; r; say '{"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"hello","inputSchema":{"type":"object","properties":{"who":{"type":"string"}},"required":["who"]}}],"nextCursor":"p2"}}'
r; say '{"jsonrpc":"2.0","id":3,"result":{"tools":[{"name":"fail","inputSchema":{"type":"object"}}]}}'
r; say '{"jsonrpc":"2.0","id":4,"result":{"content":[{"type":"text","text":"hello, world"}]}}'
r; say '{"jsonrpc":"2.0","id":5,"result":{"content":[{"type":"text","text":"no luck"}],"isError":true}}'
r; say '{"jsonrpc":"2.0","id":6,"result":{"resources":[{"uri":"mem://a","name":"a"}]}}'
r; say '{"jsonrpc":"2.0","id":7,"result":{"contents":[{"uri":"mem://a","text":"A"}]}}'
r; say '{"jsonrpc":"2.0","id":8,"error":{"code":-32601,"message":"no prompts here"}}'
cat >/dev/null
]==]
local c = mcp.connect{command = "/bin/sh", args = {"-c", server}, prefix = "sh"}
local info = c:info()
print("server", info.server.name, info.protocol_version)
print("tools", table.concat(info.tools, ","))
print("call", tools.call("sh.hello", {who = "world"}).text)
local ok, e = pcall(tools.call, "sh.hello", {})
print("invalid", ok, e.code)
ok, e = pcall(c.call, c, "fail")
print("fail", ok, e.code, e.message)
local r = c:resources()
print("resources", #r, r[1].uri)
print("read", c:read("mem://a")[1].text)
ok, e = pcall(c.prompts, c)
print("prompts", ok, e.code, e.message)
c:close()
print("closed", c:info().closed, (pcall(tools.info, "sh.hello")))
