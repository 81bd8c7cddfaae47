// Drives `llmspell mcp serve SPELL` with the official MCP TypeScript SDK's client over stdio:
// initialize, list the tools, call them (a result, a result after a wait, progress, a tool error,
// bad arguments), then close.   node sdk_client.mjs NODE_MODULES LLMSPELL SPELL
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import path from 'node:path';

const [, , nodeModules, llmspell, spell] = process.argv;
const req = createRequire(path.join(nodeModules, 'x.js'));
const load = async (p) => import(pathToFileURL(req.resolve(p)).href);
const { Client } = await load('@modelcontextprotocol/sdk/client/index.js');
const { StdioClientTransport } = await load('@modelcontextprotocol/sdk/client/stdio.js');

const client = new Client({ name: 'llmspell-test', version: '1.0.0' });
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

const transport = new StdioClientTransport({ command: llmspell, args: ['mcp', 'serve', spell], stderr: 'pipe' });
let stderr = '';
transport.stderr?.on('data', (d) => { stderr += d; });
await client.connect(transport);
watchProgress(transport);
console.log('server', client.getServerVersion().name, client.getServerCapabilities().tools ? 'tools' : 'no tools');
const { tools } = await client.listTools();
console.log('tools', tools.map((t) => `${t.name}(${Object.keys(t.inputSchema.properties ?? {}).join(',')})`).join(' '));
const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
console.log('add', add.isError, add.content[0].text, JSON.stringify(add.structuredContent));
const [x, y] = await Promise.all([
  client.callTool({ name: 'shout', arguments: { text: 'one' } }),
  client.callTool({ name: 'shout', arguments: { text: 'two' } }),
]);
console.log('shout', x.content[0].text, y.content[0].text);
if (tools.some((t) => t.name === 'count')) {
  const counted = await client.callTool({ name: 'count', arguments: { n: 3 } }, undefined, { onprogress: () => {} });
  console.log('progress', progress.map((p) => `${p.progress}/${p.total} ${p.message}`).join(', '), '->', counted.content[0].text);
}
const fail = await client.callTool({ name: 'fail', arguments: {} });
console.log('fail', fail.isError, fail.content[0].text);
const bad = await client.callTool({ name: 'add', arguments: { a: 'x' } });
console.log('bad', bad.isError, bad.content[0].text.split(':')[0]);
try {
  await client.callTool({ name: 'nope', arguments: {} });
  console.log('unknown accepted');
} catch (e) {
  console.log('unknown', e.code);
}
await client.close();
console.log('stderr', JSON.stringify(stderr.trim()));
