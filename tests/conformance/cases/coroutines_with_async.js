// The JavaScript analogue of coroutines_with_async.lua: an async generator suspends on host
// awaits and on yield, and resumes with the value passed to next().
async function* co(x) {
  await sleep(0.01);
  const y = yield x + 1;
  await sleep(0.01);
  return y * 2;
}
const g = co(1);
print((await g.next()).value);
print((await g.next(10)).value);
