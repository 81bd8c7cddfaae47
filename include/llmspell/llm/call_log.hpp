// CallLog: one SQLite row per LLM call (time, run, model, provider, tokens, cost, latency, finish
// reason or error code) for `llmspell logs`-style inspection. No prompt text and no keys.
// Off the caller's hot path: append() only queues the row; one writer thread per log inserts
// queued rows with a kept prepared statement, a batch per transaction, when kBatchRows are
// queued or kFlushAfter after the first queued row, whichever comes first. Queued rows are
// written when the log is destroyed, when the process exits normally (exit() or a return from
// main, even with the log leaked) and on SIGTERM / SIGINT / SIGHUP (the process then still dies
// of that signal); a SIGKILL or crash loses at most the rows not yet flushed.
// A process that runs many spells (a `serve` worker) keeps one log open per path across its runs
// (shared() with keepOpen): opening and closing a WAL database per run cost a schema read, a
// checkpoint and several fsyncs each time.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llmspell/core/value.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace llmspell::llm {

class CallLog {
 public:
  // A flush at most every kBatchRows rows or kFlushAfter after the first unflushed row.
  static constexpr size_t kBatchRows = 64;
  static constexpr std::chrono::milliseconds kFlushAfter{200};

  // Opens (creating when needed) the database at `path`. Throws Exception(invalid_argument)
  // naming the path when it cannot be opened. No thread starts until the first append().
  explicit CallLog(const std::string& path);
  // Writes every queued row, then closes the database.
  ~CallLog();
  CallLog(const CallLog&) = delete;
  CallLog& operator=(const CallLog&) = delete;

  // The log at `path` this process already has open (another user holds it, or keepOpen is on),
  // else a new one. Throws as the constructor does. Thread-safe.
  static std::shared_ptr<CallLog> shared(const std::string& path);
  // While on, logs returned by shared() stay open after their last user lets go, for the next
  // run of this process; off (the default) releases them, so each closes with its last user.
  static void keepOpen(bool on);

  // One call. Absent tokens and cost (no usage reported, a failed call) are stored as NULL.
  struct Row {
    double ts = 0;  // seconds since the epoch; 0 = now
    std::string runId, spell, model, provider;
    std::optional<int64_t> inputTokens, outputTokens;
    std::optional<double> costUsd;
    int64_t latencyMs = 0;
    std::string finishReason, errorCode;
  };
  // For a process whose rows another process writes (a `serve` worker hands them to its parent
  // with the run's result: the parent writes every worker's rows, where workers taking turns at
  // the database's write lock cost them a sixth of a short run). While set, logs that shared()
  // makes open no database: append() passes each row, redacted, to `fn` with the log's path,
  // and flush() has nothing to do. Set before the first shared(); null turns it off.
  using Forward = std::function<void(const std::string& path, const Row& row)>;
  static void forwardTo(Forward fn);

  // Queues one call (its texts redacted of secrets); never blocks on the disk.
  // A failed write is reported once on the host log (warn) and its batch dropped: losing log
  // rows never fails a run.
  void append(Row row);
  // The same from `entry` = {run_id, spell, model, provider, input_tokens, output_tokens,
  // cost_usd, latency_ms, finish_reason, error_code, ts (seconds since the epoch; default now)}.
  void append(const Value& entry);
  // Writes every queued row now, on the calling thread. Throws internal on a write failure.
  void flush();
  // The most recent `limit` rows, newest first, as objects with the fields above plus `ts`.
  // Flushes first, so rows this process appended are included.
  Value recent(int limit);

  struct Filter {
    std::string model;   // "" = any; matches the model ("openai/gpt-4o-mini") or its provider ("openai")
    double since = 0;    // seconds since the epoch; 0 = any
    std::string status;  // "" = any; "ok", "error", or an error code ("rate_limited")
    int limit = 50;
    std::string runId;        // "" = any run
    bool oldestFirst = false;  // one run's calls read best in the order they were made
  };
  // Rows matching `f`, newest first by ts (fields as recent()). Flushes first.
  Value query(const Filter& f);
  // The runs that made calls matching `f` (model, since, limit), the latest first:
  // {run_id, spell, calls, errors, input_tokens, output_tokens, cost_usd, first_ts, last_ts}
  // (sums are null when no call of the run reported usage). Flushes first.
  Value runs(const Filter& f);

  // For tests: the number of write transactions committed so far.
  int64_t transactions() const;

 private:
  void writerLoop();
  // Inserts `rows` in one transaction. Needs dbMu_. Returns false (and sets `err`) on failure.
  bool writeBatch(const std::vector<Row>& rows, std::string& err);
  // Takes the queue and writes it (dbMu_ held by the caller).
  bool flushLocked(std::string& err);

  struct ForwardTag {};
  CallLog(std::string path, Forward fn, ForwardTag);
  Forward forward_;  // set: rows go to it (forwardTo), there is no database
  std::string path_;

  mutable std::mutex dbMu_;  // the connection and its statements, transactions_
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  int64_t transactions_ = 0;
  bool warned_ = false;

  std::mutex qMu_;  // everything below
  std::condition_variable wake_;
  std::vector<Row> queue_;
  std::chrono::steady_clock::time_point firstQueued_;
  // The last redaction of each text field in this batch (append's order of fields).
  struct Redacted {
    std::string raw, masked;
    bool changed = false;
  };
  Redacted redacted_[6];
  bool redactedValid_ = false;
  bool writerIdle_ = false;  // the writer waits for a first row (no deadline): append wakes it
  bool stop_ = false;
  std::thread writer_;
};

}  // namespace llmspell::llm
