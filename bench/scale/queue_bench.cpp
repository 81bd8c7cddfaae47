// The run queue and durable runs on this machine (docs/scaling.md, issue #17):
//  1. queue throughput of a trivial spell with 1, 2 and 4 workers (runs/s, from starting the
//     workers to the last run completed; worker start-up included);
//  2. the cost of one checkpoint (a step's record, ~300 bytes) p50/p99 on SQLite (WAL, NORMAL)
//     and on PostgreSQL (fenced by the run's lease, as workers write them);
//  3. resume latency: a worker holding a run is killed (SIGKILL) mid-step; the time until
//     another worker claims the run, and until the run's next step completes there.
// PostgreSQL is a throwaway cluster started like the tests start it (tests/support/servers.hpp).
//   build/ci/bench/scale/bench_queue [runs per throughput point, default 200]
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "llmspell/core/convert.hpp"
#include "llmspell/durable/checkpoint.hpp"
#include "llmspell/durable/pg.hpp"
#include "support/servers.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;
const std::string kBin = std::string(LLMSPELL_BINARY_DIR) + "/src/cli/llmspell";
const std::string kSpells = std::string(LLMSPELL_SOURCE_DIR);

pid_t startWorker(const std::string& url, const std::string& id, double lease, bool exitWhenIdle) {
  pid_t pid = fork();
  if (pid == 0) {
    FILE* f = std::fopen("/dev/null", "w");
    dup2(fileno(f), 1);
    std::vector<std::string> args = {kBin, "worker", "--queue", url, "--id", id, "--lease", std::to_string(lease)};
    if (exitWhenIdle) args.push_back("--exit-when-idle");
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

double secsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct Pct {
  std::vector<double> v;
  double at(double q) {
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  }
};

void throughput(llmspell::test::PgCluster& pg, int runs) {
  for (int workers : {1, 2, 4}) {
    std::string url = pg.freshDatabase("tp");
    std::string db = pg.lastDatabase();
    { llmspell::durable::PgConn c(url); llmspell::durable::ensureSchema(c); }
    pg.sql(db, "INSERT INTO llmspell_runs (id, spell) SELECT 'r' || i, '" + kSpells +
                   "/bench/scale/spells/trivial/main.lua' FROM generate_series(1, " + std::to_string(runs) + ") i");
    auto t0 = Clock::now();
    std::vector<pid_t> pids;
    for (int i = 0; i < workers; ++i) pids.push_back(startWorker(url, "w" + std::to_string(i), 30, true));
    for (pid_t p : pids) waitpid(p, nullptr, 0);
    double s = secsSince(t0);
    std::string done = pg.sql(db, "SELECT count(*) FROM llmspell_runs WHERE status = 'completed'");
    std::printf("queue throughput, trivial spell, %d worker%s: %s runs in %.2f s = %.1f runs/s\n", workers,
                workers > 1 ? "s" : "", done.c_str(), s, std::stod(done) / s);
  }
}

void checkpointCost(llmspell::test::PgCluster& pg) {
  using namespace llmspell;
  Value entry = Value::object({{"output", std::string(240, 'x')},
                               {"usage", Value::object({{"input_tokens", 120}, {"output_tokens", 80}})},
                               {"cost_usd", 0.00042}});
  const int n = 2000;
  auto dir = fs::temp_directory_path() / ("llmspell_bench_queue_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string url = pg.freshDatabase("cp");
  {
    durable::PgConn c(url);
    durable::ensureSchema(c);
    c.exec("INSERT INTO llmspell_runs (id, spell, status, worker, lease_until) VALUES ('held', 's', 'running', "
           "'bench', now() + interval '1 hour')");
  }
  struct Case {
    const char* name;
    std::string where, lease;
  } cases[] = {{"sqlite", (dir / "cp.db").string(), ""}, {"postgres (fenced by the lease)", url, "bench"}};
  for (auto& c : cases) {
    auto j = durable::openJournal(durable::openCheckpoints(c.where), "held", c.lease);
    Pct p;
    for (int i = 0; i < n; ++i) {
      auto t = Clock::now();
      j->record("/wf.step[" + std::to_string(i) + "]#0", entry);
      p.v.push_back(secsSince(t) * 1e6);
    }
    std::printf("one checkpoint, %s: p50 %.0f us, p99 %.0f us (%d writes)\n", c.name, p.at(0.5), p.at(0.99), n);
  }
  fs::remove_all(dir);
}

void resumeLatency(llmspell::test::PgCluster& pg, double lease) {
  Pct claim, next;
  for (int rep = 0; rep < 5; ++rep) {
    std::string url = pg.freshDatabase("rs");
    std::string db = pg.lastDatabase();
    { llmspell::durable::PgConn c(url); llmspell::durable::ensureSchema(c); }
    // A spell whose steps each take 0.5 s (a pause; no model): resume cost is the queue's.
    pg.sql(db, "INSERT INTO llmspell_runs (id, spell) VALUES ('r', '" + kSpells +
                   "/bench/scale/spells/slow_steps/main.lua')");
    pid_t a = startWorker(url, "A", lease, false);
    while (pg.sql(db, "SELECT count(*) FROM llmspell_checkpoints WHERE run_id = 'r'") == "0")
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    pid_t b = startWorker(url, "B", lease, false);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // B is idle, waiting
    kill(a, SIGKILL);
    auto t0 = Clock::now();
    waitpid(a, nullptr, 0);
    bool claimed = false;
    for (;;) {
      if (!claimed && pg.sql(db, "SELECT worker FROM llmspell_runs WHERE id = 'r'") == "B") {
        claimed = true;
        claim.v.push_back(secsSince(t0));
      }
      if (claimed && pg.sql(db, "SELECT count(*) FROM llmspell_run_events WHERE run_id = 'r' AND "
                                "event->>'type' = 'checkpoint' AND event->>'worker' = 'B'") != "0") {
        next.v.push_back(secsSince(t0));
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    kill(b, SIGKILL);
    waitpid(b, nullptr, 0);
  }
  std::printf("resume after kill -9, lease %.0f s: claimed by another worker after p50 %.2f s (max %.2f); its next "
              "step done after p50 %.2f s (max %.2f)\n",
              lease, claim.at(0.5), claim.at(1), next.at(0.5), next.at(1));
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  if (!llmspell::test::PgCluster::missing().empty()) {
    std::printf("skipped: %s\n", llmspell::test::PgCluster::missing().c_str());
    return 0;
  }
  llmspell::test::PgCluster pg;
  throughput(pg, runs);
  checkpointCost(pg);
  resumeLatency(pg, 1);
  resumeLatency(pg, 3);
  return 0;
}
