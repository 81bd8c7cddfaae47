// Files need grants: this spell may write only under ./out (see spell.yaml) and is refused
// anywhere else, with an error that names the flag that would allow it.
const dir = spell.context().spell_dir + "/out";
await fs.mkdir(dir, {parents: true});
await fs.write(dir + "/note.txt", "written by a spell\n");
print("read back:", await fs.read(dir + "/note.txt"));
const refused = async (f) => {
  try { await f(); return [true, "nil"]; } catch (err) { return [false, err.code]; }
};
print("outside the grant:", ...await refused(() => fs.write("/tmp/llmspell-escape.txt", "nope")));
print("traversal:", ...await refused(() => fs.read(dir + "/../../../../etc/passwd")));
await fs.remove(dir, {recursive: true});
