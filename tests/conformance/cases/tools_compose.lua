-- Composition and checking helpers.
tools.register_library{
  double = {parameters = {type = "object", properties = {n = {type = "number"}}, required = {"n"}},
            run = function(a) return {n = a.n * 2} end, category = "demo"},
  inc = {run = function(a) return {n = a.n + 1} end, category = "demo"},
}
print(tools.call("double", {n = 4}).n, tools.call("inc", {n = 4}).n)
print(tools.pipeline({"double", "inc", "double"}, {n = 1}).n)
print(tools.pipeline({
  {tool = "calculator", args = {expression = "6 * 7"}},
  function(r) return {n = r.result} end,
  "inc",
}).n)
local f = tools.compose({"inc", "inc", "double"})
print(f({n = 0}).n)
local ok, e = pcall(tools.pipeline, {"double", "nope"}, {n = 1})
print(ok, e.code, e.message)
local res = tools.parallel({
  {tool = "double", args = {n = 5}},
  {tool = "sleep", args = {seconds = 0.01}},
  {tool = "double", args = {}},
}, {max_concurrency = 2})
for _, r in ipairs(res) do
  print(r.name, r.ok, r.ok and json.encode(r.result) or r.error.code)
end
local t = tools.test("double", {
  {args = {n = 2}, expect = {n = 4}},
  {args = {n = 2}, expect = {n = 5}, name = "wrong on purpose"},
  {args = {}, expect_error = "validation_failed"},
})
print(t.passed, t.failed, t.total)
print(t.results[2].name, t.results[2].message)
local b = tools.benchmark("inc", {n = 1}, 20)
print(b.n, b.errors, b.min_ms <= b.p50_ms and b.p50_ms <= b.max_ms)
print(#tools.list("demo"))
