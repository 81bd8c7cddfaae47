// `llmspell serve --queue`: runs posted over HTTP go to a real PostgreSQL queue
// (tests/support/servers.hpp) and real `llmspell worker` processes run them; GET reads the
// queue's row, the SSE stream reads the queue's events (following them through LISTEN/NOTIFY,
// resumed with Last-Event-ID), DELETE cancels queued and running runs, and a run whose workers
// keep dying is failed with attempts_exhausted.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "queue_support.hpp"
#include "support/serve.hpp"

namespace {

using json = nlohmann::json;
using namespace llmspell::test;
namespace fs = std::filesystem;

std::string queueSpells() {
  static std::string dir = writeSpells(
      "queue",
      {{"hello",
        {{"spell.yaml", "name: hello\nparams:\n  name: {type: string, required: true}\nlimits: {timeout_s: 30}\n"},
         {"main.lua", "spell.output('hi ' .. spell.params.name)\nreturn 'hello ' .. spell.params.name\n"}}},
       {"gate",  // waits for the file named by its param
        {{"spell.yaml", "name: gate\nparams:\n  flag: {type: string, required: true}\npermissions:\n  read: ['/']\n"
                        "limits: {timeout_s: 120}\n"},
         {"main.lua", "while not fs.exists(spell.params.flag) do sleep(0.02) end\nreturn 'opened'\n"}}}});
  return dir;
}

class ServeQueue : public testing::Test {
 protected:
  void SetUp() override {
    pg = PgCluster::shared();
    if (!pg) GTEST_SKIP() << PgCluster::missing();
    if (!pg->running()) pg->start();
    url = pg->freshDatabase("sq");
    db = pg->lastDatabase();
    dir = fs::path(testing::TempDir()) / ("serve_queue_" + std::to_string(getpid()) + "_" +
                                          testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
    providerEnv(fp, (dir / "home").string());
    srv = std::make_unique<ServeProcess>(std::vector<std::string>{"--spells", queueSpells(), "--workers", "1", "--queue", url});
    ASSERT_GT(srv->port(), 0) << srv->firstLine();
    port = srv->port();
  }
  void TearDown() override {
    for (pid_t p : workers) stopWorker(p, SIGKILL);
    srv.reset();
  }
  pid_t worker(const std::string& id, double lease = 30, std::vector<std::string> extra = {}) {
    pid_t p = startWorker(url, id, lease, (dir / (id + ".log")).string(), extra);
    workers.push_back(p);
    return p;
  }
  std::string log(const std::string& id) {
    std::ifstream in(dir / (id + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string sql(const std::string& q) { return pg->sql(db, q); }
  json get(const std::string& id) { return http(port, "GET", "/v1/runs/" + id).json(); }
  json waitFinished(const std::string& id) {
    json j;
    eventually([&] {
      j = get(id);
      return j.contains("finished_at");
    }, 60);
    return j;
  }
  std::string flag(const std::string& tag) { return (dir / ("flag_" + tag)).string(); }

  PgCluster* pg = nullptr;
  std::string url, db;
  fs::path dir;
  llmspell::fake::FakeProvider fp{13};
  std::unique_ptr<ServeProcess> srv;
  int port = 0;
  std::vector<pid_t> workers;
};

TEST_F(ServeQueue, PostedRunIsRunByAWorkerAndItsEventsStreamAndResume) {
  worker("w1");
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Ada"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  json posted = r.json();
  EXPECT_EQ(posted["queue"], true);
  EXPECT_EQ(posted["spell"], "hello");
  std::string id = posted["id"];

  json j = waitFinished(id);
  EXPECT_EQ(j["status"], "succeeded") << j.dump() << log("w1");
  EXPECT_EQ(j["output"], "hello Ada");
  EXPECT_EQ(j["worker"], "w1");
  EXPECT_EQ(j["attempts"], 1);
  EXPECT_EQ(sql("SELECT status FROM llmspell_runs WHERE id = '" + id + "'"), "completed");
  EXPECT_EQ(j["outputs"], json::array({"hi Ada"})) << j.dump();

  // The whole stream of a finished run: queued, running, ..., run.finish; then it ends.
  auto all = http(port, "GET", "/v1/runs/" + id + "/events");
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_NE(all.body.find("event: run.status\ndata: {\"status\":\"queued\"}"), std::string::npos) << all.body;
  EXPECT_NE(all.body.find("\"status\":\"running\""), std::string::npos) << all.body;
  EXPECT_NE(all.body.find("event: run.finish\ndata: {\"status\":\"succeeded\""), std::string::npos) << all.body;
  EXPECT_LT(all.body.find("queued"), all.body.find("run.finish"));
  // The spell's own events and outputs, forwarded by the worker.
  EXPECT_NE(all.body.find("event: spell.output\ndata: \"hi Ada\""), std::string::npos) << all.body;
  EXPECT_NE(all.body.find("event: spell.start\n"), std::string::npos) << all.body;

  // Ids are the queue's event numbers: Last-Event-ID of the first gives the rest.
  std::string firstId = all.body.substr(4, all.body.find('\n') - 4);
  std::string second = all.body.substr(all.body.find("\n\nid: ") + 2);
  auto resumed = http(port, "GET", "/v1/runs/" + id + "/events", "", "last-event-id: " + firstId + "\r\n");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_EQ(resumed.body, second);
  // Past the end: an empty stream that ends.
  auto past = http(port, "GET", "/v1/runs/" + id + "/events", "", "last-event-id: 999999999\r\n");
  EXPECT_EQ(past.status, 200);
  EXPECT_EQ(past.body, "");
  EXPECT_EQ(http(port, "GET", "/v1/runs/" + id + "/events", "", "last-event-id: x\r\n").status, 400);

  // wait: true answers with the finished run; stream: true streams it to its end.
  auto waited = http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Bo"},"wait":true})");
  ASSERT_EQ(waited.status, 200) << waited.body;
  EXPECT_EQ(waited.json()["status"], "succeeded");
  EXPECT_EQ(waited.json()["output"], "hello Bo");
  SseClient s(port, "POST", "/v1/runs", R"({"spell":"hello","stream":true,"params":{"name":"Cy"}})");
  ASSERT_TRUE(s.readUntil("event: run.finish")) << s.text();
  EXPECT_FALSE(s.runId().empty()) << s.text();
  EXPECT_EQ(get(s.runId())["output"], "hello Cy");

  // Requests are checked against the spells as without --queue, before anything is queued.
  EXPECT_EQ(http(port, "POST", "/v1/runs", R"({"spell":"nope"})").status, 404);
  auto bad = http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"colour":"red"}})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_EQ(http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"a"},"limits":{"timeout_s":100}})").status, 400);
  EXPECT_EQ(http(port, "GET", "/v1/runs/run_nope").status, 404);
  EXPECT_EQ(http(port, "GET", "/v1/runs/run_nope/events").status, 404);
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_runs"), "3");
}

