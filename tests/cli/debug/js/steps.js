function add(a, b) {
  const s = a + b;
  return s;
}
const t = {x: 1, list: [1, 2, 3]};
let total = 0;
for (let i = 1; i <= 3; i++) {
  total = add(total, i);
}
function* gen(k) {
  const inner = k * 10;
  yield inner;
}
gen(4).next();
function fail(msg) {
  const why = 'because ' + msg;
  throw new LlmspellError(why, 'script_error');
}
fail('no reason');
