// `llmspell serve`: the HTTP routes, the runs kept in memory with their event logs, and the pool
// of worker processes that run them. Everything here runs on the HTTP server's one I/O thread
// (worker sockets, timers, signals included), so the state needs no locks.
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <map>
#include <random>
#include <thread>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "llmspell/llm/call_log.hpp"
#include "llmspell/net/http_server.hpp"
#include "llmspell/runtime/asio.hpp"
#include "llmspell/serve/serve.hpp"
#include "llmspell/spell/spell.hpp"
#include "serve/authorize.hpp"
#include "serve/frame.hpp"
#include "serve/queued.hpp"
#include "serve/service.hpp"

extern char** environ;

namespace llmspell::serve {

namespace fs = std::filesystem;
using json = nlohmann::json;
using net::IncomingRequest;
using net::ResponderPtr;
using local = asio::local::stream_protocol;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

const net::Headers kJson = {{"content-type", "application/json"}};

// A run's message as the frame a worker reads (frame.hpp, kRunTag): only its JSON parts are
// written as JSON.
std::string runFrame(const json& m) {
  auto text = [&m](const char* k) -> std::string {
    auto it = m.find(k);
    if (it == m.end() || it->is_null()) return "";
    if (it->is_string()) return it->get_ref<const std::string&>();
    if (it->is_number_unsigned()) return std::to_string(it->get<uint64_t>());
    if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
    if (it->is_number_float()) {
      std::string out;
      appendJsonDouble(out, it->get<double>());
      return out;
    }
    return dumpJson(*it);
  };
  auto whole = [&m](const char* k) -> std::string {
    auto it = m.find(k);
    if (it == m.end()) return "";
    // No params and no config read the same as empty ones (grants do not: {} grants nothing).
    if (it->is_object() && it->empty() && std::string_view(k) != "grants") return "";
    return dumpJson(*it);
  };
  FieldFrame f(kRunTag);
  for (const char* k : {"id", "spell", "dir", "data_dir", "grace_s", "timeout_s", "memory_mb", "instructions", "traceparent"})
    f.add(text(k));
  for (const char* k : {"params", "typed_params", "config", "grants"}) f.add(whole(k));
  return frame(f.body());
}

size_t residentBytes(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/statm";
  FILE* f = std::fopen(path.c_str(), "re");
  if (!f) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return n == 2 ? resident * page : 0;
}

constexpr size_t kMaxEventsPerRun = 10000;
constexpr size_t kStreamHighWater = 256u << 10;
constexpr const char* kLimitKeys[] = {"timeout_s", "memory_mb", "instructions", "max_cost_usd", "max_tokens"};

}  // namespace

// --- the service -----------------------------------------------------------------------------

Service::Service(const ServeOptions& opts, net::HttpServer& server)
    : opts_(opts), server_(server), io_(server.io()), memoryTimer_(io_), signals_(io_) {
  metrics_.declare();
  llm::CallLog::keepOpen(true);  // the workers' rows are written here, run after run
}

Service::~Service() {
  if (queueRuns_) queueRuns_->stop();
}

void Service::loadSpells() {
  std::error_code ec;
  if (!fs::is_directory(opts_.spellsDir, ec))
    fail(codes::kConfigError, "the spells directory " + opts_.spellsDir + " does not exist");
  std::vector<fs::path> dirs;
  for (const auto& e : fs::directory_iterator(opts_.spellsDir, ec))
    if (e.is_directory() && fs::exists(e.path() / "spell.yaml")) dirs.push_back(e.path());
  if (fs::exists(fs::path(opts_.spellsDir) / "spell.yaml")) dirs.push_back(opts_.spellsDir);
  std::sort(dirs.begin(), dirs.end());
  for (const auto& d : dirs) {
    std::vector<Diagnostic> diags;
    auto m = loadManifest((d / "spell.yaml").string(), diags);
    if (!m) {
      std::string msg;
      for (const auto& x : diags) msg += "\n  " + x.toString();
      std::fprintf(stderr, "warning: skipping the spell in %s: invalid manifest:%s\n", d.c_str(), msg.c_str());
      continue;
    }
    SpellInfo s;
    s.name = m->name.empty() ? fs::absolute(d).filename().string() : m->name;
    s.dir = fs::absolute(d).lexically_normal().string();
    s.manifest = std::move(*m);
    const Value& serve = s.manifest.raw.get("serve");
    if (serve.isObject()) {
      const Value& models = serve.get("models");
      if (models.isArray())
        for (const auto& x : models.asArray())
          if (x.isString() && !x.asString().empty()) s.models.push_back(x.asString());
    }
    if (spells_.count(s.name)) std::fprintf(stderr, "warning: two spells are named %s; serving the one in %s\n", s.name.c_str(), s.dir.c_str());
    for (const auto& model : s.models) models_[model] = s.name;
    spells_[s.name] = std::move(s);
  }
}

std::string Service::newRunId() {
  static std::mt19937_64 rng(std::random_device{}());
  char buf[24];
  std::snprintf(buf, sizeof buf, "run_%016llx", static_cast<unsigned long long>(rng()));
  return buf;
}

