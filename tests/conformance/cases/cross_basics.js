// The same spell in every engine must print the same thing.
const v = json.decode('{"a":[1,2,3],"b":"x"}');
print(json.encode(v, {sort_keys: true}));
print(text.slugify("Hello, World!"));
print(crypto.hash("abc", "sha256"));
let ok = true;
try { json.decode("{"); } catch { ok = false; }
print(ok);
