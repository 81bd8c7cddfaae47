// The SQLite state store: schema, cached statements, IMMEDIATE write transactions, versions,
// TTL with lazy purge, snapshots, and state.change events after commit.
#include "llmspell/state/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/events/bus.hpp"

namespace llmspell {

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

double systemNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

// The smallest string greater than every string starting with `prefix` (byte order), or
// nullopt when there is none (all 0xFF bytes or empty).
std::optional<std::string> prefixUpperBound(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty()) {
    unsigned char c = static_cast<unsigned char>(s.back());
    if (c < 0xFF) {
      s.back() = static_cast<char>(c + 1);
      return s;
    }
    s.pop_back();
  }
  return std::nullopt;
}

}  // namespace

void validateStateKey(std::string_view key) {
  if (key.empty()) fail(codes::kInvalidArgument, "state key is empty");
  if (key.size() > 1024)
    fail(codes::kInvalidArgument,
         "state key is " + std::to_string(key.size()) + " bytes long; the limit is 1024");
  if (key.find('\0') != std::string_view::npos)
    fail(codes::kInvalidArgument, "state key contains a NUL byte");
}

Value deepMerge(const Value& base, const Value& patch) {
  if (!base.isObject() || !patch.isObject()) return patch.deepCopy();
  Value out = base.deepCopy();
  for (const auto& [k, v] : patch.asObject()) {
    Value* cur = out.asObject().find(k);
    if (cur && cur->isObject() && v.isObject())
      *cur = deepMerge(*cur, v);
    else
      out.asObject().set(k, v.deepCopy());
  }
  return out;
}

