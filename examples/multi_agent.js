// Several agents: a writer and a critic discuss a task for two rounds and an editor
// (the moderator) writes the final answer; then the editor delegates a follow-up to the
// writer. Offline: each agent's turns come from the mock script, in the order they speak.
llm.configure("mock", {replies: [
  {text: "Draft: llmspell runs spells."},                          // writer, round 1
  {text: "Say what a spell is."},                                  // critic, round 1
  {text: "Draft: llmspell runs scripts that drive LLMs."},         // writer, round 2
  {text: "Good. Mention the three languages."},                    // critic, round 2
  {text: "llmspell runs Lua, JavaScript and Tengo scripts that drive LLMs."},  // editor
  {text: "Spells are small scripts."},                             // writer, delegated
]});

const writer = agent.create({name: "writer", model: "mock/script", system: "You write one sentence."});
const critic = agent.create({name: "critic", model: "mock/script", system: "You criticise briefly."});
const editor = agent.create({name: "editor", model: "mock/script", system: "You decide."});

const r = await agent.collaborate([writer, critic], "Describe llmspell in one sentence.",
                                  {rounds: 2, moderator: editor});
for (const turn of r.transcript) print(`round ${turn.round} ${turn.agent}: ${turn.text}`);
print(`final: ${r.text}`);

const d = await agent.delegate("editor", "writer", "Define a spell in five words.");
print(`${d.from} -> ${d.to}: ${d.text}`);
print(`agents: ${agent.list().length}`);
