// agent.collaborate with order = "moderator": before each turn the moderator names who speaks
// next (or DONE); a reply naming nobody gives the turn to the next in order; the moderator
// writes the final answer. The mock replies come in the order the calls are made.
llm.configure("mock", {replies: [
  {text: "Critic, please start."},          // moderator: pick
  {text: "The claim needs a source."},      // critic
  {text: "writer"},                         // moderator: pick
  {text: "Added: see the docs."},           // writer
  {text: "Hmm, let me think."},             // moderator: names nobody -> critic (after writer)
  {text: "Fine by me."},                    // critic
  {text: "DONE, the writer and critic agree."},  // moderator: done
  {text: "Final: sourced claim."},          // moderator: final answer
]});
const writer = agent.create({name: "writer", model: "mock/script"});
const critic = agent.create({name: "critic", model: "mock/script"});
const chair = agent.create({name: "chair", model: "mock/script"});
const r = await agent.collaborate([writer, critic], "Write one claim.", {rounds: 2, moderator: chair, order: "moderator"});
for (const t of r.transcript) print(t.round, t.agent, t.text);
print(r.text);
print(chair.history()[0].content.includes("The participants are: writer, critic"));

// The turn budget (rounds x agents) ends the discussion without a DONE.
llm.configure("mock", {replies: [
  {text: "writer"}, {text: "w1"}, {text: "writer"}, {text: "w2"}, {text: "final"},
]});
const solo = agent.create({name: "solo_chair", model: "mock/script"});
const r2 = await agent.collaborate([writer], "Go.", {rounds: 2, moderator: solo, order: "moderator"});
print(r2.transcript.length, r2.transcript[1].round, r2.text);

for (const bad of [{order: "moderator"}, {order: "random", moderator: chair}]) {
  try {
    await agent.collaborate([writer], "x", bad);
    print(true);
  } catch (e) {
    print(false, e.code, e.message);
  }
}
