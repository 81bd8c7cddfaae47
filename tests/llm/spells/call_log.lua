-- Three calls for `llmspell logs`: two answered, one failed.
llm.chat("hello", {model = "mock/echo"})
llm.chat("again", {model = "mock/echo"})
llm.configure("mock", {replies = {{error = {code = "rate_limited", message = "slow down"}}}})
print(pcall(llm.chat, "x", {model = "mock/script"}))