// A cached statement in use: bound, stepped, then reset when it goes out of scope.
struct StateStore::Stmt {
  StateStore& store;
  sqlite3_stmt* s;
  Stmt(StateStore& st, const char* sql) : store(st), s(st.prepare(sql)) {}
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
class StateStore::Txn {
 public:
  explicit Txn(StateStore& s) : s_(s) { s_.exec("BEGIN IMMEDIATE"); }
  ~Txn() {
    if (!done_) sqlite3_exec(s_.db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    s_.exec("COMMIT");
    done_ = true;
  }

 private:
  StateStore& s_;
  bool done_ = false;
};

StateStore::StateStore(StateOptions opts) : opts_(std::move(opts)) {
  if (opts_.path.empty()) opts_.path = ":memory:";
  if (opts_.versionLimit < 1) opts_.versionLimit = 1;
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
    purgeExpiredLocked();
    t2.commit();
  } catch (...) {
    for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
    stmts_.clear();
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

StateStore::~StateStore() {
  for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
  if (db_) sqlite3_close(db_);
}

std::unique_ptr<StateStore> StateStore::memory(StateOptions opts) {
  opts.path = ":memory:";
  return std::make_unique<StateStore>(std::move(opts));
}

std::string StateStore::defaultPath() {
  if (const char* h = std::getenv("LLMSPELL_HOME"); h && *h)
    return (std::filesystem::path(h) / "state.db").string();
  const char* home = std::getenv("HOME");
  return (std::filesystem::path(home && *home ? home : ".") / ".llmspell" / "state.db").string();
}

double StateStore::now() const {
  return opts_.clock ? opts_.clock() : systemNow();
}

sqlite3_stmt* StateStore::prepare(const char* sql) {
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
void StateStore::setWal() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busyTimeoutMs);
  for (int delayMs = 1;; delayMs = std::min(delayMs * 2, 50)) {
    int rc = sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) return;
    if ((rc & 0xFF) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
      raise(rc, "PRAGMA journal_mode=WAL");
    std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
  }
}

void StateStore::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (err) sqlite3_free(err);
  if (rc != SQLITE_OK) raise(rc, sql);
}

void StateStore::raise(int rc, std::string_view what) {
  int base = rc & 0xFF;
  std::string w(what);
  if (w.size() > 60) w = w.substr(0, 60) + "...";
  if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
    throw Exception(codes::kTimeout,
                    "state database '" + opts_.path + "' stayed locked by another writer for " +
                        std::to_string(opts_.busyTimeoutMs) + " ms (during " + w + ", sqlite code " +
                        std::to_string(rc) + ")",
                    true);
  fail(codes::kInternal,
       "state database '" + opts_.path + "': " + sqlite3_errmsg(db_) + " (during " + w + ")");
}

Versioned StateStore::readLocked(std::string_view scope, std::string_view key, double t) {
  Stmt q(*this,
         "SELECT value, version FROM kv WHERE scope=?1 AND key=?2 AND "
         "(expires_at IS NULL OR expires_at > ?3)");
  q.text(1, scope).text(2, key).num(3, t);
  Versioned out;
  if (q.step()) {
    out.value = parseJson(q.colText(0));
    out.version = q.colInt(1);
  }
  return out;
}

int64_t StateStore::writeLocked(std::string_view scope, std::string_view key,
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
  afterWriteLocked();
  return v;
}

void StateStore::afterWriteLocked() {
  if (++writesSincePurge_ >= kPurgeEvery) purgeExpiredLocked();
}

int64_t StateStore::purgeExpiredLocked() {
  writesSincePurge_ = 0;
  Stmt p(*this, "DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?1");
  p.num(1, now()).run();
  return sqlite3_changes(db_);
}

void StateStore::emitChange(Value data) {
  if (!opts_.bus) return;
  try {
    opts_.bus->emit("state.change", std::move(data));
  } catch (...) {
    // Observers never fail a committed write.
  }
}

namespace {
Value changeData(std::string_view scope, std::string_view key, std::string_view op,
                 int64_t version) {
  return Value::object({{"scope", scope}, {"key", key}, {"op", op}, {"version", version}});
}
std::optional<double> expiryFrom(double now, std::optional<double> ttl) {
  if (!ttl) return std::nullopt;
  return now + *ttl;
}
}  // namespace

std::optional<Value> StateStore::get(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  std::lock_guard lk(mu_);
  return readLocked(scope, key, now()).value;
}

Versioned StateStore::getVersioned(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  std::lock_guard lk(mu_);
  return readLocked(scope, key, now());
}

int64_t StateStore::set(std::string_view scope, std::string_view key, const Value& value,
                        std::optional<double> ttlSeconds) {
  validateStateKey(key);
  std::string json = toJsonText(value);  // throws invalid_argument for functions etc.
  int64_t v;
  {
    std::lock_guard lk(mu_);
    double t = now();
    Txn tx(*this);
    v = writeLocked(scope, key, json, expiryFrom(t, ttlSeconds), t);
    tx.commit();
  }
  emitChange(changeData(scope, key, "set", v));
  return v;
}

bool StateStore::del(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  int64_t v = 0;
  {
    std::lock_guard lk(mu_);
    double t = now();
    Txn tx(*this);
    if (readLocked(scope, key, t).version == 0) {
      // Absent or expired: drop an expired row without recording a version.
      Stmt d(*this, "DELETE FROM kv WHERE scope=?1 AND key=?2");
      d.text(1, scope).text(2, key).run();
      tx.commit();
      return false;
    }
    v = writeLocked(scope, key, std::nullopt, std::nullopt, t);
    tx.commit();
  }
  emitChange(changeData(scope, key, "delete", v));
  return true;
}

std::vector<std::pair<std::string, Value>> StateStore::entries(std::string_view scope,
                                                               std::string_view prefix) {
  std::lock_guard lk(mu_);
  auto upper = prefixUpperBound(prefix);
  Stmt q(*this,
         "SELECT key, value FROM kv WHERE scope=?1 AND key >= ?2 AND (?4 = 0 OR key < ?3) AND "
         "(expires_at IS NULL OR expires_at > ?5) ORDER BY key");
  q.text(1, scope)
      .text(2, prefix)
      .text(3, upper ? *upper : std::string())
      .integer(4, upper ? 1 : 0)
      .num(5, now());
  std::vector<std::pair<std::string, Value>> out;
  while (q.step()) out.emplace_back(q.colText(0), parseJson(q.colText(1)));
  return out;
}

std::vector<std::string> StateStore::keys(std::string_view scope, std::string_view prefix) {
  std::lock_guard lk(mu_);
  auto upper = prefixUpperBound(prefix);
  Stmt q(*this,
         "SELECT key FROM kv WHERE scope=?1 AND key >= ?2 AND (?4 = 0 OR key < ?3) AND "
         "(expires_at IS NULL OR expires_at > ?5) ORDER BY key");
  q.text(1, scope)
      .text(2, prefix)
      .text(3, upper ? *upper : std::string())
      .integer(4, upper ? 1 : 0)
      .num(5, now());
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.colText(0));
  return out;
}

