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

inline int64_t simdNum(simdjson::dom::element e, int64_t dflt = 0) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64: return int64_t(e);
    case simdjson::dom::element_type::UINT64: return static_cast<int64_t>(uint64_t(e));
    case simdjson::dom::element_type::DOUBLE: return static_cast<int64_t>(double(e));
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
