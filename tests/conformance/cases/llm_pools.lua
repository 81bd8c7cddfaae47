-- llm.pool strategies with the mock provider.
llm.configure("mock", {replies = {"London", {text = "too late", delay = 2}}})
local c = llm.pool({models = {"mock/echo", "mock/script", "mock/echo"}, strategy = "consensus"})
local r = llm.chat("Paris", {model = c})
print(r.text, r.pool_model, r.consensus.votes, r.consensus.answered, string.format("%.2f", r.consensus.agreement))
print(r.consensus.answers[2].model, r.consensus.answers[2].text)

local f = llm.pool({models = {"mock/script", "mock/echo"}, strategy = "fastest", name = "quick"})
print(f)
local q = llm.chat("first to answer", {model = f})
print(q.text, q.pool_model)

local ok, e = pcall(llm.pool, {models = {"mock/echo"}, strategy = "loudest"})
print(ok, e.code)
