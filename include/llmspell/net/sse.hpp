// Incremental Server-Sent Events parser (WHATWG event-stream rules) for provider streams.
//
// Usage:
//   net::SseParser sse([&](const net::SseEvent& e) {
//     if (e.data == "[DONE]") ...; handle(e.event, e.data);
//   });
//   req.onData = [&](std::string_view chunk) { sse.feed(chunk); };   // any chunk boundaries
//   ... at end of stream: sse.finish();   // dispatches a last event not followed by a blank line
//
// Rules: lines end with CRLF, LF or CR (a CRLF split across feeds is one line end); a leading
// UTF-8 BOM is dropped; lines starting with ':' are comments; "field:value" strips ONE optional
// space after the colon; a line without a colon is a field with an empty value; fields data,
// event, id, retry (digits only) are used, others ignored; several data lines join with '\n';
// a blank line dispatches the event; an event with no data lines is not dispatched; `event`
// defaults to "message"; `id` is the last event id seen (it persists across events; an id with
// a NUL is ignored). Bytes are buffered, so UTF-8 sequences split across feeds stay intact.
// Unlike a browser, finish() dispatches a pending event that had no trailing blank line.
//
// Thread-safety: none (one parser per stream). Failure: never throws itself; an exception thrown
// by the callback propagates out of feed()/finish() and leaves the parser usable.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace llmspell::net {

struct SseEvent {
  std::string event = "message";
  std::string data;              // data lines joined with '\n'
  std::string id;                // last event id
  std::optional<int64_t> retry;  // reconnection time (ms) when this event carried retry:
  bool operator==(const SseEvent&) const = default;
};

class SseParser {
 public:
  using Callback = std::function<void(const SseEvent&)>;
  explicit SseParser(Callback onEvent) : onEvent_(std::move(onEvent)) {}

  // Parses more bytes; calls onEvent for each event completed by them.
  void feed(std::string_view bytes);
  // End of stream: ends a partial last line and dispatches a pending event. Idempotent.
  void finish();
  // Back to the start state (lastEventId and retry are cleared too).
  void reset();

  const std::string& lastEventId() const { return lastId_; }
  std::optional<int64_t> retryMs() const { return retry_; }
  uint64_t eventsDispatched() const { return events_; }
  // Bytes of a partial line held until its end arrives.
  size_t buffered() const { return line_.size(); }

 private:
  void processLine(std::string_view line);
  void dispatch();

  Callback onEvent_;
  std::string line_;         // partial line
  bool skipLf_ = false;      // last byte seen was CR: a following LF belongs to it
  bool bomChecked_ = false;  // stream start handled (BOM dropped)
  std::string data_;
  bool hasData_ = false;
  std::string type_;
  std::string lastId_;
  std::optional<int64_t> retry_;
  std::optional<int64_t> eventRetry_;
  uint64_t events_ = 0;
  SseEvent event_;  // reused for each dispatch (see dispatch())
};

}  // namespace llmspell::net
