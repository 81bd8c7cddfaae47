// Many writers on one store (threads and separate processes) doing atomic increments, and the
// SIGKILL durability test: every write a killed writer acknowledged must be in the store, and
// the store must pass its integrity check. Each runs on SQLite, PostgreSQL and Redis.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "llmspell/core/error.hpp"
#include "llmspell/state/store.hpp"
#include "support/servers.hpp"

extern char** environ;

namespace llmspell {
namespace {

std::string freshDb(const std::string& leaf) {
  auto dir = std::filesystem::temp_directory_path() /
             ("llmspell_state_conc_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / leaf;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

// Starts the helper; when `out` is non-null its stdout is a pipe whose read end is stored there.
pid_t spawnHelper(const std::vector<std::string>& args, int* out = nullptr) {
  std::vector<char*> argv;
  std::string exe = STATE_HELPER;
  argv.push_back(exe.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  int fds[2] = {-1, -1};
  if (out) {
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    posix_spawn_file_actions_addclose(&fa, fds[1]);
  }
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  EXPECT_EQ(rc, 0) << "cannot start " << exe;
  if (out) {
    ::close(fds[1]);
    *out = fds[0];
  }
  return pid;
}

enum class Backend { kSqlite, kPostgres, kRedis };

// Each test gets its own store: a fresh file, database or key prefix.
class StateConcurrency : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    for (auto& c : name)
      if (c == '/') c = '_';
    if (GetParam() == Backend::kPostgres) {
      auto* pg = test::PgCluster::shared();
      if (!pg) GTEST_SKIP() << test::PgCluster::missing();
      path_ = pg->freshDatabase();
    } else if (GetParam() == Backend::kRedis) {
      auto* redis = test::RedisServer::shared();
      if (!redis) GTEST_SKIP() << test::RedisServer::missing();
      path_ = redis->url() + "?prefix=" + redis->freshPrefix();
    } else {
      path_ = freshDb(name + ".db");
    }
  }
  std::string path_;
};

std::string backendName(const ::testing::TestParamInfo<Backend>& info) {
  switch (info.param) {
    case Backend::kSqlite: return "Sqlite";
    case Backend::kPostgres: return "Postgres";
    case Backend::kRedis: return "Redis";
  }
  return "?";
}

int waitExit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_P(StateConcurrency, ThreadsWithOwnConnectionsAndOneSharedStore) {
  std::string path = path_;
  StateOptions o;
  o.path = path;
  o.busyTimeoutMs = 60000;
  StateStore shared(o);
  constexpr int kThreads = 6, kEach = 200;
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      std::unique_ptr<StateStore> own;
      if (t % 2 == 0) own = std::make_unique<StateStore>(o);
      StateStore& s = own ? *own : shared;
      for (int i = 0; i < kEach; ++i) {
        if (t % 3 == 0) {
          // The optimistic path (what script callbacks use).
          while (true) {
            Versioned cur = s.getVersioned("global", "n");
            if (s.compareAndSet("global", "n", cur.version,
                                Value((cur.value ? cur.value->asInt() : 0) + 1)))
              break;
          }
        } else {
          s.update("global", "n", [](std::optional<Value> v) -> std::optional<Value> {
            return Value((v ? v->asInt() : 0) + 1);
          });
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(*shared.get("global", "n"), Value(kThreads * kEach));
  EXPECT_EQ(shared.integrityCheck(), "ok");
}

TEST_P(StateConcurrency, SeparateProcessesAndThreadsNoLostUpdate) {
  std::string path = path_;
  constexpr int kEach = 300;
  std::vector<pid_t> pids;
  for (int i = 0; i < 3; ++i)
    pids.push_back(spawnHelper({"incr", path, "counter", std::to_string(kEach)}));
  for (int i = 0; i < 3; ++i)
    pids.push_back(spawnHelper({"cas", path, "counter", std::to_string(kEach)}));
  // And this process at the same time.
  StateOptions o;
  o.path = path;
  o.busyTimeoutMs = 60000;
  StateStore mine(o);
  for (int i = 0; i < kEach; ++i)
    mine.update("global", "counter", [](std::optional<Value> v) -> std::optional<Value> {
      return Value((v ? v->asInt() : 0) + 1);
    });
  for (pid_t p : pids) EXPECT_EQ(waitExit(p), 0);
  EXPECT_EQ(*mine.get("global", "counter"), Value(7 * kEach));
  EXPECT_EQ(mine.integrityCheck(), "ok");
}

// Reads from `fd` into numbers (whole lines; a trailing partial line stays in `buf`). With
// `untilEof` it reads until the writer's end is closed, else it does one blocking read.
void drain(int fd, std::string& buf, std::vector<int64_t>& acked, bool untilEof) {
  char tmp[4096];
  while (true) {
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n')) != std::string::npos) {
      acked.push_back(std::stoll(buf.substr(0, nl)));
      buf.erase(0, nl + 1);
    }
    if (!untilEof) break;
  }
}

TEST_P(StateConcurrency, SigkillLosesNoAcknowledgedWrite) {
  std::string path = path_;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> killAfterMs(5, 120);
  constexpr int kRounds = 20;
  std::vector<std::vector<int64_t>> ackedPerRound(kRounds);
  for (int round = 0; round < kRounds; ++round) {
    int fd = -1;
    pid_t pid = spawnHelper({"writer", path, std::to_string(round), "0"}, &fd);
    ASSERT_GT(pid, 0);
    std::string buf;
    auto& acked = ackedPerRound[round];
    // Wait for the first acknowledged write, then let it run a random while and kill it
    // mid-flight (inside a transaction, a checkpoint or a print).
    while (acked.empty()) {
      drain(fd, buf, acked, false);
      if (acked.empty()) {
        int st = 0;
        if (::waitpid(pid, &st, WNOHANG) == pid) FAIL() << "writer exited early";
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(killAfterMs(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    drain(fd, buf, acked, true);  // everything it printed before dying
    ::close(fd);
    // Check after every round: a later writer's recovery must not lose earlier writes either.
    StateOptions o;
    o.path = path;
    StateStore s(o);
    ASSERT_EQ(s.integrityCheck(), "ok") << "round " << round;
    for (int r = 0; r <= round; ++r) {
      for (int64_t i : ackedPerRound[r]) {
        auto v = s.get("durability", std::string("r") + std::to_string(r) + "." + std::to_string(i));
        ASSERT_TRUE(v.has_value()) << "round " << r << " lost acknowledged write " << i;
        ASSERT_EQ(*v, Value(i));
      }
      // The hot key holds at least the last acknowledged value.
      if (!ackedPerRound[r].empty()) {
        auto c = s.get("durability", "r" + std::to_string(r) + ".count");
        ASSERT_TRUE(c.has_value());
        EXPECT_GE(c->asInt(), ackedPerRound[r].back());
      }
    }
  }
  size_t total = 0;
  for (auto& a : ackedPerRound) total += a.size();
  RecordProperty("acknowledged_writes", static_cast<int>(total));
  EXPECT_GT(total, static_cast<size_t>(kRounds));
}

INSTANTIATE_TEST_SUITE_P(Backends, StateConcurrency,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres, Backend::kRedis), backendName);

}  // namespace
}  // namespace llmspell