bool StateStore::expire(std::string_view scope, std::string_view key, double seconds) {
  validateStateKey(key);
  std::lock_guard lk(mu_);
  double t = now();
  Txn tx(*this);
  Stmt u(*this,
         "UPDATE kv SET expires_at=?3 WHERE scope=?1 AND key=?2 AND "
         "(expires_at IS NULL OR expires_at > ?4)");
  u.text(1, scope).text(2, key).num(3, t + seconds).num(4, t).run();
  bool changed = sqlite3_changes(db_) > 0;
  tx.commit();
  return changed;
}

std::optional<Value> StateStore::update(
    std::string_view scope, std::string_view key,
    const std::function<std::optional<Value>(std::optional<Value>)>& fn) {
  validateStateKey(key);
  std::optional<Value> next;
  int64_t v = 0;
  bool deleted = false;
  {
    std::lock_guard lk(mu_);
    double t = now();
    Txn tx(*this);
    Versioned cur = readLocked(scope, key, t);
    next = fn(cur.value);
    if (next) {
      v = writeLocked(scope, key, toJsonText(*next), std::nullopt, t);
    } else if (cur.version != 0) {
      v = writeLocked(scope, key, std::nullopt, std::nullopt, t);
      deleted = true;
    }
    tx.commit();
  }
  if (v) emitChange(changeData(scope, key, deleted ? "delete" : "set", v));
  return next;
}

std::optional<int64_t> StateStore::compareAndSet(std::string_view scope, std::string_view key,
                                                 int64_t expectedVersion,
                                                 const std::optional<Value>& value,
                                                 std::optional<double> ttlSeconds) {
  validateStateKey(key);
  std::optional<std::string> json;
  if (value) json = toJsonText(*value);
  int64_t v = 0;
  {
    std::lock_guard lk(mu_);
    double t = now();
    Txn tx(*this);
    Versioned cur = readLocked(scope, key, t);
    if (cur.version != expectedVersion) return std::nullopt;  // Txn rolls back
    if (!json && cur.version == 0) {
      tx.commit();
      return int64_t{0};  // deleting an absent key: nothing to do
    }
    v = writeLocked(scope, key, json, expiryFrom(t, ttlSeconds), t);
    tx.commit();
  }
  emitChange(changeData(scope, key, json ? "set" : "delete", v));
  return v;
}

Value StateStore::merge(std::string_view scope, std::string_view key, const Value& patch) {
  if (!patch.isObject())
    fail(codes::kInvalidArgument, "state.merge needs an object to merge, got " + patch.describe());
  auto r = update(scope, key, [&](std::optional<Value> cur) -> std::optional<Value> {
    if (cur && !cur->isObject())
      fail(codes::kInvalidArgument, "state.merge: the value at '" + std::string(key) + "' is " +
                                        cur->describe() + ", not an object");
    return deepMerge(cur ? *cur : Value::object(), patch);
  });
  return *r;
}

std::vector<VersionInfo> StateStore::versions(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  std::lock_guard lk(mu_);
  Stmt q(*this,
         "SELECT version, value, ts FROM kv_versions WHERE scope=?1 AND key=?2 "
         "ORDER BY version DESC");
  q.text(1, scope).text(2, key);
  std::vector<VersionInfo> out;
  while (q.step()) {
    VersionInfo vi;
    vi.version = q.colInt(0);
    if (!q.colNull(1)) vi.value = parseJson(q.colText(1));
    vi.ts = q.colNum(2);
    out.push_back(std::move(vi));
  }
  return out;
}

