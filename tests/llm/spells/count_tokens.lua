-- llm.count_tokens: exact for OpenAI models when the tokenizer data is installed, else an estimate.
local a = llm.count_tokens("hello world", {model = "openai/gpt-4o"})
print(a.tokens, a.exact, a.method)
local b = llm.count_tokens("hello world", {model = "openai/gpt-4"})
print(b.tokens, b.exact, b.method)
local c = llm.count_tokens("hello world", {model = "anthropic/claude-sonnet-4-5"})
print(c.tokens, c.exact, c.method)
local d = llm.count_tokens({{role = "system", content = "Be brief."}, {role = "user", content = "hello world"}}, {model = "openai/gpt-4o-mini"})
print(d.tokens, d.exact)
