-- The smallest spell: print a greeting and return a value.
print("Hello from llmspell!")
return {greeting = "hello", spell = spell.context().name}
