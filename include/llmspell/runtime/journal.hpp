// Durable runs (docs/scaling.md): the journal of a run's completed work. Each completed workflow
// step, model call and tool call is recorded under a deterministic key; when the run is
// resumed (same run id, same spell, same input), work found in the journal is given back
// instead of done again, and the run continues from the first unfinished piece.
//
// A key is the path of the step the work happened in, the kind of work and, for calls, a hash
// of the request, plus an ordinal counting the keys handed out for that base in this process
// ("/wf.step#0/llm:3fa9...#1"). Ordinals are counted per base, so work replayed from the
// journal (which makes no nested calls) does not shift the keys of the work that runs.
//
// Thread-safety: loop-affine, like the runs that use it. The implementations (src/durable)
// write through to SQLite or PostgreSQL.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "llmspell/core/value.hpp"

namespace llmspell {

struct UsageScope;

class Journal {
 public:
  virtual ~Journal() = default;
  // The entry recorded under `key`, or null.
  virtual Value find(const std::string& key) = 0;
  // Records a completed piece of work. Throws Exception (state_error) when the store fails:
  // the work is done but would be done again on resume, which a durable run must not hide.
  virtual void record(const std::string& key, const Value& entry) = 0;

  // `base` + "#n": n counts the keys handed out for `base` so far.
  std::string next(const std::string& base) { return base + "#" + std::to_string(ordinals_[base]++); }

  // The step path of the work running in a usage scope: the key of the innermost step whose
  // scope encloses it ("" outside every step). Steps bind their scope while they run.
  void bind(const UsageScope* scope, std::string key) { scopes_[scope] = std::move(key); }
  void unbind(const UsageScope* scope) { scopes_.erase(scope); }
  std::string pathOf(const UsageScope* scope) const;

  // Completed work given back so far (for tests and the worker's report).
  int64_t replayed = 0;

 private:
  std::unordered_map<std::string, int64_t> ordinals_;
  std::unordered_map<const UsageScope*, std::string> scopes_;
};

// A stable hash of a value's canonical JSON (sorted keys): 16 hex digits.
std::string journalHash(const Value& v);

}  // namespace llmspell
