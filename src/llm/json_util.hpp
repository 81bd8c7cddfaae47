// Small helpers shared by the codecs: Value <-> nlohmann::ordered_json (key order kept, so request
// bodies read like the provider docs), safe field access, base64.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell::llm {

using ojson = nlohmann::ordered_json;

ojson toOjson(const Value& v);
Value fromOjson(const ojson& j);
// Parses JSON text; throws Exception(provider_error) naming `what` on malformed input.
ojson parseOjson(std::string_view text, std::string_view what);

// Compact JSON text of `j`, byte for byte what j.dump() gives, about twice as fast on request
// bodies: nlohmann's serializer runs every string byte through its UTF-8 decoder, while this one
// copies runs of plain ASCII at once (written by hand because no packaged serializer works on
// nlohmann values; request bodies are half the CPU of a call). Invalid UTF-8 is left to
// nlohmann, so it fails the same way.
std::string dumpJson(const ojson& j);

// j[key] as a string when it is one, else "".
std::string str(const ojson& j, std::string_view key);
// j[key] as an int when it is a number, else dflt.
int64_t num(const ojson& j, std::string_view key, int64_t dflt = 0);
// Pointer to j[key] when j is an object holding key (and it is not null), else nullptr.
const ojson* field(const ojson& j, std::string_view key);

std::string base64Encode(std::string_view raw);
// Returns false on invalid input.
bool base64Decode(std::string_view b64, std::string& out);

// Splits a data: URL ("data:image/png;base64,....") into media type and raw bytes.
bool parseDataUrl(std::string_view url, std::string& mediaType, std::string& bytes);

}  // namespace llmspell::llm
