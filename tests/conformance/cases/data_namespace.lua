-- data: RFC 6902 (Appendix A), RFC 7386 (Appendix A) and RFC 6901 (section 5) examples, then
-- merge, set, query, csv and coerce (cases in data_namespace.json). The same output in every engine.
local cases = json.decode(fs.read("data_namespace.json"))
local function show(label, v) print(label, json.encode(v, {sort_keys = true})) end
for _, c in ipairs(cases.patch) do
  local ok, r = pcall(data.patch, c.doc, json.encode(c.patch))
  if ok then show(c.name, r) else print(c.name, r.code) end
end
for _, c in ipairs(cases.merge) do show(c.name, data.merge_patch(c.doc, c.patch)) end
show("pointer ''", json.encode(data.get(cases.pointer_doc, ""), {sort_keys = true}) == json.encode(cases.pointer_doc, {sort_keys = true}))
for _, p in ipairs(cases.pointers) do show("pointer " .. p, data.get(cases.pointer_doc, p, "absent")) end
local ok, e = pcall(data.get, {}, "foo")
print("pointer without /", e.code)
show("diff", data.diff({a = 1, b = {1, 2}, c = "x"}, {a = 2, b = {1, 2, 3}}))
local from, to = {a = {b = {1, 2}}, k = "v"}, {a = {b = {2}}, n = 3}
show("diff roundtrip", data.patch(from, data.diff(from, to)))
local base = {name = "a", tags = {"x", "y"}, deep = {one = 1, list = {{id = 1}}}}
local over = {tags = {"y", "z"}, deep = {two = 2, list = {{extra = true}}}}
for _, how in ipairs({"replace", "concat", "union", "by_index"}) do show("merge " .. how, data.merge(base, over, {arrays = how})) end
show("base unchanged", base.tags)
show("set", data.set({a = {1}}, "/a/-", 2))
show("set new path", data.set({}, "/x/y", 1))
show("set index", data.set({a = {1, 2}}, "/a/0", "first"))
ok, e = pcall(data.set, {a = 5}, "/a/b", 1)
print("set through number", e.code)
ok, e = pcall(data.set, {}, string.rep("/a", 100000), 1)
print("deep pointer", e.code)
local store = {book = {{title = "A", price = 8}, {title = "B", price = 12}, {title = "C", price = 30}}}
show("query", data.query(store, "$.book[?(@.price > 10)].title"))
show("query all", data.query(store, "$..price"))
show("csv", data.csv_parse('name,note\r\nAda,"says ""hi"", twice"\r\nBob,"two\nlines"\r\n'))
show("csv numbers", data.csv_parse("a;b\n1;2.5\n", {delimiter = ";", numbers = true}))
show("csv lists", data.csv_parse("1,2\n3,4\n", {header = false}))
show("csv format", data.csv_format({{name = "Ada", note = 'says "hi", twice'}, {name = "Bob", note = "two\nlines"}}, {columns = {"name", "note"}}))
show("csv format lists", data.csv_format({{1, "a b"}, {2, " pad"}}, {line_end = "\n"}))
local s = {type = "object", properties = {n = {type = "integer"}, ok = {type = "boolean"}, f = {type = "number"},
  tags = {type = "array", items = {type = "integer"}}, label = {type = "string"}, d = {type = "string", default = "z"}}}
show("coerce", data.coerce({n = "42", ok = "yes", f = " 2.5 ", tags = "3", label = 7}, s))
ok, e = pcall(data.coerce, {n = "abc"}, s)
print("coerce fails", e.code)
show("extract fenced", data.extract_json('Here:\n```json\n{"a": [1, 2]}\n```'))
show("extract span", data.extract_json('The answer is {"ok": true} as asked.'))
show("extract none", data.extract_json("no json here") == nil)
