// The state store: scoped key-value Values (kept as JSON text) with TTL, versions, snapshots,
// atomic updates and compare-and-set, on SQLite (a file in WAL mode, or in memory).
//
// Durability: the file store runs in WAL mode with synchronous=NORMAL by default. A committed
// transaction is in the WAL (in the OS page cache) before commit returns, so it survives the
// process being killed (SIGKILL, crash) — tests/state/durability_test.cpp proves it; the file is
// never corrupted. What NORMAL gives up is the last commits before a power loss or kernel crash
// (the WAL is fsynced at checkpoints, not at every commit). FULL would add one fsync per write
// (0.5-10 ms on ordinary disks) and, because state calls run inline on the loop thread (below),
// stall every spell on that loop for it. A spell state store that loses the last second of
// writes on power loss but never corrupts is the right default; StateOptions::durability =
// kFull (or LLMSPELL_STATE_SYNC=full in the bridge) is there for users who need more.
//
// Threading: one StateStore is thread-safe (a mutex serializes its connection). Several
// StateStore objects, in one or many processes, may open the same file: every write is one
// BEGIN IMMEDIATE transaction and busy_timeout waits for the lock, so no update is lost.
// Calls block: a read is a few microseconds and a write a few tens of microseconds on WAL with
// NORMAL (bench/state), less than a loop turn, so the bridge calls them inline instead of
// paying a thread-pool round trip per call. Under heavy multi-process contention a write can
// wait up to busyTimeoutMs for the lock; that is the documented worst case.
//
// Servers: with a postgres:// or redis:// URL as the path the same store lives in PostgreSQL
// (libpq) or Redis (hiredis), both loaded on first use, with the same semantics: every write is
// one transaction (PostgreSQL, serialized per key by a transaction-scoped advisory lock) or one
// Lua script (Redis); update() runs `fn` inside the PostgreSQL transaction, and on Redis as an
// optimistic read / compare-and-set loop. A lost connection (server restarted) is reconnected
// and the operation retried a bounded number of times while it cannot have taken effect; an
// operation whose outcome is unknown (the connection dropped during COMMIT) or a server that
// stays away fails with network_error (retryable). Passwords in URLs are never in messages.
//
// Failure: methods throw Exception: invalid_argument (bad key, a value with no JSON form,
// unknown snapshot -> not_found), timeout (the database stayed locked past busyTimeoutMs,
// retryable), network_error (a server unreachable, retryable), internal (any other database
// failure, with the database's message).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell {

class EventBus;
namespace state {
class Backend;
}

enum class Durability { kNormal, kFull };

struct StateOptions {
  // Where the state lives: a database file; ":memory:" (or empty) for the memory store; or a
  // server: postgres://user:password@host:port/db (or postgresql://, any libpq URI, e.g.
  // ?host=/run/postgresql for a Unix socket) or redis://[:password@]host:port[/db][?prefix=p]
  // (keys under the prefix, default "llmspell:").
  std::string path;
  Durability durability = Durability::kNormal;
  int versionLimit = 10;          // versions kept per key (>= 1)
  int busyTimeoutMs = 10000;      // how long a write waits for another writer
  std::function<double()> clock;  // seconds since the epoch; default: the system clock
  EventBus* bus = nullptr;        // when set, writes emit `state.change` after commit
};

// A stored value and its version (version 0 = absent).
struct Versioned {
  std::optional<Value> value;
  int64_t version = 0;
};

struct VersionInfo {
  int64_t version = 0;
  std::optional<Value> value;  // nullopt: the key was deleted at this version
  double ts = 0;
};

struct SnapshotInfo {
  std::string name;
  double ts = 0;
  int64_t keys = 0;
};

