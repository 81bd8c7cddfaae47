// CallLog unit tests: batching (rows per transaction), reads that see queued rows, and rows
// written at destruction.
#include "llmspell/llm/call_log.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

namespace {

using llmspell::Value;
using llmspell::llm::CallLog;

std::string freshDb(const std::string& name) {
  std::string db = testing::TempDir() + "/" + name;
  for (const char* ext : {"", "-wal", "-shm"}) std::remove((db + ext).c_str());
  return db;
}

CallLog::Row row(int i) {
  CallLog::Row r;
  r.runId = "run";
  r.spell = "unit";
  r.model = "openai/gpt-4o-mini";
  r.provider = "openai";
  r.inputTokens = i;
  r.latencyMs = i;
  r.finishReason = "stop";
  return r;
}

// Rows in the file as another connection sees them (no flush by the log).
int64_t rowsOnDisk(const std::string& db) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(h, "SELECT count(*) FROM llm_calls", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

TEST(CallLog, RowsAreWrittenInBatchesNotOneTransactionEach) {
  std::string db = freshDb("call_log_batches.sqlite");
  CallLog log(db);
  constexpr int kRows = 640;
  for (int i = 0; i < kRows; ++i) log.append(row(i));
  log.flush();
  EXPECT_EQ(rowsOnDisk(db), kRows);
  // A transaction per kBatchRows rows, plus one per timer flush that caught a part batch: far
  // fewer than one per row, whatever the scheduling.
  EXPECT_GE(log.transactions(), 1);
  EXPECT_LE(log.transactions(), kRows / 4) << "rows were not batched";
}

TEST(CallLog, AFullBatchIsWrittenWithoutAFlush) {
  std::string db = freshDb("call_log_full_batch.sqlite");
  CallLog log(db);
  for (size_t i = 0; i < CallLog::kBatchRows; ++i) log.append(row(static_cast<int>(i)));
  // The writer commits a full batch on its own (or the timer does); wait for it without a flush.
  while (log.transactions() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(rowsOnDisk(db), static_cast<int64_t>(CallLog::kBatchRows));
}

TEST(CallLog, ReadsSeeRowsQueuedByThisProcess) {
  std::string db = freshDb("call_log_reads.sqlite");
  CallLog log(db);
  log.append(Value::object({{"model", "mock/echo"}, {"provider", "mock"}, {"latency_ms", 3}}));
  log.append(row(7));
  auto rows = log.recent(10);
  ASSERT_EQ(rows.asArray().size(), 2u);
  CallLog::Filter f;
  f.model = "mock";
  EXPECT_EQ(log.query(f).asArray().size(), 1u);
  EXPECT_TRUE(rows.asArray()[1].get("input_tokens").isNull() || rows.asArray()[0].get("input_tokens").isNull());
}

// Rows of one batch that differ from the row before them keep their own values.
TEST(CallLog, EachRowOfABatchKeepsItsOwnFields) {
  std::string db = freshDb("call_log_fields.sqlite");
  CallLog log(db);
  // 90 rows: chunks of every size the log writes (64, 16, 4, 1) in one batch.
  for (int i = 0; i < 90; ++i) {
    CallLog::Row r = row(i);
    r.ts = 1000 + i;
    if (i % 3 == 0) r.model = "anthropic/claude-haiku-4-5", r.provider = "anthropic";
    if (i % 4 == 1) r.errorCode = "rate_limited", r.finishReason = "", r.inputTokens.reset();
    log.append(std::move(r));
  }
  auto rows = log.recent(100);
  ASSERT_EQ(rows.asArray().size(), 90u);
  for (const auto& r : rows.asArray()) {
    int i = static_cast<int>(r.getInt("latency_ms"));
    EXPECT_EQ(r.getNumber("ts"), 1000 + i);
    EXPECT_EQ(r.getString("model"), i % 3 == 0 ? "anthropic/claude-haiku-4-5" : "openai/gpt-4o-mini") << i;
    EXPECT_EQ(r.getString("provider"), i % 3 == 0 ? "anthropic" : "openai") << i;
    EXPECT_EQ(r.getString("error_code"), i % 4 == 1 ? "rate_limited" : "") << i;
    EXPECT_EQ(r.getString("finish_reason"), i % 4 == 1 ? "" : "stop") << i;
    EXPECT_EQ(r.get("input_tokens").isNull(), i % 4 == 1) << i;
    EXPECT_EQ(r.getString("run_id"), "run");
  }
}

TEST(CallLog, DestroyingTheLogWritesItsQueuedRows) {
  std::string db = freshDb("call_log_destroy.sqlite");
  {
    CallLog log(db);
    for (int i = 0; i < 5; ++i) log.append(row(i));
  }
  EXPECT_EQ(rowsOnDisk(db), 5);
}

}  // namespace
