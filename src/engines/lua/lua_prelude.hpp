// Lua source run in a context when a spell first uses the coroutine library: conveniences that
// are simplest in Lua itself. Keep it small; everything script-visible is still in the registry.
#pragma once

namespace llmspell {

// Run on the coroutine library when a spell first uses it, with that library, the sentinel and
// the table library. Host async calls yield a sentinel to the scheduler. A coroutine the spell
// created itself would receive that yield; these wrappers pass it up to the scheduler and pass
// the answer back down, so async calls work inside user coroutines too (OpenResty does the same).
inline const char* const kLuaCoroutinePrelude = R"LUA(
local coroutine, SENTINEL, table = ...
local co_create, co_resume, co_yield, co_status = coroutine.create, coroutine.resume, coroutine.yield, coroutine.status
local pack, unpack = table.pack, table.unpack

local function pass(co, r)
  while r[1] and r[2] == SENTINEL and co_status(co) == "suspended" do
    r = pack(co_resume(co, co_yield(SENTINEL)))
  end
  return r
end

coroutine.resume = function(co, ...)
  local r = pass(co, pack(co_resume(co, ...)))
  return unpack(r, 1, r.n)
end

coroutine.wrap = function(f)
  local co = co_create(f)
  return function(...)
    local r = pass(co, pack(co_resume(co, ...)))
    if not r[1] then error(r[2], 0) end
    return unpack(r, 2, r.n)
  end
end
)LUA";

}  // namespace llmspell