void Service::start() {
  loadSpells();
  if (!opts_.queue.empty()) {
    if (!durable::isPostgresUrl(opts_.queue))
      fail(codes::kConfigError, "--queue expects a postgres:// URL, got '" + opts_.queue + "'");
    queueRuns_ = std::make_unique<QueueRuns>(io_, opts_.queue);
  }
  ::signal(SIGPIPE, SIG_IGN);
  workers_.resize(static_cast<size_t>(std::max(1, opts_.workers)));
  for (size_t i = 0; i < workers_.size(); ++i) {
    workers_[i] = std::make_unique<Worker>(io_);
    workers_[i]->index = i;
    spawn(*workers_[i]);
  }
  pollMemory();
  signals_.add(SIGTERM);
  signals_.add(SIGINT);
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) drain();
  });
}

// --- workers ---------------------------------------------------------------------------------

void Service::spawn(Worker& w) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    std::fprintf(stderr, "error: cannot create a worker socket: %s\n", std::strerror(errno));
    return respawnLater(w);
  }
  // The child's end becomes its fd 3 (dup2 clears close-on-exec; it would not if it were 3).
  if (fds[1] == 3) {
    int moved = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    ::close(fds[1]);
    fds[1] = moved;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 3);
  // Nothing else of the parent's reaches a worker: a listening socket or a client's connection
  // held open by a worker would outlive the parent's close of it.
  posix_spawn_file_actions_addclosefrom_np(&fa, 4);
  std::string exe = opts_.workerExe;
  std::vector<char*> argv = {const_cast<char*>("llmspell"), const_cast<char*>("__serve-worker"), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    std::fprintf(stderr, "error: cannot start a worker (%s): %s\n", exe.c_str(), std::strerror(rc));
    return respawnLater(w);
  }
  w.pid = pid;
  w.ready = false;
  w.generation++;
  w.in.clear();
  w.sock = std::make_unique<local::socket>(io_);
  w.sock->assign(local(), fds[0]);
  readFrom(w, w.generation);
}

void Service::respawnLater(Worker& w) {
  if (stopping_) return;
  auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(1));
  t->async_wait([this, &w, t](const boost::system::error_code& ec) {
    if (!ec && !stopping_) spawn(w);
  });
}

// Reads what the worker has sent, as many frames as arrived at once: a run's frames (started,
// its events, done) come in quick succession, and a read (and a wakeup) per frame header and
// per frame body was most of what the parent spent on a run.
void Service::readFrom(Worker& w, uint64_t gen) {
  w.sock->async_read_some(asio::buffer(w.readBuf.get(), Worker::kReadBytes),
                          [this, &w, gen](const boost::system::error_code& ec, size_t n) {
    if (gen != w.generation) return;
    if (ec) return workerGone(w);
    w.in.append(w.readBuf.get(), n);
    size_t at = 0;
    while (w.in.size() - at >= 4) {
      uint32_t len = frameLength(reinterpret_cast<const unsigned char*>(w.in.data() + at));
      if (len > kMaxFrameBytes) return workerGone(w);
      if (w.in.size() - at - 4 < len) break;
      std::string_view body(w.in.data() + at + 4, len);
      at += 4 + len;
      if (!body.empty() && body[0] == '{') {
        json m = json::parse(body.begin(), body.end(), nullptr, false);
        if (!m.is_discarded()) onWorkerMessage(w, m);
      } else {
        onWorkerFrame(w, body);
      }
      if (gen != w.generation || !w.sock) return;  // the worker went meanwhile (its successor starts clean)
    }
    w.in.erase(0, at);
    readFrom(w, gen);
  });
}

// A JSON frame: `ready`, sent once when a worker has started.
void Service::onWorkerMessage(Worker& w, const json& m) {
  if (!m.is_object() || m.value("op", "") != "ready") return;
  w.ready = true;
  w.baseRss = residentBytes(w.pid);
  w.failedStarts = 0;
  dispatch();
}

// What a worker sends for each run: tagged frames (frame.hpp), their JSON passed on as text.
void Service::onWorkerFrame(Worker& w, std::string_view body) {
  if (body.empty()) return;
  if (body[0] == kCallTag) return logCall(body);
  FieldReader f(body);
  std::string_view id;
  auto run = w.run;
  if (!f.next(id) || !run || id != run->id) return;
  if (body[0] == kStartedTag) {
    std::string_view runId;
    if (f.next(runId)) run->runId = runId;
  } else if (body[0] == kEventTag) {
    std::string_view name, data;
    if (!f.next(name) || !f.next(data)) return;
    std::string_view a, b, in, out, cost;  // what the worker read from the data (frame.hpp)
    double i = 0, o = 0, c = 0;
    if (name == "llm.response" && f.next(a) && f.next(b) && f.next(in) && f.next(out) && f.next(cost) &&
        numberField(in, i) && numberField(out, o) && numberField(cost, c)) {
      run->inputTokens += i;
      run->outputTokens += o;
      run->cost += c;
      metrics_.llmCall(std::string(a), std::string(b), i, o, c);
    } else if (name == "llm.error" && f.next(a) && f.next(b)) {
      metrics_.llmError(std::string(a), std::string(b));
    } else if (name == "tool.result" && f.next(a)) {
      metrics_.toolCall(std::string(a));
    }
    addEventText(*run, std::string(name), std::string(data));
  } else if (body[0] == kDoneTag) {
    std::string_view code, message, valueText;
    if (!f.next(code) || !f.next(message) || !f.next(valueText)) return workerGone(w);
    w.run.reset();
    w.deadline.cancel();
    json value = valueText.empty() ? json() : json::parse(valueText, nullptr, false);
    if (value.is_discarded()) value = json();
    std::string status = "succeeded";
    json error;
    if (!code.empty()) {
      status = code == "cancelled" ? "cancelled" : "failed";
      error = {{"code", code}, {"message", message}};
    }
    finish(*run, status, std::move(value), std::move(error));
    dispatch();
  }
}

