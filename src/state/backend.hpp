// The storage under StateStore: one interface, three engines (SQLite file or memory,
// PostgreSQL, Redis). StateStore (store.cpp) does what is common — key checks, Values to and
// from JSON text, clocks, state.change events — and a backend stores JSON text with versions,
// expiries and snapshots, each operation atomic on its own (one transaction, or one Redis
// script). All times are seconds since the epoch, given by the caller (StateOptions::clock).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "llmspell/state/store.hpp"

namespace llmspell::state {

struct Row {
  std::string json;
  int64_t version = 0;
};

struct StoredVersion {
  int64_t version = 0;
  std::optional<std::string> json;  // nullopt: a deletion
  double ts = 0;
};

// What an update's function decided: the new JSON (nullopt deletes).
using UpdateFn = std::function<std::optional<std::string>(const std::optional<Row>&)>;

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::optional<Row> read(std::string_view scope, std::string_view key, double now) = 0;
  // Writes (json) or deletes (nullopt) unconditionally, recording a version; returns it.
  virtual int64_t write(std::string_view scope, std::string_view key,
                        const std::optional<std::string>& json, std::optional<double> expiresAt,
                        double now) = 0;
  // Deletes a live key (version recorded); 0 when it was absent or expired.
  virtual int64_t del(std::string_view scope, std::string_view key, double now) = 0;
  // Live (key, json) pairs whose key starts with prefix, sorted by key; json empty unless
  // withValues.
  virtual std::vector<std::pair<std::string, std::string>> list(std::string_view scope,
                                                                std::string_view prefix, double now,
                                                                bool withValues) = 0;
  virtual bool expire(std::string_view scope, std::string_view key, double at, double now) = 0;
  // Atomic read-modify-write; returns the version written (0: nothing written). `deleted`
  // tells whether that write was a deletion. `fn` may throw: nothing is written then.
  virtual int64_t update(std::string_view scope, std::string_view key, double now,
                         const UpdateFn& fn, bool* deleted) = 0;
  // Writes only when the key's live version is `expected`; nullopt when it moved on; 0 when
  // deleting an absent key.
  virtual std::optional<int64_t> compareAndSet(std::string_view scope, std::string_view key,
                                               int64_t expected,
                                               const std::optional<std::string>& json,
                                               std::optional<double> expiresAt, double now) = 0;
  virtual std::vector<StoredVersion> versions(std::string_view scope, std::string_view key) = 0;
  virtual int64_t snapshot(std::string_view scope, std::string_view name, double now) = 0;
  // Throws not_found for an unknown snapshot.
  virtual int64_t restore(std::string_view scope, std::string_view name, double now) = 0;
  virtual std::vector<SnapshotInfo> snapshots(std::string_view scope) = 0;
  virtual bool deleteSnapshot(std::string_view scope, std::string_view name) = 0;
  virtual int64_t purgeExpired(double now) = 0;
  virtual std::string integrityCheck() = 0;
};

std::unique_ptr<Backend> openSqlite(const StateOptions& opts);
std::unique_ptr<Backend> openPostgres(const StateOptions& opts);
std::unique_ptr<Backend> openRedis(const StateOptions& opts);

// The URL with any password replaced by "***", for messages and logs.
std::string redactUrl(std::string_view url);

// Snapshot data, shared by the backends that keep it as JSON text: rows of [key, json,
// expiresAt|null].
struct SnapshotRow {
  std::string key;
  std::string json;
  std::optional<double> expiresAt;
};
std::string encodeSnapshot(const std::vector<SnapshotRow>& rows);
std::vector<SnapshotRow> decodeSnapshot(const std::string& data);

// The smallest string greater than every string starting with `prefix` (byte order), or
// nullopt when there is none.
std::optional<std::string> prefixUpperBound(std::string_view prefix);

}  // namespace llmspell::state
