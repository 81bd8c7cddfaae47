-- A redirect and a web page where the provider's API should be: each is named and not retried.
local function try(label, f, ...)
  local ok, e = pcall(f, ...)
  print(label, ok, e.code, e.retryable, e.message)
end
local m = {model = "openai/gpt-4o-mini"}
try("post 302", llm.chat, "hi", m)
try("stream 307", llm.stream, "hi", m, function() end)
try("stream html", llm.stream, "hi", m, function() end)
try("post html", llm.chat, "hi", m)
