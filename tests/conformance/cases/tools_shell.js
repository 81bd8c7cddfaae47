// shell runs a program without a shell (tools_shell.args: --allow-run).
let r = await tools.call("shell", {command: ["echo", "hello", "$HOME"]});
print(r.exit_code, r.stdout);
r = await tools.call("shell", {command: "printf '%s-%s' 'a b' c"});
print(r.stdout);
r = await tools.call("shell", {command: ["sh", "-c", "echo oops >&2; exit 4"]});
print(r.exit_code, r.stderr);
r = await tools.call("shell", {command: ["cat"], stdin: "from stdin"});
print(r.stdout);
let t = await tools.tryCall("shell", {command: ["sleep", "10"], timeout: 0.2});
print(t.ok, t.error.code, t.error.message);
t = await tools.tryCall("shell", {command: ["definitely-not-a-command"]});
print(t.ok, t.error.code, t.error.message);
