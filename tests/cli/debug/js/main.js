function helper(x) {
  return x + 1;
}
async function worker(n) {
  await sleep(0.001);
  const doubled = n * 2;
  const info = {n, tags: ['a', 'b']};
  const more = helper(doubled);
  return more + info.tags.length;
}
const t = spawn(worker, 20);
const r = await t;
print('result ' + r);
throw new Error('boom at the end');
