-- Files need grants: this spell may write only under ./out (see spell.yaml) and is refused
-- anywhere else, with an error that names the flag that would allow it.
local dir = spell.context().spell_dir .. "/out"
fs.mkdir(dir, {parents = true})
fs.write(dir .. "/note.txt", "written by a spell\n")
print("read back:", fs.read(dir .. "/note.txt"))
local ok, err = pcall(fs.write, "/tmp/llmspell-escape.txt", "nope")
print("outside the grant:", ok, err.code)
local ok2, err2 = pcall(fs.read, dir .. "/../../../../etc/passwd")
print("traversal:", ok2, err2.code)
fs.remove(dir, {recursive = true})
