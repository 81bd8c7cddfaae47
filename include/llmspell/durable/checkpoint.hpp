// Checkpoint stores for durable runs (docs/scaling.md): a run's journal entries (runtime/
// journal.hpp) kept in SQLite (a file, for one machine) or PostgreSQL (shared by the workers of
// a queue). A journal loads its run's entries once when it opens and writes each new one through
// before the work it records is reported done.
//
// Usage:
//   auto store = durable::openCheckpoints("postgres://...");   // or a SQLite file path
//   std::shared_ptr<Journal> j = durable::openJournal(store, runId);
//   run.setService<Journal>(j);                                  // the run is durable
//
// Thread-safety: a store may be shared by journals on one thread; not across threads.
// Failure: throws Exception (config_error for a bad location, network_error when PostgreSQL
// cannot be reached, internal for a database error).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "llmspell/core/value.hpp"
#include "llmspell/runtime/journal.hpp"

namespace llmspell::durable {

class CheckpointStore {
 public:
  virtual ~CheckpointStore() = default;
  // Every entry of a run, by key.
  virtual std::unordered_map<std::string, Value> load(const std::string& runId) = 0;
  // Adds an entry (an entry already there under the key is kept: it was the first completion).
  // `lease`, when not empty, is the worker id that must still hold the run's lease in the
  // queue (PostgreSQL only): a worker that lost its lease writes nothing and gets an error
  // with code limit_exceeded ("lease lost"), so it stops.
  virtual void put(const std::string& runId, const std::string& key, const Value& entry,
                   const std::string& lease = "") = 0;
  virtual std::string kind() const = 0;  // "sqlite" | "postgres"
};
using CheckpointStorePtr = std::shared_ptr<CheckpointStore>;

// A postgres:// or postgresql:// URL, else a SQLite file path (created when missing).
CheckpointStorePtr openCheckpoints(const std::string& location);

// The journal of one run over a store. `lease`: see CheckpointStore::put.
std::shared_ptr<Journal> openJournal(CheckpointStorePtr store, const std::string& runId,
                                     const std::string& lease = "");

// The PostgreSQL tables the queue and the checkpoints use, created when missing (safe to call
// from many workers at once).
class PgConn;
void ensureSchema(PgConn& c);

}  // namespace llmspell::durable
