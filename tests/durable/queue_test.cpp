// The run queue with real PostgreSQL (tests/support/servers.hpp) and workers as child processes:
// submit / worker / runs, a paused worker's lease taken over (never two workers on one run), and
// PostgreSQL restarted under running workers. The crash test is queue_crash_test.cpp.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "queue_support.hpp"

namespace {

using json = nlohmann::json;
using namespace llmspell::test;
namespace fs = std::filesystem;

class Queue : public testing::Test {
 protected:
  void SetUp() override {
    pg = PgCluster::shared();
    if (!pg) GTEST_SKIP() << PgCluster::missing();
    if (!pg->running()) pg->start();
    url = pg->freshDatabase("q");
    db = pg->lastDatabase();
    dir = fs::path(testing::TempDir()) / ("queue_" + std::to_string(getpid()) + "_" +
                                          testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    providerEnv(fp, (dir / "home").string());
  }
  void TearDown() override {
    for (pid_t p : workers) stopWorker(p, SIGKILL);
  }
  std::string sql(const std::string& q) { return pg->sql(db, q); }
  std::string log(const std::string& name) {
    std::ifstream in(dir / name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string submit(int n, double pause) {
    auto r = runCli("submit " + kQueueSpells + "chain --queue '" + url + "' --param n=" + std::to_string(n) +
                    " --param pause=" + std::to_string(pause));
    EXPECT_EQ(r.exit, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  }
  PgCluster* pg = nullptr;
  std::string url, db;
  fs::path dir;
  llmspell::fake::FakeProvider fp{11};
  std::vector<pid_t> workers;
};

TEST_F(Queue, SubmitWorkerRunsAndFollow) {
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(submit(i, 0));
  auto listed = runCli("runs --queue '" + url + "' --json");
  ASSERT_EQ(listed.exit, 0) << listed.err;
  auto l = json::parse(listed.out);
  ASSERT_EQ(l.size(), 3u);
  for (auto& r : l) EXPECT_EQ(r["status"], "queued");

  auto w = runCli("worker --queue '" + url + "' --id solo --exit-when-idle", "", true);
  ASSERT_EQ(w.exit, 0) << w.out;
  for (int i = 0; i < 3; ++i) {
    auto one = runCli("runs --queue '" + url + "' " + ids[i]);
    ASSERT_EQ(one.exit, 0) << one.err;
    auto r = json::parse(one.out);
    EXPECT_EQ(r["status"], "completed");
    EXPECT_EQ(r["worker"], "solo");
    EXPECT_EQ(r["attempts"], 1);
    EXPECT_EQ(r["result"], expectedChain(i));
  }
  for (auto& [prompt, n] : promptCounts(fp)) EXPECT_EQ(n, 1) << prompt;
  EXPECT_EQ(promptCounts(fp).size(), 9u);

  // The run's events, from another process: queued, claimed, a checkpoint per step and call, finished;
  // between them the spell's own bus events, forwarded by its worker.
  auto f = runCli("runs --queue '" + url + "' --follow " + ids[0]);
  ASSERT_EQ(f.exit, 0) << f.err;
  std::vector<json> evs;
  std::set<std::string> busEvents;
  std::istringstream in(f.out);
  for (std::string line; std::getline(in, line);) {
    json ev = json::parse(line);
    std::string type = ev["type"];
    if (type == "queued" || type == "claimed" || type == "checkpoint" || type == "finished") evs.push_back(ev);
    else if (type == "event") busEvents.insert(ev["name"].get<std::string>());
  }
  ASSERT_EQ(evs.size(), 9u) << f.out;
  EXPECT_TRUE(busEvents.count("spell.start")) << f.out;
  EXPECT_TRUE(busEvents.count("llm.response")) << f.out;
  EXPECT_EQ(evs.front()["type"], "queued");
  EXPECT_EQ(evs[1]["type"], "claimed");
  EXPECT_EQ(evs.back()["type"], "finished");
  EXPECT_EQ(evs.back()["status"], "completed");
  EXPECT_EQ(evs[2]["type"], "checkpoint");

  auto missing = runCli("runs --queue '" + url + "' run_nope");
  EXPECT_EQ(missing.exit, 1);
  EXPECT_NE(missing.err.find("error[not_found]"), std::string::npos) << missing.err;
  auto noQueue = runCli("runs");
  EXPECT_EQ(noQueue.exit, 2);
  EXPECT_NE(noQueue.err.find("--queue postgres://"), std::string::npos) << noQueue.err;
}

// A worker paused (SIGSTOP) past its lease loses the run to another worker; when it wakes it
// can record nothing more (its checkpoint writes are fenced by the lease) and its outcome is
// dropped: the run is never run by two workers at once.
TEST_F(Queue, PausedWorkerLosesItsLeaseAndWritesNothingAfter) {
  std::string id = submit(7, 1.0);
  pid_t a = startWorker(url, "A", 1, (dir / "a.log").string());
  workers.push_back(a);
  ASSERT_TRUE(eventually([&] { return sql("SELECT count(*) FROM llmspell_checkpoints WHERE run_id = '" + id + "'") != "0"; }, 20))
      << log("a.log");
  kill(a, SIGSTOP);
  pid_t b = startWorker(url, "B", 1, (dir / "b.log").string());
  workers.push_back(b);
  ASSERT_TRUE(eventually([&] { return sql("SELECT status FROM llmspell_runs WHERE id = '" + id + "'") == "completed"; }, 30))
      << log("b.log");
  kill(a, SIGCONT);
  // A wakes inside its step, finishes the pause and tries to record: refused.
  ASSERT_TRUE(eventually([&] { return log("a.log").find("lost the lease") != std::string::npos; }, 10)) << log("a.log");

  EXPECT_EQ(sql("SELECT worker || ' ' || (result #>> '{}') FROM llmspell_runs WHERE id = '" + id + "'"),
            "B " + expectedChain(7));
  // After B claimed the run, nothing of A's reached the database.
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_run_events WHERE run_id = '" + id + "' AND event->>'worker' = 'A' "
                "AND seq > (SELECT min(seq) FROM llmspell_run_events WHERE run_id = '" + id +
                "' AND event->>'type' = 'claimed' AND event->>'worker' = 'B')"),
            "0");
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_run_events WHERE run_id = '" + id + "' AND event->>'type' = 'finished'"),
            "1");
  // B resumed from A's checkpoints: the first step's model call was not made again.
  EXPECT_EQ(promptCounts(fp)["a 7 <- x"], 1);
}

TEST_F(Queue, WorkersOutlivePostgresRestarts) {
  std::vector<std::string> ids;
  for (int i = 0; i < 12; ++i) ids.push_back(submit(i, 0.2));
  for (const char* w : {"P", "Q"}) workers.push_back(startWorker(url, w, 2, (dir / (std::string(w) + ".log")).string()));
  ASSERT_TRUE(eventually([&] { return sql("SELECT count(*) FROM llmspell_runs WHERE status = 'completed'") != "0"; }, 30));
  pg->restart(/*immediate=*/true);
  ASSERT_TRUE(eventually([&] { return sql("SELECT count(*) FROM llmspell_runs WHERE status = 'completed'") == "12"; }, 60))
      << log("P.log") << log("Q.log") << sql("SELECT id, status, worker, attempts FROM llmspell_runs");
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_runs WHERE result #>> '{}' <> 'c ' || (params->>'n') || ' <- b ' || "
                "(params->>'n') || ' <- a ' || (params->>'n') || ' <- x'"),
            "0");
  // Both workers are still there.
  for (pid_t p : workers) EXPECT_EQ(waitpid(p, nullptr, WNOHANG), 0);
}

}  // namespace
