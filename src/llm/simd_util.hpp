// simdjson DOM helpers for the codecs' stream fast paths (events read without building
// nlohmann values), with the meaning of json_util's str() and num(): "" for anything but a
// string, a number truncated to an integer, else 0.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell::llm {

inline std::string_view simdStr(simdjson::dom::element e) {
  std::string_view s;
  return e.get_string().get(s) == simdjson::SUCCESS ? s : std::string_view();
}

// A JSON number as an int64 count, `dflt` when it has none: a float outside int64's range
// (converting it is undefined behaviour) or an unsigned above INT64_MAX. json_util.cpp's num()
// follows the same rule, so the fast and general stream paths agree.
inline int64_t int64OrDefault(double d, int64_t dflt) {
  return d >= -9.2e18 && d <= 9.2e18 ? static_cast<int64_t>(d) : dflt;
}

inline int64_t simdNum(simdjson::dom::element e, int64_t dflt = 0) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: return int64_t(e);
    case simdjson::dom::element_type::UINT64: {
      uint64_t u = uint64_t(e);
      return u > static_cast<uint64_t>(INT64_MAX) ? dflt : static_cast<int64_t>(u);
    }
    case simdjson::dom::element_type::DOUBLE: return int64OrDefault(double(e), dflt);
    default: return dflt;
  }
}

// The calling thread's parser: it keeps its buffers between documents. What it parsed is valid
// until its next parse on this thread.
inline simdjson::dom::parser& threadParser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

// Parses one stream event with threadParser(); false unless it is a JSON object.
inline bool simdParseObject(std::string_view data, simdjson::dom::object& out) {
  return threadParser().parse(data.data(), data.size()).get_object().get(out) == simdjson::SUCCESS;
}

// The last value of `key` when `e` is an object holding it and that value is not null: json_util's
// field() over the same text (duplicate keys resolve to the last, as in the tree).
inline bool simdField(simdjson::dom::element e, std::string_view key, simdjson::dom::element& out) {
  simdjson::dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS) return false;
  bool found = false;
  for (auto f : o) {
    if (f.key == key) out = f.value, found = true;
  }
  return found && !out.is_null();
}
// str(j, key) and num(j, key, dflt) over the DOM.
inline std::string_view simdStrField(simdjson::dom::element e, std::string_view key) {
  simdjson::dom::element v;
  return simdField(e, key, v) ? simdStr(v) : std::string_view();
}
inline int64_t simdNumField(simdjson::dom::element e, std::string_view key, int64_t dflt = 0) {
  simdjson::dom::element v;
  return simdField(e, key, v) ? simdNum(v, dflt) : dflt;
}

// A DOM value as a Value: what fromOjson(parseOjson(text)) gives for the same text (key order
// and the last of duplicate keys kept, integers past int64 as doubles).
Value simdToValue(simdjson::dom::element e);

// Parses a whole reply body with threadParser(). Text simdjson refuses goes through nlohmann
// (parseOjson: malformed text fails there with its usual provider_error naming `what`); what
// nlohmann accepts but simdjson does not (integers past 64 bits, 1e400) is re-read from
// nlohmann's own dump of it, kept in `scratch`.
simdjson::dom::element parseReply(std::string_view text, std::string_view what, std::string& scratch);

}  // namespace llmspell::llm