class StateStore {
 public:
  // Opens (creating when needed) the store; throws internal when SQLite cannot open or set up
  // the file (creating its parent directory), network_error when a server cannot be reached.
  explicit StateStore(StateOptions opts);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // A memory store (":memory:"): same behaviour, gone with the object.
  static std::unique_ptr<StateStore> memory(StateOptions opts = {});
  // The default file: $LLMSPELL_HOME/state.db, else ~/.llmspell/state.db.
  static std::string defaultPath();

  const StateOptions& options() const { return opts_; }

  // The value, or nullopt when absent or expired.
  std::optional<Value> get(std::string_view scope, std::string_view key);
  Versioned getVersioned(std::string_view scope, std::string_view key);
  // Writes `value`; ttlSeconds > 0 makes it expire, nullopt clears any expiry. Returns the
  // new version.
  int64_t set(std::string_view scope, std::string_view key, const Value& value,
              std::optional<double> ttlSeconds = std::nullopt);
  // True when a live key was deleted.
  bool del(std::string_view scope, std::string_view key);
  // Live keys starting with `prefix`, sorted.
  std::vector<std::string> keys(std::string_view scope, std::string_view prefix = "");
  // Live entries starting with `prefix`, sorted by key.
  std::vector<std::pair<std::string, Value>> entries(std::string_view scope,
                                                     std::string_view prefix = "");
  // Sets the expiry of a live key (seconds <= 0 expires it now). False when absent.
  bool expire(std::string_view scope, std::string_view key, double seconds);

  // Atomic read-modify-write in one IMMEDIATE transaction (atomic across processes): `fn`
  // gets the current value (nullopt when absent) and returns the new one (nullopt deletes).
  // `fn` runs with the database write-locked: keep it short and never call the store from it.
  // Returns the value written.
  std::optional<Value> update(std::string_view scope, std::string_view key,
                              const std::function<std::optional<Value>(std::optional<Value>)>& fn);
  // Writes (or deletes, for nullopt) only when the key's version is still `expectedVersion`
  // (0 = absent). The building block for updates whose function cannot run inside a
  // transaction (a script callback that may suspend). Returns the new version, or nullopt when
  // the version moved on.
  std::optional<int64_t> compareAndSet(std::string_view scope, std::string_view key,
                                       int64_t expectedVersion, const std::optional<Value>& value,
                                       std::optional<double> ttlSeconds = std::nullopt);
  // Deep-merges `patch` (an object) into the object at key (absent = {}): nested objects merge,
  // everything else replaces. Throws invalid_argument when the stored value is not an object.
  Value merge(std::string_view scope, std::string_view key, const Value& patch);

  // Kept versions of a key, newest first (up to versionLimit).
  std::vector<VersionInfo> versions(std::string_view scope, std::string_view key);
  // One version; nullopt when not kept or a deletion.
  std::optional<Value> getVersion(std::string_view scope, std::string_view key, int64_t version);

  // Saves every live key of `scope` under `name` (replacing a snapshot of that name). Returns
  // the number of keys saved.
  int64_t snapshot(std::string_view scope, std::string_view name);
  // Replaces the scope's keys with the snapshot's (every change is a new version). Throws
  // not_found for an unknown snapshot. Returns the number of keys restored.
  int64_t restore(std::string_view scope, std::string_view name);
  std::vector<SnapshotInfo> snapshots(std::string_view scope);
  bool deleteSnapshot(std::string_view scope, std::string_view name);

  // Deletes expired rows now (also done lazily every few hundred writes). Returns rows purged.
  int64_t purgeExpired();
  // PRAGMA integrity_check: "ok" or SQLite's report ("ok" for the servers, which check their
  // own data).
  std::string integrityCheck();

 private:
  double now() const;
  void emitChange(Value data);

  StateOptions opts_;
  std::unique_ptr<state::Backend> backend_;
};

// Checks a key: non-empty, at most 1024 bytes, no NUL. Throws invalid_argument.
void validateStateKey(std::string_view key);
// Deep merge used by StateStore::merge: objects merge recursively, other values replace.
Value deepMerge(const Value& base, const Value& patch);

}  // namespace llmspell
