// The Redis backend (hiredis, loaded on first use). Layout, under the URL's prefix P
// (default "llmspell:"):
//   P kv:<scope>              hash  key -> "<version>|<expiresAt or empty>|<json>"
//   P h:<len(scope)>:<scope><key>  list  versions, newest first: "<version>|<ts>|1<json>" or
//   "...|0" (deleted) P snap:<scope>            hash  name -> "<ts>|<keys>|<snapshot data>" P
//   scopes                  set   every scope written (for purgeExpired) P op:<id> string  a
//   write's result, kept 10 minutes (below)
// Every write is one Lua script, so it is atomic and ordered against every other client;
// update() is an optimistic loop (read, run fn, compare-and-set script, again on a conflict),
// which is what WATCH/MULTI would give, in one round trip less. Expiry is kept in the entry
// (Redis 7.0 has no per-field TTL) and checked against the caller's clock, like SQLite.
//
// A write carries a random id; its script first looks for "P op:<id>" and returns the result
// stored there instead of running twice. So when the connection drops mid-command (Redis
// restarted, or unreachable for a while) the command is safely re-sent on a new connection,
// with backoff, until busyTimeoutMs; then network_error (retryable). Not for Redis Cluster
// (scripts touch keys they compute).
#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <random>
#include <thread>

#include "llmspell/core/error.hpp"
#include "state/backend.hpp"

namespace llmspell::state {

namespace {

constexpr int kPurgeEvery = 256;

// Shared by every script. ARGV[1] prefix, [2] scope, [3] key, [4] now, [5] version limit,
// [6] op id; the rest per script.
const char* const kLib = R"LUA(
local P, scope, key, now, limit, op = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local kv = P .. 'kv:' .. scope
local function histOf(k) return P .. 'h:' .. #scope .. ':' .. scope .. k end
local function parse(e)
  local a = string.find(e, '|', 1, true)
  local b = string.find(e, '|', a + 1, true)
  local exp = string.sub(e, a + 1, b - 1)
  return tonumber(string.sub(e, 1, a - 1)), (exp ~= '' and tonumber(exp) or nil), string.sub(e, b + 1), exp
end
local function live(k)
  local e = redis.call('HGET', kv, k)
  if not e then return nil end
  local v, exp, json, expText = parse(e)
  if exp and exp <= now then return nil end
  return v, json, expText
end
local function write(k, has, json, exp)
  local hist = histOf(k)
  local top = redis.call('LINDEX', hist, 0)
  local v = 1
  if top then v = tonumber(string.sub(top, 1, string.find(top, '|', 1, true) - 1)) + 1 end
  if has then redis.call('HSET', kv, k, v .. '|' .. exp .. '|' .. json) else redis.call('HDEL', kv, k) end
  redis.call('LPUSH', hist, v .. '|' .. ARGV[4] .. '|' .. (has and ('1' .. json) or '0'))
  redis.call('LTRIM', hist, 0, limit - 1)
  redis.call('SADD', P .. 'scopes', scope)
  return v
end
local done = redis.call('GET', P .. 'op:' .. op)
if done then return tonumber(done) end
-- Only a write is recorded: an answer that changed nothing is the same when sent again.
local function finish(r)
  redis.call('SET', P .. 'op:' .. op, r, 'EX', 600)
  return r
end
)LUA";

// [7] has ("1"/"0"), [8] json, [9] expiresAt or "".
const char* const kWrite = R"LUA(
return finish(write(key, ARGV[7] == '1', ARGV[8], ARGV[9]))
)LUA";

const char* const kDelete = R"LUA(
if not live(key) then redis.call('HDEL', kv, key) return 0 end
return finish(write(key, false, '', ''))
)LUA";

// [7] new expiresAt
const char* const kExpire = R"LUA(
local v, json = live(key)
if not v then return 0 end
redis.call('HSET', kv, key, v .. '|' .. ARGV[7] .. '|' .. json)
return finish(1)
)LUA";

