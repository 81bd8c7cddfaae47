// `llmspell serve --queue URL`: the runs API over the PostgreSQL run queue. POST /v1/runs checks
// the request as for a local run, then submits it to the queue, where `llmspell worker`
// processes on any machine take it; GET reads the run's row, /events streams the run's events
// from the queue's event table (ids are the table's seq), DELETE cancels it in the queue.
// The database work runs on QueueRuns' threads; everything else here on the I/O thread.
#include "serve/queued.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "serve/service.hpp"

namespace llmspell::serve {

using json = nlohmann::json;
using net::IncomingRequest;
using net::ResponderPtr;

// --- QueueRuns: the database threads ----------------------------------------------------------

QueueRuns::QueueRuns(asio::io_context& io, std::string url, size_t threads) : io_(io), url_(std::move(url)) {
  durable::Queue check(url_);  // throws now, at start, rather than on the first request
  (void)check;
  for (size_t i = 0; i < std::max<size_t>(1, threads); ++i) threads_.emplace_back([this] { serveJobs(); });
  listener_ = std::thread([this] { listen(); });
}

QueueRuns::~QueueRuns() { stop(); }

void QueueRuns::stop() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_ && threads_.empty()) return;
    stop_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (listener_.joinable()) listener_.join();
  *alive_ = false;
  watchers_.clear();
}

void QueueRuns::call(std::function<void(durable::Queue&)> work, std::function<void(std::optional<Error>)> done) {
  auto job = [this, work = std::move(work), done = std::move(done), alive = alive_](std::unique_ptr<durable::Queue>& q) {
    std::optional<Error> err;
    try {
      if (!q) q = std::make_unique<durable::Queue>(url_);
      work(*q);
    } catch (const Exception& e) {
      err = e.error();
    } catch (const std::exception& e) {
      err = Error(codes::kInternal, e.what());
    }
    asio::post(io_, [alive, done, err] {
      if (*alive) done(err);
    });
  };
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (stop_) return;
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void QueueRuns::serveJobs() {
  std::unique_ptr<durable::Queue> q;  // this thread's connection (PgConn reconnects when it broke)
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_.wait(lk, [this] { return stop_ || !jobs_.empty(); });
    if (stop_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lk.unlock();
    job(q);
    lk.lock();
  }
}

// One LISTEN connection for every stream and waiter of this process: a notification names the
// run ("<run id> <seq>"), and the run's watchers fetch what is new.
void QueueRuns::listen() {
  std::unique_ptr<durable::PgConn> conn;
  uint64_t seen = 0;
  for (;;) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stop_) return;
    }
    try {
      if (!conn) {
        conn = std::make_unique<durable::PgConn>(url_);
        conn->listen("llmspell_run_events");
      }
      // A short wait: it bounds how long stop() waits for this thread.
      auto payloads = conn->wait(0.25);
      bool reconnected = conn->connections() != seen;
      seen = conn->connections();
      std::vector<std::string> ids;
      for (const auto& p : payloads) ids.push_back(p.substr(0, p.find(' ')));
      if (reconnected || !ids.empty())
        asio::post(io_, [this, alive = alive_, ids = std::move(ids), reconnected] {
          if (*alive) news(ids, reconnected);
        });
    } catch (const Exception&) {
      // The database is away: try again shortly; watchers catch up when it is back (a new
      // connection counts as news for every run).
      conn.reset();
      seen = 0;
      std::unique_lock<std::mutex> lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(500), [this] { return stop_; });
    }
  }
}

void QueueRuns::news(const std::vector<std::string>& runIds, bool all) {
  std::vector<std::function<void()>> calls;
  if (all) {
    for (auto& [id, ws] : watchers_)
      for (auto& [n, cb] : ws) calls.push_back(cb);
  } else {
    for (const auto& id : runIds) {
      auto it = watchers_.find(id);
      if (it == watchers_.end()) continue;
      for (auto& [n, cb] : it->second) calls.push_back(cb);
    }
  }
  for (auto& cb : calls) cb();  // copies: a callback may unwatch
}

