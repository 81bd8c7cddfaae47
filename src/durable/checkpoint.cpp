#include "llmspell/durable/checkpoint.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/durable/pg.hpp"

namespace llmspell::durable {

namespace {

// ---- SQLite: one file, WAL, one row per entry ----
class SqliteCheckpoints : public CheckpointStore {
 public:
  explicit SqliteCheckpoints(const std::string& path) {
    std::error_code ec;
    auto dir = std::filesystem::path(path).parent_path();
    if (!dir.empty()) std::filesystem::create_directories(dir, ec);
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string m = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close_v2(db_);
      db_ = nullptr;
      fail(codes::kConfigError, "cannot open the checkpoint database " + path + ": " + m);
    }
    sqlite3_busy_timeout(db_, 10000);
    run("PRAGMA journal_mode=WAL");
    run("PRAGMA synchronous=NORMAL");
    run("CREATE TABLE IF NOT EXISTS checkpoints (run_id TEXT NOT NULL, key TEXT NOT NULL, entry TEXT NOT NULL, "
        "at REAL NOT NULL DEFAULT ((julianday('now') - 2440587.5) * 86400.0), PRIMARY KEY (run_id, key))");
  }
  ~SqliteCheckpoints() override {
    if (db_) sqlite3_close_v2(db_);
  }
  std::string kind() const override { return "sqlite"; }

  std::unordered_map<std::string, Value> load(const std::string& runId) override {
    std::unordered_map<std::string, Value> out;
    sqlite3_stmt* st = prepare("SELECT key, entry FROM checkpoints WHERE run_id = ?1");
    sqlite3_bind_text(st, 1, runId.c_str(), -1, SQLITE_TRANSIENT);
    while (sqlite3_step(st) == SQLITE_ROW)
      out.emplace(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)),
                  parseJson(reinterpret_cast<const char*>(sqlite3_column_text(st, 1))));
    sqlite3_finalize(st);
    return out;
  }

  void put(const std::string& runId, const std::string& key, const Value& entry, const std::string&) override {
    std::string text = toJsonText(entry);
    sqlite3_stmt* st = prepare("INSERT OR IGNORE INTO checkpoints (run_id, key, entry) VALUES (?1, ?2, ?3)");
    sqlite3_bind_text(st, 1, runId.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, key.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, text.c_str(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) fail(codes::kInternal, std::string("cannot write a checkpoint: ") + sqlite3_errmsg(db_));
  }

 private:
  void run(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string m = err ? err : "error";
      sqlite3_free(err);
      fail(codes::kInternal, std::string("checkpoint database: ") + m);
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK)
      fail(codes::kInternal, std::string("checkpoint database: ") + sqlite3_errmsg(db_));
    return st;
  }
  sqlite3* db_ = nullptr;
};

// ---- PostgreSQL: the queue's database ----
// One connection per process and URL, shared by the runs the process makes one after another
// (a worker): a connection costs a server process, and a run's checkpoints are few.
class PgCheckpoints : public CheckpointStore {
 public:
  explicit PgCheckpoints(const std::string& url) : c_(url) { ensureSchema(c_); }
  std::string kind() const override { return "postgres"; }

  std::unordered_map<std::string, Value> load(const std::string& runId) override {
    std::lock_guard<std::mutex> lk(mu_);
    std::unordered_map<std::string, Value> out;
    for (auto& r : c_.exec("SELECT key, entry::text FROM llmspell_checkpoints WHERE run_id = $1", {runId}))
      out.emplace(*r[0], parseJson(*r[1]));
    return out;
  }

  void put(const std::string& runId, const std::string& key, const Value& entry, const std::string& lease) override {
    std::lock_guard<std::mutex> lk(mu_);
    std::string text = toJsonText(entry);
    if (lease.empty()) {
      c_.exec("INSERT INTO llmspell_checkpoints (run_id, key, entry) VALUES ($1, $2, $3::jsonb) "
              "ON CONFLICT DO NOTHING",
              {runId, key, text});
      return;
    }
    // Fenced by the lease: the row goes in only while this worker holds the run, in one
    // statement, so a worker paused past its lease cannot write after another took over. The
    // run's event goes out in the same statement (NOTIFY is sent at commit).
    auto rows = c_.exec(
        "WITH held AS (SELECT id FROM llmspell_runs WHERE id = $1 AND worker = $4 AND status = 'running' "
        "AND lease_until > now()), "
        "ins AS (INSERT INTO llmspell_checkpoints (run_id, key, entry) SELECT $1, $2, $3::jsonb FROM held "
        "ON CONFLICT DO NOTHING RETURNING 1), "
        "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT $1, jsonb_build_object('type', "
        "'checkpoint', 'key', $2::text, 'worker', $4::text) FROM held RETURNING seq) "
        "SELECT (SELECT count(*) FROM held), (SELECT pg_notify('llmspell_run_events', $1 || ' ' || seq) FROM ev)",
        {runId, key, text, lease}, false);
    if (rows.empty() || !rows[0][0] || *rows[0][0] == "0")
      fail(codes::kLimitExceeded, "lease lost: run " + runId + " is no longer held by worker " + lease +
                                      " (another worker took it over after the lease expired)");
  }

 private:
  std::mutex mu_;
  PgConn c_;
};

// Runs `f`, waiting through a database outage (network_error) of up to kOutage: a database that
// restarts or fails over is waited for rather than failing the run. The thread waits, as it
// would for a slow query.
constexpr std::chrono::seconds kOutage{60};
template <typename F>
auto throughOutage(F f) -> decltype(f()) {
  auto until = std::chrono::steady_clock::now() + kOutage;
  for (int n = 0;; ++n) {
    try {
      return f();
    } catch (const Exception& e) {
      if (e.error().code != codes::kNetworkError || std::chrono::steady_clock::now() > until) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min(50 * (n + 1), 1000)));
    }
  }
}

