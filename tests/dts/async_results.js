// Promises: spawn, sleep, recvAny, the promise namespace and native Promise.all side by side.
import { double } from './lib.js';

const tasks = [1, 2, 3].map((i) => spawn(async () => {
  await sleep(0.01 * i);
  return i * i;
}));
const squares = await Promise.all(tasks);
const again = await promise.all([spawn(() => 4), Promise.resolve(5)]);
print(squares.join(','), again.join(','));

const fast = channel(1);
const slow = channel(1);
spawn(async () => { await sleep(0.01); await fast.send('first'); });
const got = await recvAny([slow, fast], 1);
print(got === null ? 'timeout' : `${got.index}:${got.value}`);
print(await recvAny([slow], 0.01));

const results = await tools.parallel([
  { name: 'calculator', args: { expression: '6*7' } },
]);
print(results.length, results[0].ok);
const first = await errors.fallback([
  async () => { throw new LlmspellError('not now', 'unavailable', true); },
  async () => 'second',
]);
print(first);

export default { doubled: double(21), squares };
