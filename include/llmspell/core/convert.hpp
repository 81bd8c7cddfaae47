// Exact conversions between Value and JSON / YAML text and trees.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell {

struct JsonOptions {
  bool pretty = false;
  bool sortKeys = false;
  int indent = 2;
};

// True when `s` is well-formed UTF-8: no stray continuation bytes, no truncated sequences, no
// overlong forms, no surrogates, nothing past U+10FFFF (what JSON encoders accept as text).
bool isValidUtf8(std::string_view s);

// Value -> JSON. Bytes become base64 strings, errors become their object form, functions,
// promises and handles raise invalid_argument (they have no JSON form). Integers stay integers;
// doubles that are NaN or infinite raise invalid_argument. Throws Exception.
nlohmann::json toJson(const Value& v);
std::string toJsonText(const Value& v, const JsonOptions& opts = {});
// A string and a number appended to `out` in JSON, as toJsonText writes them (for JSON text
// built by hand: a serve worker's frames).
void appendJsonString(std::string& out, std::string_view s);
void appendJsonDouble(std::string& out, double d);

// JSON -> Value. Object key order is kept. Integers that fit int64 stay int; larger become double.
Value fromJson(const nlohmann::json& j);
// Parses JSON text; a syntax error raises invalid_argument naming line and column.
// `maxNodes` (0 = no bound) bounds the size of the result as parseYaml's does: one per value or
// key, one more per 64 bytes of a string; past it, limit_exceeded.
Value parseJson(std::string_view text, size_t maxNodes = 0);

// YAML -> Value (core schema: null, booleans, ints, floats, strings; sequences, mappings in
// document order). Parse errors raise invalid_argument with line and column.
// `maxNodes` bounds the size of the result, which aliases can make far larger than the text
// (an "alias bomb"): every node counts one, a scalar (or mapping key) one more per 64 bytes of
// its text, and an alias counts again each time it is expanded. Past it, limit_exceeded.
// 0 = yamlDefaultMaxNodes(text.size()), which a document without aliases never reaches.
Value parseYaml(std::string_view text, size_t maxNodes = 0);
size_t yamlDefaultMaxNodes(size_t textBytes);
// Value -> YAML text (block style).
std::string toYamlText(const Value& v);

}  // namespace llmspell
