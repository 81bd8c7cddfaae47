// The PostgreSQL backend (libpq, loaded on first use). The same tables as SQLite (prefixed
// llmspell_, so the state can share a database with other applications) with bytea keys and
// values: keys are arbitrary bytes, and bytea compares byte-wise like SQLite's BINARY, so
// prefix ranges and ordering are the same.
//
// Every write is one READ COMMITTED transaction that first takes a transaction-scoped advisory
// lock on (scope, key): writers of one key queue on it (absent keys included, which row locks
// cannot cover), so read-modify-write and the version counter never race, across processes.
// A lost connection (server restart) is reconnected and the whole transaction retried, with
// backoff, until busyTimeoutMs; so are serialization failures and deadlocks. The one case not
// retried is a connection lost while COMMIT was in flight: the write may or may not have
// happened, and retrying an update could apply it twice, so it fails with network_error.
#include <libpq-fe.h>

#include <endian.h>
#include <algorithm>

#include <bit>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <type_traits>
#include <unordered_set>

#include "llmspell/core/error.hpp"
#include "state/backend.hpp"

namespace llmspell::state {

namespace {

constexpr int kPurgeEvery = 256;
constexpr Oid kBytea = 17, kInt8 = 20, kFloat8 = 701;

const char* const kSchema = R"SQL(
CREATE TABLE IF NOT EXISTS llmspell_kv(
  scope bytea NOT NULL, key bytea NOT NULL, value bytea NOT NULL, version bigint NOT NULL,
  updated_at float8 NOT NULL, expires_at float8, PRIMARY KEY(scope, key));
CREATE INDEX IF NOT EXISTS llmspell_kv_expiry ON llmspell_kv(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS llmspell_kv_versions(
  scope bytea NOT NULL, key bytea NOT NULL, version bigint NOT NULL, value bytea, ts float8 NOT NULL,
  PRIMARY KEY(scope, key, version));
CREATE TABLE IF NOT EXISTS llmspell_snapshots(
  scope bytea NOT NULL, name bytea NOT NULL, ts float8 NOT NULL, keys bigint NOT NULL,
  data bytea NOT NULL, PRIMARY KEY(scope, name));
)SQL";

// A parameter in binary form.
struct P {
  Oid type;
  std::string data;
  bool null = false;
};
P bytes(std::string_view s) {
  return {kBytea, std::string(s)};
}
P i64(int64_t v) {
  uint64_t be = htobe64(static_cast<uint64_t>(v));
  return {kInt8, std::string(reinterpret_cast<const char*>(&be), 8)};
}
P f64(double v) {
  uint64_t be = htobe64(std::bit_cast<uint64_t>(v));
  return {kFloat8, std::string(reinterpret_cast<const char*>(&be), 8)};
}
P optF64(std::optional<double> v) {
  return v ? f64(*v) : P{kFloat8, "", true};
}
P optBytes(const std::optional<std::string>& v) {
  return v ? bytes(*v) : P{kBytea, "", true};
}

// A failure from the server or the connection.
struct PgError {
  std::string sqlstate;
  std::string message;
  bool lost = false;  // the connection is gone (server restarted or unreachable)
};

// A result in binary format; owns the PGresult.
class Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}
  ~Result() {
    if (r_) PQclear(r_);
  }
  int rows() const { return PQntuples(r_); }
  bool null(int i, int j) const { return PQgetisnull(r_, i, j); }
  std::string bytes(int i, int j) const {
    return std::string(PQgetvalue(r_, i, j), static_cast<size_t>(PQgetlength(r_, i, j)));
  }
  int64_t i64(int i, int j) const {
    uint64_t be;
    std::memcpy(&be, PQgetvalue(r_, i, j), 8);
    return static_cast<int64_t>(be64toh(be));
  }
  double f64(int i, int j) const {
    uint64_t be;
    std::memcpy(&be, PQgetvalue(r_, i, j), 8);
    return std::bit_cast<double>(be64toh(be));
  }
  int64_t affected() const { return std::atoll(PQcmdTuples(r_)); }

