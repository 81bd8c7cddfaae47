// Drives `llmspell serve` with the official openai npm client; prints one JSON object of what it
// saw for the gtest to check. Usage: node openai_client.mjs NODE_MODULES_DIR BASE_URL
import { createRequire } from "node:module";
import path from "node:path";

const [, , modules, baseURL] = process.argv;
const require = createRequire(path.join(modules, "noop.js"));
const OpenAI = require("openai");
const client = new OpenAI({ apiKey: "unused", baseURL, maxRetries: 0 });
const out = {};

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const r = await client.chat.completions.create({ model: "echo-agent", messages: [{ role: "user", content: "hello there" }] });
out.create = { content: r.choices[0].message.content, finish: r.choices[0].finish_reason, object: r.object, usage: r.usage };

const stream = await client.chat.completions.create({
  model: "echo-agent", stream: true, stream_options: { include_usage: true },
  messages: [{ role: "user", content: "stream me" }],
});
const deltas = [];
let usage = null, finish = null;
for await (const c of stream) {
  if (c.usage) usage = c.usage;
  if (c.choices.length && c.choices[0].delta.content) deltas.push(c.choices[0].delta.content);
  if (c.choices.length && c.choices[0].finish_reason) finish = c.choices[0].finish_reason;
}
out.stream = { deltas, usage, finish };

const t = await client.chat.completions.create({
  model: "echo-agent",
  messages: [{ role: "user", content: "Paris" }],
  tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }],
});
const call = t.choices[0].message.tool_calls[0];
out.tool = { finish: t.choices[0].finish_reason, name: call.function.name, args: JSON.parse(call.function.arguments), id: call.id };

try {
  await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  out.notFound = "no error";
} catch (e) {
  out.notFound = { typed: e instanceof OpenAI.NotFoundError, status: e.status, code: e.code, type: e.type };
}
try {
  await client.chat.completions.create({ model: "echo-agent", messages: [] });
  out.badRequest = "no error";
} catch (e) {
  out.badRequest = { typed: e instanceof OpenAI.BadRequestError, status: e.status, param: e.param };
}
console.log(JSON.stringify(out));
