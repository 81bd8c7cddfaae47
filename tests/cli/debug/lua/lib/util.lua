local M = {}
function M.twice(x)
  local y = x * 2
  return y
end
return M
