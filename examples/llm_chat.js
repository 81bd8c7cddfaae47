// Chatting with a model: one call, a streamed call, and the usage/cost of each.
// Runs offline on mock/echo; pass --model openai/gpt-4o-mini (with OPENAI_API_KEY) for real.
const model = spell.config("model", "mock/echo");
const r = await llm.chat("Tell me about spells.", {model, system: "Answer in one sentence."});
print(`reply: ${r.text}`);
print(`finish: ${r.finish_reason}, tokens: ${r.usage.total_tokens}`);

let pieces = 0;
const final = await llm.stream("streaming word by word", {model}, (chunk) => { pieces++; });
print(`streamed ${pieces} chunks: ${final.text}`);
