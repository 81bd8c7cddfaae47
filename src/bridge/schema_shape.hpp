// JSON Schemas written as script tables: an empty Lua table is read as an empty object, so
// `required = {}` would reach a provider as "required": {}, which is not a JSON Schema (providers
// that check schemas refuse it). Every schema a script hands the host (tool parameters,
// structured-output schemas, agent output schemas) passes through schemaFromScript, which gives
// each keyword whose value is a list an empty list where the script wrote an empty table.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell {

// `schema` with empty objects turned into empty arrays under the keywords whose value is an
// array (required, enum, allOf, anyOf, oneOf, prefixItems, type, examples), in every
// subschema. Values that need no change are shared, not copied.
Value schemaFromScript(const Value& schema);

// The parameter schema text of an options table whose fields the function checks itself:
// {"type": <typeJson>, "properties": {"<name>": {}, ...}}. Declaring the fields lets the docs and
// `llmspell check` know them (a misspelt option is reported before the spell runs); the empty
// subschemas leave checking the values to the function, whose messages say more.
std::string optionsSchema(const std::vector<std::string_view>& names, std::string_view typeJson = "\"object\"");

}  // namespace llmspell