uint64_t QueueRuns::watch(const std::string& runId, std::function<void()> onNews) {
  uint64_t id = ++nextWatch_;
  watchers_[runId][id] = std::move(onNews);
  return id;
}

void QueueRuns::unwatch(const std::string& runId, uint64_t id) {
  auto it = watchers_.find(runId);
  if (it == watchers_.end()) return;
  it->second.erase(id);
  if (it->second.empty()) watchers_.erase(it);
}

// --- the runs API over the queue --------------------------------------------------------------

namespace {

constexpr size_t kEventsPerFetch = 500;
constexpr size_t kHighWater = 256u << 10;

// The queue says "completed" where the runs API says "succeeded" (docs/serve.md); the rest match.
std::string apiStatus(const std::string& s) { return s == "completed" ? "succeeded" : s; }

std::string spellName(const durable::QueuedRun& r) {
  std::string n = r.options.getString("name");
  return n.empty() ? std::filesystem::path(r.spell).filename().string() : n;
}

// The outputs, token usage and cost of a run's latest attempt (the events after its last
// "claimed"), as a local run's object has them: {outputs, usage, cost_usd}. Database thread.
json runTotals(durable::Queue& q, const std::string& id) {
  auto rows = q.conn().exec(
      "WITH since AS (SELECT coalesce(max(seq), 0) AS s FROM llmspell_run_events WHERE run_id = $1 "
      "AND event->>'type' = 'claimed'), "
      "ev AS (SELECT seq, event FROM llmspell_run_events, since WHERE run_id = $1 AND seq > since.s) "
      "SELECT coalesce((SELECT jsonb_agg(event->'data' ORDER BY seq) FROM ev WHERE event->>'type' = 'event' "
      "AND event->>'name' = 'spell.output'), "
      "'[]'::jsonb)::text, "
      "coalesce(sum(coalesce((event#>>'{data,usage,input_tokens}')::float8, (event#>>'{data,usage,prompt_tokens}')::float8, 0)), 0), "
      "coalesce(sum(coalesce((event#>>'{data,usage,output_tokens}')::float8, (event#>>'{data,usage,completion_tokens}')::float8, 0)), 0), "
      "coalesce(sum(coalesce((event#>>'{data,cost_usd}')::float8, 0)), 0) "
      "FROM ev WHERE event->>'type' = 'event' AND event->>'name' = 'llm.response'",
      {id});
  json t = {{"outputs", json::array()}, {"usage", {{"input_tokens", 0}, {"output_tokens", 0}}}, {"cost_usd", 0}};
  if (rows.empty()) return t;
  const auto& r = rows[0];
  if (r[0]) t["outputs"] = json::parse(*r[0], nullptr, false);
  if (r[1]) t["usage"]["input_tokens"] = std::stod(*r[1]);
  if (r[2]) t["usage"]["output_tokens"] = std::stod(*r[2]);
  if (r[3]) t["cost_usd"] = std::stod(*r[3]);
  return t;
}

json queuedRunJson(const durable::QueuedRun& r, const json& totals = json()) {
  json j = {{"id", r.id},          {"object", "run"},      {"spell", spellName(r)},
            {"status", apiStatus(r.status)}, {"created_at", r.created}, {"attempts", r.attempts},
            {"queue", true}};
  if (r.started > 0) j["started_at"] = r.started;
  if (!r.worker.empty()) j["worker"] = r.worker;
  if (r.finished > 0) {
    j["finished_at"] = r.finished;
    j["output"] = toJson(r.result);
  }
  if (!r.error.isNull()) j["error"] = toJson(r.error);
  if (totals.is_object())
    for (auto& [k, v] : totals.items()) j[k] = v;
  return j;
}

// A queue event as an SSE event named as a local run's are: queued and claimed -> run.status,
// finished -> run.finish (with the run's error), checkpoint -> run.checkpoint, the spell's own
// events ({type: "event", name, data}) under their name.
std::string sseFor(int64_t seq, const Value& ev, const std::optional<durable::QueuedRun>& row) {
  std::string type = ev.getString("type");
  json data = toJson(ev);
  data.erase("type");
  std::string name = type;
  if (type == "queued") {
    name = "run.status";
    data = {{"status", "queued"}};
  } else if (type == "claimed") {
    name = "run.status";
    data["status"] = "running";
  } else if (type == "checkpoint") {
    name = "run.checkpoint";
  } else if (type == "finished") {
    name = "run.finish";
    data["status"] = apiStatus(data.value("status", ""));
    if (data.contains("worker") && data["worker"].is_null()) data.erase("worker");
    if (row && !row->error.isNull()) data["error"] = toJson(row->error);
  } else if (type == "event") {  // the spell's own, forwarded by its worker
    name = ev.getString("name");
    data = json(data.value("data", json()));
  }
  return net::sseEvent(std::to_string(seq), name, data.dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// One client reading a queued run's events. Fetches what is after `after` whenever the run has
// news, one fetch at a time (news during a fetch asks for another), and waits for the client
// to take what was written before fetching more.
struct QueuedStream : std::enable_shared_from_this<QueuedStream> {
  QueueRuns& q;
  std::string id;
  ResponderPtr res;
  int64_t after = 0;
  bool fetching = false, again = false, closed = false;
  uint64_t watchId = 0;
  std::function<void()> onClientGone;

  QueuedStream(QueueRuns& queue, std::string runId, ResponderPtr r, int64_t from)
      : q(queue), id(std::move(runId)), res(std::move(r)), after(from) {}

  void open() {
    // The watch holds the stream until it closes (close() unwatches).
    watchId = q.watch(id, [self = shared_from_this()] { self->fetch(); });
    std::weak_ptr<QueuedStream> weak = shared_from_this();
    res->onClose([weak] {
      auto s = weak.lock();
      if (!s || s->closed) return;
      s->close();
      if (s->onClientGone) s->onClientGone();
    });
    fetch();
  }
  void close() {
    if (closed) return;
    closed = true;
    q.unwatch(id, watchId);
  }
  void fetch() {
    if (closed) return;
    if (fetching) {
      again = true;
      return;
    }
    if (res->buffered() > kHighWater) {
      std::weak_ptr<QueuedStream> weak = shared_from_this();
      res->onDrain([weak] {
        if (auto s = weak.lock()) s->fetch();
      });
      return;
    }
    fetching = true;
    struct Got {
      std::vector<std::pair<int64_t, Value>> events;
      std::optional<durable::QueuedRun> row;
    };
    auto got = std::make_shared<Got>();
    auto self = shared_from_this();
    q.call(
        [got, id = id, after = after](durable::Queue& queue) {
          got->events = queue.events(id, after, kEventsPerFetch);
          bool finishedEvent = false;
          for (const auto& [seq, ev] : got->events) finishedEvent |= ev.getString("type") == "finished";
          // The run's error for run.finish; or, with nothing new, whether there can be more.
          if (finishedEvent || got->events.empty()) got->row = queue.get(id);
        },
        [self, got](std::optional<Error> err) {
          self->fetching = false;
          if (self->closed) return;
          if (err) {
            // The database is away: the listener's reconnect brings news, and the fetch again.
            if (err->code == codes::kNetworkError) return;
            self->res->write(net::sseEvent("", "error", dumpJson({{"code", err->code}, {"message", err->message}})));
            self->res->end();
            return self->close();
          }
          for (const auto& [seq, ev] : got->events) {
            self->after = seq;
            self->res->write(sseFor(seq, ev, got->row));
            if (ev.getString("type") == "finished") {
              self->res->end();
              return self->close();
            }
          }
          // Nothing after `after` and the run is over (a Last-Event-ID past its end): done.
          if (got->events.empty() && (!got->row || got->row->finished > 0)) {
            self->res->end();
            return self->close();
          }
          if (got->events.size() >= kEventsPerFetch || self->again) {
            self->again = false;
            self->fetch();
          }
        });
  }
};

// A POST with wait: true: answered when the run finishes, or at the deadline with what it is
// then (202), whichever comes first.
struct QueuedWait : std::enable_shared_from_this<QueuedWait> {
  QueueRuns& q;
  std::string id;
  ResponderPtr res;
  asio::steady_timer timer;
  bool checking = false, again = false, done = false;
  uint64_t watchId = 0;

  QueuedWait(QueueRuns& queue, asio::io_context& io, std::string runId, ResponderPtr r)
      : q(queue), id(std::move(runId)), res(std::move(r)), timer(io) {}

  void start(double seconds, bool cancelOnDisconnect) {
    // The watch holds the waiter until it answers (finish() unwatches).
    watchId = q.watch(id, [self = shared_from_this()] { self->check(false); });
    std::weak_ptr<QueuedWait> weak = shared_from_this();
    timer.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::chrono::duration<double>(seconds)));
    timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->check(true);
    });
    res->onClose([weak, cancelOnDisconnect] {
      auto w = weak.lock();
      if (!w || w->done) return;
      w->finish();
      if (cancelOnDisconnect) w->q.call([id = w->id](durable::Queue& queue) { queue.cancel(id, "the client disconnected"); },
                                        [](std::optional<Error>) {});
    });
    check(false);
  }
  void finish() {
    if (done) return;
    done = true;
    timer.cancel();
    q.unwatch(id, watchId);
  }
  void check(bool deadline) {
    if (done) return;
    if (checking) {
      again = true;
      return;
    }
    checking = true;
    auto row = std::make_shared<std::optional<durable::QueuedRun>>();
    auto totals = std::make_shared<json>();
    q.call(
        [row, totals, id = id](durable::Queue& queue) {
          *row = queue.get(id);
          if (*row && (*row)->finished > 0) *totals = runTotals(queue, id);
        },
           [self = shared_from_this(), row, totals, deadline](std::optional<Error> err) {
             self->checking = false;
             if (self->done) return;
             if (err || !*row) {
               if (!deadline) return;  // try again on the next news, or at the deadline
               self->finish();
               json e = {{"error", {{"code", err ? err->code : std::string(codes::kNotFound)},
                                    {"message", err ? err->message : "the run left the queue"}}}};
               return self->res->send(503, dumpJson(e), {{"content-type", "application/json"}});
             }
             const auto& r = **row;
             if (r.finished > 0 || deadline) {
               self->finish();
               return self->res->send(r.finished > 0 ? 200 : 202, dumpJson(queuedRunJson(r, *totals)),
                                      {{"content-type", "application/json"}});
             }
             if (self->again) {
               self->again = false;
               self->check(false);
             }
           });
  }
};

}  // namespace

