// A small MCP server over stdio for what the reference servers do not do on demand: paginated
// tools/list, tools/list_changed, a request that never answers (timeout and cancellation), a
// crash in the middle of a call, and ignoring SIGTERM and stdin EOF (the client must still kill
// it). Written against the protocol text, not an SDK, so each behaviour is explicit.
"use strict";
const stubborn = process.argv.includes("--stubborn");
if (stubborn) process.on("SIGTERM", () => {});
setInterval(() => {}, 1 << 30);  // stays alive after stdin closes: the client must end it
let extra = false;
const cancelled = [];
const send = (m) => process.stdout.write(JSON.stringify(m) + "\n");
const tool = (name) => ({name, description: "fake " + name, inputSchema: {type: "object"}});
let buf = "";
process.stdin.on("data", (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf("\n")) >= 0) {
    const line = buf.slice(0, i);
    buf = buf.slice(i + 1);
    if (line.trim()) handle(JSON.parse(line));
  }
});
process.stdin.on("end", () => {});
function handle(m) {
  if (m.method === "notifications/cancelled") { cancelled.push(m.params.requestId); return; }
  if (m.id === undefined) return;
  const ok = (result) => send({jsonrpc: "2.0", id: m.id, result});
  switch (m.method) {
    case "initialize":
      return ok({protocolVersion: m.params.protocolVersion, capabilities: {tools: {listChanged: true}},
                 serverInfo: {name: "fake", version: "1"}});
    case "tools/list": {
      const pages = [["one", "two"], ["crash", "slow", "cancelled", "bump"].concat(extra ? ["three"] : [])];
      const page = m.params && m.params.cursor === "p2" ? 1 : 0;
      const r = {tools: pages[page].map(tool)};
      if (page === 0) r.nextCursor = "p2";
      return ok(r);
    }
    case "tools/call": {
      const name = m.params.name;
      const text = (t) => ok({content: [{type: "text", text: t}]});
      if (name === "crash") { process.stderr.write("fake server: deliberate crash\n"); process.exit(3); }
      if (name === "slow") return;  // never answers
      if (name === "cancelled") return text(JSON.stringify(cancelled));
      if (name === "bump") { extra = true; send({jsonrpc: "2.0", method: "notifications/tools/list_changed"}); return text("bumped"); }
      if (name === "two") return ok({content: [{type: "text", text: "bad input"}], isError: true});
      return text(name + " " + JSON.stringify(m.params.arguments));
    }
    default:
      return send({jsonrpc: "2.0", id: m.id, error: {code: -32601, message: "no " + m.method}});
  }
}
