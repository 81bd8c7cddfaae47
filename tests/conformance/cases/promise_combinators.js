// Promise combinators and handlers: all, allSettled, race, any, catch, finally.
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
const later = async (v, s) => { await sleep(s); return v; };
const fails = async (label, f) => {
  try { await f(); print(label, true); } catch (e) { print(label, false, e.code); }
};
show("all", await promise.all([promise.resolve(1), later(2, 0.02), promise.new((res) => res(3))]));
await fails("all_rejects", () => promise.all([promise.resolve(1), promise.reject(errors.new("not_found", "gone"))]));
const settled = await promise.allSettled([promise.resolve("a"), promise.reject(errors.new("timeout", "slow"))]);
print("all_settled", settled[0].status, settled[0].value, settled[1].status, settled[1].error.code);
const never = promise.new(() => {});
show("race", await promise.race([never, later("fast", 0.01)]));
await fails("race_rejects", () => promise.race([promise.reject(errors.new("cancelled", "first")), later("x", 0.05)]));
show("any", await promise.any([promise.reject(errors.new("timeout", "a")), later("b", 0.01)]));
await fails("any_all_reject", () => promise.any([promise.reject(errors.new("timeout", "a")), promise.reject(errors.new("timeout", "b"))]));
// Host promises are native Promises in JavaScript: catch and finally are the language's own.
const caught = promise.reject(errors.new("not_found", "nope")).catch((err) => "caught " + err.code);
show("catch", await caught);
show("catch_fulfilled", await promise.resolve(7).catch(() => 0));
const log = [];
let fin = promise.resolve("kept").finally(() => { log.push("finally ran"); });
show("finally", await fin);
fin = promise.reject(errors.new("timeout", "t")).finally(() => { log.push("finally on rejection"); });
await fails("finally_rejects", () => fin);
show("log", log);
