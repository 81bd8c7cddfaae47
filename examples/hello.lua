-- The smallest spell: print a greeting and return a value.
print("Hello from llmspell!")
return {greeting = "hello", engine = spell.context().engine}
