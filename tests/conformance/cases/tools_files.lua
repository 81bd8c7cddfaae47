-- File tools inside a read grant (tools_files.args: --allow-read=. --allow-write=/tmp).
local r = tools.call("file_read", {path = "tools_files.args"})
print(r.size > 0, r.encoding)
-- Only the non-source files, so that the listing is the same whichever engines have a source here.
local list = tools.call("file_list", {path = ".", pattern = "tools_files.[ae]*"})
for _, e in ipairs(list.entries) do print(e.name, e.type) end
local found = tools.call("file_search", {path = ".", glob = "tools_files.lua", pattern = "^-- File tools"})
print("matches:", #found.matches, found.matches[1].line)
-- Outside the grant: the path is checked.
local t = tools.try_call("file_read", {path = "/etc/hostname"})
print(t.ok, t.error.code)
-- `..` enough times to reach "/" from any checkout depth (`..` of "/" is "/").
t = tools.try_call("file_read", {path = ("../"):rep(64) .. "etc/hostname"})
print(t.ok, t.error.code)
local w = tools.call("file_write", {path = "/tmp/llmspell_tools_files_case.txt", content = "written"})
print(w.bytes)