std::optional<Value> StateStore::getVersion(std::string_view scope, std::string_view key,
                                            int64_t version) {
  validateStateKey(key);
  std::lock_guard lk(mu_);
  Stmt q(*this, "SELECT value FROM kv_versions WHERE scope=?1 AND key=?2 AND version=?3");
  q.text(1, scope).text(2, key).integer(3, version);
  if (q.step() && !q.colNull(0)) return parseJson(q.colText(0));
  return std::nullopt;
}

int64_t StateStore::snapshot(std::string_view scope, std::string_view name) {
  if (name.empty()) fail(codes::kInvalidArgument, "snapshot name is empty");
  std::lock_guard lk(mu_);
  double t = now();
  Txn tx(*this);
  nlohmann::json rows = nlohmann::json::array();
  {
    Stmt q(*this,
           "SELECT key, value, expires_at FROM kv WHERE scope=?1 AND "
           "(expires_at IS NULL OR expires_at > ?2) ORDER BY key");
    q.text(1, scope).num(2, t);
    while (q.step()) {
      nlohmann::json row = nlohmann::json::array({q.colText(0), q.colText(1)});
      if (q.colNull(2))
        row.push_back(nullptr);
      else
        row.push_back(q.colNum(2));
      rows.push_back(std::move(row));
    }
  }
  auto n = static_cast<int64_t>(rows.size());
  Stmt w(*this,
         "INSERT OR REPLACE INTO snapshots(scope, name, ts, keys, data) VALUES(?1,?2,?3,?4,?5)");
  w.text(1, scope).text(2, name).num(3, t).integer(4, n).text(5, rows.dump()).run();
  tx.commit();
  return n;
}

int64_t StateStore::restore(std::string_view scope, std::string_view name) {
  int64_t n = 0;
  {
    std::lock_guard lk(mu_);
    double t = now();
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
    auto rows = nlohmann::json::parse(data);
    std::vector<std::string> current;
    {
      Stmt q(*this,
             "SELECT key FROM kv WHERE scope=?1 AND (expires_at IS NULL OR expires_at > ?2)");
      q.text(1, scope).num(2, t);
      while (q.step()) current.push_back(q.colText(0));
    }
    std::unordered_map<std::string, bool> inSnap;
    for (const auto& row : rows) inSnap[row[0].get<std::string>()] = true;
    for (const auto& k : current)
      if (!inSnap.count(k)) writeLocked(scope, k, std::nullopt, std::nullopt, t);
    for (const auto& row : rows) {
      std::optional<double> exp;
      if (!row[2].is_null()) {
        exp = row[2].get<double>();
        if (*exp <= t) continue;  // expired since the snapshot was taken
      }
      writeLocked(scope, row[0].get<std::string>(), row[1].get<std::string>(), exp, t);
      ++n;
    }
    tx.commit();
  }
  emitChange(
      Value::object({{"scope", scope}, {"key", Value()}, {"op", "restore"}, {"snapshot", name}}));
  return n;
}

std::vector<SnapshotInfo> StateStore::snapshots(std::string_view scope) {
  std::lock_guard lk(mu_);
  Stmt q(*this, "SELECT name, ts, keys FROM snapshots WHERE scope=?1 ORDER BY ts, name");
  q.text(1, scope);
  std::vector<SnapshotInfo> out;
  while (q.step()) out.push_back(SnapshotInfo{q.colText(0), q.colNum(1), q.colInt(2)});
  return out;
}

bool StateStore::deleteSnapshot(std::string_view scope, std::string_view name) {
  std::lock_guard lk(mu_);
  Stmt d(*this, "DELETE FROM snapshots WHERE scope=?1 AND name=?2");
  d.text(1, scope).text(2, name).run();
  return sqlite3_changes(db_) > 0;
}

int64_t StateStore::purgeExpired() {
  std::lock_guard lk(mu_);
  Txn tx(*this);
  int64_t n = purgeExpiredLocked();
  tx.commit();
  return n;
}

std::string StateStore::integrityCheck() {
  std::lock_guard lk(mu_);
  Stmt q(*this, "PRAGMA integrity_check");
  std::string out;
  while (q.step()) {
    if (!out.empty()) out += "\n";
    out += q.colText(0);
  }
  return out;
}

}  // namespace llmspell
