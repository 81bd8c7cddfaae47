// An event-driven spell: handlers react to events, one waits for an event with a timeout, and
// the runtime's own events (llm.response here) arrive on the same bus.
let orders = 0;
events.on("order.*", (e) => {
  orders++;
  print(`handler: ${e.name} #${e.data.id}`);
});
events.once("order.created", (e) => print(`first order only: #${e.data.id}`));

let tokens = 0;
events.on("llm.response", (e) => { tokens += e.data.usage.total_tokens; });

// A producer running on its own; the main flow waits for the shipment.
spawn(async () => {
  for (let id = 1; id <= 3; id++) {
    events.emit("order.created", {id});
    await sleep(0.01);
  }
  events.emit("order.shipped", {id: 3});
});
const shipped = await events.wait("order.shipped", {timeout: 5});
print(`waited for: ${shipped.name} #${shipped.data.id}`);

await llm.chat("ping", {model: "mock/echo"});
await sleep(0); // let the handlers run
print(`orders seen: ${orders}, llm tokens seen: ${tokens > 0 ? "yes" : "no"}`);
try {
  await events.wait("never.happens", {timeout: 0.05});
} catch (err) {
  print(`wait timeout: ${err.code}`);
}
