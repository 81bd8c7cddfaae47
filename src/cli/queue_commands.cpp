// llmspell worker / submit / runs: the PostgreSQL run queue's command line (docs/scaling.md).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "commands.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/durable/queue.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/spell/spell.hpp"

namespace llmspell::cli {

namespace {

std::atomic<bool> gStop{false};
void onStop(int) { gStop = true; }

std::string queueUrl(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* e = std::getenv("LLMSPELL_QUEUE");
  return e ? e : "";
}

int noQueue() {
  std::fprintf(stderr, "error[invalid_argument]: no queue: pass --queue postgres://... or set LLMSPELL_QUEUE\n");
  return 2;
}

void sleepFor(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// Runs `f` until it succeeds, waiting while PostgreSQL is unreachable (a restart, a failover):
// a worker outlives its database's outages. Other errors go to the caller.
template <typename F>
auto retrying(const char* what, F f) -> decltype(f()) {
  for (int n = 0;; ++n) {
    try {
      return f();
    } catch (const Exception& e) {
      if (e.error().code != codes::kNetworkError || gStop) throw;
      if (n == 0) std::fprintf(stderr, "worker: %s: %s; retrying\n", what, e.error().message.c_str());
      sleepFor(std::min(0.1 * (n + 1), 1.0));
    }
  }
}

// Renews the lease of the run the worker holds every lease/3 seconds, on its own thread and
// connection, for the worker's life. A renewal refused (the run was cancelled, or the lease was
// lost: the worker was paused past it and another took the run) stops the run through its
// stopper: nothing it does from then on would count.
class Heartbeat {
 public:
  Heartbeat(std::string url, std::string worker, double lease)
      : t_([this, url = std::move(url), worker = std::move(worker), lease] {
          std::unique_ptr<durable::Queue> q;
          std::unique_lock<std::mutex> lk(mu_);
          while (!cv_.wait_for(lk, std::chrono::duration<double>(lease / 3), [this] { return stop_; })) {
            std::string run = run_;
            auto stopper = stopper_;
            if (run.empty()) continue;
            lk.unlock();
            std::optional<Error> why;
            try {
              if (!q) q = std::make_unique<durable::Queue>(url);
              if (!q->heartbeat(run, worker, lease)) {
                auto row = q->get(run);
                if (row && row->status == "cancelled")
                  why = Error(codes::kCancelled, row->error.isObject() ? row->error.getString("message")
                                                                       : "the run was cancelled");
                else
                  why = Error(codes::kLimitExceeded, "lease lost: run " + run + " is no longer held by worker " +
                                                         worker + " (another worker may have taken it over)");
              }
            } catch (const Exception&) {
              q.reset();  // reconnect on the next beat; an unreachable database is no reason to stop
            }
            lk.lock();
            if (why && stopper && run_ == run) {
              stopped_ = why->code;
              stopper->stop(*why);
              stopper_.reset();  // once per run
            }
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  void hold(const std::string& run, std::shared_ptr<RunStopper> stopper) {
    std::lock_guard<std::mutex> lk(mu_);
    run_ = run;
    stopper_ = std::move(stopper);
    stopped_.clear();
  }
  // Why the held run was stopped ("cancelled", "limit_exceeded"), "" when it was not.
  std::string stopped() {
    std::lock_guard<std::mutex> lk(mu_);
    return stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::string run_, stopped_;
  std::shared_ptr<RunStopper> stopper_;
  std::thread t_;
};

// Sends the events of the run the worker holds to the queue's event table, on a thread and a
// connection of its own (the spell never waits for the database), in order, in batches, each
// batch fenced by the lease like a checkpoint. end() returns once the run's events are written
// (or given up on: events are what a watcher sees, not the run's record), so the run's
// "finished" event comes after them.
class EventForwarder {
 public:
  EventForwarder(std::string url, std::string worker)
      : url_(std::move(url)), worker_(std::move(worker)), t_([this] { send(); }) {}
  ~EventForwarder() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    t_.join();
  }
  void begin(const std::string& runId) {
    std::lock_guard<std::mutex> lk(mu_);
    run_ = runId;
  }
  // Any thread. The data is rendered now: the caller's containers stay the caller's.
  void add(std::string_view name, const Value& data) {
    // Under a type of their own: a spell's event named "finished" must not end its stream.
    std::string text;
    try {
      text = toJsonText(Value::object({{"type", "event"}, {"name", std::string(name)}, {"data", data}}));
    } catch (const Exception&) {
      text = toJsonText(Value::object({{"type", "event"}, {"name", std::string(name)}, {"data", data.describe()}}));
    }
    std::lock_guard<std::mutex> lk(mu_);
    if (run_.empty() || pending_.size() >= kMaxPending) return;
    pending_.emplace_back(run_, std::move(text));
    cv_.notify_all();
  }
  void end() {
    std::unique_lock<std::mutex> lk(mu_);
    idle_.wait(lk, [this] { return pending_.empty() && !busy_; });
    run_.clear();
  }

 private:
  static constexpr size_t kMaxPending = 100000;
  void send() {
    std::unique_ptr<durable::Queue> q;
    std::unique_lock<std::mutex> lk(mu_);
    for (;;) {
      cv_.wait(lk, [this] { return stop_ || !pending_.empty(); });
      if (pending_.empty()) return;  // stopping
      auto batch = std::move(pending_);
      pending_.clear();
      busy_ = true;
      lk.unlock();
      for (size_t i = 0; i < batch.size();) {
        const std::string& run = batch[i].first;
        Value events = Value::array();
        size_t j = i;
        for (; j < batch.size() && batch[j].first == run && j - i < 500; ++j)
          events.asArray().push(parseJson(batch[j].second));
        for (int attempt = 0; attempt < 3; ++attempt) {
          try {
            if (!q) q = std::make_unique<durable::Queue>(url_);
            q->publishAs(run, worker_, events);  // false: no longer ours; nothing written
            break;
          } catch (const Exception&) {
            q.reset();
            std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt + 1)));
          }
        }
        i = j;
      }
      lk.lock();
      busy_ = false;
      idle_.notify_all();
    }
  }
  std::string url_, worker_;
  std::mutex mu_;
  std::condition_variable cv_, idle_;
  bool stop_ = false, busy_ = false;
  std::string run_;
  std::vector<std::pair<std::string, std::string>> pending_;
  std::thread t_;  // last: starts once the members above exist
};

std::vector<std::pair<std::string, std::string>> rawParams(const Value& params) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!params.isObject()) return out;
  for (const auto& [k, v] : params.asObject()) out.emplace_back(k, v.isString() ? v.asString() : toJsonText(v));
  return out;
}

}  // namespace

