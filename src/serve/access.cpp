// API keys: the SQLite key store, grant ceilings, token buckets and per-period budgets.
#include "llmspell/serve/access.hpp"

#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/spell/spell.hpp"

namespace llmspell::serve {
namespace fs = std::filesystem;

namespace {

constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, hash BLOB NOT NULL,"
    " spells TEXT NOT NULL, ceiling TEXT NOT NULL, rate REAL NOT NULL, burst REAL NOT NULL,"
    " budget_usd REAL NOT NULL, budget_period TEXT NOT NULL, created REAL NOT NULL, revoked REAL,"
    " last_used REAL);"
    "CREATE TABLE IF NOT EXISTS spend (id TEXT NOT NULL, period TEXT NOT NULL, usd REAL NOT NULL,"
    " PRIMARY KEY (id, period))";
constexpr std::string_view kPrefix = "lsk_";

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string hex(const unsigned char* b, size_t n) {
  std::string s(n * 2 + 1, '\0');
  sodium_bin2hex(s.data(), s.size(), b, n);
  s.pop_back();
  return s;
}

// A prepared statement that finalizes itself.
struct Stmt {
  sqlite3_stmt* st = nullptr;
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) != SQLITE_OK)
      fail(codes::kInternal, std::string("key store: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st); }
  Stmt& text(int i, std::string_view s) {
    sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& blob(int i, std::string_view s) {
    sqlite3_bind_blob(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& real(int i, double v) {
    sqlite3_bind_double(st, i, v);
    return *this;
  }
  bool row() { return sqlite3_step(st) == SQLITE_ROW; }
  void done(sqlite3* db) {
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) fail(codes::kInternal, std::string("key store: ") + sqlite3_errmsg(db));
  }
  std::string str(int i) {
    const unsigned char* t = sqlite3_column_text(st, i);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::string bytes(int i) {
    const void* b = sqlite3_column_blob(st, i);
    return b ? std::string(static_cast<const char*>(b), sqlite3_column_bytes(st, i)) : "";
  }
  double num(int i) { return sqlite3_column_double(st, i); }
};

constexpr const char* kColumns =
    "id, name, spells, ceiling, rate, burst, budget_usd, budget_period, created, revoked, last_used";

KeyInfo readKey(Stmt& s) {
  KeyInfo k;
  k.id = s.str(0);
  k.name = s.str(1);
  Value spells = parseJson(s.str(2));  // kept: the loop below reads its array
  for (const auto& v : spells.asArray()) k.spells.push_back(v.asString());
  k.ceiling = GrantCeiling::fromValue(parseJson(s.str(3)));
  k.ratePerSecond = s.num(4);
  k.burst = s.num(5);
  k.budgetUsd = s.num(6);
  k.budgetPeriod = s.str(7);
  k.created = s.num(8);
  k.revoked = s.num(9);
  k.lastUsed = s.num(10);
  return k;
}

std::optional<std::vector<std::string>> strings(const Value& v) {
  if (!v.isArray()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& x : v.asArray())
    if (x.isString()) out.push_back(x.asString());
  return out;
}

Value strList(const std::vector<std::string>& v) {
  Value a = Value::array();
  for (const auto& s : v) a.asArray().push(Value(s));
  return a;
}

bool hasStar(const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), "*") != v.end(); }

// A name matches a pattern: equal, "*", or a "prefix*".
bool nameMatches(std::string_view pattern, std::string_view name) {
  if (pattern == "*" || pattern == name) return true;
  return pattern.size() > 1 && pattern.back() == '*' && name.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
}

bool hostAllowed(const std::vector<std::string>& ceiling, const std::string& host) {
  for (const auto& c : ceiling) {
    if (c == "*") return true;
    if (c.size() == host.size() && std::equal(c.begin(), c.end(), host.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
      return true;
  }
  return false;
}

fs::path normal(const std::string& p, const fs::path& base) {
  fs::path x(p);
  if (x.is_relative() && !base.empty()) x = base / x;
  return x.lexically_normal();
}

// `inner` is `outer` or below it, by path components.
bool inside(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin(), o = outer.begin();
  for (; o != outer.end(); ++o, ++i) {
    if (o->empty() && std::next(o) == outer.end()) return true;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

std::vector<std::string> intersectPaths(const std::vector<std::string>& granted, const std::vector<std::string>& ceiling,
                                        const fs::path& base) {
  if (hasStar(ceiling)) return granted;
  std::vector<std::string> out;
  auto add = [&](const std::string& p) {
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  for (const auto& g : granted) {
    fs::path gp = normal(g, base);
    for (const auto& c : ceiling) {
      fs::path cp = normal(c, base);
      if (g == "*" || inside(cp, gp)) add(cp.string());  // the ceiling is the narrower one
      else if (inside(gp, cp)) add(gp.string());
    }
  }
  return out;
}

}  // namespace

// ---------------- grants ----------------

Grants GrantCeiling::intersect(const Grants& g, const fs::path& base) const {
  Grants out;
  if (!net) out.net = g.net;
  else if (hasStar(g.net)) out.net = hasStar(*net) ? g.net : *net;
  else
    for (const auto& h : g.net)
      if (hostAllowed(*net, h)) out.net.push_back(h);
  out.read = read ? intersectPaths(g.read, *read, base) : g.read;
  out.write = write ? intersectPaths(g.write, *write, base) : g.write;
  if (!env) out.env = g.env;
  else
    for (const auto& e : g.env) {
      for (const auto& c : *env) {
        if (nameMatches(c, e)) {  // the grant is within the ceiling
          out.env.push_back(e);
          break;
        }
        if (nameMatches(e, c)) {  // the ceiling is the narrower one
          out.env.push_back(c);
          break;
        }
      }
    }
  out.run = g.run && run.value_or(true);
  return out;
}

Value GrantCeiling::toValue() const {
  Value v = Value::object();
  if (net) v.asObject().set("net", strList(*net));
  if (read) v.asObject().set("read", strList(*read));
  if (write) v.asObject().set("write", strList(*write));
  if (env) v.asObject().set("env", strList(*env));
  if (run) v.asObject().set("run", *run);
  return v;
}

GrantCeiling GrantCeiling::fromValue(const Value& v) {
  GrantCeiling c;
  c.net = strings(v.get("net"));
  c.read = strings(v.get("read"));
  c.write = strings(v.get("write"));
  c.env = strings(v.get("env"));
  if (v.get("run").isBool()) c.run = v.getBool("run");
  return c;
}

bool KeyInfo::allowsSpell(std::string_view spell) const {
  for (const auto& p : spells)
    if (nameMatches(p, spell)) return true;
  return false;
}

Value KeyInfo::toValue() const {
  Value v = Value::object({{"id", id}, {"name", name}, {"spells", strList(spells)}, {"grants", ceiling.toValue()},
                           {"created", created}});
  if (ratePerSecond > 0) v.asObject().set("rate", Value::object({{"per_second", ratePerSecond}, {"burst", burst}}));
  if (budgetUsd > 0) v.asObject().set("budget", Value::object({{"usd", budgetUsd}, {"period", budgetPeriod}}));
  if (revoked > 0) v.asObject().set("revoked", revoked);
  if (lastUsed > 0) v.asObject().set("last_used", lastUsed);
  return v;
}

// ---------------- the store ----------------

std::string KeyStore::defaultPath() {
  const char* env = std::getenv("LLMSPELL_KEYS");
  if (env && *env) return env;
  return defaultDataDir() + "/keys.db";
}

KeyStore::KeyStore(const std::string& path) : path_(path) {
  if (sodium_init() < 0) fail(codes::kInternal, "libsodium could not be initialized");
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  // The store holds hashes only, but its hash key and the keys' policies are the operator's:
  // nobody else on the machine needs to read them.
  mode_t old = ::umask(077);
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  ::umask(old);
  if (rc != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot open the API key store " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 2000);
  char* err = nullptr;
  if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot create the API key store in " + path + ": " + msg);
  }
  // The hash key: made once, with the store. INSERT OR IGNORE: two processes creating the store
  // at once agree on the first one's.
  unsigned char k[crypto_generichash_KEYBYTES];
  randombytes_buf(k, sizeof k);
  Stmt(db_, "INSERT OR IGNORE INTO meta (k, v) VALUES ('hash_key', ?1)")
      .blob(1, std::string_view(reinterpret_cast<const char*>(k), sizeof k))
      .done(db_);
  sodium_memzero(k, sizeof k);
  Stmt s(db_, "SELECT v FROM meta WHERE k = 'hash_key'");
  if (s.row()) hashKey_ = s.bytes(0);
  if (hashKey_.size() != crypto_generichash_KEYBYTES) fail(codes::kInvalidArgument, "the API key store " + path + " is damaged (no hash key)");
}

KeyStore::~KeyStore() {
  sodium_memzero(hashKey_.data(), hashKey_.size());
  sqlite3_close(db_);
}

std::string KeyStore::hash(std::string_view key) const {
  unsigned char out[32];
  crypto_generichash(out, sizeof out, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     reinterpret_cast<const unsigned char*>(hashKey_.data()), hashKey_.size());
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

KeyStore::Created KeyStore::create(KeyInfo spec) {
  if (spec.spells.empty())
    fail(codes::kInvalidArgument, "a key needs the spells it may run (--spell NAME, repeatable; --spell '*' for every spell)");
  if (spec.ratePerSecond < 0 || spec.burst < 0) fail(codes::kInvalidArgument, "a rate limit cannot be negative");
  if (spec.budgetUsd < 0) fail(codes::kInvalidArgument, "a budget cannot be negative");
  if (spec.budgetUsd > 0 && spec.budgetPeriod != "day" && spec.budgetPeriod != "month")
    fail(codes::kInvalidArgument, "a budget's period is day or month, got '" + spec.budgetPeriod + "'");
  if (spec.ratePerSecond > 0 && spec.burst < 1) spec.burst = std::max(1.0, std::ceil(spec.ratePerSecond));
  unsigned char idb[8], secret[32];
  randombytes_buf(idb, sizeof idb);
  randombytes_buf(secret, sizeof secret);
  spec.id = hex(idb, sizeof idb);
  std::string key = std::string(kPrefix) + spec.id + "_" + hex(secret, sizeof secret);
  sodium_memzero(secret, sizeof secret);
  spec.created = now();
  spec.revoked = 0;
  spec.lastUsed = 0;
  if (spec.name.empty()) spec.name = spec.id;
  std::lock_guard lk(mu_);
  Stmt(db_, "INSERT INTO api_keys (id, name, hash, spells, ceiling, rate, burst, budget_usd, budget_period, created)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
      .text(1, spec.id)
      .text(2, spec.name)
      .blob(3, hash(key))
      .text(4, toJsonText(strList(spec.spells)))
      .text(5, toJsonText(spec.ceiling.toValue()))
      .real(6, spec.ratePerSecond)
      .real(7, spec.burst)
      .real(8, spec.budgetUsd)
      .text(9, spec.budgetUsd > 0 ? spec.budgetPeriod : "")
      .real(10, spec.created)
      .done(db_);
  return {spec, key};
}

std::vector<KeyInfo> KeyStore::list(bool includeRevoked) {
  std::lock_guard lk(mu_);
  std::string sql = std::string("SELECT ") + kColumns + " FROM api_keys" + (includeRevoked ? "" : " WHERE revoked IS NULL") +
                    " ORDER BY created, id";
  Stmt s(db_, sql.c_str());
  std::vector<KeyInfo> out;
  while (s.row()) out.push_back(readKey(s));
  return out;
}

bool KeyStore::revoke(const std::string& idOrName) {
  std::lock_guard lk(mu_);
  Stmt byId(db_, "UPDATE api_keys SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL");
  byId.text(1, idOrName).real(2, now()).done(db_);
  if (sqlite3_changes(db_) > 0) return true;
  Stmt count(db_, "SELECT COUNT(*) FROM api_keys WHERE name = ?1 AND revoked IS NULL");
  count.text(1, idOrName);
  int n = count.row() ? static_cast<int>(count.num(0)) : 0;
  if (n > 1)
    fail(codes::kInvalidArgument, std::to_string(n) + " active keys are named '" + idOrName +
                                      "': revoke one by its id (`llmspell keys list` shows the ids)");
  if (n == 0) return false;
  Stmt(db_, "UPDATE api_keys SET revoked = ?2 WHERE name = ?1 AND revoked IS NULL").text(1, idOrName).real(2, now()).done(db_);
  return true;
}

std::optional<KeyInfo> KeyStore::verify(std::string_view key) {
  // "lsk_" + 16 hex id + "_" + 64 hex secret.
  if (key.size() != kPrefix.size() + 16 + 1 + 64 || key.substr(0, kPrefix.size()) != kPrefix || key[kPrefix.size() + 16] != '_')
    return std::nullopt;
  std::string id(key.substr(kPrefix.size(), 16));
  std::string h = hash(key);
  std::lock_guard lk(mu_);
  Stmt s(db_, (std::string("SELECT ") + kColumns + ", hash FROM api_keys WHERE id = ?1").c_str());
  s.text(1, id);
  if (!s.row()) return std::nullopt;
  std::string stored = s.bytes(11);
  if (stored.size() != h.size() || sodium_memcmp(stored.data(), h.data(), h.size()) != 0) return std::nullopt;
  return readKey(s);  // a revoked key too: the caller says "revoked", not "unknown"
}

size_t KeyStore::activeCount() {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT COUNT(*) FROM api_keys WHERE revoked IS NULL");
  return s.row() ? static_cast<size_t>(s.num(0)) : 0;
}

double KeyStore::spent(const std::string& id, const std::string& period, double now) {
  std::lock_guard lk(mu_);
  Stmt s(db_, "SELECT usd FROM spend WHERE id = ?1 AND period = ?2");
  s.text(1, id).text(2, Access::periodOf(period, now));
  return s.row() ? s.num(0) : 0;
}

void KeyStore::addSpend(const std::string& id, const std::string& period, double usd, double now) {
  std::lock_guard lk(mu_);
  Stmt(db_, "INSERT INTO spend (id, period, usd) VALUES (?1, ?2, ?3) ON CONFLICT (id, period) DO UPDATE SET usd = usd + ?3")
      .text(1, id)
      .text(2, Access::periodOf(period, now))
      .real(3, usd)
      .done(db_);
}

void KeyStore::touch(const std::string& id, double now) {
  std::lock_guard lk(mu_);
  Stmt(db_, "UPDATE api_keys SET last_used = ?2 WHERE id = ?1").text(1, id).real(2, now).done(db_);
}

// ---------------- access ----------------

std::shared_ptr<Access> openKeys(const std::string& path, bool require, size_t* active) {
  std::string file = path.empty() ? KeyStore::defaultPath() : path;
  if (active) *active = 0;
  std::error_code ec;
  if (!require && !std::filesystem::exists(file, ec)) return nullptr;
  auto store = std::make_shared<KeyStore>(file);
  size_t n = store->activeCount();
  if (active) *active = n;
  return n > 0 || require ? std::make_shared<Access>(store) : nullptr;
}

void warnIfOpen(const std::string& host, bool keysOn, const char* what) {
  bool loopback = host == "127.0.0.1" || host == "localhost" || host == "::1";
  if (!keysOn && !loopback)
    std::fprintf(stderr,
                 "warning: listening on %s without API keys: anyone who can reach it can %s "
                 "(create keys with `llmspell keys create`, or --require-keys)\n",
                 host.c_str(), what);
}

Access::Access(std::shared_ptr<KeyStore> store, Clock clock)
    : store_(std::move(store)), clock_(clock ? std::move(clock) : Clock(now)) {}

std::string Access::periodOf(const std::string& period, double t) {
  std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, period == "month" ? "%Y-%m" : "%Y-%m-%d", &tm);
  return buf;
}

double Access::untilNextPeriod(const std::string& period, double t) {
  std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (period == "month") {
    tm.tm_mday = 1;
    tm.tm_mon += 1;
  } else {
    tm.tm_mday += 1;
  }
  return std::max(1.0, static_cast<double>(timegm(&tm)) - t);
}

Decision Access::authorize(std::string_view authorization, std::string_view spell) {
  Decision d;
  auto refuse = [&](int status, std::string code, std::string message) {
    d.allowed = false;
    d.status = status;
    d.code = std::move(code);
    d.message = std::move(message);
    return d;
  };
  std::string_view key = authorization;
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  if (key.size() >= 7 && (key.substr(0, 7) == "Bearer " || key.substr(0, 7) == "bearer ")) key.remove_prefix(7);
  while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
  while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
  if (key.empty())
    return refuse(401, "auth_error", "this service needs an API key: send it as `Authorization: Bearer lsk_...` "
                                     "(the operator makes one with `llmspell keys create`)");
  double t = clock_();
  std::optional<KeyInfo> k;
  try {
    k = store_->verify(key);
  } catch (const Exception& e) {
    return refuse(500, "internal", "the API key store could not be read: " + e.error().message);
  }
  if (!k) return refuse(401, "auth_error", "the API key is not valid (a key is shown once, when it is created)");
  d.key = *k;
  if (k->revoked > 0) return refuse(401, "auth_error", "the API key " + k->id + " was revoked");
  if (!spell.empty() && !k->allowsSpell(spell))
    return refuse(403, "permission_denied", "the API key " + k->id + " may not run '" + std::string(spell) + "'");
  if (k->budgetUsd > 0) {
    double spent = 0;
    try {
      spent = store_->spent(k->id, k->budgetPeriod, t);
    } catch (const Exception& e) {
      return refuse(500, "internal", "the API key store could not be read: " + e.error().message);
    }
    if (spent >= k->budgetUsd) {
      // 429, as OpenAI answers a spent quota: clients already back off on it, and the
      // Retry-After says when the next period's budget starts.
      refuse(429, "budget_exceeded", "the API key " + k->id + " has spent its $" + toJsonText(Value(k->budgetUsd)) + " budget for this " +
                                         k->budgetPeriod + " ($" + toJsonText(Value(spent)) + ")");
      d.retryAfter = untilNextPeriod(k->budgetPeriod, t);
      return d;
    }
  }
  if (k->ratePerSecond > 0) {
    std::lock_guard lk(mu_);
    Bucket& b = buckets_[k->id];
    if (!b.init) {
      b = {k->burst, t, true};
    } else {
      b.tokens = std::min(k->burst, b.tokens + (t - b.at) * k->ratePerSecond);
      b.at = t;
    }
    if (b.tokens < 1) {
      refuse(429, "rate_limited", "the API key " + k->id + " is over its rate limit of " + toJsonText(Value(k->ratePerSecond)) +
                                      " requests per second");
      d.retryAfter = std::ceil((1 - b.tokens) / k->ratePerSecond);
      return d;
    }
    b.tokens -= 1;
  }
  try {
    store_->touch(k->id, t);
  } catch (const Exception&) {
    // Losing a last-used time never refuses a request.
  }
  d.allowed = true;
  return d;
}

void Access::recordCost(const std::string& keyId, double usd) {
  if (keyId.empty() || !(usd > 0)) return;
  double t = clock_();
  for (const auto& k : store_->list(false)) {
    if (k.id != keyId) continue;
    // Spend is kept per key and period even without a budget: `keys list` shows it.
    store_->addSpend(keyId, k.budgetPeriod.empty() ? "month" : k.budgetPeriod, usd, t);
    return;
  }
}

std::pair<double, double> parseRate(std::string_view s) {
  size_t slash = s.find('/');
  char* end = nullptr;
  std::string num(s.substr(0, slash));
  double n = std::strtod(num.c_str(), &end);
  std::string unit(slash == std::string_view::npos ? "" : s.substr(slash + 1));
  double per = unit == "s" || unit == "sec" ? 1 : unit == "min" || unit == "m" ? 60 : unit == "h" || unit == "hour" ? 3600 : 0;
  if (num.empty() || *end || !(n > 0) || per == 0)
    fail(codes::kInvalidArgument, "a rate is a count per s, min or h, like 10/s or 600/min, got '" + std::string(s) + "'");
  return {n / per, n};
}

std::pair<double, std::string> parseBudget(std::string_view s) {
  size_t slash = s.find('/');
  std::string num(s.substr(0, slash));
  if (!num.empty() && num[0] == '$') num.erase(0, 1);
  char* end = nullptr;
  double usd = std::strtod(num.c_str(), &end);
  std::string period(slash == std::string_view::npos ? "" : s.substr(slash + 1));
  if (num.empty() || *end || !(usd > 0) || (period != "day" && period != "month"))
    fail(codes::kInvalidArgument, "a budget is US dollars per day or month, like 5/day or 100/month, got '" + std::string(s) + "'");
  return {usd, period};
}

}  // namespace llmspell::serve
