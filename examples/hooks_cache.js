// A caching hook: an `around` hook on llm.call answers repeated prompts from a map instead of
// calling the model again.
const cache = new Map();
let calls = 0;
hooks.around("llm.call", async (ctx, next) => {
  const key = json.encode(ctx.args.messages);
  if (cache.has(key)) return cache.get(key);
  calls++;
  const result = await next();
  cache.set(key, result);
  return result;
});

for (let i = 0; i < 3; i++) {
  const r = await llm.chat("What is 6 times 7?", {model: "mock/echo"});
  print(r.text);
}
print(`model calls: ${calls}`);