int worker(const WorkerOptions& o,
           const std::function<RunResult(const std::string&, const std::vector<std::pair<std::string, std::string>>&,
                                         const Value&, const Value&, const QueuedRunHooks&)>& runOne) {
  std::string url = queueUrl(o.queue);
  if (url.empty()) return noQueue();
  std::string id = o.id;
  if (id.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    id = std::string(host) + ":" + std::to_string(getpid());
  }
  std::signal(SIGTERM, onStop);
  std::signal(SIGINT, onStop);
  try {
    durable::Queue q = retrying("connect", [&] { return durable::Queue(url); });
    Heartbeat hb(url, id, o.leaseSeconds);
    // The run's bus events go to its stream in the queue (the process runs one run at a time,
    // so every event while it runs is that run's).
    EventForwarder events(url, id);
    uint64_t sub = EventBus::global().subscribe("**", [&events](const Event& e) { events.add(e.name, e.data); });
    struct Off {
      uint64_t id;
      ~Off() { EventBus::global().off(id); }
    } off{sub};
    // Listening before the first claim: a submission between the two wakes the first wait.
    retrying("listen", [&] {
      q.waitForWork(0);
      return 0;
    });
    int done = 0;
    while (!gStop && (o.maxRuns == 0 || done < o.maxRuns)) {
      auto run = retrying("claim", [&] { return q.claim(id, o.leaseSeconds, o.maxAttempts); });
      if (!run) {
        if (o.exitWhenIdle) break;
        // Asleep until a submission's NOTIFY, or until the earliest lease of a running run
        // expires (its worker may have died: the run is then ours to take or to give up), or the
        // poll, which only covers a notification lost while the connection was down.
        retrying("wait", [&] {
          double wait = o.pollSeconds;
          if (auto next = q.nextLeaseExpiry()) wait = std::clamp(*next + 0.05, 0.05, wait);
          q.waitForWork(wait);
          return 0;
        });
        continue;
      }
      QueuedRunHooks hooks;
      hooks.stopper = std::make_shared<RunStopper>();
      hooks.event = [&events](std::string_view name, const Value& data) { events.add(name, data); };
      hb.hold(run->id, hooks.stopper);
      events.begin(run->id);
      Value d = run->durable ? Value::object({{"run_id", run->id}, {"store", url}, {"lease", id}}) : Value();
      RunResult r = runOne(run->spell, rawParams(run->params), d, run->options, hooks);
      events.end();
      std::string stoppedFor = hb.stopped();
      hb.hold("", nullptr);
      ++done;
      std::string status = r.error ? "failed" : "completed";
      Value result = r.value;
      try {
        (void)toJsonText(result);
      } catch (const Exception&) {
        result = Value(result.describe());  // a function or handle: what it was, not itself
      }
      bool held = retrying("finish", [&] {
        return q.finish(run->id, id, status, result, r.error ? r.error->toObject() : Value());
      });
      if (!held && stoppedFor == codes::kCancelled)
        std::fprintf(stderr, "worker %s: run %s was cancelled; it was stopped\n", id.c_str(), run->id.c_str());
      else if (!held)
        std::fprintf(stderr, "worker %s: lost the lease of %s; its outcome here is dropped\n", id.c_str(),
                     run->id.c_str());
    }
  } catch (const Exception& e) {
    std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
    return 1;
  }
  return 0;
}

