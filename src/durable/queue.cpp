#include "llmspell/durable/queue.hpp"

#include <random>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/durable/checkpoint.hpp"

namespace llmspell::durable {

namespace {
const char* kColumns =
    "id, spell, status, coalesce(worker, ''), params::text, durable, attempts, result::text, error::text, "
    "created_at::text, coalesce(finished_at::text, ''), coalesce(key_id, ''), options::text, "
    "extract(epoch FROM created_at), coalesce(extract(epoch FROM started_at), 0), "
    "coalesce(extract(epoch FROM finished_at), 0)";

QueuedRun fromRow(const Row& r) {
  QueuedRun q;
  q.id = *r[0];
  q.spell = *r[1];
  q.status = *r[2];
  q.worker = *r[3];
  q.params = parseJson(*r[4]);
  q.durable = *r[5] == "t";
  q.attempts = std::stoi(*r[6]);
  if (r[7]) q.result = parseJson(*r[7]);
  if (r[8]) q.error = parseJson(*r[8]);
  q.createdAt = *r[9];
  q.finishedAt = *r[10];
  q.keyId = *r[11];
  q.options = parseJson(*r[12]);
  q.created = std::stod(*r[13]);
  q.started = std::stod(*r[14]);
  q.finished = std::stod(*r[15]);
  return q;
}

std::string newId() {
  static std::mt19937_64 rng{std::random_device{}()};
  static const char* hex = "0123456789abcdef";
  std::string s = "run_";
  for (int i = 0; i < 20; ++i) s += hex[rng() & 15];
  return s;
}

std::string secs(double s) { return toJsonText(Value(s)); }
}  // namespace

Value QueuedRun::toValue() const {
  Value v = Value::object({{"id", id},
                           {"spell", spell},
                           {"status", status},
                           {"params", params},
                           {"durable", durable},
                           {"attempts", static_cast<int64_t>(attempts)},
                           {"created_at", createdAt}});
  if (!worker.empty()) v.asObject().set("worker", worker);
  if (!result.isNull()) v.asObject().set("result", result);
  if (!error.isNull()) v.asObject().set("error", error);
  if (!finishedAt.empty()) v.asObject().set("finished_at", finishedAt);
  return v;
}

Queue::Queue(const std::string& url) : c_(url) { ensureSchema(c_); }

std::string Queue::submit(const std::string& spell, const Value& params, bool durable, std::string id,
                          const std::string& keyId, const Value& options) {
  if (id.empty()) id = newId();
  // The run, its first event ("queued") and the wake-ups in one statement: NOTIFY is delivered
  // at commit, so no worker's "claimed" can come before "queued".
  c_.exec("WITH ins AS (INSERT INTO llmspell_runs (id, spell, params, durable, key_id, options) "
          "VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb) RETURNING id), "
          "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT id, '{\"type\": \"queued\"}'::jsonb FROM ins "
          "RETURNING run_id, seq) "
          "SELECT pg_notify('llmspell_runs', run_id), pg_notify('llmspell_run_events', run_id || ' ' || seq) FROM ev",
          {id, spell, toJsonText(params.isNull() ? Value::object() : params), durable ? "true" : "false",
           keyId.empty() ? std::nullopt : std::optional(keyId),
           toJsonText(options.isObject() ? options : Value::object())},
          false);
  return id;
}

std::optional<QueuedRun> Queue::claim(const std::string& worker, double leaseSeconds, int maxAttempts) {
  if (maxAttempts > 0) {
    // Runs whose lease expired after their last allowed attempt: the worker died (or hung) on
    // every try, so another try would most likely do the same (a spell that crashes its
    // process). They fail here, with their finished event, rather than being claimed again.
    c_.exec("WITH dead AS (UPDATE llmspell_runs SET status = 'failed', lease_until = NULL, finished_at = now(), "
            "error = jsonb_build_object('code', $2::text, 'retryable', false, 'attempts', attempts, "
            "'message', 'the run was given up after ' || attempts || ' attempts: each time, its worker stopped "
            "without finishing it (it died or lost its lease); the cap is worker --max-attempts ' || $1) "
            "WHERE id IN (SELECT id FROM llmspell_runs WHERE status = 'running' AND lease_until < now() "
            "AND attempts >= $1::int FOR UPDATE SKIP LOCKED) RETURNING id, worker), "
            "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT id, jsonb_build_object('type', 'finished', "
            "'status', 'failed', 'worker', worker) FROM dead RETURNING run_id, seq) "
            "SELECT pg_notify('llmspell_run_events', run_id || ' ' || seq) FROM ev",
            {std::to_string(maxAttempts), kAttemptsExhausted}, false);
  }
  auto rows = c_.exec(
      std::string("UPDATE llmspell_runs SET status = 'running', worker = $1, "
                  "lease_until = now() + make_interval(secs => $2::float8), attempts = attempts + 1, "
                  "started_at = coalesce(started_at, now()) "
                  "WHERE id = (SELECT id FROM llmspell_runs WHERE status = 'queued' "
                  "OR (status = 'running' AND lease_until < now()) ORDER BY created_at "
                  "FOR UPDATE SKIP LOCKED LIMIT 1) RETURNING ") +
          kColumns,
      {worker, secs(leaseSeconds)}, false);
  if (rows.empty()) return std::nullopt;
  QueuedRun q = fromRow(rows[0]);
  publish(q.id, Value::object({{"type", "claimed"}, {"worker", worker}, {"attempt", static_cast<int64_t>(q.attempts)}}));
  return q;
}

bool Queue::heartbeat(const std::string& runId, const std::string& worker, double leaseSeconds) {
  auto rows = c_.exec(
      "UPDATE llmspell_runs SET lease_until = now() + make_interval(secs => $3::float8) "
      "WHERE id = $1 AND worker = $2 AND status = 'running' AND lease_until > now() RETURNING 1",
      {runId, worker, secs(leaseSeconds)});
  return !rows.empty();
}

bool Queue::finish(const std::string& runId, const std::string& worker, const std::string& status,
                   const Value& result, const Value& error) {
  auto rows = c_.exec(
      "WITH upd AS (UPDATE llmspell_runs SET status = $3, result = $4::jsonb, error = $5::jsonb, "
      "lease_until = NULL, finished_at = now() "
      "WHERE id = $1 AND worker = $2 AND status = 'running' AND lease_until > now() RETURNING id), "
      "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT id, jsonb_build_object('type', 'finished', "
      "'status', $3::text, 'worker', $2::text) FROM upd RETURNING seq) "
      "SELECT pg_notify('llmspell_run_events', $1 || ' ' || seq) FROM ev",
      {runId, worker, status, result.isNull() ? std::nullopt : std::optional(toJsonText(result)),
       error.isNull() ? std::nullopt : std::optional(toJsonText(error))},
      false);
  return !rows.empty();
}

bool Queue::cancel(const std::string& runId, const std::string& why) {
  Value err = Value::object({{"code", std::string(codes::kCancelled)}, {"message", "the run was cancelled: " + why}});
  auto rows = c_.exec(
      "WITH upd AS (UPDATE llmspell_runs SET status = 'cancelled', error = $2::jsonb, lease_until = NULL, "
      "finished_at = now() WHERE id = $1 AND status IN ('queued', 'running') RETURNING id, worker), "
      "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT id, jsonb_build_object('type', 'finished', "
      "'status', 'cancelled', 'worker', worker) FROM upd RETURNING seq) "
      "SELECT pg_notify('llmspell_run_events', $1 || ' ' || seq) FROM ev",
      {runId, toJsonText(err)}, false);
  return !rows.empty();
}

std::optional<double> Queue::nextLeaseExpiry() {
  auto rows = c_.exec("SELECT extract(epoch FROM min(lease_until) - now()) FROM llmspell_runs WHERE status = 'running'");
  if (rows.empty() || !rows[0][0]) return std::nullopt;
  return std::stod(*rows[0][0]);
}

void Queue::publish(const std::string& runId, const Value& event) {
  c_.exec("WITH ev AS (INSERT INTO llmspell_run_events (run_id, event) VALUES ($1, $2::jsonb) RETURNING seq) "
          "SELECT pg_notify('llmspell_run_events', $1 || ' ' || seq) FROM ev",
          {runId, toJsonText(event)}, false);
}

bool Queue::publishAs(const std::string& runId, const std::string& worker, const Value& events) {
  auto rows = c_.exec(
      "WITH held AS (SELECT id FROM llmspell_runs WHERE id = $1 AND worker = $2 AND status = 'running' "
      "AND lease_until > now()), "
      "ev AS (INSERT INTO llmspell_run_events (run_id, event) SELECT $1, e.value FROM held, "
      "jsonb_array_elements($3::jsonb) WITH ORDINALITY AS e(value, n) ORDER BY e.n RETURNING seq) "
      "SELECT (SELECT count(*) FROM held), (SELECT pg_notify('llmspell_run_events', $1 || ' ' || max(seq)) FROM ev "
      "HAVING count(*) > 0)",
      {runId, worker, toJsonText(events)}, false);
  return !rows.empty() && rows[0][0] && *rows[0][0] != "0";
}

std::optional<QueuedRun> Queue::get(const std::string& id) {
  auto rows = c_.exec(std::string("SELECT ") + kColumns + " FROM llmspell_runs WHERE id = $1", {id});
  if (rows.empty()) return std::nullopt;
  return fromRow(rows[0]);
}

std::vector<QueuedRun> Queue::list(size_t limit, const std::string& status) {
  std::vector<QueuedRun> out;
  auto rows = c_.exec(std::string("SELECT ") + kColumns +
                          " FROM llmspell_runs WHERE ($1 = '' OR status = $1) ORDER BY created_at DESC LIMIT $2",
                      {status, std::to_string(limit)});
  for (auto& r : rows) out.push_back(fromRow(r));
  return out;
}

std::vector<std::pair<int64_t, Value>> Queue::events(const std::string& runId, int64_t afterSeq, size_t limit) {
  std::vector<std::pair<int64_t, Value>> out;
  for (auto& r : c_.exec("SELECT seq, event::text FROM llmspell_run_events WHERE run_id = $1 AND seq > $2 ORDER BY seq "
                         "LIMIT $3",
                         {runId, std::to_string(afterSeq), limit ? std::optional(std::to_string(limit)) : std::nullopt}))
    out.emplace_back(std::stoll(*r[0]), parseJson(*r[1]));
  return out;
}

void Queue::waitForWork(double seconds) {
  if (!listen_) {
    listen_ = std::make_unique<PgConn>(c_.url());
    listen_->listen("llmspell_runs");
    return;
  }
  listen_->wait(seconds);
}

void Queue::follow(const std::string& runId, const std::function<bool(int64_t, const Value&)>& onEvent,
                   double pollSeconds) {
  PgConn l(c_.url());
  l.listen("llmspell_run_events");  // before reading, so nothing falls between the two
  int64_t seq = 0;
  for (;;) {
    for (auto& [s, ev] : events(runId, seq)) {
      seq = s;
      if (!onEvent(s, ev)) return;
      if (ev.getString("type") == "finished") return;
    }
    auto run = get(runId);
    if (!run) fail(codes::kNotFound, "no run '" + runId + "' in the queue");
    l.wait(pollSeconds);
  }
}

}  // namespace llmspell::durable
