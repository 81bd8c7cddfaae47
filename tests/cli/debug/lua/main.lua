local function helper(x)
  return x + 1
end
local function worker(n)
  sleep(0.001)
  local doubled = n * 2
  local info = {n = n, tags = {"a", "b"}}
  local more = helper(doubled)
  return more + #info.tags
end
local t = spawn(worker, 20)
local r = await(t)
print("result " .. r)
error("boom at the end")
