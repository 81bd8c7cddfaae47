// JSON Schema validation over Value: the registry's argument checks, schema.validate, tool
// parameters, agent output_schema and structured output all use this one validator.
#pragma once

#include <string>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell {

// Validates a value against a JSON Schema subset (type, enum, const, minimum, maximum,
// minLength, maxLength, pattern, format, items, minItems, maxItems, properties, required,
// additionalProperties, anyOf, oneOf, allOf, $ref). Returns a list of "path: message" errors
// (empty = valid).
std::vector<std::string> validateSchema(const Value& v, const Value& schema, const std::string& path = "$");

// Paths as the validator writes them: `$.a`, `$["a b"]` (a key that is not an identifier), `$[0]`.
std::string schemaChildPath(const std::string& path, const std::string& key);
std::string schemaIndexPath(const std::string& path, size_t index);

}  // namespace llmspell