// [7] has, [8] json, [9] expiresAt or "", [10] expected version. -1: the version moved on.
const char* const kCompareAndSet = R"LUA(
local v = live(key) or 0
if v ~= tonumber(ARGV[10]) then return -1 end
if ARGV[7] ~= '1' and v == 0 then redis.call('HDEL', kv, key) return 0 end
return finish(write(key, ARGV[7] == '1', ARGV[8], ARGV[9]))
)LUA";

// [7] n, then n times: key, json, expiresAt or "". Keys not in the snapshot are deleted.
const char* const kRestore = R"LUA(
local n = tonumber(ARGV[7])
local inSnap = {}
for i = 0, n - 1 do inSnap[ARGV[8 + 3 * i]] = true end
local current = redis.call('HKEYS', kv)
for _, k in ipairs(current) do
  if not inSnap[k] and live(k) then write(k, false, '', '') end
end
local restored = 0
for i = 0, n - 1 do
  local k, json, exp = ARGV[8 + 3 * i], ARGV[9 + 3 * i], ARGV[10 + 3 * i]
  if exp == '' or tonumber(exp) > now then
    write(k, true, json, exp)
    restored = restored + 1
  end
end
return finish(restored)
)LUA";

const char* const kPurge = R"LUA(
local purged = 0
for _, s in ipairs(redis.call('SMEMBERS', P .. 'scopes')) do
  local h = P .. 'kv:' .. s
  local all = redis.call('HGETALL', h)
  for i = 1, #all, 2 do
    local _, exp = parse(all[i + 1])
    if exp and exp <= now then redis.call('HDEL', h, all[i]) purged = purged + 1 end
  end
end
return finish(purged)
)LUA";

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

struct Entry {
  int64_t version = 0;
  std::optional<double> expiresAt;
  std::string json;
};

// "<version>|<expiresAt>|<json>"
Entry parseEntry(std::string_view e) {
  size_t a = e.find('|'), b = e.find('|', a + 1);
  Entry out;
  out.version = std::stoll(std::string(e.substr(0, a)));
  auto exp = e.substr(a + 1, b - a - 1);
  if (!exp.empty()) out.expiresAt = std::stod(std::string(exp));
  out.json = std::string(e.substr(b + 1));
  return out;
}

struct Target {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user, password;
  int db = 0;
  std::string prefix = "llmspell:";
};

Target parseUrl(const std::string& url, const std::string& shown) {
  Target t;
  std::string rest = url.substr(std::string("redis://").size());
  if (size_t q = rest.find('?'); q != std::string::npos) {
    std::string query = rest.substr(q + 1);
    rest = rest.substr(0, q);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      std::string kv = query.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
      if (kv.rfind("prefix=", 0) == 0)
        t.prefix = kv.substr(7);
      else if (!kv.empty())
        fail(codes::kConfigError, "state URL " + shown + ": unknown parameter '" +
                                      kv.substr(0, kv.find('=')) + "' (redis:// takes ?prefix=)");
      if (amp == std::string::npos) break;
      pos = amp + 1;
    }
  }
  if (size_t slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (!db.empty()) {
      if (db.find_first_not_of("0123456789") != std::string::npos)
        fail(codes::kConfigError,
             "state URL " + shown + ": the database must be a number, got '" + db + "'");
      t.db = std::stoi(db);
    }
  }
  if (size_t at = rest.rfind('@'); at != std::string::npos) {
    std::string auth = rest.substr(0, at);
    rest = rest.substr(at + 1);
    size_t colon = auth.find(':');
    t.user = auth.substr(0, colon);
    if (colon != std::string::npos) t.password = auth.substr(colon + 1);
  }
  if (size_t colon = rest.rfind(':'); colon != std::string::npos) {
    std::string port = rest.substr(colon + 1);
    if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos)
      fail(codes::kConfigError,
           "state URL " + shown + ": the port must be a number, got '" + port + "'");
    t.port = std::stoi(port);
    rest = rest.substr(0, colon);
  }
  if (!rest.empty()) t.host = rest;
  return t;
}

