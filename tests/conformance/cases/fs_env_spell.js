// fs in a fresh directory under /tmp, env.has, spell.context / config / output, channel close
// and tryRecv, workflow spec.
const show = (label, v) => print(label, json.encode(v, {sort_keys: true}));
const fails = async (label, f) => {
  try { await f(); print(label, true); } catch (e) { print(label, false, e.code); }
};
const dir = "/tmp/llmspell_conformance_fs_" + crypto.uuid();
show("exists_before", fs.exists(dir));
fs.mkdir(dir + "/a/b", {parents: true});
await fails("mkdir_no_parents", () => fs.mkdir(dir + "/x/y"));
show("write", fs.write(dir + "/a/f.txt", "hello"));
show("append", fs.append(dir + "/a/f.txt", " world"));
show("append_new", fs.append(dir + "/a/g.txt", "g"));
show("read", fs.read(dir + "/a/f.txt"));
show("list", fs.list(dir + "/a"));
show("list_details", fs.list(dir + "/a", {details: true})
  .map((d) => d.name + ":" + d.type + (d.type === "file" ? ":" + d.size : "")));
const st = fs.stat(dir + "/a/f.txt");
print("stat", st.type, st.size, st.mtime > 0, st.mode.length);
print("stat_dir", fs.stat(dir + "/a").type);
await fails("stat_missing", () => fs.stat(dir + "/none"));
await fails("remove_nonempty", () => fs.remove(dir + "/a"));
fs.remove(dir + "/a/g.txt");
show("after_remove", fs.list(dir + "/a"));
fs.remove(dir, {recursive: true});
show("exists_after", fs.exists(dir));

print("env", env.has("PATH"), env.has("LLMSPELL_CONFORMANCE_UNSET"));
await fails("env_ungranted", () => env.has("HOME"));

const c = spell.context();
print("context", c.name, c.run_id !== "", c.spell_dir !== "");
show("config", spell.config("a.b", "dflt"));
spell.output({x: 1, y: [true]}, "json");
spell.output("plain text");
spell.output({list: [1, 2]}, "yaml");

const ch = channel(2);
await ch.send("a");
show("try_recv", ch.tryRecv());
show("try_recv_empty", ch.tryRecv());
await ch.send("b");
ch.close();
show("recv_after_close", await ch.recv());
show("recv_closed", await ch.recv());
await fails("send_closed", () => ch.send("c"));

const wf = workflow.sequential({name: "specd", steps: [{name: "s1", run: (x) => x}]});
const spec = wf.spec();
print("spec", spec.name, spec.type, spec.steps.length, spec.steps[0].name);
