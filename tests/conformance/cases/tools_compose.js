// Composition and checking helpers.
tools.registerLibrary({
  double: {parameters: {type: "object", properties: {n: {type: "number"}}, required: ["n"]},
           run: (a) => ({n: a.n * 2}), category: "demo"},
  inc: {run: (a) => ({n: a.n + 1}), category: "demo"},
});
print((await tools.call("double", {n: 4})).n, (await tools.call("inc", {n: 4})).n);
print((await tools.pipeline(["double", "inc", "double"], {n: 1})).n);
print((await tools.pipeline([
  {tool: "calculator", args: {expression: "6 * 7"}},
  (r) => ({n: r.result}),
  "inc",
])).n);
const f = tools.compose(["inc", "inc", "double"]);
print((await f({n: 0})).n);
try {
  await tools.pipeline(["double", "nope"], {n: 1});
  print(true);
} catch (e) {
  print(false, e.code, e.message);
}
const res = await tools.parallel([
  {tool: "double", args: {n: 5}},
  {tool: "sleep", args: {seconds: 0.01}},
  {tool: "double", args: {}},
], {max_concurrency: 2});
for (const r of res) print(r.name, r.ok, r.ok ? json.encode(r.result) : r.error.code);
const t = await tools.test("double", [
  {args: {n: 2}, expect: {n: 4}},
  {args: {n: 2}, expect: {n: 5}, name: "wrong on purpose"},
  {args: {}, expect_error: "validation_failed"},
]);
print(t.passed, t.failed, t.total);
print(t.results[1].name, t.results[1].message);
const b = await tools.benchmark("inc", {n: 1}, 20);
print(b.n, b.errors, b.min_ms <= b.p50_ms && b.p50_ms <= b.max_ms);
print(tools.list("demo").length);