// A call log row, sent by a run's worker before its `done`, is queued here: the parent is the one
// writer (workers taking turns at the database's write lock cost them a sixth of a short run).
// The log's writer thread commits them in batches (64 rows, or 200 ms after the first), not
// this loop's thread, and the run is answered without waiting for that: a commit per finished
// run (a transaction of three pages for one row) and the checkpoints it brought held up every
// connection, and took the echo agent's p99 from 15 to 30 ms at 50 connections.
void Service::logCall(std::string_view body) {
  FieldReader f(body);
  std::string_view path, ts, runId, spell, model, provider, finishReason, errorCode, latency, in, out, cost;
  for (std::string_view* field : {&path, &ts, &runId, &spell, &model, &provider, &finishReason, &errorCode, &latency, &in, &out, &cost})
    if (!f.next(*field)) return;
  try {
    auto log = llm::CallLog::shared(std::string(path));
    llm::CallLog::Row r;
    numberField(ts, r.ts);
    r.runId = runId;
    r.spell = spell;
    r.model = model;
    r.provider = provider;
    r.finishReason = finishReason;
    r.errorCode = errorCode;
    numberField(latency, r.latencyMs);
    if (int64_t n = 0; !in.empty() && numberField(in, n)) r.inputTokens = n;
    if (int64_t n = 0; !out.empty() && numberField(out, n)) r.outputTokens = n;
    if (double d = 0; !cost.empty() && numberField(cost, d)) r.costUsd = d;
    log->append(std::move(r));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: a call log row was not written: %s\n", e.what());
  }
}

// A worker's socket closed: it exited (a hard stop), was killed (a cancel, a limit), or crashed.
void Service::workerGone(Worker& w) {
  w.generation++;
  if (w.sock) {
    boost::system::error_code ig;
    w.sock->close(ig);
    w.sock.reset();
  }
  int status = 0;
  std::string how = "exited";
  if (w.pid > 0) {
    ::kill(w.pid, SIGKILL);
    ::waitpid(w.pid, &status, 0);
    if (WIFSIGNALED(status)) how = std::string("was killed by signal ") + std::to_string(WTERMSIG(status));
    else if (WIFEXITED(status)) how = "exited with code " + std::to_string(WEXITSTATUS(status));
  }
  w.pid = -1;
  bool wasReady = w.ready;
  w.ready = false;
  w.deadline.cancel();
  if (auto run = std::move(w.run)) {
    json err = run->stopError.is_null()
                   ? json{{"code", "worker_crashed"},
                          {"message", "the worker process running this spell " + how + "; only this run failed"}}
                   : run->stopError;
    std::string code = err.value("code", "");
    finish(*run, code == "cancelled" ? "cancelled" : "failed", json(), err);
  }
  if (stopping_) return;
  if (!wasReady && ++w.failedStarts > 3) return respawnLater(w);  // a worker that cannot start
  spawn(w);
}

void Service::pollMemory() {
  memoryTimer_.expires_after(std::chrono::milliseconds(100));
  memoryTimer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    for (auto& wp : workers_) {
      Worker& w = *wp;
      if (!w.run || w.pid <= 0) continue;
      // The engines hold the memory limit themselves and the runner's own guard stops a process
      // grown by twice the limit; this backstop only acts when the worker is past both.
      size_t cap = w.run->memoryMb << 20;
      size_t rss = residentBytes(w.pid);
      if (rss > w.baseRss + 3 * cap + (64u << 20)) {
        w.run->stopError = {{"code", "limit_exceeded"},
                            {"message", "memory limit of " + std::to_string(w.run->memoryMb) +
                                            " MiB exceeded (the worker process grew to " + std::to_string(rss >> 20) +
                                            " MiB and was stopped)"}};
        ::kill(w.pid, SIGKILL);
      }
    }
    pollMemory();
  });
}

void Service::dispatch() {
  for (auto& wp : workers_) {
    if (queue_.empty()) return;
    Worker& w = *wp;
    if (!w.ready || w.run || !w.sock) continue;
    auto run = queue_.front();
    queue_.pop_front();
    assign(w, run);
  }
}

void Service::assign(Worker& w, std::shared_ptr<RunRec> run) {
  w.run = run;
  run->status = "running";
  run->started = now();
  metrics_.inFlight(+1);
  addEventText(*run, "run.status", R"({"status":"running"})");
  auto bytes = std::make_shared<std::string>(runFrame(run->message));
  asio::async_write(*w.sock, asio::buffer(*bytes), [bytes](const boost::system::error_code&, size_t) {});
  // A spell stuck in a built-in call past its time limit: the worker's own watchdog ends the
  // process after the grace; this is the parent's backstop should the worker not manage it.
  w.deadline.expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(run->timeout + opts_.hardStopGraceSeconds + 1)));
  w.deadline.async_wait([this, &w, run](const boost::system::error_code& ec) {
    if (ec || w.run != run || w.pid <= 0) return;
    run->stopError = {{"code", "limit_exceeded"},
                      {"message", "time limit of " + json(run->timeout).dump() + " s exceeded, and the spell did not stop; its worker was killed"}};
    ::kill(w.pid, SIGKILL);
  });
}

