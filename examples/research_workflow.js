// A research workflow: fetch three sources at the same time, then have an agent summarize them.
// Runs offline: the fetches are simulated with sleep (swap in tools.call("web_fetch", ...) and
// --allow-net for real pages), and the model is mock/script with scripted replies. Pass
// --model openai/gpt-4o-mini (with OPENAI_API_KEY) for a real summary.
const model = spell.config("model", "mock/script");
if (model === "mock/script") {
  llm.configure("mock", {replies: [
    {text: "Spells are short scripts; workflows compose their steps; agents call tools.",
     usage: {input_tokens: 42, output_tokens: 14}},
  ]});
}

const sources = [
  {name: "spells", url: "https://example.org/spells", delay: 0.05,
   text: "A spell is a short script that drives models."},
  {name: "workflows", url: "https://example.org/workflows", delay: 0.08,
   text: "Workflows run steps in sequence or in parallel."},
  {name: "agents", url: "https://example.org/agents", delay: 0.03,
   text: "Agents loop between a model and its tools."},
];

// One fetch step per source; each waits like a network call would. `inFlight` counts the
// fetches waiting at the same moment.
let inFlight = 0, mostInFlight = 0;
const fetches = sources.map((s) => ({name: s.name, timeout: 5, on_error: {retry: 1}, run: async (topic) => {
  inFlight++;
  mostInFlight = Math.max(mostInFlight, inFlight);
  await sleep(s.delay);
  inFlight--;
  return {url: s.url, text: s.text};
}}));

// The summarizer is an agent; as a workflow step it gets the previous step's output as its
// input and passes on its answer text (its tokens count in the run's usage).
const summarizer = agent.create({name: "summarizer", model,
                                 system: "Summarize research notes in one sentence."});

const research = workflow.sequential({name: "research", steps: [
  workflow.parallel({name: "fetch", steps: fetches, merge: "object"}),
  {name: "notes", run: (pages) => {
    const notes = ["spells", "workflows", "agents"].map((name) => `- ${pages[name].text} (${pages[name].url})`);
    return "Summarize these notes:\n" + notes.join("\n");
  }},
  summarizer,
]});

let eventsSeen = 0;
events.on("workflow.step", () => { eventsSeen++; });

const r = await research.run("llmspell");

print(`status: ${r.status}`);
print(`summary: ${r.output}`);
for (const s of r.steps) {
  print(`step ${s.name}: ${s.status}`);
  for (const inner of s.steps ?? []) print(`  ${inner.name}: ${inner.status}`);
}
// The three fetches overlapped: all three were waiting at once.
print(`fetches in flight together: ${mostInFlight}`);
print(`tokens: ${r.usage.total_tokens}`);
await sleep(0);
print(`workflow.step events: ${eventsSeen}`);
