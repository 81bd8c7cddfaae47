-- An async call's uncaught error names the line that made it.
print("before")
local r = llm.chat("hi", {model = "openai/gpt-4o-mini"})
