// data: RFC 6902 (Appendix A), RFC 7386 (Appendix A) and RFC 6901 (section 5) examples, then
// merge, set, query, csv and coerce (cases in data_namespace.json). The same output in every engine.
const cases = JSON.parse(/** @type {string} */ (fs.read("data_namespace.json")));
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
const code = (f) => { try { f(); return "no error"; } catch (e) { return e.code; } };
for (const c of cases.patch) {
  try { show(c.name, data.patch(c.doc, json.encode(c.patch))); } catch (e) { print(c.name, e.code); }
}
for (const c of cases.merge) show(c.name, data.mergePatch(c.doc, c.patch));
show("pointer ''", json.encode(data.get(cases.pointer_doc, ""), {sort_keys: true}) == json.encode(cases.pointer_doc, {sort_keys: true}));
for (const p of cases.pointers) show("pointer " + p, data.get(cases.pointer_doc, p, "absent"));
print("pointer without /", code(() => data.get({}, "foo")));
show("diff", data.diff({a: 1, b: [1, 2], c: "x"}, {a: 2, b: [1, 2, 3]}));
const from = {a: {b: [1, 2]}, k: "v"}, to = {a: {b: [2]}, n: 3};
show("diff roundtrip", data.patch(from, data.diff(from, to)));
const base = {name: "a", tags: ["x", "y"], deep: {one: 1, list: [{id: 1}]}};
const over = {tags: ["y", "z"], deep: {two: 2, list: [{extra: true}]}};
for (const how of /** @type {const} */ (["replace", "concat", "union", "by_index"])) show("merge " + how, data.merge(base, over, {arrays: how}));
show("base unchanged", base.tags);
show("set", data.set({a: [1]}, "/a/-", 2));
show("set new path", data.set({}, "/x/y", 1));
show("set index", data.set({a: [1, 2]}, "/a/0", "first"));
print("set through number", code(() => data.set({a: 5}, "/a/b", 1)));
print("deep pointer", code(() => data.set({}, "/a".repeat(100000), 1)));
const store = {book: [{title: "A", price: 8}, {title: "B", price: 12}, {title: "C", price: 30}]};
show("query", data.query(store, "$.book[?(@.price > 10)].title"));
show("query all", data.query(store, "$..price"));
show("csv", data.csvParse('name,note\r\nAda,"says ""hi"", twice"\r\nBob,"two\nlines"\r\n'));
show("csv numbers", data.csvParse("a;b\n1;2.5\n", {delimiter: ";", numbers: true}));
show("csv lists", data.csvParse("1,2\n3,4\n", {header: false}));
show("csv format", data.csvFormat([{name: "Ada", note: 'says "hi", twice'}, {name: "Bob", note: "two\nlines"}], {columns: ["name", "note"]}));
show("csv format lists", data.csvFormat([[1, "a b"], [2, " pad"]], {line_end: "\n"}));
const s = {type: "object", properties: {n: {type: "integer"}, ok: {type: "boolean"}, f: {type: "number"},
  tags: {type: "array", items: {type: "integer"}}, label: {type: "string"}, d: {type: "string", default: "z"}}};
show("coerce", data.coerce({n: "42", ok: "yes", f: " 2.5 ", tags: "3", label: 7}, s));
print("coerce fails", code(() => data.coerce({n: "abc"}, s)));
show("extract fenced", data.extractJson('Here:\n```json\n{"a": [1, 2]}\n```'));
show("extract span", data.extractJson('The answer is {"ok": true} as asked.'));
show("extract none", data.extractJson("no json here") == null);
