local function add(a, b)
  local s = a + b
  return s
end
local t = {x = 1, list = {1, 2, 3}}
local total = 0
for i = 1, 3 do
  total = add(total, i)
end
local co = coroutine.wrap(function(k)
  local inner = k * 10
  coroutine.yield(inner)
end)
co(4)
local function fail(msg)
  local why = "because " .. msg
  error(why)
end
fail("no reason")
