// Incremental SSE parser: line splitting that survives any chunking, then WHATWG field rules.
#include "llmspell/net/sse.hpp"

#include <cstring>

namespace llmspell::net {

namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";

// Position of the first CR or LF in s, or npos. Two memchr passes (vectorized by libc) beat a
// byte loop several times over on typical LF-terminated provider streams.
size_t findEol(std::string_view s) {
  const char* b = s.data();
  const void* lf = std::memchr(b, '\n', s.size());
  size_t limit = lf ? static_cast<size_t>(static_cast<const char*>(lf) - b) : s.size();
  const void* cr = std::memchr(b, '\r', limit);
  if (cr) return static_cast<size_t>(static_cast<const char*>(cr) - b);
  return lf ? limit : std::string_view::npos;
}
}  // namespace

void SseParser::feed(std::string_view in) {
  if (!bomChecked_) {
    // The BOM may itself be split: hold bytes until we know whether the stream starts with it.
    line_.append(in);
    if (line_.size() < kBom.size() && kBom.substr(0, line_.size()) == line_) return;
    bomChecked_ = true;
    std::string pending = std::move(line_);
    line_.clear();
    std::string_view rest = pending;
    if (rest.substr(0, kBom.size()) == kBom) rest.remove_prefix(kBom.size());
    feed(rest);
    return;
  }
  while (!in.empty()) {
    if (skipLf_) {
      skipLf_ = false;
      if (in.front() == '\n') {
        in.remove_prefix(1);
        continue;
      }
    }
    size_t eol = findEol(in);
    if (eol == std::string_view::npos) {
      line_.append(in);
      return;
    }
    // A CR ends the line now; an LF right after it (maybe in the next feed) is skipped.
    if (in[eol] == '\r') skipLf_ = true;
    if (line_.empty()) {
      processLine(in.substr(0, eol));
    } else {
      line_.append(in.substr(0, eol));
      processLine(line_);  // touches no line_; cleared after, keeping its capacity
      line_.clear();
    }
    in.remove_prefix(eol + 1);
  }
}

void SseParser::finish() {
  if (!bomChecked_) {
    bomChecked_ = true;
    // Fewer bytes than a BOM arrived; a proper BOM prefix without the rest is dropped.
    std::string pending = std::move(line_);
    line_.clear();
    if (kBom.substr(0, pending.size()) == pending) pending.clear();
    line_ = std::move(pending);
  }
  skipLf_ = false;
  if (!line_.empty()) {
    std::string line = std::move(line_);
    line_.clear();
    processLine(line);
  }
  dispatch();
}

void SseParser::reset() {
  line_.clear();
  skipLf_ = false;
  bomChecked_ = false;
  data_.clear();
  hasData_ = false;
  type_.clear();
  lastId_.clear();
  retry_.reset();
  eventRetry_.reset();
}

void SseParser::processLine(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') return;  // comment
  std::string_view field = line, value;
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
    hasData_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) lastId_.assign(value);
  } else if (field == "retry") {
    if (value.empty() || value.size() > 18) return;
    int64_t n = 0;
    for (char c : value) {
      if (c < '0' || c > '9') return;
      n = n * 10 + (c - '0');
    }
    retry_ = n;
    eventRetry_ = n;
  }
  // Other fields are ignored (WHATWG).
}

void SseParser::dispatch() {
  if (!hasData_) {
    // No data: nothing to dispatch; the event type resets (WHATWG), the id persists.
    type_.clear();
    eventRetry_.reset();
    return;
  }
  // One event object, its data swapped with data_: both buffers keep their capacity, so a
  // stream of events costs no allocation per event once they have grown.
  SseEvent& ev = event_;
  data_.pop_back();  // the '\n' after the last data line
  ev.data.swap(data_);
  if (type_.empty())
    ev.event.assign("message");
  else
    ev.event.assign(type_);
  ev.id.assign(lastId_);
  ev.retry = eventRetry_;
  data_.clear();
  type_.clear();
  hasData_ = false;
  eventRetry_.reset();
  ++events_;
  onEvent_(ev);
}

}  // namespace llmspell::net
