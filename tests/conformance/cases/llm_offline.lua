-- The llm calls that run offline (the mock provider), the token counter, the cost table and
-- the model catalog.
local function show(label, v) print(label, json.encode(v, {sort_keys = true})) end
show("use", llm.use("mock/echo"))
show("complete", llm.complete("echo me"))
local b = llm.batch({"one", "two", {{role = "user", content = "three"}}}, {concurrency = 2})
show("batch", {b[1].text, b[2].text, b[3].text})
local cmp = llm.compare("same prompt", {"mock/echo", "mock/echo"})
print("compare", #cmp, cmp[1].model, cmp[1].text, cmp[2].text)
local chunks = {}
local s = llm.stream("alpha beta gamma", {}, function(c) chunks[#chunks + 1] = c.text end)
print("stream", #chunks > 1, table.concat(chunks), s.text, s.finish_reason)
llm.configure("mock", {replies = {{text = "Sure! {name: 'Ann', age: \"41\",}"}}})
local schema = {type = "object", required = {"name", "age"},
                properties = {name = {type = "string"}, age = {type = "integer"}}}
local r = llm.structured("Who?", schema, {model = "mock/script", report = true})
show("structured", r)
local v = llm.embed({"a", "bb"})
print("embed", #v, #v[1] > 0)
local t = llm.count_tokens("hello world, how are you?", {model = "mock/echo"})
print("count_tokens", t.tokens > 0, t.exact, t.model)
print("cost", string.format("%.4f", llm.cost({input_tokens = 1000000, output_tokens = 1000000}, "openai/gpt-4o-mini")))
print("cost_mock", string.format("%.4f", llm.cost({input_tokens = 10, output_tokens = 10}, "mock/echo")))
local ps = llm.providers({probe = false})
local names = {}
for _, p in ipairs(ps) do if p.name == "mock" then names[#names + 1] = p.name .. ":" .. p.kind end end
show("providers", names)
local info = models.info("openai/gpt-4o-mini")
print("models.info", info.id, info.provider, info.context_window > 0)
local list = models.list("anthropic")
print("models.list", #list > 0, list[1].provider)
local found = models.find({provider = "openai", capability = "vision", min_context = 100000})
print("models.find", #found > 0, found[1].provider)
local ok, e = pcall(models.find, {provder = "openai"})
print("models.find_typo", ok, e.code)
local listed = models.refresh("mock")
print("models.refresh", #listed, listed[1].id)