class StoreJournal : public Journal {
 public:
  StoreJournal(CheckpointStorePtr store, std::string runId, std::string lease)
      : store_(std::move(store)), runId_(std::move(runId)), lease_(std::move(lease)) {
    // Waited for through an outage as record() is: a run taken just before the database
    // restarts must not fail for reading its checkpoints.
    entries_ = throughOutage([this] { return store_->load(runId_); });
  }
  Value find(const std::string& key) override {
    auto it = entries_.find(key);
    return it == entries_.end() ? Value() : it->second.deepCopy();
  }
  void record(const std::string& key, const Value& entry) override {
    // The work is done and only its record is missing: an outage is waited for.
    throughOutage([&] {
      store_->put(runId_, key, entry, lease_);
      return 0;
    });
    entries_.emplace(key, entry.deepCopy());
  }

 private:
  CheckpointStorePtr store_;
  std::string runId_, lease_;
  std::unordered_map<std::string, Value> entries_;
};

}  // namespace

void ensureSchema(PgConn& c) {
  // Once per process and database: the tables are never dropped under a running worker.
  static std::mutex mu;
  static std::set<std::string> done;
  {
    std::lock_guard<std::mutex> lk(mu);
    if (done.count(c.url())) return;
  }
  // Workers start together: the advisory lock makes one of them create the tables while the
  // others wait (CREATE TABLE IF NOT EXISTS alone races on the catalog).
  c.exec("BEGIN");
  try {
    c.exec("SELECT pg_advisory_xact_lock(7310021)", {}, false);
    c.exec(R"(CREATE TABLE IF NOT EXISTS llmspell_runs (
        id text PRIMARY KEY,
        spell text NOT NULL,
        params jsonb NOT NULL DEFAULT '{}',
        durable boolean NOT NULL DEFAULT true,
        status text NOT NULL DEFAULT 'queued' CONSTRAINT llmspell_runs_status_check
          CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        worker text,
        lease_until timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        result jsonb,
        error jsonb,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        started_at timestamptz,
        finished_at timestamptz,
        key_id text,
        options jsonb NOT NULL DEFAULT '{}',
        CHECK ((status = 'running') = (lease_until IS NOT NULL))))",
           {}, false);
    // Tables made before runs could be cancelled or carry a key and options: brought up to date
    // (only when needed: ALTER TABLE locks the table).
    auto cols = c.exec("SELECT count(*) FROM information_schema.columns WHERE table_name = 'llmspell_runs' "
                       "AND column_name IN ('key_id', 'options') AND table_schema = current_schema()",
                       {}, false);
    if (cols.empty() || !cols[0][0] || *cols[0][0] != "2")
      c.exec("ALTER TABLE llmspell_runs ADD COLUMN IF NOT EXISTS key_id text, "
             "ADD COLUMN IF NOT EXISTS options jsonb NOT NULL DEFAULT '{}'",
             {}, false);
    auto check = c.exec("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'llmspell_runs_status_check' "
                        "AND conrelid = 'llmspell_runs'::regclass",
                        {}, false);
    if (check.empty() || !check[0][0] || check[0][0]->find("cancelled") == std::string::npos)
      c.exec("ALTER TABLE llmspell_runs DROP CONSTRAINT IF EXISTS llmspell_runs_status_check, "
             "ADD CONSTRAINT llmspell_runs_status_check "
             "CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled'))",
             {}, false);
    c.exec("CREATE INDEX IF NOT EXISTS llmspell_runs_pending ON llmspell_runs (created_at) "
           "WHERE status IN ('queued', 'running')",
           {}, false);
    c.exec("CREATE TABLE IF NOT EXISTS llmspell_checkpoints (run_id text NOT NULL, key text NOT NULL, "
           "entry jsonb NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp(), PRIMARY KEY (run_id, key))",
           {}, false);
    c.exec("CREATE TABLE IF NOT EXISTS llmspell_run_events (seq bigserial PRIMARY KEY, run_id text NOT NULL, "
           "event jsonb NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())",
           {}, false);
    c.exec("CREATE INDEX IF NOT EXISTS llmspell_run_events_run ON llmspell_run_events (run_id, seq)", {}, false);
    c.exec("COMMIT", {}, false);
    std::lock_guard<std::mutex> lk(mu);
    done.insert(c.url());
  } catch (...) {
    try {
      c.exec("ROLLBACK", {}, false);
    } catch (...) {
    }
    throw;
  }
}

CheckpointStorePtr openCheckpoints(const std::string& location) {
  if (isPostgresUrl(location)) {
    static std::mutex mu;
    static std::unordered_map<std::string, CheckpointStorePtr> open;  // for the process's life
    std::lock_guard<std::mutex> lk(mu);
    CheckpointStorePtr& s = open[location];
    if (!s) s = throughOutage([&] { return std::make_shared<PgCheckpoints>(location); });
    return s;
  }
  if (location.find("://") != std::string::npos)
    fail(codes::kConfigError, "checkpoint store '" + location +
                                  "': use a postgres:// URL or the path of a SQLite file");
  return std::make_shared<SqliteCheckpoints>(location);
}

std::shared_ptr<Journal> openJournal(CheckpointStorePtr store, const std::string& runId, const std::string& lease) {
  return std::make_shared<StoreJournal>(std::move(store), runId, lease);
}

}  // namespace llmspell::durable
