// The peer: the official TypeScript SDK's client calling the same stdio server the same way
// (N sequential tools/call "echo" round trips after one warm-up). Prints ms per call.
// ESM ignores NODE_PATH: the SDK is imported from third_party_data/node_modules by path.
const [server, n, mods] = [process.argv[2], Number(process.argv[3] || 1000), process.argv[4]];
const sdk = `${mods}/@modelcontextprotocol/sdk/dist/esm/client`;
const {Client} = await import(`${sdk}/index.js`);
const {StdioClientTransport} = await import(`${sdk}/stdio.js`);
const client = new Client({name: "bench", version: "1"});
await client.connect(new StdioClientTransport({command: server, env: {PATH: process.env.PATH}}));
await client.callTool({name: "echo", arguments: {message: "warm"}});
const t0 = process.hrtime.bigint();
for (let i = 0; i < n; i++) await client.callTool({name: "echo", arguments: {message: "hi " + i}});
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
console.log(`sdk        ${(ms / n).toFixed(3)} ms per tools/call (${n} calls)`);
await client.close();
