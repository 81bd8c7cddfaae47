local n = 0
while true do
  local ok, e = pcall(function() while true do end end)
  n = n + 1
end