// The request's narrowed grants travel with the run: the worker applies them instead of the
// manifest's (gate may read '/', this request none).
TEST_F(ServeQueue, NarrowedGrantsReachTheWorker) {
  worker("w1");
  std::string f = flag("grants");
  std::ofstream(f) << "go";
  auto r = http(port, "POST", "/v1/runs",
                R"({"spell":"gate","params":{"flag":")" + f + R"("},"grants":{"read":[]},"wait":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "failed") << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "permission_denied") << r.body;
  auto ok = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("},"wait":true})");
  EXPECT_EQ(ok.json()["status"], "succeeded") << ok.body;
}

// A client following a run that is still going gets its events as the worker makes them
// (LISTEN/NOTIFY), and the stream ends when the run does.
TEST_F(ServeQueue, StreamFollowsARunningRunUntilItEnds) {
  worker("w1");
  std::string f = flag("follow");
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  SseClient c(port, "GET", "/v1/runs/" + id + "/events", "");
  ASSERT_TRUE(c.readUntil("\"status\":\"running\"")) << c.text() << log("w1");
  EXPECT_EQ(c.text().find("run.finish"), std::string::npos);
  EXPECT_EQ(get(id)["status"], "running");
  std::ofstream(f) << "go";
  ASSERT_TRUE(c.readUntil("event: run.finish")) << c.text();
  c.readAll();
  EXPECT_NE(c.text().find("\"status\":\"succeeded\""), std::string::npos) << c.text();
  EXPECT_EQ(get(id)["output"], "opened");
}

// SIGTERM with a client still following a queued run: serve drains and exits; the run, being
// the queue's, goes on in its worker and is read from another serve process.
TEST_F(ServeQueue, SigtermWithAStreamOpenExitsAndTheRunGoesOn) {
  worker("w1");
  std::string f = flag("term");
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  {
    SseClient c(port, "GET", "/v1/runs/" + id + "/events", "");
    ASSERT_TRUE(c.readUntil("\"status\":\"running\"")) << c.text() << log("w1");
    EXPECT_EQ(srv->terminate(), 0);
  }
  std::ofstream(f) << "go";
  ServeProcess other({"--spells", queueSpells(), "--workers", "1", "--queue", url});
  ASSERT_GT(other.port(), 0) << other.firstLine();
  json j;
  ASSERT_TRUE(eventually([&] {
    j = http(other.port(), "GET", "/v1/runs/" + id).json();
    return j.contains("finished_at");
  }, 60)) << j.dump();
  EXPECT_EQ(j["status"], "succeeded") << j.dump();
  EXPECT_EQ(j["output"], "opened");
}

// PostgreSQL restarted under a stream: serve's listener reconnects and catches up, the worker
// reconnects and finishes, and the client sees the run to its end.
TEST_F(ServeQueue, AStreamOutlivesAPostgresRestart) {
  worker("w1", 5);
  std::string f = flag("restart");
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  SseClient c(port, "GET", "/v1/runs/" + id + "/events", "");
  ASSERT_TRUE(c.readUntil("\"status\":\"running\"")) << c.text() << log("w1");
  pg->restart(/*immediate=*/true);
  std::ofstream(f) << "go";
  ASSERT_TRUE(c.readUntil("event: run.finish")) << c.text() << log("w1");
  c.readAll();
  EXPECT_NE(c.text().find("\"status\":\"succeeded\""), std::string::npos) << c.text() << log("w1");
  EXPECT_EQ(get(id)["output"], "opened");
}

TEST_F(ServeQueue, DeleteCancelsAQueuedRunAndStopsARunningOne) {
  // No worker yet: the run waits in the queue, and DELETE takes it out.
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Di"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string queued = r.json()["id"];
  EXPECT_EQ(get(queued)["status"], "queued");
  auto d = http(port, "DELETE", "/v1/runs/" + queued);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json()["status"], "cancelled");
  EXPECT_EQ(d.json()["error"]["code"], "cancelled");
  auto ev = http(port, "GET", "/v1/runs/" + queued + "/events");
  EXPECT_NE(ev.body.find("event: run.finish\ndata: {\"error\":{\"code\":\"cancelled\""), std::string::npos) << ev.body;
  EXPECT_NE(ev.body.find("\"status\":\"cancelled\"}"), std::string::npos) << ev.body;
  // A worker finds nothing to run.
  auto idle = runCli("worker --queue '" + url + "' --id idle --exit-when-idle", "", true);
  EXPECT_EQ(idle.exit, 0) << idle.out;
  EXPECT_EQ(sql("SELECT status || ' ' || attempts FROM llmspell_runs WHERE id = '" + queued + "'"), "cancelled 0");

  // A running run: cancelled in the queue at once; its worker stops it at its next heartbeat
  // and goes on to the next run.
  worker("w2", 1);
  std::string f = flag("never");
  r = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("}})");
  std::string running = r.json()["id"];
  ASSERT_TRUE(eventually([&] { return get(running)["status"] == "running"; }, 30)) << log("w2");
  d = http(port, "DELETE", "/v1/runs/" + running);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json()["status"], "cancelled");
  ASSERT_TRUE(eventually([&] { return log("w2").find("was cancelled; it was stopped") != std::string::npos; }, 30))
      << log("w2");
  auto next = http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Ed"},"wait":true})");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json()["status"], "succeeded") << next.body << log("w2");
  EXPECT_EQ(get(running)["status"], "cancelled");
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_run_events WHERE run_id = '" + running + "' AND event->>'type' = 'finished'"), "1");
}