 private:
  PGresult* r_;
};

uint64_t keyHash(std::string_view scope, std::string_view key) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a over scope, a NUL (never in a key), key
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  };
  mix(scope);
  mix(std::string_view("\0", 1));
  mix(key);
  return h;
}

class PgBackend final : public Backend {
 public:
  explicit PgBackend(const StateOptions& opts) : opts_(opts), shown_(redactUrl(opts.path)) {
    transact([&] {
      exec("SELECT pg_advisory_xact_lock(7291543620918274001)",
           {});  // concurrent CREATE IF NOT EXISTS can race
      script(kSchema);
      return 0;
    });
  }
  ~PgBackend() override {
    if (conn_) PQfinish(conn_);
  }

  std::optional<Row> read(std::string_view scope, std::string_view key, double now) override {
    return query([&] { return readLocked(scope, key, now); });
  }

  int64_t write(std::string_view scope, std::string_view key,
                const std::optional<std::string>& json, std::optional<double> expiresAt,
                double now) override {
    return transact([&] {
      lockKey(scope, key);
      return writeLocked(scope, key, json, expiresAt, now);
    });
  }

  int64_t del(std::string_view scope, std::string_view key, double now) override {
    return transact([&]() -> int64_t {
      lockKey(scope, key);
      if (!readLocked(scope, key, now)) {
        exec("DELETE FROM llmspell_kv WHERE scope=$1 AND key=$2", {bytes(scope), bytes(key)});
        return 0;
      }
      return writeLocked(scope, key, std::nullopt, std::nullopt, now);
    });
  }

