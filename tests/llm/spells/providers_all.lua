-- The same call through every provider kind.
for _, m in ipairs({"openai/gpt-4o-mini", "anthropic/claude-sonnet-4-5", "gemini/gemini-2.5-flash", "ollama/llama3.2", "openai-compatible/qwen"}) do
  local r = llm.chat("echo " .. m, {model = m, max_tokens = 50})
  print(m .. " -> " .. r.text .. " [" .. r.finish_reason .. "]")
end
