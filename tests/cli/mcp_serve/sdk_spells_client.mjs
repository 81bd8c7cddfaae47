// Drives `llmspell mcp serve --spells DIR` with the official MCP TypeScript SDK's client, over
// stdio or Streamable HTTP: the tools of every spell, prefixed with the spell's name, listed and
// called (progress included), each under its own spell's grants.
//   node sdk_spells_client.mjs NODE_MODULES stdio LLMSPELL DIR
//   node sdk_spells_client.mjs NODE_MODULES http URL
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [, , nodeModules, mode, target, dir] = process.argv;
const req = createRequire(path.join(nodeModules, 'x.js'));
const load = async (p) => import(pathToFileURL(req.resolve(p)).href);
const { Client } = await load('@modelcontextprotocol/sdk/client/index.js');

// The SDK hands a notification to its handler a microtask later but settles a response at once,
// so a progress notification read in the same chunk as the call's result never reaches
// `onprogress` (SDK 1.32.2). What the server sent is what is checked here: progress is recorded as
// it reaches the transport.
const progress = [];
const watchProgress = (t) => {
  const deliver = t.onmessage;
  t.onmessage = (m, extra) => {
    if (m.method === 'notifications/progress') progress.push(m.params);
    deliver(m, extra);
  };
};

const client = new Client({ name: 'llmspell-test', version: '1.0.0' });
let transport;
let stderr = '';
if (mode === 'stdio') {
  const { StdioClientTransport } = await load('@modelcontextprotocol/sdk/client/stdio.js');
  transport = new StdioClientTransport({ command: target, args: ['mcp', 'serve', '--spells', dir], stderr: 'pipe' });
  transport.stderr?.on('data', (d) => { stderr += d; });
} else {
  const { StreamableHTTPClientTransport } = await load('@modelcontextprotocol/sdk/client/streamableHttp.js');
  transport = new StreamableHTTPClientTransport(new URL(target));
}
await client.connect(transport);
watchProgress(transport);
const { tools } = await client.listTools();
console.log('tools', tools.map((t) => t.name).join(' '));
const add = await client.callTool({ name: 'beta__add', arguments: { a: 2, b: 3 } });
console.log('add', add.isError, JSON.stringify(add.structuredContent));
const counted = await client.callTool({ name: 'beta__count', arguments: { n: 2 } }, undefined, { onprogress: () => {} });
console.log('progress', progress.map((p) => `${p.progress}/${p.total}`).join(', '), '->', counted.content[0].text);
for (const [tool, file] of [['alpha__read', 'data/note.txt'], ['alpha__read', '/etc/passwd'], ['beta__read', 'alpha/data/note.txt']]) {
  const r = await client.callTool({ name: tool, arguments: { path: file } });
  console.log('read', tool, file, r.isError, r.content[0].text.split(':')[0]);
}
await client.close();
if (mode === 'stdio') console.log('stderr', JSON.stringify(stderr.trim()));
