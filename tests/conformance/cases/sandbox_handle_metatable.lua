-- A handle's metatable is locked: a spell can neither read nor replace it, so it cannot retype
-- a handle or forge one from a table.
local ch = channel(1)
print("handle metatable:", getmetatable(ch))
local ok, err = pcall(setmetatable, ch, {})
assert(not ok and err:find("table expected, got channel", 1, true), err)
print("retyped or forged handle:", ok and "accepted" or "refused")
