// The llm calls that run offline (the mock provider), the token counter, the cost table and
// the model catalog.
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
show("use", llm.use("mock/echo"));
show("complete", await llm.complete("echo me"));
const b = await llm.batch(["one", "two", [{role: "user", content: "three"}]], {concurrency: 2});
show("batch", [b[0].text, b[1].text, b[2].text]);
const cmp = await llm.compare("same prompt", ["mock/echo", "mock/echo"]);
print("compare", cmp.length, cmp[0].model, cmp[0].text, cmp[1].text);
const chunks = [];
const s = await llm.stream("alpha beta gamma", {}, (c) => { chunks.push(c.text); });
print("stream", chunks.length > 1, chunks.join(""), s.text, s.finish_reason);
llm.configure("mock", {replies: [{text: "Sure! {name: 'Ann', age: \"41\",}"}]});
const schema = {type: "object", required: ["name", "age"],
                properties: {name: {type: "string"}, age: {type: "integer"}}};
const r = await llm.structured("Who?", schema, {model: "mock/script", report: true});
show("structured", r);
const v = await llm.embed(["a", "bb"]);
print("embed", v.length, v[0].length > 0);
const t = llm.countTokens("hello world, how are you?", {model: "mock/echo"});
print("count_tokens", t.tokens > 0, t.exact, t.model);
print("cost", llm.cost({input_tokens: 1000000, output_tokens: 1000000}, "openai/gpt-4o-mini").toFixed(4));
print("cost_mock", llm.cost({input_tokens: 10, output_tokens: 10}, "mock/echo").toFixed(4));
const ps = await llm.providers({probe: false});
show("providers", ps.filter((p) => p.name === "mock").map((p) => p.name + ":" + p.kind));
const info = models.info("openai/gpt-4o-mini");
print("models.info", info.id, info.provider, info.context_window > 0);
const list = models.list("anthropic");
print("models.list", list.length > 0, list[0].provider);
const found = models.find({provider: "openai", capability: "vision", min_context: 100000});
print("models.find", found.length > 0, found[0].provider);
try { models.find(/** @type {any} */ ({provder: "openai"})); print("models.find_typo", true); } catch (e) { print("models.find_typo", false, e.code); }
const listed = await models.refresh("mock");
print("models.refresh", listed.length, listed[0].id);
