// A redacting hook: a `before` hook on llm.call removes e-mail addresses and card numbers from
// every message before it leaves the process; an `after` hook on tool.call redacts tool results.
const redact = (s) => s
  .replace(/[\w.\-]+@[\w.\-]+\.[A-Za-z]+/g, "[email]")
  .replace(/\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d{4}/g, "[card]");

hooks.before("llm.call", (ctx) => {
  const msgs = ctx.args.messages;
  if (typeof msgs === "string") {
    ctx.args.messages = redact(msgs);
  } else {
    for (const m of msgs) {
      if (typeof m.content === "string") m.content = redact(m.content);
    }
  }
  return ctx;
});

// mock/echo answers with what the model received.
const r = await llm.chat("Mail ada@example.com, card 4111 1111 1111 1111.", {model: "mock/echo"});
print(`model saw: ${r.text}`);

tools.define({name: "whois", description: "contact for a user",
              parameters: {type: "object", properties: {user: {type: "string"}}},
              run: (args) => `contact: ${args.user}@corp.example.com`});
hooks.after("tool.call", (ctx) => ({result: redact(ctx.result)}));
print(`tool gave: ${await tools.call("whois", {user: "grace"})}`);
