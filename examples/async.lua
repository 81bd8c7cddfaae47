-- Concurrency without threads: many coroutines wait at once, and the whole run takes about as
-- long as the longest wait.
local started = time.now()
local tasks = {}
for i = 1, 100 do
  tasks[#tasks + 1] = spawn(function()
    sleep(0.05 + (i % 5) * 0.01)
    return i * i
  end)
end
local results = promise.all(tasks)
local sum = 0
for _, v in ipairs(results) do sum = sum + v end
print("tasks:", #results, "sum:", sum)

-- Channels connect producers and consumers.
local ch = channel(4)
spawn(function()
  for i = 1, 5 do ch:send(i) end
  ch:close()
end)
local got = {}
while true do
  local v = ch:recv()
  if v == nil then break end
  got[#got + 1] = v
end
print("received:", table.concat(got, ","))

-- A timeout is an error value a spell can test.
local ok, err = pcall(await, sleep_async(1), 0.05)
print("timed out:", not ok, err.code)
print("elapsed under 1s:", time.since(started) < 1.0)
