// Built-in tools that need no permission.
print((await tools.call("calculator", {expression: "2 * (3 + 4) ^ 2 - sqrt(16)"})).result);
print((await tools.call("calculator", {expression: "x / y", variables: {x: 7, y: 2}})).result);
print((await tools.call("calculator", {expression: "max(1, 2) >= 2"})).result);
let r = await tools.tryCall("calculator", {expression: "1 + (2 * 3"});
print(r.error.code, r.error.message);
r = await tools.tryCall("calculator", {expression: "os.exit(1)"});
print(r.error.message);

const doc = {items: [{name: "a", n: 1}, {name: "b", n: 5}, {name: "c", n: 9}]};
const q = await tools.call("json_query", {data: doc, query: "$.items[?(@.n > 2)].name"});
print(q.count, q.matches.join(","));
print((await tools.call("json_query", {data: '{"x": {"y": [10, 20]}}', query: "$..y[-1]"})).value);

print((await tools.call("text_template", {template: "Hello {{user.name}}, you have {{count}} messages",
                                          vars: {user: {name: "Ada"}, count: 3}})).text);
r = await tools.tryCall("text_template", {template: "{{missing}}", vars: {}});
print(r.error.message);
print((await tools.call("text_template", {template: "[{{missing}}]", vars: {}, missing: "empty"})).text);

const csv = await tools.call("csv_parse", {text: 'name,note\nAda,"likes ""math"", tea"\nBob,plain\n'});
print(csv.count, csv.rows[0].name, csv.rows[0].note, csv.rows[1].note);

print((await tools.call("hash", {data: "hello"})).hash);
print((await tools.call("hash", {data: "hello", algorithm: "md5"})).hash);
print((await tools.call("uuid", {})).uuid.length);

let d = await tools.call("datetime", {operation: "add", date: "2024-02-28T23:30:00Z", amount: {hours: 1}});
print(d.iso, d.weekday);
d = await tools.call("datetime", {operation: "format", date: 86400, offset: "-05:00", format: "%Y/%m/%d %H:%M"});
print(d.iso, d.formatted);
print((await tools.call("datetime", {operation: "diff", date: "2024-01-01", other: "2024-03-01"})).days);
print((await tools.call("sleep", {seconds: 0.01})).slept);
