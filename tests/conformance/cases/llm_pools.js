// llm.pool strategies with the mock provider (same output as llm_pools.lua).
llm.configure("mock", {replies: ["London", {text: "too late", delay: 2}]});
const c = llm.pool({models: ["mock/echo", "mock/script", "mock/echo"], strategy: "consensus"});
const r = await llm.chat("Paris", {model: c});
print(r.text, r.pool_model, r.consensus.votes, r.consensus.answered, r.consensus.agreement.toFixed(2));
print(r.consensus.answers[1].model, r.consensus.answers[1].text);

const f = llm.pool({models: ["mock/script", "mock/echo"], strategy: "fastest", name: "quick"});
print(f);
const q = await llm.chat("first to answer", {model: f});
print(q.text, q.pool_model);

try {
  llm.pool({models: ["mock/echo"], strategy: "loudest"});
  print(true);
} catch (e) {
  print(false, e.code);
}
