// File tools inside a read grant (tools_files.args: --allow-read=. --allow-write=/tmp).
const r = await tools.call("file_read", {path: "tools_files.args"});
print(r.size > 0, r.encoding);
// Only the non-source files, so that the listing is the same whichever engines have a source here.
const list = await tools.call("file_list", {path: ".", pattern: "tools_files.[ae]*"});
for (const e of list.entries) print(e.name, e.type);
const found = await tools.call("file_search", {path: ".", glob: "tools_files.js", pattern: "^// File tools"});
print("matches:", found.matches.length, found.matches[0].line);
// Outside the grant: the path is checked.
let t = await tools.tryCall("file_read", {path: "/etc/hostname"});
print(t.ok, t.error.code);
// `..` enough times to reach "/" from any checkout depth (`..` of "/" is "/").
t = await tools.tryCall("file_read", {path: "../".repeat(64) + "etc/hostname"});
print(t.ok, t.error.code);
const w = await tools.call("file_write", {path: "/tmp/llmspell_tools_files_case.txt", content: "written"});
print(w.bytes);