void Service::submitQueued(ResponderPtr res, const SpellInfo& spell, json msg, double timeout,
                           const std::string& principal, bool stream, bool wait, bool cancelOnDisconnect) {
  // What the worker needs besides the spell and its params: the limits and grants this request
  // narrowed (checked above against the manifest and the caller's key). The operator's
  // --mock-replies stays with this process: workers have their own flags.
  json options = {{"name", spell.name}, {"dir", spell.dir}, {"timeout_s", msg["timeout_s"]}, {"memory_mb", msg["memory_mb"]}};
  for (const char* k : {"typed_params", "instructions", "grants", "traceparent"})
    if (msg.contains(k)) options[k] = msg[k];
  if (msg.contains("config")) {
    json config = msg["config"];
    config.erase("mock_replies");
    if (!config.empty()) options["config"] = config;
  }
  Value params = fromJson(msg.value("params", json::object()));
  std::string id = newRunId();
  auto row = std::make_shared<std::optional<durable::QueuedRun>>();
  queueRuns_->call(
      [row, id, dir = spell.dir, params, principal, opts = fromJson(options)](durable::Queue& q) {
        q.submit(dir, params, true, id, principal, opts);
        *row = q.get(id);
      },
      [this, res, row, id, timeout, stream, wait, cancelOnDisconnect](std::optional<Error> err) {
        if (err || !*row)
          return sendError(res, 503, err ? err->code : std::string(codes::kInternal),
                           "the run could not be queued: " + (err ? err->message : std::string("it is not in the queue")),
                           {{"retry-after", "1"}});
        if (stream) {
          res->startStream(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}, {"x-run-id", id}});
          auto s = std::make_shared<QueuedStream>(*queueRuns_, id, res, 0);
          if (cancelOnDisconnect)
            s->onClientGone = [this, id] {
              queueRuns_->call([id](durable::Queue& q) { q.cancel(id, "the client disconnected from the run's stream"); },
                               [](std::optional<Error>) {});
            };
          s->open();
        } else if (wait) {
          // The run's time limit bounds the wait (a run still queued or running then is answered
          // with 202 and its state: GET it, or read its events, to follow it).
          auto w = std::make_shared<QueuedWait>(*queueRuns_, io_, id, res);
          w->start(timeout + opts_.hardStopGraceSeconds + 1, cancelOnDisconnect);
        } else {
          sendJson(res, 202, queuedRunJson(**row));
        }
      });
}

