local co = coroutine.wrap(function(x)
  sleep(0.01)
  local y = coroutine.yield(x + 1)
  sleep(0.01)
  return y * 2
end)
print(co(1))
print(co(10))