// --- runs and their events -------------------------------------------------------------------

// An event of a run, its data as JSON text (what counts toward its usage and cost is counted
// by the caller). A spell's output is parsed: a run keeps its outputs.
void Service::addEventText(RunRec& run, std::string name, std::string text) {
  if (name == "spell.output") {
    json data = json::parse(text, nullptr, false);
    run.outputs.push_back(data.is_discarded() ? json() : std::move(data));
  }
  if (run.events.size() >= kMaxEventsPerRun && name != "run.finish") {
    run.eventsDropped++;
    return;
  }
  run.events.push_back({std::move(name), std::move(text)});
  for (auto& s : std::vector<std::shared_ptr<Stream>>(run.streams)) pump(s);
}

void Service::finish(RunRec& run, const std::string& status, json value, json error) {
  if (run.finished > 0) return;
  bool wasRunning = run.status == "running";
  run.status = status;
  run.finished = now();
  run.value = std::move(value);
  run.error = std::move(error);
  if (wasRunning) metrics_.inFlight(-1);
  chargeRun(run.principal, run.cost);
  double dur = run.started > 0 ? run.finished - run.started : 0;
  std::string code = run.error.is_object() ? run.error.value("code", "") : "";
  metrics_.runDone(run.spell, status, dur, code);
  std::string fin = R"({)";
  if (!run.error.is_null()) fin += R"("error":)" + dumpJson(run.error) + ",";
  fin += R"("status":)";
  appendJsonString(fin, status);
  addEventText(run, "run.finish", fin + "}");
  auto self = runs_.find(run.id);
  auto cbs = std::move(run.onDone);
  for (auto& cb : cbs) cb();
  if (self != runs_.end()) {
    finishedOrder_.push_back(run.id);
    while (finishedOrder_.size() > opts_.keepFinished) {
      runs_.erase(finishedOrder_.front());
      finishedOrder_.pop_front();
    }
  }
  if (draining_) checkDrained();
}

json Service::runJson(const RunRec& r) const {
  json j = {{"id", r.id},
            {"object", "run"},
            {"spell", r.spell},
            {"status", r.status},
            {"created_at", r.created},
            {"usage", {{"input_tokens", r.inputTokens}, {"output_tokens", r.outputTokens}}},
            {"cost_usd", r.cost},
            {"outputs", r.outputs},
            {"events", r.events.size()}};
  if (r.started > 0) j["started_at"] = r.started;
  if (r.finished > 0) {
    j["finished_at"] = r.finished;
    j["output"] = r.value;
  }
  if (!r.runId.empty()) j["run_id"] = r.runId;
  if (!r.error.is_null()) j["error"] = r.error;
  return j;
}

// Writes a stream's pending events while the client keeps up; waits for a drain when it does not.
void Service::pump(const std::shared_ptr<Stream>& s) {
  if (s->closed || s->waiting) return;
  RunRec& run = *s->run;
  while (s->next < run.events.size()) {
    if (s->res->buffered() > kStreamHighWater) {
      s->waiting = true;
      std::weak_ptr<Stream> weak = s;
      s->res->onDrain([this, weak] {
        if (auto st = weak.lock()) {
          st->waiting = false;
          pump(st);
        }
      });
      return;
    }
    const auto& ev = run.events[s->next];
    ++s->next;
    std::string out = s->format ? s->format(s->next, ev) : net::sseEvent(std::to_string(s->next), ev.name, ev.data);
    if (!out.empty()) s->res->write(std::move(out));
  }
  if (run.finished > 0) {
    if (s->finish) s->res->write(s->finish());
    s->res->end();
    closeStream(s);
  }
}

void Service::closeStream(const std::shared_ptr<Stream>& s) {
  if (s->closed) return;
  s->closed = true;
  auto& v = s->run->streams;
  v.erase(std::remove(v.begin(), v.end(), s), v.end());
  metrics_.streams(-1);
}

std::shared_ptr<Stream> Service::openStream(std::shared_ptr<RunRec> run, ResponderPtr res, size_t from, bool cancelOnDisconnect) {
  auto s = std::make_shared<Stream>();
  s->run = run;
  s->res = res;
  s->next = std::min(from, run->events.size());
  metrics_.streams(+1);
  run->streams.push_back(s);
  std::weak_ptr<Stream> weak = s;
  res->onClose([this, weak, cancelOnDisconnect] {
    auto st = weak.lock();
    if (!st || st->closed) return;
    closeStream(st);
    if (cancelOnDisconnect && st->run->finished == 0)
      cancel(*st->run, "the client disconnected from the run's stream");
  });
  return s;
}

