// The SQLite backend: schema, cached statements, IMMEDIATE write transactions, versions, TTL
// with lazy purge, snapshots.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "llmspell/core/error.hpp"
#include "state/backend.hpp"

namespace llmspell::state {

namespace {

constexpr int kPurgeEvery = 256;

const char* const kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS kv(
  scope TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, version INTEGER NOT NULL,
  updated_at REAL NOT NULL, expires_at REAL,
  PRIMARY KEY(scope, key)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expiry ON kv(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS kv_versions(
  scope TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, value TEXT, ts REAL NOT NULL,
  PRIMARY KEY(scope, key, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots(
  scope TEXT NOT NULL, name TEXT NOT NULL, ts REAL NOT NULL, keys INTEGER NOT NULL,
  data TEXT NOT NULL, PRIMARY KEY(scope, name)) WITHOUT ROWID;
)SQL";

class SqliteBackend final : public Backend {
 public:
  explicit SqliteBackend(const StateOptions& opts);
  ~SqliteBackend() override;

  std::optional<Row> read(std::string_view scope, std::string_view key, double now) override;
  int64_t write(std::string_view scope, std::string_view key,
                const std::optional<std::string>& json, std::optional<double> expiresAt,
                double now) override;
  int64_t del(std::string_view scope, std::string_view key, double now) override;
  std::vector<std::pair<std::string, std::string>> list(std::string_view scope,
                                                        std::string_view prefix, double now,
                                                        bool withValues) override;
  bool expire(std::string_view scope, std::string_view key, double at, double now) override;
  int64_t update(std::string_view scope, std::string_view key, double now, const UpdateFn& fn,
                 bool* deleted) override;
  std::optional<int64_t> compareAndSet(std::string_view scope, std::string_view key,
                                       int64_t expected, const std::optional<std::string>& json,
                                       std::optional<double> expiresAt, double now) override;
  std::vector<StoredVersion> versions(std::string_view scope, std::string_view key) override;
  int64_t snapshot(std::string_view scope, std::string_view name, double now) override;
  int64_t restore(std::string_view scope, std::string_view name, double now) override;
  std::vector<SnapshotInfo> snapshots(std::string_view scope) override;
  bool deleteSnapshot(std::string_view scope, std::string_view name) override;
  int64_t purgeExpired(double now) override;
  std::string integrityCheck() override;

 private:
  struct Stmt;
  class Txn;
  sqlite3_stmt* prepare(const char* sql);
  void exec(const char* sql);
  void setWal();
  [[noreturn]] void raise(int rc, std::string_view what);
  std::optional<Row> readLocked(std::string_view scope, std::string_view key, double now);
  int64_t writeLocked(std::string_view scope, std::string_view key,
                      const std::optional<std::string>& json, std::optional<double> expiresAt,
                      double now);
  int64_t purgeExpiredLocked(double now);

  StateOptions opts_;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::vector<std::pair<const char*, sqlite3_stmt*>> stmts_;  // cached prepared statements
  int writesSincePurge_ = 0;
};

}  // namespace

// A cached statement in use: bound, stepped, then reset when it goes out of scope.
struct SqliteBackend::Stmt {
  SqliteBackend& store;
  sqlite3_stmt* s;
  Stmt(SqliteBackend& st, const char* sql) : store(st), s(st.prepare(sql)) {}
  ~Stmt() {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
  }
  Stmt& text(int i, std::string_view v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& num(int i, double v) {
    sqlite3_bind_double(s, i, v);
    return *this;
  }
  Stmt& integer(int i, int64_t v) {
    sqlite3_bind_int64(s, i, v);
    return *this;
  }
  Stmt& null(int i) {
    sqlite3_bind_null(s, i);
    return *this;
  }
  // True when a row is available; false when done. Throws on errors.
  bool step() {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    store.raise(rc, "query");
  }
  void run() {
    while (step()) {
    }
  }
  std::string colText(int i) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, i))) : std::string();
  }
  bool colNull(int i) const { return sqlite3_column_type(s, i) == SQLITE_NULL; }
  int64_t colInt(int i) const { return sqlite3_column_int64(s, i); }
  double colNum(int i) const { return sqlite3_column_double(s, i); }
};

// BEGIN IMMEDIATE ... COMMIT; rolls back unless committed. Taking the write lock up front
// means a read-modify-write can never be invalidated by another writer (no SQLITE_BUSY on
// upgrade, no lost update).
class SqliteBackend::Txn {
 public:
  explicit Txn(SqliteBackend& s) : s_(s) { s_.exec("BEGIN IMMEDIATE"); }
  ~Txn() {
    if (!done_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    s_.exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteBackend& s_;
  bool done_ = false;
};

SqliteBackend::SqliteBackend(const StateOptions& opts) : opts_(opts) {
  if (opts_.path != ":memory:") {
    std::error_code ec;
    auto parent = std::filesystem::path(opts_.path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  int rc =
      sqlite3_open_v2(opts_.path.c_str(), &db_,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInternal, "cannot open state database '" + opts_.path + "': " + msg);
  }
  try {
    sqlite3_busy_timeout(db_, opts_.busyTimeoutMs);
    // WAL: readers never block the writer and a commit is one append. Switching the mode takes
    // a lock; with several processes starting at once the busy handler covers it.
    setWal();
    exec(opts_.durability == Durability::kFull ? "PRAGMA synchronous=FULL"
                                               : "PRAGMA synchronous=NORMAL");
    Txn t(*this);
    exec(kSchema);
    t.commit();
    std::lock_guard lk(mu_);
    Txn t2(*this);
    using namespace std::chrono;
    purgeExpiredLocked(opts_.clock
                           ? opts_.clock()
                           : duration<double>(system_clock::now().time_since_epoch()).count());
    t2.commit();
  } catch (...) {
    for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
    stmts_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SqliteBackend::~SqliteBackend() {
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

sqlite3_stmt* SqliteBackend::prepare(const char* sql) {
  for (auto& [k, st] : stmts_)
    if (k == sql) return st;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
  if (rc != SQLITE_OK) raise(rc, "prepare");
  stmts_.emplace_back(sql, st);
  return st;
}

// Switching a new database file to WAL takes an exclusive lock, and SQLite answers SQLITE_BUSY
// at once (no busy handler) while another process has the file open, as when several processes
// create the same state file together; retried here until the busy timeout.
void SqliteBackend::setWal() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busyTimeoutMs);
  for (int delayMs = 1;; delayMs = std::min(delayMs * 2, 50)) {
    int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xFF) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      raise(rc, "PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
  }
}

void SqliteBackend::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) raise(rc, sql);
}

void SqliteBackend::raise(int rc, std::string_view what) {
  int base = rc & 0xFF;
  std::string w(what);
  if (w.size() > 60) w = w.substr(0, 60) + "...";
  if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
    throw Exception(codes::kTimeout,
                    "state database '" + opts_.path + "' stayed locked by another writer for " +
                        std::to_string(opts_.busyTimeoutMs) + " ms (during " + w +
                        ", sqlite code " + std::to_string(rc) + ")",
                    true);
  fail(codes::kInternal,
       "state database '" + opts_.path + "': " + sqlite3_errmsg(db_) + " (during " + w + ")");
}

std::optional<Row> SqliteBackend::readLocked(std::string_view scope, std::string_view key,
                                             double t) {
  Stmt q(*this,
         "SELECT value, version FROM kv WHERE scope=?1 AND key=?2 AND "
         "(expires_at IS NULL OR expires_at > ?3)");
  q.text(1, scope).text(2, key).num(3, t);
  if (q.step()) return Row{q.colText(0), q.colInt(1)};
  return std::nullopt;
}

int64_t SqliteBackend::writeLocked(std::string_view scope, std::string_view key,
                                   const std::optional<std::string>& json,
                                   std::optional<double> expiresAt, double t) {
  int64_t v = 1;
  {
    Stmt q(*this, "SELECT COALESCE(MAX(version), 0) FROM kv_versions WHERE scope=?1 AND key=?2");
    q.text(1, scope).text(2, key);
    if (q.step()) v = q.colInt(0) + 1;
  }
  if (json) {
    Stmt w(*this,
           "INSERT INTO kv(scope, key, value, version, updated_at, expires_at) "
           "VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(scope, key) DO UPDATE SET "
           "value=excluded.value, version=excluded.version, updated_at=excluded.updated_at, "
           "expires_at=excluded.expires_at");
    w.text(1, scope).text(2, key).text(3, *json).integer(4, v).num(5, t);
    if (expiresAt)
      w.num(6, *expiresAt);
    else
      w.null(6);
    w.run();
  } else {
    Stmt d(*this, "DELETE FROM kv WHERE scope=?1 AND key=?2");
    d.text(1, scope).text(2, key).run();
  }
  {
    Stmt h(*this, "INSERT INTO kv_versions(scope, key, version, value, ts) VALUES(?1,?2,?3,?4,?5)");
    h.text(1, scope).text(2, key).integer(3, v).num(5, t);
    if (json)
      h.text(4, *json);
    else
      h.null(4);
    h.run();
  }
  {
    Stmt p(*this, "DELETE FROM kv_versions WHERE scope=?1 AND key=?2 AND version <= ?3");
    p.text(1, scope).text(2, key).integer(3, v - opts_.versionLimit).run();
  }
  if (++writesSincePurge_ >= kPurgeEvery) purgeExpiredLocked(t);
  return v;
}

int64_t SqliteBackend::purgeExpiredLocked(double t) {
  writesSincePurge_ = 0;
  Stmt p(*this, "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1");
  p.num(1, t).run();
  return sqlite3_changes(db_);
}

std::optional<Row> SqliteBackend::read(std::string_view scope, std::string_view key, double now) {
  std::lock_guard lk(mu_);
  return readLocked(scope, key, now);
}

int64_t SqliteBackend::write(std::string_view scope, std::string_view key,
                             const std::optional<std::string>& json,
                             std::optional<double> expiresAt, double now) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  int64_t v = writeLocked(scope, key, json, expiresAt, now);
  tx.commit();
  return v;
}

int64_t SqliteBackend::del(std::string_view scope, std::string_view key, double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  if (!readLocked(scope, key, t)) {
    // Absent or expired: drop an expired row without recording a version.
    Stmt d(*this, "DELETE FROM kv WHERE scope=?1 AND key=?2");
    d.text(1, scope).text(2, key).run();
    tx.commit();
    return 0;
  }
  int64_t v = writeLocked(scope, key, std::nullopt, std::nullopt, t);
  tx.commit();
  return v;
}

std::vector<std::pair<std::string, std::string>> SqliteBackend::list(std::string_view scope,
                                                                     std::string_view prefix,
                                                                     double now, bool withValues) {
  std::lock_guard lk(mu_);
  auto upper = prefixUpperBound(prefix);
  Stmt q(
      *this,
      withValues
          ? "SELECT key, value FROM kv WHERE scope=?1 AND key >= ?2 AND (?4 = 0 OR key < ?3) AND "
            "(expires_at IS NULL OR expires_at > ?5) ORDER BY key"
          : "SELECT key, '' FROM kv WHERE scope=?1 AND key >= ?2 AND (?4 = 0 OR key < ?3) AND "
            "(expires_at IS NULL OR expires_at > ?5) ORDER BY key");
  q.text(1, scope)
      .text(2, prefix)
      .text(3, upper ? *upper : std::string())
      .integer(4, upper ? 1 : 0)
      .num(5, now);
  std::vector<std::pair<std::string, std::string>> out;
  while (q.step()) out.emplace_back(q.colText(0), q.colText(1));
  return out;
}

bool SqliteBackend::expire(std::string_view scope, std::string_view key, double at, double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  Stmt u(*this,
         "UPDATE kv SET expires_at=?3 WHERE scope=?1 AND key=?2 AND "
         "(expires_at IS NULL OR expires_at > ?4)");
  u.text(1, scope).text(2, key).num(3, at).num(4, t).run();
  bool changed = sqlite3_changes(db_) > 0;
  tx.commit();
  return changed;
}

int64_t SqliteBackend::update(std::string_view scope, std::string_view key, double t,
                              const UpdateFn& fn, bool* deleted) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  auto cur = readLocked(scope, key, t);
  auto next = fn(cur);
  int64_t v = 0;
  *deleted = false;
  if (next) {
    v = writeLocked(scope, key, next, std::nullopt, t);
  } else if (cur) {
    v = writeLocked(scope, key, std::nullopt, std::nullopt, t);
    *deleted = true;
  }
  tx.commit();
  return v;
}

std::optional<int64_t> SqliteBackend::compareAndSet(std::string_view scope, std::string_view key,
                                                    int64_t expected,
                                                    const std::optional<std::string>& json,
                                                    std::optional<double> expiresAt, double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  auto cur = readLocked(scope, key, t);
  if ((cur ? cur->version : 0) != expected) return std::nullopt;  // Txn rolls back
  if (!json && !cur) {
    tx.commit();
    return int64_t{0};  // deleting an absent key: nothing to do
  }
  int64_t v = writeLocked(scope, key, json, expiresAt, t);
  tx.commit();
  return v;
}

std::vector<StoredVersion> SqliteBackend::versions(std::string_view scope, std::string_view key) {
  std::lock_guard lk(mu_);
  Stmt q(
      *this,
      "SELECT version, value, ts FROM kv_versions WHERE scope=?1 AND key=?2 ORDER BY version DESC");
  q.text(1, scope).text(2, key);
  std::vector<StoredVersion> out;
  while (q.step()) {
    StoredVersion sv;
    sv.version = q.colInt(0);
    if (!q.colNull(1)) sv.json = q.colText(1);
    sv.ts = q.colNum(2);
    out.push_back(std::move(sv));
  }
  return out;
}

int64_t SqliteBackend::snapshot(std::string_view scope, std::string_view name, double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  std::vector<SnapshotRow> rows;
  {
    Stmt q(*this,
           "SELECT key, value, expires_at FROM kv WHERE scope=?1 AND "
           "(expires_at IS NULL OR expires_at > ?2) ORDER BY key");
    q.text(1, scope).num(2, t);
    while (q.step()) {
      SnapshotRow r{q.colText(0), q.colText(1), std::nullopt};
      if (!q.colNull(2)) r.expiresAt = q.colNum(2);
      rows.push_back(std::move(r));
    }
  }
  auto n = static_cast<int64_t>(rows.size());
  Stmt w(*this,
         "INSERT OR REPLACE INTO snapshots(scope, name, ts, keys, data) VALUES(?1,?2,?3,?4,?5)");
  w.text(1, scope).text(2, name).num(3, t).integer(4, n).text(5, encodeSnapshot(rows)).run();
  tx.commit();
  return n;
}

int64_t SqliteBackend::restore(std::string_view scope, std::string_view name, double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  std::string data;
  {
    Stmt q(*this, "SELECT data FROM snapshots WHERE scope=?1 AND name=?2");
    q.text(1, scope).text(2, name);
    if (!q.step())
      fail(codes::kNotFound,
           "no snapshot named '" + std::string(name) + "' in scope '" + std::string(scope) + "'");
    data = q.colText(0);
  }
  auto rows = decodeSnapshot(data);
  std::vector<std::string> current;
  {
    Stmt q(*this, "SELECT key FROM kv WHERE scope=?1 AND (expires_at IS NULL OR expires_at > ?2)");
    q.text(1, scope).num(2, t);
    while (q.step()) current.push_back(q.colText(0));
  }
  std::unordered_map<std::string, bool> inSnap;
  for (const auto& row : rows) inSnap[row.key] = true;
  for (const auto& k : current)
    if (!inSnap.count(k)) writeLocked(scope, k, std::nullopt, std::nullopt, t);
  int64_t n = 0;
  for (const auto& row : rows) {
    if (row.expiresAt && *row.expiresAt <= t) continue;  // expired since the snapshot was taken
    writeLocked(scope, row.key, row.json, row.expiresAt, t);
    ++n;
  }
  tx.commit();
  return n;
}

std::vector<SnapshotInfo> SqliteBackend::snapshots(std::string_view scope) {
  std::lock_guard lk(mu_);
  Stmt q(*this, "SELECT name, ts, keys FROM snapshots WHERE scope=?1 ORDER BY ts, name");
  q.text(1, scope);
  std::vector<SnapshotInfo> out;
  while (q.step()) out.push_back(SnapshotInfo{q.colText(0), q.colNum(1), q.colInt(2)});
  return out;
}

bool SqliteBackend::deleteSnapshot(std::string_view scope, std::string_view name) {
  std::lock_guard lk(mu_);
  Stmt d(*this, "DELETE FROM snapshots WHERE scope=?1 AND name=?2");
  d.text(1, scope).text(2, name).run();
  return sqlite3_changes(db_) > 0;
}

int64_t SqliteBackend::purgeExpired(double t) {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  int64_t n = purgeExpiredLocked(t);
  tx.commit();
  return n;
}

std::string SqliteBackend::integrityCheck() {
  std::lock_guard lk(mu_);
  Stmt q(*this, "PRAGMA integrity_check");
  std::string out;
  while (q.step()) {
    if (!out.empty()) out += "\n";
    out += q.colText(0);
  }
  return out;
}

std::unique_ptr<Backend> openSqlite(const StateOptions& opts) {
  return std::make_unique<SqliteBackend>(opts);
}

}  // namespace llmspell::state
