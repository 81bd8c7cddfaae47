// The test fixtures themselves (support/servers.hpp): a throwaway PostgreSQL cluster and a
// redis-server start, answer, survive a restart with their data, and skip when not installed.
#include <gtest/gtest.h>
#include <signal.h>

#include "support/servers.hpp"

namespace llmspell::test {
namespace {

TEST(PgClusterTest, StartsAnswersAndKeepsDataAcrossRestart) {
  auto* pg = PgCluster::shared();
  if (!pg) GTEST_SKIP() << PgCluster::missing();
  pg->freshDatabase();
  std::string db = pg->lastDatabase();
  EXPECT_NE(pg->url(db).find("?host=/tmp/"), std::string::npos);
  pg->sql(db, "CREATE TABLE t (v int); INSERT INTO t VALUES (41)");
  pg->restart();
  EXPECT_EQ(pg->sql(db, "SELECT v + 1 FROM t"), "42");
  pg->restart(/*immediate=*/true);  // crash-like: recovery replays the WAL
  EXPECT_EQ(pg->sql(db, "SELECT count(*) FROM t"), "1");
  EXPECT_TRUE(pg->running());
  EXPECT_EQ(pg->sql("postgres", "SELECT current_user"), "postgres");
}

TEST(PgClusterTest, SecondClusterIsIndependent) {
  if (!PgCluster::missing().empty()) GTEST_SKIP() << PgCluster::missing();
  pid_t pid;
  {
    PgCluster a;
    pid = a.pid();
    EXPECT_EQ(a.sql("postgres", "SELECT 1"), "1");
  }
  EXPECT_NE(::kill(pid, 0), 0) << "the destructor stops the server";
}

TEST(RedisServerTest, StartsAnswersAndKeepsDataAcrossRestart) {
  auto* redis = RedisServer::shared();
  if (!redis) GTEST_SKIP() << RedisServer::missing();
  std::string key = redis->freshPrefix() + "k";
  EXPECT_EQ(redis->cli("SET " + key + " v1"), "OK");
  redis->stop();
  EXPECT_FALSE(redis->running());
  redis->start();
  EXPECT_EQ(redis->cli("GET " + key), "v1");
  redis->stop(/*kill=*/true);  // appendfsync always: an acknowledged write survives SIGKILL
  redis->start();
  EXPECT_EQ(redis->cli("GET " + key), "v1");
}

}  // namespace
}  // namespace llmspell::test