void Service::cancel(RunRec& run, const std::string& why) {
  if (run.finished > 0) return;
  json err = {{"code", "cancelled"}, {"message", "the run was cancelled: " + why}};
  auto q = std::find_if(queue_.begin(), queue_.end(), [&](const auto& r) { return r.get() == &run; });
  if (q != queue_.end()) {
    queue_.erase(q);
    finish(run, "cancelled", json(), err);
    return;
  }
  for (auto& wp : workers_)
    if (wp->run.get() == &run && wp->pid > 0) {
      // Killing the worker is the one stop that works whatever the spell is doing; it is
      // replaced at once.
      run.stopError = err;
      ::kill(wp->pid, SIGKILL);
    }
}

// --- HTTP ------------------------------------------------------------------------------------

void Service::sendError(const ResponderPtr& res, int status, const std::string& code, const std::string& message,
                        net::Headers extra) {
  json j = {{"error", {{"code", code}, {"message", message}}}};
  extra.emplace_back("content-type", "application/json");
  res->send(status, dumpJson(j), std::move(extra));
}

void Service::sendJson(const ResponderPtr& res, int status, const json& j) { res->send(status, dumpJson(j), kJson); }
void Service::sendJsonText(const ResponderPtr& res, int status, std::string text) { res->send(status, std::move(text), kJson); }

