// Incremental NDJSON splitter: buffers a partial last line, delivers complete non-blank lines.
#include "llmspell/net/ndjson.hpp"

#include "llmspell/core/convert.hpp"

namespace llmspell::net {

NdjsonParser NdjsonParser::values(std::function<void(Value)> onValue) {
  return NdjsonParser(
      [onValue = std::move(onValue)](std::string_view line) { onValue(parseJson(line)); });
}

void NdjsonParser::feed(std::string_view in) {
  while (!in.empty()) {
    size_t nl = in.find('\n');
    if (nl == std::string_view::npos) {
      buf_.append(in);
      return;
    }
    if (buf_.empty()) {
      deliver(in.substr(0, nl));
    } else {
      buf_.append(in.substr(0, nl));
      std::string line = std::move(buf_);
      buf_.clear();
      deliver(line);
    }
    in.remove_prefix(nl + 1);
  }
}

void NdjsonParser::finish() {
  if (buf_.empty()) return;
  std::string line = std::move(buf_);
  buf_.clear();
  deliver(line);
}

void NdjsonParser::deliver(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t i = line.find_first_not_of(" \t\r");
  if (i == std::string_view::npos) return;  // blank line
  ++lines_;
  onLine_(line);
}

}  // namespace llmspell::net
