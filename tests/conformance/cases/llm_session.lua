-- llm.session: history, trimming to the context window (estimated tokens for mock models),
-- streaming, queued sends, failures that leave the history as it was, save / load.
local s = llm.session({model = "mock/echo", system = "You are terse.", context_window = 60, reserve = 10})
print(s:send("first message here").text)
local h = s:history()
print(#h, h[1].role, h[2].role, h[3].role, h[3].content)
s:send("second")
s:send("third")
h = s:history()
-- The first turn was dropped to fit; the system message stayed.
print(#h, h[1].role, h[2].content, s:trimmed())

-- A message that cannot fit even alone fails and changes nothing.
local ok, e = pcall(s.send, s, string.rep("word ", 100))
print(ok, e.code, #s:history())

-- Streaming a turn.
local chunks = {}
local r = s:stream("alpha beta gamma", function(c) chunks[#chunks + 1] = c.text end)
print(#chunks, table.concat(chunks), r.text)

-- Sends made at once are answered in order.
local s2 = llm.session({model = "mock/echo"})
local p1 = s2:send_async("one")
local p2 = s2:send_async("two")
print(await(p1).text, await(p2).text)
local parts = {}
for _, m in ipairs(s2:history()) do parts[#parts + 1] = m.role .. "=" .. m.content end
print(table.concat(parts, " "))

-- Save and load (the state store).
print(s2:save("llm_session_case") >= 1)
local s3 = llm.session_load("llm_session_case")
print(#s3:history(), s3:history()[4].content)
s3:send("three")
print(#s3:history(), #s2:history())
local ok2, e2 = pcall(llm.session_load, "llm_session_case_missing")
print(ok2, e2.code)

-- clear keeps the system message.
s:clear()
print(#s:history(), s:history()[1].content)

-- A failed call rolls the turn back so it can be retried.
llm.configure("mock", {replies = {{error = {code = "rate_limited", message = "slow down"}}, "retried fine"}})
local s4 = llm.session({model = "mock/script"})
local ok3, e3 = pcall(s4.send, s4, "hi")
print(ok3, e3.code, #s4:history())
print(s4:send("hi").text, #s4:history())

local ok4, e4 = pcall(llm.session, {context_window = "big"})
print(ok4, e4.code)
