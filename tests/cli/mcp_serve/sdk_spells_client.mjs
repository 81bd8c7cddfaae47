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
const { tools } = await client.listTools();
console.log('tools', tools.map((t) => t.name).join(' '));
const add = await client.callTool({ name: 'beta__add', arguments: { a: 2, b: 3 } });
console.log('add', add.isError, JSON.stringify(add.structuredContent));
const seen = [];
const counted = await client.callTool({ name: 'beta__count', arguments: { n: 2 } }, undefined,
  { onprogress: (p) => seen.push(`${p.progress}/${p.total}`) });
console.log('progress', seen.join(', '), '->', counted.content[0].text);
for (const [tool, file] of [['alpha__read', 'data/note.txt'], ['alpha__read', '/etc/passwd'], ['beta__read', 'alpha/data/note.txt']]) {
  const r = await client.callTool({ name: tool, arguments: { path: file } });
  console.log('read', tool, file, r.isError, r.content[0].text.split(':')[0]);
}
await client.close();
if (mode === 'stdio') console.log('stderr', JSON.stringify(stderr.trim()));
