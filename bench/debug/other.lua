-- Not loaded by loop.lua: run.sh sets a breakpoint here ("a breakpoint in an unrelated file").
local function unrelated()
  return 1
end
return unrelated