void Service::handle(const IncomingRequest& rq, ResponderPtr res) {
  const std::string& p = rq.path;
  const std::string& m = rq.method;
  auto method = [&](std::initializer_list<const char*> allowed) {
    for (const char* a : allowed)
      if (m == a) return true;
    std::string list;
    for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    sendError(res, 405, "invalid_argument", m + " is not allowed on " + p + " (allowed: " + list + ")", {{"allow", list}});
    return false;
  };
  if (p == "/healthz") {
    if (method({"GET", "HEAD"})) sendJson(res, 200, {{"status", "ok"}});
    return;
  }
  if (p == "/readyz") {
    if (!method({"GET", "HEAD"})) return;
    bool anyReady = std::any_of(workers_.begin(), workers_.end(), [](const auto& w) { return w->ready; });
    if (draining_) sendJson(res, 503, {{"status", "draining"}});
    else if (!anyReady) sendJson(res, 503, {{"status", "starting"}});
    else sendJson(res, 200, {{"status", "ready"}, {"queued", queue_.size()}});
    return;
  }
  if (p == "/metrics") {
    if (!method({"GET"})) return;
    if (auto a = authorize(rq, "metrics", ""); !a.allowed) return sendError(res, a.status, a.code, a.message, a.headers);
    res->send(200, metrics_.text(queue_.size()), {{"content-type", "text/plain; version=0.0.4"}});
    return;
  }
  if (p == "/v1/spells") {
    if (!method({"GET"})) return;
    if (auto a = authorize(rq, "spells.list", ""); !a.allowed) return sendError(res, a.status, a.code, a.message, a.headers);
    json data = json::array();
    for (const auto& [name, s] : spells_) {
      json params = toJson(s.manifest.params);
      data.push_back({{"name", name},
                      {"description", s.manifest.description},
                      {"version", s.manifest.version},
                      {"engine", s.manifest.engine},
                      {"params", params},
                      {"limits", toJson(s.manifest.limits)},
                      {"models", s.models}});
    }
    sendJson(res, 200, {{"object", "list"}, {"data", data}});
    return;
  }
  if (p == "/v1/runs") {
    if (method({"POST"})) createRun(rq, res);
    return;
  }
  if (p.rfind("/v1/runs/", 0) == 0) {
    std::string rest = p.substr(9);
    bool events = false;
    if (rest.size() > 7 && rest.compare(rest.size() - 7, 7, "/events") == 0) {
      events = true;
      rest.resize(rest.size() - 7);
    }
    if (queueRuns_) return queuedRunRoute(rq, res, rest, events);
    auto it = runs_.find(rest);
    // With keys, another key's run is answered as if it did not exist.
    auto notFound = [&] {
      return sendError(res, 404, "not_found", "no run '" + rest + "' (finished runs are kept for the last " +
                                                  std::to_string(opts_.keepFinished) + ")");
    };
    if (rest.empty() || rest.find('/') != std::string::npos || it == runs_.end()) {
      if (!method({"GET", "DELETE"})) return;
      return notFound();
    }
    auto run = it->second;
    if (events) {
      if (!method({"GET"})) return;
      if (auto a = authorize(rq, "runs.read", run->spell); !a.allowed) return sendError(res, a.status, a.code, a.message, a.headers);
      else if (a.principal != run->principal) return notFound();
      size_t from = 0;
      std::string last = rq.header("last-event-id");
      if (!last.empty()) {
        char* end = nullptr;
        unsigned long long v = std::strtoull(last.c_str(), &end, 10);
        if (end == last.c_str() || *end) return sendError(res, 400, "invalid_argument", "Last-Event-ID must be an event number from this run's stream");
        from = static_cast<size_t>(v);
      }
      res->startStream(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
      pump(openStream(run, res, from, false));
      return;
    }
    if (!method({"GET", "DELETE"})) return;
    if (auto a = authorize(rq, m == "GET" ? "runs.read" : "runs.cancel", run->spell); !a.allowed)
      return sendError(res, a.status, a.code, a.message, a.headers);
    else if (a.principal != run->principal)
      return notFound();
    if (m == "DELETE") {
      if (run->finished == 0) {
        run->onDone.push_back([this, run, res] { sendJson(res, 200, runJson(*run)); });
        cancel(*run, "DELETE /v1/runs/" + run->id);
        return;
      }
    }
    sendJson(res, 200, runJson(*run));
    return;
  }
  if (p == "/v1/models" || p.rfind("/v1/models/", 0) == 0 || p == "/v1/chat/completions") {
    handleOpenAI(rq, res);
    return;
  }
  sendError(res, 404, "not_found", "no endpoint " + p + " (see docs/serve.md)");
}

// Checks a run request against its spell's manifest: params typed as declared, limits and grants
// narrowed, never widened. Throws Exception(invalid_argument) naming the field.
json Service::runMessage(const SpellInfo& spell, const json& params, const json& limits, const json& grants, double& timeout,
                         size_t& memoryMb) {
  json msg = {{"op", "run"}, {"spell", spell.dir}, {"dir", spell.dir}, {"grace_s", opts_.hardStopGraceSeconds}};
  if (!opts_.dataDir.empty()) msg["data_dir"] = opts_.dataDir;
  // Params: as `--param k=v` strings, typed by the manifest; arrays and objects of a spell that
  // declares no params go as they are.
  json raw = json::object(), typed = json::object();
  std::vector<std::pair<std::string, std::string>> pairs;
  const Value& declared = spell.manifest.params;
  bool hasDecl = declared.isObject() && !declared.asObject().empty();
  if (!params.is_null() && !params.is_object()) fail(codes::kInvalidArgument, "params must be an object of param values");
  if (params.is_object())
    for (auto& [k, v] : params.items()) {
      if (!hasDecl && (v.is_array() || v.is_object())) {
        typed[k] = v;
        continue;
      }
      std::string s = v.is_string() ? v.get<std::string>() : v.dump();
      raw[k] = s;
      pairs.emplace_back(k, s);
    }
  typeParams(declared, pairs);  // throws invalid_argument naming the param
  msg["params"] = raw;
  if (!typed.empty()) msg["typed_params"] = typed;

  // Limits: the manifest's (or the service's default time limit) unless the request lowers them.
  const Value& ml = spell.manifest.limits;
  timeout = ml.get("timeout_s").isNumber() ? ml.getNumber("timeout_s") : opts_.defaultTimeoutSeconds;
  memoryMb = ml.get("memory_mb").isNumber() ? static_cast<size_t>(ml.getNumber("memory_mb")) : 256;
  json config = json::object();
  if (!opts_.mockReplies.empty()) config["mock_replies"] = opts_.mockReplies;
  if (!limits.is_null()) {
    if (!limits.is_object()) fail(codes::kInvalidArgument, "limits must be an object");
    for (auto& [k, v] : limits.items()) {
      if (std::find(std::begin(kLimitKeys), std::end(kLimitKeys), k) == std::end(kLimitKeys))
        fail(codes::kInvalidArgument, "limits." + k + " is not a limit (known: timeout_s, memory_mb, instructions, max_cost_usd, max_tokens)");
      if (!v.is_number()) fail(codes::kInvalidArgument, "limits." + k + " must be a number");
      double x = v.get<double>();
      if (auto problem = limitProblem(k, x); !problem.empty()) fail(codes::kInvalidArgument, "limits." + k + " " + problem);
      double ceiling = k == "timeout_s" ? timeout : k == "memory_mb" ? static_cast<double>(memoryMb)
                       : ml.get(k).isNumber() ? ml.getNumber(k) : -1;
      if (ceiling >= 0 && x > ceiling)
        fail(codes::kInvalidArgument, "limits." + k + " is " + v.dump() + ", above the spell's " + json(ceiling).dump() +
                                          "; a request may lower a spell's limits, never raise them");
      if (k == "timeout_s") timeout = x;
      else if (k == "memory_mb") memoryMb = static_cast<size_t>(x);
      else if (k == "instructions") msg["instructions"] = static_cast<uint64_t>(x);
      else config[k] = x;
    }
  }
  msg["timeout_s"] = timeout;
  msg["memory_mb"] = memoryMb;
  if (!config.empty()) msg["config"] = config;

  // Grants: a subset of the manifest's, kind by kind; kinds the request leaves out stay as granted.
  if (!grants.is_null()) {
    if (!grants.is_object()) fail(codes::kInvalidArgument, "grants must be an object");
    const Manifest& mf = spell.manifest;
    json g = {{"net", mf.net}, {"read", mf.read}, {"write", mf.write}, {"env", mf.env}, {"run", mf.run}};
    for (auto& [k, v] : grants.items()) {
      if (k == "run") {
        if (!v.is_boolean()) fail(codes::kInvalidArgument, "grants.run must be true or false");
        if (v.get<bool>() && !mf.run) fail(codes::kInvalidArgument, "grants.run: the spell's manifest does not grant running programs; a request may only narrow its grants");
        g["run"] = v;
        continue;
      }
      const std::vector<std::string>* have = k == "net" ? &mf.net : k == "read" ? &mf.read : k == "write" ? &mf.write
                                             : k == "env" ? &mf.env : nullptr;
      if (!have) fail(codes::kInvalidArgument, "grants." + k + " is not a grant (known: net, read, write, env, run)");
      if (!v.is_array()) fail(codes::kInvalidArgument, "grants." + k + " must be an array of strings");
      for (auto& x : v) {
        if (!x.is_string()) fail(codes::kInvalidArgument, "grants." + k + " must be an array of strings");
        if (std::find(have->begin(), have->end(), x.get<std::string>()) == have->end())
          fail(codes::kInvalidArgument, "grants." + k + ": '" + x.get<std::string>() +
                                            "' is not granted by the spell's manifest; a request may only narrow its grants");
      }
      g[k] = v;
    }
    msg["grants"] = g;
  }
  return msg;
}

void Service::applyKey(json& msg, const SpellInfo& spell, const AuthResult& a) {
  if (a.ceiling.unlimited()) return;
  // What the run would hold (the request's narrowing, else the manifest's), cut to the ceiling.
  Grants g;
  const Manifest& mf = spell.manifest;
  const json* asked = msg.contains("grants") ? &msg["grants"] : nullptr;
  auto list = [&](const char* k, const std::vector<std::string>& manifest) {
    std::vector<std::string> out;
    if (!asked) return manifest;
    for (auto& x : asked->value(k, json::array())) out.push_back(x.get<std::string>());
    return out;
  };
  g.net = list("net", mf.net);
  g.read = list("read", mf.read);
  g.write = list("write", mf.write);
  g.env = list("env", mf.env);
  g.run = asked ? asked->value("run", false) : mf.run;
  Grants cut = a.ceiling.intersect(g, spell.dir);
  msg["grants"] = {{"net", cut.net}, {"read", cut.read}, {"write", cut.write}, {"env", cut.env}, {"run", cut.run}};
}

std::shared_ptr<RunRec> Service::enqueue(const SpellInfo& spell, json msg, double timeout, size_t memoryMb) {
  auto run = std::make_shared<RunRec>();
  run->id = newRunId();
  run->spell = spell.name;
  run->created = now();
  run->timeout = timeout;
  run->memoryMb = memoryMb;
  msg["id"] = run->id;
  run->message = std::move(msg);
  runs_[run->id] = run;
  queue_.push_back(run);
  addEventText(*run, "run.status", R"({"status":"queued"})");
  dispatch();
  return run;
}

void Service::createRun(const IncomingRequest& rq, ResponderPtr res) {
  if (draining_) return sendError(res, 503, "unavailable", "the server is shutting down", {{"retry-after", "5"}});
  json body = json::parse(rq.body, nullptr, false);
  if (body.is_discarded()) return sendError(res, 400, "invalid_argument", "the request body is not valid JSON");
  if (!body.is_object()) return sendError(res, 400, "invalid_argument", "the request body must be a JSON object {spell, params, stream?}");
  for (auto& [k, v] : body.items())
    if (k != "spell" && k != "params" && k != "stream" && k != "wait" && k != "limits" && k != "grants" && k != "on_disconnect")
      return sendError(res, 400, "invalid_argument", "unknown field '" + k + "' (known: spell, params, stream, wait, limits, grants, on_disconnect)");
  if (!body.contains("spell") || !body["spell"].is_string())
    return sendError(res, 400, "invalid_argument", "'spell' (a spell name, see GET /v1/spells) is required");
  std::string name = body["spell"].get<std::string>();
  AuthResult a = authorize(rq, "runs.create", name);
  if (!a.allowed) return sendError(res, a.status, a.code, a.message, a.headers);
  auto it = spells_.find(name);
  if (it == spells_.end()) return sendError(res, 404, "not_found", "no spell named '" + name + "' (see GET /v1/spells)");
  for (const char* flag : {"stream", "wait"})
    if (body.contains(flag) && !body[flag].is_boolean()) return sendError(res, 400, "invalid_argument", std::string(flag) + " must be true or false");
  bool stream = body.value("stream", false), wait = body.value("wait", false);
  std::string onDisconnect = body.value("on_disconnect", stream ? "cancel" : "continue");
  if (onDisconnect != "cancel" && onDisconnect != "continue")
    return sendError(res, 400, "invalid_argument", "on_disconnect must be \"cancel\" or \"continue\"");
  if (queue_.size() >= opts_.maxQueued)
    return sendError(res, 503, "unavailable", "too many runs are waiting for a worker; try again later", {{"retry-after", "1"}});
  json msg;
  double timeout = 0;
  size_t memoryMb = 0;
  try {
    msg = runMessage(it->second, body.value("params", json()), body.value("limits", json()), body.value("grants", json()), timeout, memoryMb);
  } catch (const Exception& e) {
    return sendError(res, 400, e.error().code, e.error().message);
  }
  applyKey(msg, it->second, a);
  if (std::string tp = rq.header("traceparent"); !tp.empty()) msg["traceparent"] = tp;  // the run joins the caller's trace
  if (queueRuns_)
    return submitQueued(res, it->second, std::move(msg), timeout, a.principal, stream, wait, onDisconnect == "cancel");
  auto run = enqueue(it->second, std::move(msg), timeout, memoryMb);
  run->principal = a.principal;
  if (stream) {
    res->startStream(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}, {"x-run-id", run->id}});
    pump(openStream(run, res, 0, onDisconnect == "cancel"));
  } else if (wait) {
    run->onDone.push_back([this, run, res] { sendJson(res, 200, runJson(*run)); });
    if (onDisconnect == "cancel")
      res->onClose([this, run] { cancel(*run, "the client disconnected"); });
  } else {
    sendJson(res, 202, runJson(*run));
  }
}

