// The run queue (docs/scaling.md): runs submitted to a PostgreSQL table and taken by worker
// processes on any machine. A worker claims the oldest runnable run with FOR UPDATE SKIP LOCKED
// (queued, or running with an expired lease: its worker died), holds it by a lease it renews,
// and finishes it only while it still holds it. Submissions NOTIFY `llmspell_runs` so idle
// workers wake at once; every run's events go to llmspell_run_events and NOTIFY
// `llmspell_run_events` ("<run id> <seq>") so a subscriber on any node can follow them.
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
  std::string id, spell, status, worker;
  Value params = Value::object();
  bool durable = true;
  int attempts = 0;
  Value result, error;
  std::string createdAt, finishedAt;
  Value toValue() const;  // {id, spell, status, worker, params, durable, attempts, result, error, ...}
};

class Queue {
 public:
  // Connects and creates the tables when missing.
  explicit Queue(const std::string& url);

  // Adds a run; returns its id (a new one when `id` is empty).
  std::string submit(const std::string& spell, const Value& params, bool durable, std::string id = "");
  // Takes the oldest runnable run for `worker`, leased for `leaseSeconds`; nullopt when none.
  std::optional<QueuedRun> claim(const std::string& worker, double leaseSeconds);
  // Renews the lease; false when the worker no longer holds the run.
  bool heartbeat(const std::string& runId, const std::string& worker, double leaseSeconds);
  // Ends the run ("completed" | "failed") and releases the lease; false when the worker no
  // longer held it (the result is then dropped: the run belongs to another worker).
  bool finish(const std::string& runId, const std::string& worker, const std::string& status, const Value& result,
              const Value& error);
  // Appends an event to the run's stream and notifies subscribers.
  void publish(const std::string& runId, const Value& event);

  std::optional<QueuedRun> get(const std::string& id);
  // Newest first; `status` filters when not empty.
  std::vector<QueuedRun> list(size_t limit = 100, const std::string& status = "");
  // The run's events after `afterSeq`: {seq, event} in order.
  std::vector<std::pair<int64_t, Value>> events(const std::string& runId, int64_t afterSeq);

  // Waits until a run is submitted (or `seconds` pass).
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
