// mcp.connect against an MCP server written in sh (see mcp_client.lua).
const server = `
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
`;
const c = await mcp.connect({ command: "/bin/sh", args: ["-c", server], prefix: "sh" });
const info = c.info();
console.log(["server", info.server.name, info.protocol_version].join("\t"));
console.log(["tools", info.tools.join(",")].join("\t"));
console.log(["call", (await tools.call("sh.hello", { who: "world" })).text].join("\t"));
try { await tools.call("sh.hello", {}); } catch (e) { console.log(["invalid", false, e.code].join("\t")); }
try { await c.call("fail"); } catch (e) { console.log(["fail", false, e.code, e.message].join("\t")); }
const r = await c.resources();
console.log(["resources", r.length, r[0].uri].join("\t"));
console.log(["read", (await c.read("mem://a"))[0].text].join("\t"));
try { await c.prompts(); } catch (e) { console.log(["prompts", false, e.code, e.message].join("\t")); }
c.close();
let known = true;
try { tools.info("sh.hello"); } catch (e) { known = false; }
console.log(["closed", c.info().closed, known].join("\t"));
