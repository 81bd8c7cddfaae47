// CallLog: one SQLite row per LLM call (time, run, model, provider, tokens, cost, latency, finish
// reason or error code) for `llmspell logs`-style inspection. No prompt text and no keys.
// Thread-safe: writes are serialized by a mutex; callers on a loop thread should hand append()
// to Loop::runBlocking (SQLite may block on the disk).
#pragma once

#include <mutex>
#include <string>

#include "llmspell/core/value.hpp"

struct sqlite3;

namespace llmspell::llm {

class CallLog {
 public:
  // Opens (creating when needed) the database at `path`. Throws Exception(invalid_argument)
  // naming the path when it cannot be opened.
  explicit CallLog(const std::string& path);
  ~CallLog();
  CallLog(const CallLog&) = delete;
  CallLog& operator=(const CallLog&) = delete;

  // Appends one call: `entry` = {run_id, spell, model, provider, input_tokens, output_tokens,
  // cost_usd, latency_ms, finish_reason, error_code, ts (seconds since the epoch; default now)}.
  // Tokens and cost that are absent (no usage reported, a failed call) are stored as NULL.
  // Throws internal on a write failure.
  void append(const Value& entry);
  // The most recent `limit` rows, newest first, as objects with the fields above plus `ts`.
  Value recent(int limit) const;

  struct Filter {
    std::string model;   // "" = any; matches the model ("openai/gpt-4o-mini") or its provider ("openai")
    double since = 0;    // seconds since the epoch; 0 = any
    std::string status;  // "" = any; "ok", "error", or an error code ("rate_limited")
    int limit = 50;
  };
  // Rows matching `f`, newest first by ts (fields as recent()).
  Value query(const Filter& f) const;

 private:
  mutable std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace llmspell::llm