// Workers killed while they hold the run: each expired lease is another attempt, and after the
// cap the run fails with attempts_exhausted instead of being taken again.
TEST_F(ServeQueue, ARunWhoseWorkersKeepDyingFailsAtTheAttemptCap) {
  std::string f = flag("cap");
  auto r = http(port, "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + f + R"("}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  for (int attempt = 1; attempt <= 2; ++attempt) {
    std::string name = "k" + std::to_string(attempt);
    pid_t p = worker(name, 1, {"--max-attempts", "2"});
    ASSERT_TRUE(eventually([&] {
      return sql("SELECT status || ' ' || attempts FROM llmspell_runs WHERE id = '" + id + "'") ==
             "running " + std::to_string(attempt);
    }, 30)) << log(name);
    stopWorker(p, SIGKILL);
  }
  worker("last", 1, {"--max-attempts", "2"});
  json j = waitFinished(id);
  EXPECT_EQ(j["status"], "failed") << j.dump() << log("last");
  EXPECT_EQ(j["error"]["code"], "attempts_exhausted") << j.dump();
  EXPECT_EQ(j["attempts"], 2);
  EXPECT_NE(j["error"]["message"].get<std::string>().find("--max-attempts"), std::string::npos) << j.dump();
  auto ev = http(port, "GET", "/v1/runs/" + id + "/events");
  EXPECT_NE(ev.body.find("event: run.finish\ndata: {\"error\":{\"attempts\":2,\"code\":\"attempts_exhausted\""),
            std::string::npos) << ev.body;
  EXPECT_NE(ev.body.find("\"status\":\"failed\""), std::string::npos) << ev.body;
  // Nobody runs it again, though the flag now lets it finish.
  std::ofstream(f) << "go";
  EXPECT_EQ(sql("SELECT count(*) FROM llmspell_run_events WHERE run_id = '" + id + "' AND event->>'type' = 'claimed'"), "2");
}

// With API keys, a queued run belongs to the key that posted it: the key id is in its row.
TEST_F(ServeQueue, QueuedRunsAreVisibleOnlyToTheirKey) {
  std::string store = (dir / "keys.db").string();
  auto a = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + cliPath() + " keys create --spell '*' 2>/dev/null");
  auto b = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + cliPath() + " keys create --spell '*' 2>/dev/null");
  ASSERT_EQ(a.exit, 0) << a.out;
  ASSERT_EQ(b.exit, 0) << b.out;
  ServeProcess keyed({"--spells", queueSpells(), "--workers", "1", "--queue", url, "--keys", store});
  ASSERT_GT(keyed.port(), 0) << keyed.firstLine();
  std::string authA = "authorization: Bearer " + a.out.substr(0, a.out.find('\n')) + "\r\n";
  std::string authB = "authorization: Bearer " + b.out.substr(0, b.out.find('\n')) + "\r\n";
  auto r = http(keyed.port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Fy"}})", authA);
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  EXPECT_NE(sql("SELECT coalesce(key_id, '') FROM llmspell_runs WHERE id = '" + id + "'"), "");
  EXPECT_EQ(http(keyed.port(), "GET", "/v1/runs/" + id, "", authA).status, 200);
  EXPECT_EQ(http(keyed.port(), "GET", "/v1/runs/" + id, "", authB).status, 404);
  EXPECT_EQ(http(keyed.port(), "GET", "/v1/runs/" + id + "/events", "", authB).status, 404);
  EXPECT_EQ(http(keyed.port(), "DELETE", "/v1/runs/" + id, "", authB).status, 404);
  EXPECT_EQ(http(keyed.port(), "GET", "/v1/runs/" + id).status, 401);
  EXPECT_EQ(sql("SELECT status FROM llmspell_runs WHERE id = '" + id + "'"), "queued");
}

}  // namespace
