// The peer benchmark's agent workload (../shared/bench/peers/README.md) as a JavaScript spell: the
// same code as the Lua client there (clients/llmspell_agent.lua), so bench/js/run.sh can compare
// the CPU per model call of the two engines in one run.
//
//   llmspell run agent_peer.js --allow-env=FAKE_OPENAI_URL --allow-net=127.0.0.1 \
//       --param n=200 --param c=50 --param stream=1
const PEER = "llmspell-js";
const PROMPT = "What is the weather in Paris, and what is 2+3? Use the tools.";
const EXPECTED = "It is sunny in Paris and 2+3=5.";

const {n, c, stream: s} = spell.params;
if (!Number.isInteger(n) || n < 1 || !Number.isInteger(c) || c < 1 || (s !== 0 && s !== 1))
  throw new Error("usage: llmspell run agent_peer.js --param n=N --param c=C --param stream=0|1");
const stream = s === 1;

llm.configure("openai", {base_url: env.get("FAKE_OPENAI_URL", "http://127.0.0.1:8089/v1")});

const bench = agent.create({
  name: "bench",
  model: "openai/gpt-4o-mini",
  memory: "none",
  max_iterations: 5,
  tools: [
    {
      name: "get_weather",
      description: "Get the current weather for a city.",
      parameters: {type: "object", properties: {city: {type: "string", description: "City name"}},
                   required: ["city"], additionalProperties: false},
      run: (args) => `${args.city}: sunny, 22 C`,
    },
    {
      name: "add",
      description: "Add two numbers and return the sum.",
      parameters: {type: "object", properties: {a: {type: "number"}, b: {type: "number"}},
                   required: ["a", "b"], additionalProperties: false},
      run: (args) => String(args.a + args.b),
    },
  ],
});

async function runOne() {
  if (!stream) return (await bench.run(PROMPT)).text;
  const parts = [];
  await bench.stream(PROMPT, null, (e) => { if (e.type === "text") parts.push(e.text); });
  return parts.join("");
}

const answers = [];
let next = 0;
async function worker() {
  while (next < n) {
    const i = next++;
    answers[i] = await runOne();
  }
}

const t0 = time.monotonic();
await Promise.all(Array.from({length: Math.min(c, n)}, worker));
const wall = time.monotonic() - t0;
const bad = answers.filter((a) => a !== EXPECTED);
print(`{"peer":"${PEER}","n":${n},"c":${c},"stream":${s},"wall_s":${wall.toFixed(4)},"ok":${bad.length === 0}}`);
if (bad.length) throw new Error(`FAIL ${PEER}: ${bad.length}/${n} wrong answers, e.g. ${JSON.stringify(bad[0])}`);
