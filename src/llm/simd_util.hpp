// simdjson DOM helpers for the codecs' stream fast paths (events read without building
// nlohmann values), with the meaning of json_util's str() and num(): "" for anything but a
// string, a number truncated to an integer, else 0.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>

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

}  // namespace llmspell::llm