  std::vector<std::pair<std::string, std::string>> list(std::string_view scope,
                                                        std::string_view prefix, double now,
                                                        bool withValues) override {
    return query([&] {
      auto upper = prefixUpperBound(prefix);
      Result r =
          exec(withValues
                   ? "SELECT key, value FROM llmspell_kv WHERE scope=$1 AND key >= $2 AND "
                     "($3::bytea IS NULL OR key < $3) AND (expires_at IS NULL OR expires_at > $4) "
                     "ORDER BY key"
                   : "SELECT key, ''::bytea FROM llmspell_kv WHERE scope=$1 AND key >= $2 AND "
                     "($3::bytea IS NULL OR key < $3) AND (expires_at IS NULL OR expires_at > $4) "
                     "ORDER BY key",
               {bytes(scope), bytes(prefix), optBytes(upper), f64(now)});
      std::vector<std::pair<std::string, std::string>> out;
      for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.bytes(i, 0), r.bytes(i, 1));
      return out;
    });
  }

  bool expire(std::string_view scope, std::string_view key, double at, double now) override {
    return transact([&] {
      lockKey(scope, key);
      Result r = exec(
          "UPDATE llmspell_kv SET expires_at=$3 WHERE scope=$1 AND key=$2 AND (expires_at IS NULL "
          "OR expires_at > $4)",
          {bytes(scope), bytes(key), f64(at), f64(now)});
      return r.affected() > 0;
    });
  }

  int64_t update(std::string_view scope, std::string_view key, double now, const UpdateFn& fn,
                 bool* deleted) override {
    return transact([&]() -> int64_t {
      lockKey(scope, key);
      auto cur = readLocked(scope, key, now);
      auto next = fn(cur);
      *deleted = false;
      if (next) return writeLocked(scope, key, next, std::nullopt, now);
      if (!cur) return 0;
      *deleted = true;
      return writeLocked(scope, key, std::nullopt, std::nullopt, now);
    });
  }

  std::optional<int64_t> compareAndSet(std::string_view scope, std::string_view key,
                                       int64_t expected, const std::optional<std::string>& json,
                                       std::optional<double> expiresAt, double now) override {
    return transact([&]() -> std::optional<int64_t> {
      lockKey(scope, key);
      auto cur = readLocked(scope, key, now);
      if ((cur ? cur->version : 0) != expected) return std::nullopt;
      if (!json && !cur) return int64_t{0};
      return writeLocked(scope, key, json, expiresAt, now);
    });
  }

  std::vector<StoredVersion> versions(std::string_view scope, std::string_view key) override {
    return query([&] {
      Result r = exec(
          "SELECT version, value, ts FROM llmspell_kv_versions WHERE scope=$1 AND key=$2 ORDER BY "
          "version DESC",
          {bytes(scope), bytes(key)});
      std::vector<StoredVersion> out;
      for (int i = 0; i < r.rows(); ++i) {
        StoredVersion sv;
        sv.version = r.i64(i, 0);
        if (!r.null(i, 1)) sv.json = r.bytes(i, 1);
        sv.ts = r.f64(i, 2);
        out.push_back(std::move(sv));
      }
      return out;
    });
  }

  int64_t snapshot(std::string_view scope, std::string_view name, double now) override {
    return transact([&] {
      Result r = exec(
          "SELECT key, value, expires_at FROM llmspell_kv WHERE scope=$1 AND "
          "(expires_at IS NULL OR expires_at > $2) ORDER BY key",
          {bytes(scope), f64(now)});
      std::vector<SnapshotRow> rows;
      for (int i = 0; i < r.rows(); ++i) {
        SnapshotRow row{r.bytes(i, 0), r.bytes(i, 1), std::nullopt};
        if (!r.null(i, 2)) row.expiresAt = r.f64(i, 2);
        rows.push_back(std::move(row));
      }
      auto n = static_cast<int64_t>(rows.size());
      exec(
          "INSERT INTO llmspell_snapshots(scope, name, ts, keys, data) VALUES($1,$2,$3,$4,$5) "
          "ON CONFLICT(scope, name) DO UPDATE SET ts=excluded.ts, keys=excluded.keys, "
          "data=excluded.data",
          {bytes(scope), bytes(name), f64(now), i64(n), bytes(encodeSnapshot(rows))});
      return n;
    });
  }

  int64_t restore(std::string_view scope, std::string_view name, double now) override {
    return transact([&] {
      Result s = exec("SELECT data FROM llmspell_snapshots WHERE scope=$1 AND name=$2",
                      {bytes(scope), bytes(name)});
      if (s.rows() == 0)
        fail(codes::kNotFound,
             "no snapshot named '" + std::string(name) + "' in scope '" + std::string(scope) + "'");
      auto rows = decodeSnapshot(s.bytes(0, 0));
      Result c = exec("SELECT key FROM llmspell_kv WHERE scope=$1", {bytes(scope)});
      // Lock every key this touches, in one order (no deadlock between two restores).
      std::set<std::string> touched;
      for (int i = 0; i < c.rows(); ++i) touched.insert(c.bytes(i, 0));
      for (const auto& row : rows) touched.insert(row.key);
      for (const auto& k : touched) lockKey(scope, k);
      std::unordered_set<std::string> inSnap;
      for (const auto& row : rows) inSnap.insert(row.key);
      for (const auto& k : touched)
        if (!inSnap.count(k) && readLocked(scope, k, now))
          writeLocked(scope, k, std::nullopt, std::nullopt, now);
      int64_t n = 0;
      for (const auto& row : rows) {
        if (row.expiresAt && *row.expiresAt <= now)
          continue;  // expired since the snapshot was taken
        writeLocked(scope, row.key, row.json, row.expiresAt, now);
        ++n;
      }
      return n;
    });
  }

  std::vector<SnapshotInfo> snapshots(std::string_view scope) override {
    return query([&] {
      Result r =
          exec("SELECT name, ts, keys FROM llmspell_snapshots WHERE scope=$1 ORDER BY ts, name",
               {bytes(scope)});
      std::vector<SnapshotInfo> out;
      for (int i = 0; i < r.rows(); ++i)
        out.push_back(SnapshotInfo{r.bytes(i, 0), r.f64(i, 1), r.i64(i, 2)});
      return out;
    });
  }

  bool deleteSnapshot(std::string_view scope, std::string_view name) override {
    return query([&] {
      return exec("DELETE FROM llmspell_snapshots WHERE scope=$1 AND name=$2",
                  {bytes(scope), bytes(name)})
                 .affected() > 0;
    });
  }

  int64_t purgeExpired(double now) override {
    return query([&] { return purgeLocked(now); });
  }

  std::string integrityCheck() override {
    // PostgreSQL checks its own pages (checksums, amcheck); what is ours to check is that the
    // current value of every key is its newest kept version.
    return query([&]() -> std::string {
      Result r = exec(
          "SELECT count(*)::int8 FROM llmspell_kv k WHERE k.version <> (SELECT max(v.version) FROM "
          "llmspell_kv_versions v WHERE v.scope=k.scope AND v.key=k.key)",
          {});
      int64_t bad = r.i64(0, 0);
      return bad == 0 ? "ok"
                      : std::to_string(bad) + " keys whose value is not their newest version";
    });
  }

 private:
  // Runs `body` in one transaction, retried as described at the top.
  template <class F>
  auto transact(F&& body) -> std::invoke_result_t<F&> {
    return attempt(true, body);
  }
  // Runs `body` (statements that each stand alone) with the same reconnect/retry.
  template <class F>
  auto query(F&& body) -> std::invoke_result_t<F&> {
    return attempt(false, body);
  }

  template <class F>
  auto attempt(bool txn, F& body) -> std::invoke_result_t<F&> {
    std::lock_guard lk(mu_);
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busyTimeoutMs);
    int delayMs = 10;
    while (true) {
      bool committing = false;
      try {
        if (!conn_) connect();
        if (txn) exec("BEGIN", {});
        auto out = body();
        committing = true;
        if (txn) exec("COMMIT", {});
        return out;
      } catch (const PgError& e) {
        if (e.lost) {
          if (conn_) PQfinish(conn_);
          conn_ = nullptr;
        } else if (txn) {
          rollback();
        }
        if (e.lost && committing && txn)
          fail(codes::kNetworkError,
               "state database " + shown_ + ": the connection was lost while committing (" +
                   e.message + "); the write may or may not have been applied",
               true);
        bool retry = e.lost || e.sqlstate == "40001" || e.sqlstate == "40P01";
        if (!retry) fail(codes::kInternal, "state database " + shown_ + ": " + e.message);
        if (std::chrono::steady_clock::now() >= deadline) {
          if (e.lost)
            fail(codes::kNetworkError,
                 "state database " + shown_ + " is unreachable (retried for " +
                     std::to_string(opts_.busyTimeoutMs) + " ms): " + e.message,
                 true);
          fail(codes::kTimeout, "state database " + shown_ + ": " + e.message, true);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
        delayMs = std::min(delayMs * 2, 500);
      } catch (...) {
        if (txn) rollback();
        throw;
      }
    }
  }

  void rollback() {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
  }

  void connect() {
    PGconn* c = PQconnectdb(opts_.path.c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      std::string msg = trim(PQerrorMessage(c));
      PQfinish(c);
      throw PgError{"08000", msg, true};
    }
    // Notices ("relation already exists, skipping") are not for the user's terminal.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    conn_ = c;
  }

  static std::string trim(const char* s) {
    std::string m = s ? s : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m;
  }

  Result exec(const char* sql, std::initializer_list<P> params) {
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const auto& p : params) {
      types.push_back(p.type);
      values.push_back(p.null ? nullptr : p.data.data());
      lengths.push_back(static_cast<int>(p.data.size()));
      formats.push_back(1);
    }
    return check(PQexecParams(conn_, sql, static_cast<int>(params.size()), types.data(),
                              values.data(), lengths.data(), formats.data(), 1));
  }

  // Several statements, no parameters (the schema).
  void script(const char* sql) { check(PQexec(conn_, sql)); }

  // The result, or PgError: `lost` when the connection is gone (the server restarted or shut
  // down: class 08, admin shutdown 57P01-57P03, or no SQLSTATE at all).
  Result check(PGresult* raw) {
    ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Result(raw);
    const char* code = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
    std::string state = code ? code : "";
    std::string msg = trim(raw ? PQresultErrorMessage(raw) : "");
    if (msg.empty()) msg = trim(PQerrorMessage(conn_));
    if (raw) PQclear(raw);
    // No SQLSTATE: libpq's own error, about the connection (the server closed it, a write
    // failed); the connection may still claim to be OK until the next call.
    bool lost = PQstatus(conn_) != CONNECTION_OK || state.empty() || state.rfind("08", 0) == 0 ||
                state == "57P01" || state == "57P02" || state == "57P03";
    throw PgError{state, msg, lost};
  }

  void lockKey(std::string_view scope, std::string_view key) {
    exec("SELECT pg_advisory_xact_lock($1)", {i64(static_cast<int64_t>(keyHash(scope, key)))});
  }

  std::optional<Row> readLocked(std::string_view scope, std::string_view key, double now) {
    Result r = exec(
        "SELECT value, version FROM llmspell_kv WHERE scope=$1 AND key=$2 AND "
        "(expires_at IS NULL OR expires_at > $3)",
        {bytes(scope), bytes(key), f64(now)});
    if (r.rows() == 0) return std::nullopt;
    return Row{r.bytes(0, 0), r.i64(0, 1)};
  }

  // One statement (one round trip): the next version, the value (or its deletion), the version
  // row, and the versions beyond the limit dropped. The caller holds the key's lock.
  int64_t writeLocked(std::string_view scope, std::string_view key,
                      const std::optional<std::string>& json, std::optional<double> expiresAt,
                      double now) {
    Result r = exec(
        json ? "WITH nv AS (SELECT COALESCE(MAX(version), 0)::int8 + 1 AS v FROM "
               "llmspell_kv_versions "
               "WHERE scope=$1 AND key=$2), "
               "w AS (INSERT INTO llmspell_kv(scope, key, value, version, updated_at, expires_at) "
               "SELECT $1, $2, $3, nv.v, $4, $5 FROM nv ON CONFLICT(scope, key) DO UPDATE SET "
               "value=excluded.value, version=excluded.version, updated_at=excluded.updated_at, "
               "expires_at=excluded.expires_at), "
               "h AS (INSERT INTO llmspell_kv_versions(scope, key, version, value, ts) "
               "SELECT $1, $2, nv.v, $3, $4 FROM nv), "
               "d AS (DELETE FROM llmspell_kv_versions WHERE scope=$1 AND key=$2 AND "
               "version <= (SELECT v FROM nv) - $6) "
               "SELECT v FROM nv"
             : "WITH nv AS (SELECT COALESCE(MAX(version), 0)::int8 + 1 AS v FROM "
               "llmspell_kv_versions "
               "WHERE scope=$1 AND key=$2), "
               "w AS (DELETE FROM llmspell_kv WHERE scope=$1 AND key=$2), "
               "h AS (INSERT INTO llmspell_kv_versions(scope, key, version, value, ts) "
               "SELECT $1, $2, nv.v, $3, $4 FROM nv), "
               "d AS (DELETE FROM llmspell_kv_versions WHERE scope=$1 AND key=$2 AND "
               "version <= (SELECT v FROM nv) - $6) "
               "SELECT v FROM nv",
        {bytes(scope), bytes(key), optBytes(json), f64(now), optF64(expiresAt),
         i64(opts_.versionLimit)});
    int64_t v = r.i64(0, 0);
    if (++writesSincePurge_ >= kPurgeEvery) purgeLocked(now);
    return v;
  }

  int64_t purgeLocked(double now) {
    writesSincePurge_ = 0;
    return exec("DELETE FROM llmspell_kv WHERE expires_at IS NOT NULL AND expires_at <= $1",
                {f64(now)})
        .affected();
  }

  StateOptions opts_;
  std::string shown_;  // the URL without its password, for messages
  std::mutex mu_;
  PGconn* conn_ = nullptr;
  int writesSincePurge_ = 0;
};

}  // namespace

std::unique_ptr<Backend> openPostgres(const StateOptions& opts) {
  return std::make_unique<PgBackend>(opts);
}

}  // namespace llmspell::state
