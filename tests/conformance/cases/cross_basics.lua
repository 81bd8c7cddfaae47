-- The same spell in every engine must print the same thing.
local v = json.decode('{"a":[1,2,3],"b":"x"}')
print(json.encode(v, {sort_keys = true}))
print(text.slugify("Hello, World!"))
print(crypto.hash("abc", "sha256"))
local ok = pcall(json.decode, "{")
print(ok)
