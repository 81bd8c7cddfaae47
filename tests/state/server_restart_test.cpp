// State on a server that goes away: PostgreSQL restarted (fast and crash-like) between and
// during writes, Redis killed and restarted. The store reconnects and the next operation
// succeeds; while the server stays away calls fail with network_error (retryable) after the
// retry time; nothing committed is lost, and no update is applied twice.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "llmspell/core/error.hpp"
#include "llmspell/state/store.hpp"
#include "support/servers.hpp"

namespace llmspell {
namespace {

std::optional<Value> increment(std::optional<Value> v) {
  return Value((v ? v->asInt() : 0) + 1);
}

// Runs increments on `path` from a thread until stopped; counts the acknowledged ones and the
// ones that failed (with which code).
struct Incrementer {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> ok{0}, unknown{0}, other{0};
  std::string lastError;  // read after finish()
  std::thread thread;
  explicit Incrementer(const std::string& path) {
    thread = std::thread([this, path] {
      StateOptions o;
      o.path = path;
      o.busyTimeoutMs = 30000;
      StateStore s(o);
      while (!stop) {
        try {
          s.update("global", "n", increment);
          ++ok;
        } catch (const Exception& e) {
          lastError = e.what();
          // The only acceptable failure: the connection dropped during COMMIT (outcome unknown).
          if (e.error().code == codes::kNetworkError && e.error().retryable)
            ++unknown;
          else
            ++other;
        }
      }
    });
  }
  void finish() {
    stop = true;
    thread.join();
  }
};

TEST(PostgresRestart, NextOperationReconnects) {
  auto* pg = test::PgCluster::shared();
  if (!pg) GTEST_SKIP() << test::PgCluster::missing();
  StateOptions o;
  o.path = pg->freshDatabase();
  StateStore s(o);
  s.set("global", "a", Value(1));
  pg->restart();
  s.set("global", "b", Value(2));  // the old connection is dead: reconnect, retry, succeed
  EXPECT_EQ(*s.get("global", "a"), Value(1));
  pg->restart(/*immediate=*/true);  // like a crash: recovery from the WAL
  EXPECT_EQ(*s.get("global", "b"), Value(2));
  EXPECT_EQ(s.versions("global", "b").size(), 1u);
}

TEST(PostgresRestart, DownLongerThanTheRetryTimeIsANetworkError) {
  auto* pg = test::PgCluster::shared();
  if (!pg) GTEST_SKIP() << test::PgCluster::missing();
  StateOptions o;
  o.path = pg->freshDatabase();
  o.busyTimeoutMs = 300;
  StateStore s(o);
  s.set("global", "a", Value(1));
  pg->stop();
  try {
    s.set("global", "b", Value(2));
    ADD_FAILURE() << "no error while the server is down";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kNetworkError);
    EXPECT_TRUE(e.error().retryable);
    EXPECT_NE(e.error().message.find("unreachable"), std::string::npos) << e.error().message;
  }
  pg->start();
  EXPECT_EQ(*s.get("global", "a"), Value(1));
  EXPECT_FALSE(s.get("global", "b"));
}

TEST(PostgresRestart, RestartsDuringUpdatesLoseNothingAndApplyNothingTwice) {
  auto* pg = test::PgCluster::shared();
  if (!pg) GTEST_SKIP() << test::PgCluster::missing();
  std::string url = pg->freshDatabase();
  Incrementer a(url), b(url);
  for (int i = 0; i < 3; ++i) {
    while (a.ok + b.ok < 50 * (i + 1)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pg->restart(/*immediate=*/i % 2 == 1);
  }
  int64_t before = a.ok + b.ok;
  while (a.ok + b.ok < before + 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a.finish();
  b.finish();
  EXPECT_EQ(a.other + b.other, 0) << a.lastError << b.lastError;
  StateOptions o;
  o.path = url;
  StateStore s(o);
  int64_t n = s.get("global", "n")->asInt();
  int64_t ok = a.ok + b.ok, unknown = a.unknown + b.unknown;
  // Every acknowledged update is there; an update whose COMMIT was cut off may or may not be.
  EXPECT_GE(n, ok);
  EXPECT_LE(n, ok + unknown);
  EXPECT_EQ(s.integrityCheck(), "ok");
  RecordProperty("commit_outcome_unknown", static_cast<int>(unknown));
}

TEST(RedisRestart, UnavailableIsANetworkErrorAndCommittedStateSurvives) {
  auto* redis = test::RedisServer::shared();
  if (!redis) GTEST_SKIP() << test::RedisServer::missing();
  StateOptions o;
  o.path = redis->url() + "?prefix=" + redis->freshPrefix();
  o.busyTimeoutMs = 300;
  StateStore s(o);
  s.set("global", "a", Value(1));
  s.update("global", "a", increment);
  redis->stop(/*kill=*/true);
  for (auto op : {0, 1}) {
    try {
      if (op == 0)
        s.set("global", "b", Value(2));
      else
        s.get("global", "a");
      ADD_FAILURE() << "no error while Redis is down";
    } catch (const Exception& e) {
      EXPECT_EQ(e.error().code, codes::kNetworkError);
      EXPECT_TRUE(e.error().retryable);
      EXPECT_NE(e.error().message.find("unreachable"), std::string::npos) << e.error().message;
    }
  }
  redis->start();
  EXPECT_EQ(*s.get("global", "a"), Value(2));  // acknowledged before the kill: kept
  EXPECT_FALSE(s.get("global", "b"));
  s.set("global", "b", Value(3));
  EXPECT_EQ(*s.get("global", "b"), Value(3));
}

TEST(RedisRestart, RestartsDuringUpdatesLoseNothingAndApplyNothingTwice) {
  auto* redis = test::RedisServer::shared();
  if (!redis) GTEST_SKIP() << test::RedisServer::missing();
  std::string url = redis->url() + "?prefix=" + redis->freshPrefix();
  Incrementer a(url), b(url);
  for (int i = 0; i < 3; ++i) {
    while (a.ok + b.ok < 100 * (i + 1)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    redis->stop(/*kill=*/i % 2 == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    redis->start();
  }
  int64_t before = a.ok + b.ok;
  while (a.ok + b.ok < before + 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  a.finish();
  b.finish();
  EXPECT_EQ(a.other + b.other + a.unknown + b.unknown, 0) << a.lastError << b.lastError;
  StateOptions o;
  o.path = url;
  StateStore s(o);
  // Writes carry an id, so a command re-sent after a reconnect is applied once: exact.
  EXPECT_EQ(s.get("global", "n")->asInt(), a.ok + b.ok);
}

}  // namespace
}  // namespace llmspell
