// The run queue (docs/scaling.md): runs submitted to a PostgreSQL table and taken by worker
// processes on any machine. A worker claims the oldest runnable run with FOR UPDATE SKIP LOCKED
// (queued, or running with an expired lease: its worker died), holds it by a lease it renews,
// and finishes it only while it still holds it. Submissions NOTIFY `llmspell_runs` so idle
// workers wake at once; every run's events go to llmspell_run_events and NOTIFY
// `llmspell_run_events` ("<run id> <seq>") so a subscriber on any node can follow them.
// A run ends completed, failed (by its spell, or after its workers died `maxAttempts` times:
// error code attempts_exhausted) or cancelled (cancel(): a queued run is never claimed, a
// running one loses its lease, so its worker's next heartbeat fails and the worker stops it).
//
// Thread-safety: a Queue is one connection; use one per thread.
// Failure: throws Exception like PgConn (network_error while the server is away).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/durable/pg.hpp"

namespace llmspell::durable {

struct QueuedRun {
  std::string id, spell, status, worker;  // status: queued, running, completed, failed, cancelled
  Value params = Value::object();
  bool durable = true;
  int attempts = 0;
  Value result, error;
  std::string createdAt, finishedAt;
  std::string keyId;               // the API key that submitted it through `serve` ("" = none)
  Value options = Value::object(); // how to run it (`serve`: limits, grants, typed params; see submit)
  double created = 0, started = 0, finished = 0;  // Unix seconds (0 = not yet)
  Value toValue() const;  // {id, spell, status, worker, params, durable, attempts, result, error, ...}
};

// The error code of a run failed because its workers died `maxAttempts` times.
inline constexpr const char* kAttemptsExhausted = "attempts_exhausted";

class Queue {
 public:
  // Connects and creates the tables when missing.
  explicit Queue(const std::string& url);

  // Adds a run with its first event ({type: "queued"}); returns its id (a new one when `id` is
  // empty). `keyId` is who may see it
  // through `serve`; `options` (an object) travels with it to the worker: `serve` puts the
  // request's narrowed limits and grants there (timeout_s, memory_mb, instructions, config,
  // grants, typed_params, traceparent, name).
  std::string submit(const std::string& spell, const Value& params, bool durable, std::string id = "",
                     const std::string& keyId = "", const Value& options = Value());
  // Takes the oldest runnable run for `worker`, leased for `leaseSeconds`; nullopt when none.
  // A run whose lease expired after its `maxAttempts`th claim (its workers died that often) is
  // failed with kAttemptsExhausted instead of being taken again (0: no cap).
  std::optional<QueuedRun> claim(const std::string& worker, double leaseSeconds, int maxAttempts = 0);
  // Cancels a queued or running run (error {code: cancelled, message: "the run was cancelled: " +
  // why}); false when it had already finished or does not exist. A running run's worker finds
  // out at its next heartbeat.
  bool cancel(const std::string& runId, const std::string& why);
  // Seconds until the earliest lease of a running run expires (<= 0: one has expired); nullopt
  // when nothing is running. Workers wait no longer than this for work.
  std::optional<double> nextLeaseExpiry();
  // Renews the lease; false when the worker no longer holds the run.
  bool heartbeat(const std::string& runId, const std::string& worker, double leaseSeconds);
  // Ends the run ("completed" | "failed") and releases the lease; false when the worker no
  // longer held it (the result is then dropped: the run belongs to another worker).
  bool finish(const std::string& runId, const std::string& worker, const std::string& status, const Value& result,
              const Value& error);
  // Appends an event to the run's stream and notifies subscribers.
  void publish(const std::string& runId, const Value& event);
  // Appends `events` (an array of event objects), in order, while `worker` still holds the run
  // (fenced by the lease, like a checkpoint), with one notification; false when it no longer
  // does (nothing is written).
  bool publishAs(const std::string& runId, const std::string& worker, const Value& events);

  std::optional<QueuedRun> get(const std::string& id);
  // Newest first; `status` filters when not empty.
  std::vector<QueuedRun> list(size_t limit = 100, const std::string& status = "");
  // The run's events after `afterSeq`: {seq, event} in order; at most `limit` (0: all).
  std::vector<std::pair<int64_t, Value>> events(const std::string& runId, int64_t afterSeq, size_t limit = 0);

  // Waits until a run is submitted (or `seconds` pass). The first call only starts listening
  // and returns: call it once before the first claim, so no submission falls between the two.
  void waitForWork(double seconds);
  // Calls `onEvent(seq, event)` for every event of the run, past and future, until the run has
  // finished and its last event was delivered, or `onEvent` returns false. `pollSeconds` bounds
  // each wait for a notification (a missed one only delays delivery).
  void follow(const std::string& runId, const std::function<bool(int64_t, const Value&)>& onEvent,
              double pollSeconds = 1);

  PgConn& conn() { return c_; }

 private:
  PgConn c_;
  std::unique_ptr<PgConn> listen_;
};

}  // namespace llmspell::durable