// A reply; owns it.
struct Reply {
  redisReply* r = nullptr;
  explicit Reply(redisReply* p) : r(p) {}
  Reply(Reply&& o) noexcept : r(std::exchange(o.r, nullptr)) {}
  ~Reply() {
    if (r) freeReplyObject(r);
  }
  std::string str() const { return r->str ? std::string(r->str, r->len) : std::string(); }
};

class RedisBackend final : public Backend {
 public:
  explicit RedisBackend(const StateOptions& opts)
      : opts_(opts), shown_(redactUrl(opts.path)), t_(parseUrl(opts.path, shown_)) {
    std::lock_guard lk(mu_);
    call({"PING"});  // fail now, not on first use, when the server is not there
  }
  ~RedisBackend() override {
    if (c_) redisFree(c_);
  }

  std::optional<Row> read(std::string_view scope, std::string_view key, double now) override {
    std::lock_guard lk(mu_);
    Reply r = call({"HGET", kvKey(scope), std::string(key)});
    if (r.r->type != REDIS_REPLY_STRING) return std::nullopt;
    Entry e = parseEntry(r.str());
    if (e.expiresAt && *e.expiresAt <= now) return std::nullopt;
    return Row{std::move(e.json), e.version};
  }

  int64_t write(std::string_view scope, std::string_view key,
                const std::optional<std::string>& json, std::optional<double> expiresAt,
                double now) override {
    std::lock_guard lk(mu_);
    return script(kWrite, scope, key, now,
                  {json ? "1" : "0", json ? *json : "", expiresAt ? num(*expiresAt) : ""});
  }

  int64_t del(std::string_view scope, std::string_view key, double now) override {
    std::lock_guard lk(mu_);
    return script(kDelete, scope, key, now, {});
  }

  std::vector<std::pair<std::string, std::string>> list(std::string_view scope,
                                                        std::string_view prefix, double now,
                                                        bool withValues) override {
    std::lock_guard lk(mu_);
    Reply r = call({"HGETALL", kvKey(scope)});
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i + 1 < r.r->elements; i += 2) {
      std::string k(r.r->element[i]->str, r.r->element[i]->len);
      if (k.compare(0, prefix.size(), prefix) != 0) continue;
      Entry e = parseEntry(std::string_view(r.r->element[i + 1]->str, r.r->element[i + 1]->len));
      if (e.expiresAt && *e.expiresAt <= now) continue;
      out.emplace_back(std::move(k), withValues ? std::move(e.json) : std::string());
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    return out;
  }

  bool expire(std::string_view scope, std::string_view key, double at, double now) override {
    std::lock_guard lk(mu_);
    return script(kExpire, scope, key, now, {num(at)}) == 1;
  }