// --- drain -----------------------------------------------------------------------------------

void Service::drain() {
  if (draining_) return;
  draining_ = true;
  std::fprintf(stderr, "draining: no new runs; waiting up to %gs for %zu in flight\n", opts_.drainSeconds, inFlight());
  server_.stopAccepting();
  drainTimer_ = std::make_unique<asio::steady_timer>(io_);
  drainTimer_->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(opts_.drainSeconds)));
  drainTimer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    for (auto& r : std::vector<std::shared_ptr<RunRec>>(queue_.begin(), queue_.end())) cancel(*r, "the server is shutting down");
    for (auto& w : workers_)
      if (w->run) cancel(*w->run, "the server is shutting down");
  });
  checkDrained();
}

size_t Service::inFlight() const {
  size_t n = queue_.size();
  for (const auto& w : workers_) n += w->run ? 1 : 0;
  return n;
}

void Service::checkDrained() {
  if (!draining_ || stopping_ || inFlight() > 0) return;
  stopping_ = true;
  if (drainTimer_) drainTimer_->cancel();
  closeWhenFlushed(0);
}

// Gives the last responses (a run's final events) a moment to reach their clients, then stops.
void Service::closeWhenFlushed(int tries) {
  if ((server_.openResponses() > 0 || server_.openConnections() > 0) && tries < 40) {
    if (!drainTimer_) drainTimer_ = std::make_unique<asio::steady_timer>(io_);
    drainTimer_->expires_after(std::chrono::milliseconds(50));
    drainTimer_->async_wait([this, tries](const boost::system::error_code& ec) {
      if (!ec) closeWhenFlushed(tries + 1);
    });
    return;
  }
  stopWorkers();
  server_.stop();
}

