local function fibtc(n, a, b)
  if n == 0 then return a end
  return fibtc(n - 1, b, a + b)
end
local r = 0
for i = 0, 99999 do
  r = fibtc(35, 0, 1)
end
