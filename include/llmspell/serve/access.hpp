// API keys for `llmspell serve`: a KeyStore (SQLite in the data directory) of keys, each with the
// spells it may run, a ceiling on the grants its runs may receive, a request rate limit (token
// bucket) and a cost budget per day or month; and Access, which the server asks per request.
//
// Usage (the server):
//   auto store = std::make_shared<serve::KeyStore>(serve::KeyStore::defaultPath());
//   serve::Access access(store);
//   auto d = access.authorize(request.header("authorization"), "summarize");
//   if (!d.allowed) reply(d.status, d.code, d.message, d.retryAfter);   // 401 / 403 / 429
//   grants = d.key.ceiling.intersect(manifestGrants, manifestDir);
//   ... run ...; access.recordCost(d.key.id, result.costUsd);
//
// Only a hash of a key is stored: keys are 256-bit random secrets, so a keyed BLAKE2b
// (crypto_generichash under a random key kept in the store) is the right hash. A password hash
// (Argon2) exists to slow down guessing low-entropy secrets; against 2^256 possibilities it buys
// nothing and would cost tens of milliseconds per request. Hashes are compared in constant time.
//
// Thread-safety: KeyStore and Access are thread-safe (one mutex each). Failure: KeyStore throws
// Exception (invalid_argument for a bad path or spec, not_found for an unknown key); Access never
// throws from authorize() (a store error is a 500 decision).
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

struct sqlite3;

namespace llmspell::serve {

// The grants a run may hold (a manifest's `permissions:`, a request's narrowing).
struct Grants {
  std::vector<std::string> net, read, write, env;
  bool run = false;
};

// The most a key's runs may be granted. A kind left unset (nullopt) is not limited by the key;
// a set one is the whole allowance for that kind ("*" allows any host, path or variable).
struct GrantCeiling {
  std::optional<std::vector<std::string>> net, read, write, env;
  std::optional<bool> run;
  bool unlimited() const { return !net && !read && !write && !env && !run; }
  // What of `g` the ceiling allows: a host the ceiling names (or any, for "*"; a manifest's "*"
  // becomes the ceiling's list), a path inside a ceiling path (a ceiling path inside a granted
  // one narrows it to the ceiling's), an environment name or prefix the ceiling allows, `run`
  // when both allow it. Relative paths of `g` resolve against `base` (the manifest's directory).
  Grants intersect(const Grants& g, const std::filesystem::path& base = {}) const;
  Value toValue() const;  // {net = {...}, ...}: only the kinds set
  static GrantCeiling fromValue(const Value& v);
};

struct KeyInfo {
  std::string id;    // 16 hex digits, public (in logs, `keys list`, revoke)
  std::string name;  // the operator's label
  std::vector<std::string> spells;  // names, "prefix*" patterns, or "*" for every spell
  GrantCeiling ceiling;
  double ratePerSecond = 0;  // 0 = no rate limit
  double burst = 0;          // the bucket's size (requests at once); default: the rate's count
  double budgetUsd = 0;      // 0 = no budget
  std::string budgetPeriod;  // "day" | "month" (UTC), when budgetUsd > 0
  double created = 0, revoked = 0, lastUsed = 0;  // seconds since the epoch; 0 = never
  bool allowsSpell(std::string_view spell) const;
  Value toValue() const;  // for `keys list --json`: never the key or its hash
};

class KeyStore {
 public:
  // $LLMSPELL_KEYS, else <data dir>/keys.db.
  static std::string defaultPath();

  // Opens (creating, mode 0600) the store at `path`. Throws invalid_argument naming the path.
  explicit KeyStore(const std::string& path);
  ~KeyStore();
  KeyStore(const KeyStore&) = delete;
  KeyStore& operator=(const KeyStore&) = delete;

  // A new key: `spec` without id, created, revoked. Returns the stored info and the key itself
  // ("lsk_<id>_<64 hex>"), which is not stored anywhere and cannot be shown again. Throws
  // invalid_argument for a spec without spells, a negative rate or budget, an unknown period.
  struct Created {
    KeyInfo info;
    std::string key;
  };
  Created create(KeyInfo spec);
  // Keys, oldest first; revoked ones only with `includeRevoked`.
  std::vector<KeyInfo> list(bool includeRevoked = false);
  // Revokes the key with this id (or this name, when exactly one active key has it). False when
  // none matches; throws invalid_argument when a name matches several keys.
  bool revoke(const std::string& idOrName);
  // The key `key` is, when it is one of this store's and not revoked (constant-time compare).
  std::optional<KeyInfo> verify(std::string_view key);
  // Keys not revoked.
  size_t activeCount();

  // Spend in the period that `now` falls in (UTC day or month) and adding to it.
  double spent(const std::string& id, const std::string& period, double now);
  void addSpend(const std::string& id, const std::string& period, double usd, double now);
  void touch(const std::string& id, double now);  // last used

 private:
  std::string hash(std::string_view key) const;
  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string hashKey_;  // 32 random bytes made when the store was created
  std::string path_;
};

// One request's verdict.
struct Decision {
  bool allowed = false;
  int status = 200;     // refused: 401 (no / unknown / revoked key), 403 (spell not allowed),
                        // 429 (rate limited, or the budget of the period spent), 500 (store error)
  std::string code;     // auth_error, permission_denied, rate_limited, budget_exceeded, internal
  std::string message;  // what the caller can do
  double retryAfter = 0;  // seconds, for 429 (Retry-After)
  KeyInfo key;          // the caller's key when it is known
};

class Access {
 public:
  using Clock = std::function<double()>;  // seconds since the epoch
  explicit Access(std::shared_ptr<KeyStore> store, Clock clock = nullptr);

  // `authorization`: the Authorization header's value ("Bearer lsk_...") or the bare key;
  // `spell`: the spell (or model) the request would run, "" when it runs none. Takes a token
  // from the key's bucket when allowed.
  Decision authorize(std::string_view authorization, std::string_view spell);
  // Adds a finished run's cost to its key's spend for the current period.
  void recordCost(const std::string& keyId, double usd);

  // "2026-12-07" (day) or "2026-12" (month) for `now` in UTC.
  static std::string periodOf(const std::string& period, double now);
  // Seconds from `now` until the period after the one `now` is in begins.
  static double untilNextPeriod(const std::string& period, double now);

 private:
  struct Bucket {
    double tokens = 0, at = 0;
    bool init = false;
  };
  std::shared_ptr<KeyStore> store_;
  Clock clock_;
  std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
};

// The key store a server uses: `path` ("" for $LLMSPELL_KEYS or <data dir>/keys.db). Keys are on
// when the store exists with active keys, or when `require` is set (then the store is created);
// returns null when they are off. `active` gets the count of active keys. `announceTo`, when
// not null, gets a line saying so ("api keys: required (2 active in ...)"). Throws like KeyStore.
std::shared_ptr<Access> openKeys(const std::string& path, bool require, size_t* active = nullptr);
// Warns on stderr when a server listens beyond loopback without keys (anyone can reach it).
void warnIfOpen(const std::string& host, bool keysOn, const char* what);

// Parses "10/s", "600/min", "1000/h" (requests per unit) into per second and the count;
// "5/day", "100/month" budgets into USD and the period. Throw invalid_argument with an example.
std::pair<double, double> parseRate(std::string_view s);
std::pair<double, std::string> parseBudget(std::string_view s);

}  // namespace llmspell::serve
