-- data: RFC 6902 (Appendix A), RFC 7386 (Appendix A) and RFC 6901 (section 5) examples, then
-- merge, set, query, csv and coerce. The same cases and output in every engine.
local cases = json.decode([==[
{"patch": [
 {"name": "6902.A1 add member", "doc": {"foo": "bar"}, "patch": [{"op": "add", "path": "/baz", "value": "qux"}]},
 {"name": "6902.A2 add element", "doc": {"foo": ["bar", "baz"]}, "patch": [{"op": "add", "path": "/foo/1", "value": "qux"}]},
 {"name": "6902.A3 remove member", "doc": {"baz": "qux", "foo": "bar"}, "patch": [{"op": "remove", "path": "/baz"}]},
 {"name": "6902.A4 remove element", "doc": {"foo": ["bar", "qux", "baz"]}, "patch": [{"op": "remove", "path": "/foo/1"}]},
 {"name": "6902.A5 replace", "doc": {"baz": "qux", "foo": "bar"}, "patch": [{"op": "replace", "path": "/baz", "value": "boo"}]},
 {"name": "6902.A6 move value", "doc": {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}, "patch": [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]},
 {"name": "6902.A7 move element", "doc": {"foo": ["all", "grass", "cows", "eat"]}, "patch": [{"op": "move", "from": "/foo/1", "path": "/foo/3"}]},
 {"name": "6902.A8 test ok", "doc": {"baz": "qux", "foo": ["a", 2, "c"]}, "patch": [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}]},
 {"name": "6902.A9 test fails", "doc": {"baz": "qux"}, "patch": [{"op": "test", "path": "/baz", "value": "bar"}]},
 {"name": "6902.A10 nested member", "doc": {"foo": "bar"}, "patch": [{"op": "add", "path": "/child", "value": {"grandchild": {"x": 1}}}]},
 {"name": "6902.A11 unknown members ignored", "doc": {"foo": "bar"}, "patch": [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}]},
 {"name": "6902.A12 nonexistent target", "doc": {"foo": "bar"}, "patch": [{"op": "add", "path": "/baz/bat", "value": "qux"}]},
 {"name": "6902.A14 escape order", "doc": {"/": 9, "~1": 10}, "patch": [{"op": "test", "path": "/~01", "value": 10}]},
 {"name": "6902.A15 string vs number", "doc": {"/": 9, "~1": 10}, "patch": [{"op": "test", "path": "/~01", "value": "10"}]},
 {"name": "6902.A16 add array value", "doc": {"foo": ["bar"]}, "patch": [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]},
 {"name": "copy", "doc": {"a": {"b": [1, 2]}}, "patch": [{"op": "copy", "from": "/a", "path": "/c"}]},
 {"name": "all or nothing", "doc": {"a": 1}, "patch": [{"op": "add", "path": "/b", "value": 2}, {"op": "remove", "path": "/zz"}]}
],
"merge": [
 {"name": "7386 1", "doc": {"a": "b"}, "patch": "{\"a\":\"c\"}"},
 {"name": "7386 2", "doc": {"a": "b"}, "patch": "{\"b\":\"c\"}"},
 {"name": "7386 3", "doc": {"a": "b"}, "patch": "{\"a\":null}"},
 {"name": "7386 4", "doc": {"a": "b", "b": "c"}, "patch": "{\"a\":null}"},
 {"name": "7386 5", "doc": {"a": ["b"]}, "patch": "{\"a\":\"c\"}"},
 {"name": "7386 6", "doc": {"a": "c"}, "patch": "{\"a\":[\"b\"]}"},
 {"name": "7386 7", "doc": {"a": {"b": "c"}}, "patch": "{\"a\":{\"b\":\"d\",\"c\":null}}"},
 {"name": "7386 8", "doc": {"a": [{"b": "c"}]}, "patch": "{\"a\":[1]}"},
 {"name": "7386 9", "doc": ["a", "b"], "patch": "[\"c\",\"d\"]"},
 {"name": "7386 10", "doc": {"a": "b"}, "patch": "[\"c\"]"},
 {"name": "7386 12", "doc": {"a": "foo"}, "patch": "\"bar\""},
 {"name": "7386 14", "doc": [1, 2], "patch": "{\"a\":\"b\",\"c\":null}"},
 {"name": "7386 15", "doc": {"x": 1}, "patch": "{\"a\":{\"bb\":{\"ccc\":null}}}"}
],
"pointer_doc": {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5, "k\"l": 6, " ": 7, "m~n": 8},
"pointers": ["/foo", "/foo/0", "/", "/a~1b", "/c%d", "/e^f", "/g|h", "/i\\j", "/k\"l", "/ ", "/m~0n", "/foo/2", "/foo/01", "/nope/x"]
}
]==])
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
