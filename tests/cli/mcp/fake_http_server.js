// A small Streamable HTTP MCP server for the GET stream's reconnection: the first GET stream
// sends one notification with event id e1 (and retry: 10) and ends; the next GET must carry
// Last-Event-ID, which its notification names. Prints "listening on port N" when ready.
//   node fake_http_server.js
const http = require('node:http');

let gets = 0;
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', () => {
    if (req.method === 'POST') {
      const msg = JSON.parse(body);
      if (msg.id === undefined) {
        res.writeHead(202).end();
        return;
      }
      const result = msg.method === 'initialize'
        ? { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 'fake-http', version: '1' } }
        : {};
      res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'session-1' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: msg.id, result }));
    } else if (req.method === 'GET') {
      const note = (data) => `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data } })}\n\n`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      gets += 1;
      if (gets === 1) {
        res.end(`retry: 10\nid: e1\n${note(`first stream, session ${req.headers['mcp-session-id']}`)}`);
      } else {
        res.write(`id: e${gets}\n${note(`stream ${gets}, last-event-id ${req.headers['last-event-id']}`)}`);
      }
    } else {
      res.writeHead(200).end();
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(`listening on port ${server.address().port}`));
