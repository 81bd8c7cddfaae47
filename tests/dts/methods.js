// Host objects and their camelCase methods; results of async methods are awaited.
const a = agent.create({ name: 'helper', model: 'mock/echo', system: 'Answer briefly.' });
const run = await a.run('What is 2 + 2?', { max_iterations: 2 });
print(run.status, typeof run.text, a.tools().length, a.info().name);
a.set('topic', 'math');
const twin = a.clone({ name: 'twin' });
print(twin.get('topic'), a.get('topic'));

const w = workflow.sequential({
  name: 'double_then_describe',
  steps: [
    { name: 'double', run: async (input) => input * 2 },
    { name: 'describe', run: (n) => `got ${n}` },
  ],
});
const res = await w.run(21);
print(w.name(), res.status, res.output, res.steps.length, res.steps[0].name);

const ch = channel(2);
await ch.send('one');
print(ch.len(), await ch.recv(), ch.tryRecv());
ch.close();

const s = llm.session({ model: 'mock/echo', system: 'Be brief.' });
const reply = await s.send('hi');
print(typeof reply.text, s.history().length);
