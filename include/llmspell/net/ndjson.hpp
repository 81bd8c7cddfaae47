// Incremental newline-delimited JSON splitter (Ollama's native stream, JSON-lines logs).
//
// Usage:
//   net::NdjsonParser nd([&](std::string_view line) { Value v = parseJson(line); ... });
//   req.onData = [&](std::string_view chunk) { nd.feed(chunk); };   // any chunk boundaries
//   ... at end of stream: nd.finish();   // delivers a last line without a trailing '\n'
//   // or, parsed: auto nd = net::NdjsonParser::values([&](Value v) {...});
//
// Rules: lines end with '\n' (a '\r' before it is dropped); blank or whitespace-only lines are
// skipped; a partial last line is buffered until its '\n' or finish().
// Thread-safety: none (one parser per stream). Failure: an exception thrown by the callback (or,
// for values(), parseJson's invalid_argument for a bad line) propagates out of feed()/finish();
// the line that failed is consumed and the parser stays usable.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "llmspell/core/value.hpp"

namespace llmspell::net {

class NdjsonParser {
 public:
  using Callback = std::function<void(std::string_view line)>;
  explicit NdjsonParser(Callback onLine) : onLine_(std::move(onLine)) {}
  // A parser whose callback gets each line parsed with parseJson.
  static NdjsonParser values(std::function<void(Value)> onValue);

  void feed(std::string_view bytes);
  void finish();  // idempotent
  void reset() { buf_.clear(); }

  uint64_t linesDelivered() const { return lines_; }
  size_t buffered() const { return buf_.size(); }

 private:
  void deliver(std::string_view line);
  Callback onLine_;
  std::string buf_;
  uint64_t lines_ = 0;
};

}  // namespace llmspell::net
