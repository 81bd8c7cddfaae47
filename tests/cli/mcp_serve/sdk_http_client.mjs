// Drives `llmspell mcp serve SPELL --http PORT` with the official MCP TypeScript SDK's
// StreamableHTTPClientTransport: list the tools, call one, a call that streams progress, a client
// that gives up mid-call and goes away, then a new client on the same server.
//   node sdk_http_client.mjs NODE_MODULES URL
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [, , nodeModules, url] = process.argv;
const req = createRequire(path.join(nodeModules, 'x.js'));
const load = async (p) => import(pathToFileURL(req.resolve(p)).href);
const { Client } = await load('@modelcontextprotocol/sdk/client/index.js');
const { StreamableHTTPClientTransport } = await load('@modelcontextprotocol/sdk/client/streamableHttp.js');

const connect = async () => {
  const client = new Client({ name: 'llmspell-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url));
  await client.connect(transport);
  return { client, transport };
};

const { client, transport } = await connect();
console.log('session', transport.sessionId ? 'yes' : 'no', client.getServerVersion().name);
const { tools } = await client.listTools();
console.log('tools', tools.map((t) => t.name).join(' '));
const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
console.log('add', add.isError, add.content[0].text);
const seen = [];
const counted = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined,
  { onprogress: (p) => seen.push(`${p.progress}/${p.total} ${p.message}`) });
console.log('progress', seen.join(', '), '->', counted.content[0].text);

// Gives up on a long call at its first progress: the SDK aborts the POST's stream.
const abort = new AbortController();
try {
  await client.callTool({ name: 'count', arguments: { n: 100000 } }, undefined,
    { signal: abort.signal, onprogress: () => abort.abort() });
  console.log('long call finished');
} catch (e) {
  console.log('aborted', e.name ?? e.code);
}
await transport.close();  // goes away without ending the session

// The server goes on: a new client, a new session.
const second = await connect();
console.log('second session', second.transport.sessionId !== transport.sessionId);
const again = await second.client.callTool({ name: 'add', arguments: { a: 40, b: 2 } });
console.log('second add', again.content[0].text);
await second.transport.terminateSession();
try {
  await second.client.listTools();
  console.log('ended session still answers');
} catch (e) {
  console.log('ended session refused');
}
await second.client.close();
