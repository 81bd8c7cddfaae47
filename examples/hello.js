// The smallest spell: print a greeting and return a value (the module's default export).
print("Hello from llmspell!");
export default {greeting: "hello", spell: spell.context().name};
