// The event bus: dotted event names, precompiled `*` / `**` patterns, loop-affine subscribers,
// waiting, JSON Lines recording and replay, and counts/rates per name.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {

// Checks an event name: non-empty dotted segments, no wildcards, no spaces.
// Throws Exception(invalid_argument) naming the problem.
void validateEventName(std::string_view name);

// A compiled subscription pattern. Segments are separated by '.'; `*` matches exactly one
// segment, `**` any number of segments (including zero); anything else matches literally.
// Immutable after compile(); safe to share between threads.
class EventPattern {
 public:
  // Throws Exception(invalid_argument) for an empty pattern, an empty segment or a `*` inside a
  // segment ("foo*").
  static EventPattern compile(std::string_view pattern);

  bool matches(std::string_view name) const;
  const std::string& text() const { return text_; }
  // True when the pattern has no wildcard (it matches one name exactly).
  bool exact() const { return shape_ == Shape::kExact; }

 private:
  enum class Shape : uint8_t { kExact, kAll, kPrefix, kGeneral };
  enum class Seg : uint8_t { kLiteral, kStar, kGlobstar };
  struct Part {
    Seg kind;
    std::string lit;
  };
  bool matchGeneral(std::string_view name) const;

  std::string text_;
  Shape shape_ = Shape::kExact;
  std::string prefix_;  // kPrefix: "a.b" for "a.b.**"
  std::vector<Part> parts_;
};

struct Event {
  std::string name;
  Value data;
  double ts = 0;     // wall clock, seconds since the Unix epoch
  uint64_t seq = 0;  // per-bus emission counter, from 1
  std::string traceId;  // the run's trace id (observe/trace.hpp), "" outside a run
  // {name, data, ts, seq, trace_id}: the form scripts receive (trace_id only when set).
  Value toValue() const;
};

// The bus. Thread-safe: emit/subscribe/off/stats/recording may be called from any thread.
// Subscribers either belong to a Loop (their callback runs on that loop's thread: inline when
// emit() is called on that thread, posted otherwise, with the data deep-copied so threads never
// share containers) or have no loop (callback runs inline on the emitting thread; used by
// recorders and C++ observers, which must then be thread-safe themselves).
// A subscriber that throws is logged and counted; delivery to the others continues.
// The Loop of a subscription must outlive it: call off() before destroying the loop.
class EventBus {
 public:
  using Callback = std::function<void(const Event&)>;
  using Clock = std::function<double()>;  // seconds since the epoch

  EventBus();
  explicit EventBus(Clock clock);
  ~EventBus();
  EventBus(const EventBus&) = delete;
  EventBus& operator=(const EventBus&) = delete;

  // The process-wide bus the runtime's own events go to by default.
  static EventBus& global();

  // Delivers `name` to every matching subscriber. Throws invalid_argument for a bad name.
  // Returns the event's sequence number.
  uint64_t emit(std::string_view name, Value data = {});

  // Subscribes; returns an id > 0 for off(). `once` subscriptions are removed after their first
  // delivery (exactly once even under concurrent emits). Throws invalid_argument for a bad
  // pattern.
  uint64_t subscribe(std::string_view pattern, Callback cb, Loop* loop = nullptr,
                     bool once = false);
  // Removes a subscription; false when the id is unknown. After off() returns, no new delivery
  // starts (a posted one that has not run yet is dropped).
  bool off(uint64_t id);
  size_t subscriberCount() const;

  // The next event matching `pattern`, as an Event::toValue() object. Call on `loop`'s thread;
  // the promise settles there. timeout <= 0 waits forever; on expiry it rejects with code
  // `timeout`. Cancelling the promise removes the subscription.
  PromisePtr wait(Loop& loop, std::string_view pattern, double timeoutSeconds = 0);

  // Appends every matching event to `path` as JSON Lines {"ts","seq","name","data"}; data that
  // has no JSON form (functions...) is written as null with "unserializable": true. Throws
  // invalid_argument when the file cannot be opened or the filter is bad. Returns a recording id.
  uint64_t startRecording(const std::string& path, std::string_view filter = "**");
  // The same to a file the caller opened for appending (the bridge opens a spell's file under its
  // grant); the recording owns `fd` from here on.
  uint64_t startRecording(int fd, std::string_view filter = "**");
  // Stops one recording (flushes and closes the file); false when unknown.
  bool stopRecording(uint64_t id);

  // Re-emits the events of a recording on this bus, spaced as recorded divided by `speed`
  // (speed <= 0: as fast as possible). Only names matching `filter` are emitted. Call on
  // `loop`'s thread; the file is read on the loop's thread pool. Resolves with the number of
  // events emitted; rejects with invalid_argument for a missing file or a malformed line
  // (line number in the message). Cancelling stops the replay.
  PromisePtr replay(Loop& loop, const std::string& path, double speed = 1.0,
                    std::string_view filter = "**");
  // The same from a file the caller opened for reading (owned from here on); messages name `shown`.
  PromisePtr replay(Loop& loop, int fd, const std::string& shown, double speed = 1.0,
                    std::string_view filter = "**");

  // Counts for names matching `pattern`: {pattern, count (since the bus started), window
  // (seconds), window_count, rate (per second over the window), names = {name = {count,
  // window_count, rate}}}. The window looks at the last kHistory events at most.
  Value stats(std::string_view pattern, double windowSeconds = 60) const;
  static constexpr size_t kHistory = 1 << 16;

  // The trace id stamped on every event emitted from now on ("" for none): the runner sets its
  // run's, so a recording or a subscriber can tell which trace an event belongs to.
  void setTraceId(std::string id);
  std::string traceId() const;

  // Subscriber callbacks that threw so far.
  uint64_t errorCount() const { return errors_.load(); }

 private:
  struct Sub;
  using SubPtr = std::shared_ptr<Sub>;
  struct Table;  // immutable snapshot of subscriptions (copy-on-write)
  struct Recorder;
  void deliver(const SubPtr& s, const Event& e);
  void rebuildLocked();
  void countEvent(const std::string& name, double ts);

  Clock clock_;
  mutable std::mutex mu_;  // guards subs_, table_, recorders_, traceId_
  std::string traceId_;
  std::vector<SubPtr> subs_;
  std::shared_ptr<const Table> table_;
  std::unordered_map<uint64_t, std::shared_ptr<Recorder>> recorders_;
  std::atomic<uint64_t> nextId_{1};
  std::atomic<uint64_t> seq_{0};
  std::atomic<uint64_t> errors_{0};

  mutable std::mutex statsMu_;  // guards the counters below
  std::unordered_map<std::string, uint64_t> totals_;
  struct Hist {
    double ts;
    uint32_t name;
  };
  std::vector<Hist> hist_;  // ring of the last kHistory events
  size_t histHead_ = 0;
  std::vector<std::string> names_;  // interned names for hist_
  std::unordered_map<std::string, uint32_t> nameIds_;
};

// The bus a run uses: the RunContext's EventBus service when one was attached
// (run.setService(std::make_shared<EventBus>())), else the process-wide bus. `Run` is any type
// with RunContext's service API; kept generic so this layer does not depend on the bridge.
template <typename Run>
EventBus& busFor(Run& run) {
  return run.template service<EventBus>([] {
    // Aliasing constructor: a non-owning pointer to the global bus.
    return std::shared_ptr<EventBus>(std::shared_ptr<EventBus>(), &EventBus::global());
  });
}

}  // namespace llmspell