  int64_t update(std::string_view scope, std::string_view key, double now, const UpdateFn& fn,
                 bool* deleted) override {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busyTimeoutMs);
    while (true) {
      auto cur = read(scope, key, now);
      auto next = fn(cur);
      *deleted = !next && cur;
      if (!next && !cur) return 0;
      auto v = compareAndSet(scope, key, cur ? cur->version : 0, next, std::nullopt, now);
      if (v) return *v;
      if (std::chrono::steady_clock::now() >= deadline)
        fail(codes::kTimeout,
             "state update of '" + std::string(key) + "' kept conflicting with other writers for " +
                 std::to_string(opts_.busyTimeoutMs) + " ms",
             true);
    }
  }

  std::optional<int64_t> compareAndSet(std::string_view scope, std::string_view key,
                                       int64_t expected, const std::optional<std::string>& json,
                                       std::optional<double> expiresAt, double now) override {
    std::lock_guard lk(mu_);
    int64_t v = script(kCompareAndSet, scope, key, now,
                       {json ? "1" : "0", json ? *json : "", expiresAt ? num(*expiresAt) : "",
                        std::to_string(expected)});
    if (v < 0) return std::nullopt;
    return v;
  }

  std::vector<StoredVersion> versions(std::string_view scope, std::string_view key) override {
    std::lock_guard lk(mu_);
    Reply r = call({"LRANGE", histKey(scope, key), "0", "-1"});
    std::vector<StoredVersion> out;
    for (size_t i = 0; i < r.r->elements; ++i) {
      std::string_view e(r.r->element[i]->str, r.r->element[i]->len);
      size_t a = e.find('|'), b = e.find('|', a + 1);
      StoredVersion sv;
      sv.version = std::stoll(std::string(e.substr(0, a)));
      sv.ts = std::stod(std::string(e.substr(a + 1, b - a - 1)));
      if (e.substr(b + 1, 1) == "1") sv.json = std::string(e.substr(b + 2));
      out.push_back(std::move(sv));
    }
    return out;
  }

  int64_t snapshot(std::string_view scope, std::string_view name, double now) override {
    std::lock_guard lk(mu_);
    // One HGETALL is one consistent view of the scope.
    Reply r = call({"HGETALL", kvKey(scope)});
    std::vector<SnapshotRow> rows;
    for (size_t i = 0; i + 1 < r.r->elements; i += 2) {
      Entry e = parseEntry(std::string_view(r.r->element[i + 1]->str, r.r->element[i + 1]->len));
      if (e.expiresAt && *e.expiresAt <= now) continue;
      rows.push_back({std::string(r.r->element[i]->str, r.r->element[i]->len), std::move(e.json),
                      e.expiresAt});
    }
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
    auto n = static_cast<int64_t>(rows.size());
    call({"HSET", snapKey(scope), std::string(name),
          num(now) + "|" + std::to_string(n) + "|" + encodeSnapshot(rows)});
    return n;
  }

  int64_t restore(std::string_view scope, std::string_view name, double now) override {
    std::lock_guard lk(mu_);
    Reply r = call({"HGET", snapKey(scope), std::string(name)});
    if (r.r->type != REDIS_REPLY_STRING)
      fail(codes::kNotFound,
           "no snapshot named '" + std::string(name) + "' in scope '" + std::string(scope) + "'");
    std::string s = r.str();
    size_t a = s.find('|'), b = s.find('|', a + 1);
    auto rows = decodeSnapshot(s.substr(b + 1));
    std::vector<std::string> extra{std::to_string(rows.size())};
    for (auto& row : rows) {
      extra.push_back(row.key);
      extra.push_back(row.json);
      extra.push_back(row.expiresAt ? num(*row.expiresAt) : "");
    }
    return script(kRestore, scope, "", now, std::move(extra));
  }

  std::vector<SnapshotInfo> snapshots(std::string_view scope) override {
    std::lock_guard lk(mu_);
    Reply r = call({"HGETALL", snapKey(scope)});
    std::vector<SnapshotInfo> out;
    for (size_t i = 0; i + 1 < r.r->elements; i += 2) {
      std::string_view e(r.r->element[i + 1]->str, r.r->element[i + 1]->len);
      size_t a = e.find('|'), b = e.find('|', a + 1);
      out.push_back(SnapshotInfo{std::string(r.r->element[i]->str, r.r->element[i]->len),
                                 std::stod(std::string(e.substr(0, a))),
                                 std::stoll(std::string(e.substr(a + 1, b - a - 1)))});
    }
    std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) {
      return x.ts != y.ts ? x.ts < y.ts : x.name < y.name;
    });
    return out;
  }

  bool deleteSnapshot(std::string_view scope, std::string_view name) override {
    std::lock_guard lk(mu_);
    return call({"HDEL", snapKey(scope), std::string(name)}).r->integer > 0;
  }

  int64_t purgeExpired(double now) override {
    std::lock_guard lk(mu_);
    return purgeLocked(now);
  }

  std::string integrityCheck() override { return "ok"; }

 private:
  std::string kvKey(std::string_view scope) const { return t_.prefix + "kv:" + std::string(scope); }
  std::string snapKey(std::string_view scope) const {
    return t_.prefix + "snap:" + std::string(scope);
  }
  std::string histKey(std::string_view scope, std::string_view key) const {
    return t_.prefix + "h:" + std::to_string(scope.size()) + ":" + std::string(scope) +
           std::string(key);
  }

  int64_t purgeLocked(double now) {
    writesSincePurge_ = 0;
    return script(kPurge, "", "", now, {});
  }

  // Runs a write script (kLib + body) with a fresh op id; returns its integer.
  int64_t script(const char* body, std::string_view scope, std::string_view key, double now,
                 std::vector<std::string> extra) {
    std::vector<std::string> args{"EVAL",
                                  std::string(kLib) + body,
                                  "0",
                                  t_.prefix,
                                  std::string(scope),
                                  std::string(key),
                                  num(now),
                                  std::to_string(opts_.versionLimit),
                                  opId()};
    for (auto& e : extra) args.push_back(std::move(e));
    int64_t v = call(args).r->integer;
    if (body != kPurge && ++writesSincePurge_ >= kPurgeEvery) purgeLocked(now);
    return v;
  }

  std::string opId() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    char buf[40];
    std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                  static_cast<unsigned long long>(rng()));
    return buf;
  }

  // Sends a command; reconnects and re-sends (every command here is idempotent, see the top)
  // until busyTimeoutMs. Throws network_error when Redis stays away, internal for an error
  // reply.
  Reply call(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.busyTimeoutMs);
    int delayMs = 10;
    std::string lastError;
    while (true) {
      if (!c_) lastError = connect();
      if (c_) {
        auto* r = static_cast<redisReply*>(
            redisCommandArgv(c_, static_cast<int>(argv.size()), argv.data(), lens.data()));
        if (r) {
          Reply reply(r);
          if (r->type != REDIS_REPLY_ERROR) return reply;
          std::string err = reply.str();
          // A server still loading its data after a restart (or busy, or a replica waiting for
          // its primary) answers these: the command did not run; wait and send it again.
          if (!transient(err))
            fail(codes::kInternal, "state store " + shown_ + ": Redis answered " + err);
          lastError = err;
        } else {
          lastError = c_->errstr;
          redisFree(c_);
          c_ = nullptr;
        }
      }
      if (std::chrono::steady_clock::now() >= deadline)
        fail(codes::kNetworkError,
             "state store " + shown_ + " is unreachable (retried for " +
                 std::to_string(opts_.busyTimeoutMs) + " ms): " + lastError,
             true);
      std::this_thread::sleep_for(std::chrono::milliseconds(delayMs));
      delayMs = std::min(delayMs * 2, 500);
    }
  }

  static bool transient(const std::string& err) {
    for (const char* p : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN"})
      if (err.rfind(p, 0) == 0) return true;
    return false;
  }

  // Connects, authenticates and selects the database; the error ("" on success).
  std::string connect() {
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout(t_.host.c_str(), t_.port, tv);
    if (!c) return "out of memory";
    if (c->err) {
      std::string e = c->errstr;
      redisFree(c);
      return e;
    }
    timeval io{30, 0};
    redisSetTimeout(c, io);
    auto simple = [&](std::vector<std::string> a) -> std::string {
      std::vector<const char*> argv;
      std::vector<size_t> lens;
      for (const auto& s : a) {
        argv.push_back(s.data());
        lens.push_back(s.size());
      }
      auto* r = static_cast<redisReply*>(
          redisCommandArgv(c, static_cast<int>(a.size()), argv.data(), lens.data()));
      if (!r) return c->errstr;
      std::string err = r->type == REDIS_REPLY_ERROR ? std::string(r->str, r->len) : "";
      freeReplyObject(r);
      return err;
    };
    std::string err;
    if (!t_.password.empty())
      err =
          t_.user.empty() ? simple({"AUTH", t_.password}) : simple({"AUTH", t_.user, t_.password});
    if (err.empty() && t_.db) err = simple({"SELECT", std::to_string(t_.db)});
    if (!err.empty()) {
      redisFree(c);
      // A refused password or database is configuration, not a passing outage.
      fail(codes::kConfigError, "state store " + shown_ + ": " + err);
    }
    c_ = c;
    return "";
  }

  StateOptions opts_;
  std::string shown_;
  Target t_;
  std::mutex mu_;
  redisContext* c_ = nullptr;
  int writesSincePurge_ = 0;
};

}  // namespace

std::unique_ptr<Backend> openRedis(const StateOptions& opts) {
  return std::make_unique<RedisBackend>(opts);
}

}  // namespace llmspell::state
