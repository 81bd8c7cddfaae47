// Repairing JSON out of a model's reply, and coercing it to a schema where that is unambiguous:
// llm.structured repairs before it spends a retry, and llm.stream with a schema shows the object
// parsed so far while the text is still arriving.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell::llm {

struct RepairedJson {
  Value value;
  std::vector<std::string> repairs;  // "$.path: what was done", in text order; empty = strict JSON
};

// The JSON value in a model's text, repaired: trailing commas, single-quoted strings, unquoted
// keys, // and /* */ comments, a missing comma between members, control characters in strings,
// a truncated value (open strings, arrays and objects closed; a member with no value yet
// dropped), a ```json fence and prose around the value. Empty when no value can be made out.
std::optional<RepairedJson> repairJson(std::string_view text);

// Coerces `v` in place where `schema` leaves one reading: a string holding a number where an
// integer or number is wanted, "true" / "false" where a boolean is, a single value where an
// array is (wrapped). Follows properties, additionalProperties and items. Appends one
// "$.path: coerced ..." line per change to `repairs` (when given).
void coerceToSchema(Value& v, const Value& schema, std::vector<std::string>* repairs,
                    const std::string& path = "$");

}  // namespace llmspell::llm
