// Real servers for tests: a throwaway PostgreSQL cluster and a redis-server, started from the
// Debian packages (postgresql, redis-server) and stopped afterwards.
//
// Both run as child processes of the test with a parent-death signal, so a test process that
// crashes or is killed takes its servers with it (no leaked postmaster holding a temp dir). The
// death signal fires when the *thread* that started the server exits: start them from the test's
// main thread (shared() does). Under root (CI) PostgreSQL runs as the `postgres` system user when
// it exists, else `nobody`, since postgres refuses to run as root.
//
// Starting a cluster costs an initdb (seconds): the first cluster on the machine initdb's a
// template data directory in /tmp (under a lock), and every cluster after copies it (a fraction
// of a second). ctest runs each test case in its own process, so this matters.
//
// Use:
//   auto* pg = test::PgCluster::shared();
//   if (!pg) GTEST_SKIP() << test::PgCluster::missing();
//   std::string url = pg->freshDatabase();   // postgresql://postgres@/t_..?host=/tmp/...
//
//   auto* redis = test::RedisServer::shared();
//   if (!redis) GTEST_SKIP() << test::RedisServer::missing();
//   std::string url = redis->url();          // redis://127.0.0.1:PORT ; use a fresh key prefix
//                                            // (redis->freshPrefix()) or database per test
//
// Failures to start when the packages are installed throw std::runtime_error (the test fails
// with the server's log), they are never skipped.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

namespace llmspell::test {

class PgCluster {
 public:
  // Creates the data directory (from the template) and starts the server. Throws
  // std::runtime_error with the server's log when it cannot.
  PgCluster();
  ~PgCluster();  // stops the server (immediate shutdown) and removes the directory
  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // Empty when initdb/postgres are installed, else what is missing (names the package).
  static std::string missing();
  // The cluster shared by every test of this process, started on first use; nullptr when
  // PostgreSQL is not installed (then GTEST_SKIP with missing()).
  static PgCluster* shared();

  // Stops the server: fast shutdown (clients disconnected, checkpoint) or immediate (like a
  // crash: no checkpoint, recovery on the next start). Idempotent.
  void stop(bool immediate = false);
  // Starts it again (same socket and data; waits until it accepts connections).
  void start();
  void restart(bool immediate = false) {
    stop(immediate);
    start();
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // The socket directory (the libpq `host`), the superuser, and a libpq URL for `db`.
  const std::string& socketDir() const { return dir_; }
  std::string url(const std::string& db = "postgres") const;
  // Creates a database with a name unique in this cluster and returns its URL.
  std::string freshDatabase(const std::string& stem = "t");
  std::string lastDatabase() const { return lastDb_; }
  // Runs SQL through psql in `db`; returns its unaligned, tuples-only output (rows separated
  // by newlines, columns by '|'). Throws std::runtime_error when psql fails.
  std::string sql(const std::string& db, const std::string& query) const;
  // The server log so far (for failure messages).
  std::string log() const;

 private:
  std::string dir_;  // /tmp/llmspell-pg-XXXXXX: socket dir; data in dir_/data
  std::string lastDb_;
  pid_t pid_ = -1;
  pid_t owner_ = 0;  // the process that started it: a forked child exiting must not stop it
  int dbCounter_ = 0;
};

class RedisServer {
 public:
  // Starts redis-server on a free loopback port, with its append-only file in a temp dir (so a
  // stop/start keeps what was committed) and RDB snapshots off. The AOF is fsynced on every
  // write (a kill loses nothing acknowledged) unless !fsyncEveryWrite (Redis's default,
  // everysec: for benchmarks). Throws std::runtime_error.
  explicit RedisServer(bool fsyncEveryWrite = true);
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  static std::string missing();
  static RedisServer* shared();

  // SIGTERM (redis flushes the AOF and exits) or SIGKILL when `kill`. Idempotent.
  void stop(bool kill = false);
  // Starts it again on the same port with the same data.
  void start();
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  int port() const { return port_; }
  std::string url(int db = 0) const;
  // A key prefix unique in this process ("t<pid>_<n>:"), for tests sharing one server.
  std::string freshPrefix(const std::string& stem = "t");
  // Runs redis-cli with `args` (shell words); returns its output. Throws when it fails.
  std::string cli(const std::string& args) const;
  std::string log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  pid_t owner_ = 0;
  bool fsyncEveryWrite_ = true;
  int port_ = 0;
  int prefixCounter_ = 0;
};

}  // namespace llmspell::test