void Service::stopWorkers() {
  stopping_ = true;
  if (queueRuns_) queueRuns_->stop();
  memoryTimer_.cancel();
  signals_.cancel();
  if (drainTimer_) drainTimer_->cancel();
  for (auto& wp : workers_) {
    Worker& w = *wp;
    w.generation++;
    w.deadline.cancel();
    if (w.sock) {
      boost::system::error_code ig;
      w.sock->close(ig);  // the worker reads EOF and exits
      w.sock.reset();
    }
    if (w.pid > 0) {
      int st = 0;
      // A worker between runs exits on EOF at once; one still running is killed.
      for (int i = 0; i < 100 && ::waitpid(w.pid, &st, WNOHANG) == 0; ++i) ::usleep(10000);
      if (::waitpid(w.pid, &st, WNOHANG) == 0) {
        ::kill(w.pid, SIGKILL);
        ::waitpid(w.pid, &st, 0);
      }
      w.pid = -1;
    }
  }
}

// --- entry points ----------------------------------------------------------------------------

int runServe(const ServeOptions& given) {
  ServeOptions opts = given;
  // One worker per core and one more: a core does not sit idle while a worker waits for the
  // parent to hand it its next run.
  if (opts.workers <= 0) opts.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) + 1;
  try {
    net::HttpServerOptions h;
    h.host = opts.host;
    h.port = opts.port;
    h.bodyLimit = opts.bodyLimit;
    h.headerTimeout = opts.headerTimeout;
    h.idleTimeout = opts.idleTimeout;
    h.tlsCert = opts.tlsCert;
    h.tlsKey = opts.tlsKey;
    h.corsOrigins = opts.corsOrigins;
    // Keys: a store that exists with active keys (or --require-keys) turns them on. Without, the
    // service is open, which is only safe on loopback: said on start when it listens elsewhere.
    {
      size_t active = 0;
      if (auto access = openKeys(opts.keysPath, opts.requireKeys, &active)) enableKeys(std::move(access));
      if (opts.announce && (keysEnabled() || active > 0 || !opts.keysPath.empty()))
        std::fprintf(stderr, "api keys: %s (%zu active in %s)\n", keysEnabled() ? "required" : "off", active,
                     opts.keysPath.empty() ? KeyStore::defaultPath().c_str() : opts.keysPath.c_str());
      warnIfOpen(opts.host, keysEnabled(), "run these spells");
    }
    Service* svc = nullptr;
    net::HttpServer server(h, [&svc](const IncomingRequest& rq, ResponderPtr res) { svc->handle(rq, std::move(res)); });
    Service service(opts, server);
    svc = &service;
    service.start();
    if (opts.announce) {
      std::printf("listening on %s://%s:%d (%zu spells, %d workers)\n", server.tls() ? "https" : "http", opts.host.c_str(),
                  server.port(), service.spellCount(), std::max(1, opts.workers));
      std::fflush(stdout);
    }
    server.run();
    service.stopWorkers();
    // Handlers still queued (aborted reads of worker sockets, cancelled timers) refer to the
    // service: run them while it exists.
    server.io().restart();
    server.io().poll();
    return 0;
  } catch (const Exception& e) {
    std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
    return 2;
  }
}

}  // namespace llmspell::serve