int submit(const std::string& queue, const std::string& spell, const std::vector<std::string>& params, bool durable,
           const std::string& id) {
  std::string url = queueUrl(queue);
  if (url.empty()) return noQueue();
  std::error_code ec;
  if (!std::filesystem::exists(spell, ec)) {
    std::fprintf(stderr, "error[not_found]: no spell at %s\n", spell.c_str());
    return 2;
  }
  Value ps = Value::object();
  for (const auto& p : params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::fprintf(stderr, "error[invalid_argument]: --param expects key=value, got '%s'\n", p.c_str());
      return 2;
    }
    ps.asObject().set(p.substr(0, eq), p.substr(eq + 1));
  }
  try {
    durable::Queue q(url);
    std::printf("%s\n", q.submit(std::filesystem::absolute(spell).lexically_normal().string(), ps, durable, id).c_str());
  } catch (const Exception& e) {
    std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
    return 1;
  }
  return 0;
}

int runs(const RunsOptions& o) {
  std::string url = queueUrl(o.queue);
  if (url.empty()) return noQueue();
  try {
    durable::Queue q(url);
    if (o.follow) {
      if (o.id.empty()) {
        std::fprintf(stderr, "error[invalid_argument]: --follow needs a run id\n");
        return 2;
      }
      if (!q.get(o.id)) {
        std::fprintf(stderr, "error[not_found]: no run '%s' in the queue\n", o.id.c_str());
        return 1;
      }
      q.follow(o.id, [](int64_t seq, const Value& ev) {
        Value line = ev.deepCopy();
        line.asObject().set("seq", seq);
        std::printf("%s\n", toJsonText(line).c_str());
        std::fflush(stdout);
        return true;
      });
      auto r = q.get(o.id);
      return r && r->status == "completed" ? 0 : 1;
    }
    if (!o.id.empty()) {
      auto r = q.get(o.id);
      if (!r) {
        std::fprintf(stderr, "error[not_found]: no run '%s' in the queue\n", o.id.c_str());
        return 1;
      }
      std::printf("%s\n", toJsonText(r->toValue(), {.pretty = true}).c_str());
      return 0;
    }
    auto list = q.list(static_cast<size_t>(o.limit), o.status);
    if (o.json) {
      Value a = Value::array();
      for (const auto& r : list) a.asArray().push(r.toValue());
      std::printf("%s\n", toJsonText(a, {.pretty = true}).c_str());
      return 0;
    }
    for (const auto& r : list)
      std::printf("%-26s %-10s %-3d %-24s %s\n", r.id.c_str(), r.status.c_str(), r.attempts, r.worker.c_str(),
                  r.spell.c_str());
  } catch (const Exception& e) {
    std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace llmspell::cli
