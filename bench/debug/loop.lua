-- A CPU-bound loop for the debugger-overhead benchmark (run.sh): function calls, arithmetic and
-- table work, so that a call hook pays its worst case.
local function step(x, i)
  return (x * 7 + i) % 1000003
end
local t = {}
local s = 0
for i = 1, 3000000 do
  s = step(s, i)
  t[i % 64 + 1] = s
end
print(s, #t)
