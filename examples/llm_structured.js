// Structured output: an object that validates against a JSON Schema, repaired when the model
// gets it wrong (the first scripted reply misses a field; the second fixes it).
const schema = {
  type: "object",
  properties: {name: {type: "string"}, level: {type: "integer", minimum: 1}},
  required: ["name", "level"],
};
const wizard = await llm.structured("Invent a wizard.", schema, {model: "mock/script"});
print(`${wizard.name} is level ${wizard.level}`);
print(`models with json_schema support: ${models.find({capabilities: ["json_schema"]}).length}`);
print(`gpt-4o-mini: $${models.info("openai/gpt-4o-mini").input_price} per 1M input tokens`);
