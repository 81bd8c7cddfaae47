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
// How many texts parseOjson() has parsed on this thread: the codec test checks that the stream
// fast paths leave none of the common events (text and tool-call deltas) to a second parse.
uint64_t parseOjsonCount();

// Compact JSON text of `j`, byte for byte what j.dump() gives, about twice as fast on request
// bodies: nlohmann's serializer runs every string byte through its UTF-8 decoder, while this one
// copies runs of plain ASCII at once (written by hand because no packaged serializer works on
// nlohmann values; request bodies are half the CPU of a call). Invalid UTF-8 is left to
// nlohmann, so it fails the same way.
std::string dumpJson(const ojson& j);

// Writes JSON text straight into a string, for request bodies: no tree is built, and the bytes
// are exactly what building the ordered_json tree and dumpJson() gave (the codec test compares
// the two over varied requests). Hand-written because no packaged library writes JSON from our
// own values: Debian's simdjson (3.0.1) serializes only documents it parsed (its builder API
// came in 4.x), and nlohmann only its own trees. Commas are placed by one flag: after any value (or container end) the next member
// or element needs one; after an opening bracket or a key it does not.
class JsonOut {
 public:
  explicit JsonOut(std::string& out) : out_(out) {}
  JsonOut& beginObject() { return open('{'); }
  JsonOut& endObject() { return close('}'); }
  JsonOut& beginArray() { return open('['); }
  JsonOut& endArray() { return close(']'); }
  JsonOut& key(std::string_view k);
  JsonOut& str(std::string_view s);
  JsonOut& integer(int64_t n);
  JsonOut& number(double d);  // nlohmann's shortest round-trip form ("0.7", "1.0", "null" for NaN)
  JsonOut& boolean(bool b);
  JsonOut& null();
  // A Value as toOjson() would send it (bytes as base64; functions and handles fail).
  JsonOut& value(const Value& v);
  // JSON text already serialized (a value from dumpJson or the provider).
  JsonOut& raw(std::string_view json);
  std::string& buffer() { return out_; }

 private:
  JsonOut& open(char c) {
    sep();
    out_ += c;
    comma_ = false;
    return *this;
  }
  JsonOut& close(char c) {
    out_ += c;
    comma_ = true;
    return *this;
  }
  void sep() {
    if (comma_) out_ += ',';
    comma_ = true;
  }
  std::string& out_;
  bool comma_ = false;
};

// The text of a JSON string literal for `s` (quotes included), as nlohmann's dump() writes it;
// invalid UTF-8 throws nlohmann's type_error, as dump() does.
void writeJsonString(std::string_view s, std::string& out);
// dumpJson(toOjson(v)) without the tree.
std::string valueJson(const Value& v);

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