void Service::queuedRunRoute(const IncomingRequest& rq, ResponderPtr res, const std::string& id, bool events) {
  const std::string& m = rq.method;
  auto notFound = [this, id](const ResponderPtr& r) { sendError(r, 404, "not_found", "no run '" + id + "' in the queue"); };
  if (id.empty() || id.find('/') != std::string::npos) {
    if (m != "GET" && m != "DELETE") return sendError(res, 405, "invalid_argument", m + " is not allowed here", {{"allow", "GET, DELETE"}});
    return notFound(res);
  }
  if (events ? m != "GET" : (m != "GET" && m != "DELETE"))
    return sendError(res, 405, "invalid_argument", m + " is not allowed on " + rq.path + (events ? " (allowed: GET)" : " (allowed: GET, DELETE)"),
                     {{"allow", events ? "GET" : "GET, DELETE"}});
  int64_t from = 0;
  if (events) {
    std::string last = rq.header("last-event-id");
    if (!last.empty()) {
      char* end = nullptr;
      unsigned long long v = std::strtoull(last.c_str(), &end, 10);
      if (end == last.c_str() || *end)
        return sendError(res, 400, "invalid_argument", "Last-Event-ID must be an event number from this run's stream");
      from = static_cast<int64_t>(v);
    }
  }
  // The request outlives this call: what authorize() reads is kept.
  auto req = std::make_shared<IncomingRequest>(rq);
  auto row = std::make_shared<std::optional<durable::QueuedRun>>();
  auto totals = std::make_shared<json>();
  queueRuns_->call(
      [row, totals, id, events](durable::Queue& q) {
        *row = q.get(id);
        if (*row && !events) *totals = runTotals(q, id);
      },
      [=, this](std::optional<Error> err) {
    if (err) return sendError(res, 503, err->code, "the run queue cannot be read: " + err->message, {{"retry-after", "1"}});
    if (!*row) return notFound(res);
    const durable::QueuedRun& r = **row;
    const char* route = events || m == "GET" ? "runs.read" : "runs.cancel";
    AuthResult a = authorize(*req, route, spellName(r));
    if (!a.allowed) return sendError(res, a.status, a.code, a.message, a.headers);
    // With keys, another key's run is answered as if it did not exist.
    if (a.principal != r.keyId) return notFound(res);
    if (events) {
      res->startStream(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
      std::make_shared<QueuedStream>(*queueRuns_, id, res, from)->open();
      return;
    }
    if (m == "GET" || r.finished > 0) return sendJson(res, 200, queuedRunJson(r, *totals));
    auto after = std::make_shared<std::optional<durable::QueuedRun>>();
    auto totals2 = std::make_shared<json>();
    queueRuns_->call(
        [after, totals2, id](durable::Queue& q) {
          q.cancel(id, "DELETE /v1/runs/" + id);
          *after = q.get(id);
          if (*after) *totals2 = runTotals(q, id);
        },
        [this, res, after, totals2, notFound](std::optional<Error> err2) {
          if (err2) return sendError(res, 503, err2->code, "the run could not be cancelled: " + err2->message, {{"retry-after", "1"}});
          if (!*after) return notFound(res);
          sendJson(res, 200, queuedRunJson(**after, *totals2));
        });
  });
}

}  // namespace llmspell::serve
