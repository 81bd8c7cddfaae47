// StateStore: what every backend shares — key checks, Values to and from JSON text, the clock,
// state.change events after commit — over the backend the path selects (backend.hpp).
#include "llmspell/state/store.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/events/bus.hpp"
#include "state/backend.hpp"

namespace llmspell {

namespace state {

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

std::string redactUrl(std::string_view url) {
  std::string s(url);
  // scheme://user:password@host -> scheme://user:***@host
  size_t scheme = s.find("://");
  if (scheme != std::string::npos) {
    size_t start = scheme + 3;
    size_t at = s.find('@', start);
    size_t slash = s.find('/', start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = s.find(':', start);
      if (colon != std::string::npos && colon < at) s.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&... (libpq takes it as a parameter too)
  for (size_t p = s.find("password="); p != std::string::npos; p = s.find("password=", p + 1)) {
    size_t end = s.find('&', p);
    s.replace(p + 9, (end == std::string::npos ? s.size() : end) - p - 9, "***");
  }
  return s;
}

std::string encodeSnapshot(const std::vector<SnapshotRow>& rows) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json row = nlohmann::json::array({r.key, r.json});
    if (r.expiresAt)
      row.push_back(*r.expiresAt);
    else
      row.push_back(nullptr);
    out.push_back(std::move(row));
  }
  return out.dump();
}

std::vector<SnapshotRow> decodeSnapshot(const std::string& data) {
  std::vector<SnapshotRow> out;
  for (const auto& row : nlohmann::json::parse(data)) {
    SnapshotRow r{row[0].get<std::string>(), row[1].get<std::string>(), std::nullopt};
    if (!row[2].is_null()) r.expiresAt = row[2].get<double>();
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace state

namespace {

double systemNow() {
  using namespace std::chrono;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

bool hasScheme(std::string_view path, std::string_view scheme) {
  return path.size() > scheme.size() && path.substr(0, scheme.size()) == scheme;
}

Value changeData(std::string_view scope, std::string_view key, std::string_view op,
                 int64_t version) {
  return Value::object({{"scope", scope}, {"key", key}, {"op", op}, {"version", version}});
}

std::optional<double> expiryFrom(double now, std::optional<double> ttl) {
  if (!ttl) return std::nullopt;
  return now + *ttl;
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

StateStore::StateStore(StateOptions opts) : opts_(std::move(opts)) {
  if (opts_.path.empty()) opts_.path = ":memory:";
  if (opts_.versionLimit < 1) opts_.versionLimit = 1;
  if (hasScheme(opts_.path, "postgres://") || hasScheme(opts_.path, "postgresql://"))
    backend_ = state::openPostgres(opts_);
  else if (hasScheme(opts_.path, "redis://"))
    backend_ = state::openRedis(opts_);
  else
    backend_ = state::openSqlite(opts_);
}

StateStore::~StateStore() = default;

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

void StateStore::emitChange(Value data) {
  if (!opts_.bus) return;
  try {
    opts_.bus->emit("state.change", std::move(data));
  } catch (...) {
    // Observers never fail a committed write.
  }
}

std::optional<Value> StateStore::get(std::string_view scope, std::string_view key) {
  return getVersioned(scope, key).value;
}

Versioned StateStore::getVersioned(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  Versioned out;
  if (auto r = backend_->read(scope, key, now())) {
    out.value = parseJson(r->json);
    out.version = r->version;
  }
  return out;
}

int64_t StateStore::set(std::string_view scope, std::string_view key, const Value& value,
                        std::optional<double> ttlSeconds) {
  validateStateKey(key);
  std::string json = toJsonText(value);  // throws invalid_argument for functions etc.
  double t = now();
  int64_t v = backend_->write(scope, key, json, expiryFrom(t, ttlSeconds), t);
  emitChange(changeData(scope, key, "set", v));
  return v;
}

bool StateStore::del(std::string_view scope, std::string_view key) {
  validateStateKey(key);
  int64_t v = backend_->del(scope, key, now());
  if (v == 0) return false;
  emitChange(changeData(scope, key, "delete", v));
  return true;
}

std::vector<std::pair<std::string, Value>> StateStore::entries(std::string_view scope,
                                                               std::string_view prefix) {
  std::vector<std::pair<std::string, Value>> out;
  for (auto& [k, json] : backend_->list(scope, prefix, now(), true))
    out.emplace_back(std::move(k), parseJson(json));
  return out;
}

std::vector<std::string> StateStore::keys(std::string_view scope, std::string_view prefix) {
  std::vector<std::string> out;
  for (auto& kv : backend_->list(scope, prefix, now(), false)) out.push_back(std::move(kv.first));
  return out;
}

bool StateStore::expire(std::string_view scope, std::string_view key, double seconds) {
  validateStateKey(key);
  double t = now();
  return backend_->expire(scope, key, t + seconds, t);
}

std::optional<Value> StateStore::update(
    std::string_view scope, std::string_view key,
    const std::function<std::optional<Value>(std::optional<Value>)>& fn) {
  validateStateKey(key);
  std::optional<Value> next;
  bool deleted = false;
  int64_t v = backend_->update(
      scope, key, now(),
      [&](const std::optional<state::Row>& cur) -> std::optional<std::string> {
        next = fn(cur ? std::optional<Value>(parseJson(cur->json)) : std::nullopt);
        if (!next) return std::nullopt;
        return toJsonText(*next);
      },
      &deleted);
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
  double t = now();
  auto v = backend_->compareAndSet(scope, key, expectedVersion, json, expiryFrom(t, ttlSeconds), t);
  if (v && *v) emitChange(changeData(scope, key, json ? "set" : "delete", *v));
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
  std::vector<VersionInfo> out;
  for (auto& sv : backend_->versions(scope, key)) {
    VersionInfo vi;
    vi.version = sv.version;
    if (sv.json) vi.value = parseJson(*sv.json);
    vi.ts = sv.ts;
    out.push_back(std::move(vi));
  }
  return out;
}

std::optional<Value> StateStore::getVersion(std::string_view scope, std::string_view key,
                                            int64_t version) {
  validateStateKey(key);
  for (auto& sv : backend_->versions(scope, key)) {
    if (sv.version == version)
      return sv.json ? std::optional<Value>(parseJson(*sv.json)) : std::nullopt;
  }
  return std::nullopt;
}

int64_t StateStore::snapshot(std::string_view scope, std::string_view name) {
  if (name.empty()) fail(codes::kInvalidArgument, "snapshot name is empty");
  return backend_->snapshot(scope, name, now());
}

int64_t StateStore::restore(std::string_view scope, std::string_view name) {
  int64_t n = backend_->restore(scope, name, now());
  emitChange(
      Value::object({{"scope", scope}, {"key", Value()}, {"op", "restore"}, {"snapshot", name}}));
  return n;
}

std::vector<SnapshotInfo> StateStore::snapshots(std::string_view scope) {
  return backend_->snapshots(scope);
}

bool StateStore::deleteSnapshot(std::string_view scope, std::string_view name) {
  return backend_->deleteSnapshot(scope, name);
}

int64_t StateStore::purgeExpired() {
  return backend_->purgeExpired(now());
}

std::string StateStore::integrityCheck() {
  return backend_->integrityCheck();
}

}  // namespace llmspell
