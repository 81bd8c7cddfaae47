// The SQLite call log: rows queued by callers, written in batches by one writer thread.
#include "llmspell/llm/call_log.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>

#include "llmspell/core/error.hpp"
#include "llmspell/core/log.hpp"

namespace llmspell::llm {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS llm_calls (id INTEGER PRIMARY KEY, ts REAL NOT NULL, run_id TEXT, spell TEXT,"
    " model TEXT, provider TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, latency_ms INTEGER,"
    " finish_reason TEXT, error_code TEXT);"
    // `llmspell logs --run ID` and the list of runs look rows up by run.
    "CREATE INDEX IF NOT EXISTS llm_calls_run ON llm_calls (run_id)";
constexpr const char* kInsert =
    "INSERT INTO llm_calls (ts, run_id, spell, model, provider, input_tokens, output_tokens, cost_usd,"
    " latency_ms, finish_reason, error_code) VALUES (?,?,?,?,?,?,?,?,?,?,?)";

// The logs alive in this process, so that queued rows are written however the process ends
// short of SIGKILL: at exit() (a log may be leaked with its run) and on a terminating signal.
// Leaked on purpose: the exit flush runs while static objects are being destroyed.
struct LiveLogs {
  std::mutex mu;
  std::vector<CallLog*> logs;
};
LiveLogs& live() {
  static auto* l = new LiveLogs;
  return *l;
}

void flushAll() noexcept {
  auto& l = live();
  std::lock_guard g(l.mu);
  for (auto* log : l.logs) {
    try {
      log->flush();
    } catch (...) {
      // Nothing to report to at exit; the rows are lost, the exit goes on.
    }
  }
}

// The write end of the signal pipe. A signal handler may only do async-signal-safe work, and
// SQLite is not, so the handler hands the signal to a thread that flushes and then re-raises it
// with the default action: the process still dies of the signal, as it did without a log.
int gSignalPipe = -1;
constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP};

void onSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] ssize_t n = ::write(gSignalPipe, &b, 1);
  errno = saved;
}

// Once per process, at the first row queued: the exit and signal flushes. A signal whose
// disposition is not the default (ignored, or someone else's handler) is left alone.
void armProcessFlush() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::atexit(flushAll);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    gSignalPipe = fds[1];
    std::thread([rd = fds[0]] {
      unsigned char sig = 0;
      while (::read(rd, &sig, 1) < 0 && errno == EINTR) {
      }
      flushAll();
      ::signal(sig, SIG_DFL);
      ::kill(::getpid(), sig);
    }).detach();
    for (int s : kSignals) {
      struct sigaction old {};
      if (::sigaction(s, nullptr, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) continue;
      struct sigaction sa {};
      sa.sa_handler = onSignal;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_RESTART;
      ::sigaction(s, &sa, nullptr);
    }
  });
}

// Waits for another process's write transaction (the `serve` workers share one calls.db) in short
// sleeps, up to about 2 s in all: a batch commit holds the lock for well under a millisecond,
// while SQLite's own busy timeout sleeps up to 100 ms at a time and so stalls a run for far
// longer than the lock was held.
int busyWait(void*, int tries) {
  constexpr int kShort = 50;  // 50 x 100 us, then 2 ms steps
  if (tries >= kShort + 1000) return 0;
  ::usleep(tries < kShort ? 100 : 2000);
  return 1;
}

// The logs shared() handed out, by path; `kept` holds them open while keepOpen is on.
struct SharedLogs {
  std::mutex mu;
  std::map<std::string, std::weak_ptr<CallLog>> open;
  std::vector<std::shared_ptr<CallLog>> kept;
  bool keep = false;
  CallLog::Forward forward;
};
SharedLogs& sharedLogs() {
  static auto* s = new SharedLogs;  // leaked: a kept log is flushed at exit by flushAll
  return *s;
}

// The current row of `st` as an object keyed by `names` (one per column, in order).
template <size_t N>
Value rowOf(sqlite3_stmt* st, const char* const (&names)[N]) {
  Value row = Value::object();
  for (int i = 0; i < static_cast<int>(N); ++i) {
    switch (sqlite3_column_type(st, i)) {
      case SQLITE_INTEGER: row.asObject().set(names[i], static_cast<int64_t>(sqlite3_column_int64(st, i))); break;
      case SQLITE_FLOAT: row.asObject().set(names[i], sqlite3_column_double(st, i)); break;
      case SQLITE_TEXT: row.asObject().set(names[i], std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)))); break;
      default: row.asObject().set(names[i], Value()); break;
    }
  }
  return row;
}

double nowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

CallLog::CallLog(const std::string& path) {
  // NOMUTEX: every use of the connection is under dbMu_ already, so SQLite's own per-call mutex
  // would only add to each bind and step.
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr) !=
      SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot open the LLM call log " + path + ": " + msg);
  }
  sqlite3_busy_handler(db_, busyWait, nullptr);
  // WAL: concurrent runs append without blocking readers (`llmspell logs`); NORMAL sync is
  // enough for a log.
  sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  char* err = nullptr;
  if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK ||
      sqlite3_prepare_v3(db_, kInsert, -1, SQLITE_PREPARE_PERSISTENT, &insert_, nullptr) != SQLITE_OK ||
      // IMMEDIATE: take the write lock up front, so a busy database waits (busy_timeout) here
      // rather than failing at COMMIT.
      sqlite3_prepare_v3(db_, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &begin_, nullptr) != SQLITE_OK ||
      sqlite3_prepare_v3(db_, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &commit_, nullptr) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    for (sqlite3_stmt* st : {insert_, begin_, commit_}) sqlite3_finalize(st);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot create the LLM call log in " + path + ": " + msg);
  }
  std::lock_guard g(live().mu);
  live().logs.push_back(this);
}

CallLog::CallLog(std::string path, Forward fn, ForwardTag) : forward_(std::move(fn)), path_(std::move(path)) {}

CallLog::~CallLog() {
  if (forward_) return;
  {
    std::lock_guard g(live().mu);
    std::erase(live().logs, this);
  }
  {
    std::lock_guard g(qMu_);
    stop_ = true;
  }
  wake_.notify_one();
  if (writer_.joinable()) writer_.join();
  {
    std::lock_guard g(dbMu_);
    std::string err;
    flushLocked(err);  // the writer wrote all it had; this is for rows queued without one
  }
  for (sqlite3_stmt* st : {insert_, begin_, commit_}) sqlite3_finalize(st);
  sqlite3_close(db_);
}

std::shared_ptr<CallLog> CallLog::shared(const std::string& path) {
  auto& s = sharedLogs();
  std::lock_guard g(s.mu);
  if (auto log = s.open[path].lock()) return log;
  auto log = s.forward ? std::shared_ptr<CallLog>(new CallLog(path, s.forward, ForwardTag{})) : std::make_shared<CallLog>(path);
  s.open[path] = log;
  if (s.keep) s.kept.push_back(log);
  return log;
}

void CallLog::keepOpen(bool on) {
  std::vector<std::shared_ptr<CallLog>> release;
  {
    auto& s = sharedLogs();
    std::lock_guard g(s.mu);
    s.keep = on;
    if (!on) release.swap(s.kept);
  }
  // Closed here, outside the lock, when nobody else holds them.
}

void CallLog::forwardTo(Forward fn) {
  auto& s = sharedLogs();
  std::lock_guard g(s.mu);
  s.forward = std::move(fn);
}

void CallLog::append(Row row) {
  if (row.ts == 0) row.ts = nowSeconds();
  if (forward_) {
    for (std::string* t : {&row.runId, &row.spell, &row.model, &row.provider, &row.finishReason, &row.errorCode})
      *t = redactSecrets(*t);
    forward_(path_, row);
    return;
  }
  bool wake = false;
  {
    std::lock_guard g(qMu_);
    if (stop_) return;
    if (!writer_.joinable()) {
      armProcessFlush();
      writer_ = std::thread([this] { writerLoop(); });
    }
    if (queue_.empty()) {
      firstQueued_ = std::chrono::steady_clock::now();
      redactedValid_ = false;
    }
    // Redacted now, not by the writer: the exit flush may run after the static objects
    // redactSecrets uses are destroyed. A batch's rows mostly share their run, spell, model,
    // provider and finish reason, so a text equal to the one before it in the batch takes that
    // one's result (texts mostly have nothing to mask: then the row keeps its own).
    std::string* texts[] = {&row.runId, &row.spell, &row.model, &row.provider, &row.finishReason, &row.errorCode};
    for (size_t i = 0; i < std::size(texts); ++i) {
      std::string& t = *texts[i];
      Redacted& r = redacted_[i];
      if (!redactedValid_ || t != r.raw) {
        r.raw = t;
        r.masked = redactSecrets(t);
        r.changed = r.masked != t;
      }
      if (r.changed) t = r.masked;
    }
    redactedValid_ = true;
    queue_.push_back(std::move(row));
    // The writer is woken only to start a batch's clock or to write a full batch, never per row.
    wake = writerIdle_ || queue_.size() == kBatchRows;
  }
  if (wake) wake_.notify_one();
}

void CallLog::append(const Value& e) {
  Row r;
  if (e.get("ts").isNumber()) r.ts = e.getNumber("ts");
  r.runId = e.getString("run_id");
  r.spell = e.getString("spell");
  r.model = e.getString("model");
  r.provider = e.getString("provider");
  if (e.get("input_tokens").isNumber()) r.inputTokens = e.getInt("input_tokens");
  if (e.get("output_tokens").isNumber()) r.outputTokens = e.getInt("output_tokens");
  if (e.get("cost_usd").isNumber()) r.costUsd = e.getNumber("cost_usd");
  r.latencyMs = e.getInt("latency_ms");
  r.finishReason = e.getString("finish_reason");
  r.errorCode = e.getString("error_code");
  append(std::move(r));
}

void CallLog::writerLoop() {
  std::unique_lock lk(qMu_);
  while (!stop_) {
    if (queue_.empty()) {
      writerIdle_ = true;
      wake_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      writerIdle_ = false;
      continue;
    }
    wake_.wait_until(lk, firstQueued_ + kFlushAfter, [&] { return stop_ || queue_.size() >= kBatchRows; });
    if (stop_) break;
    lk.unlock();
    {
      std::lock_guard g(dbMu_);
      std::string err;
      if (!flushLocked(err) && !warned_) {
        warned_ = true;
        logMessage(LogLevel::kWarn, "LLM call log write failed; rows dropped", Value::object({{"error", err}}));
      }
    }
    lk.lock();
  }
  lk.unlock();
  std::lock_guard g(dbMu_);
  std::string err;
  flushLocked(err);
}

bool CallLog::flushLocked(std::string& err) {
  std::vector<Row> rows;
  rows.reserve(kBatchRows);  // becomes the queue: appends do not grow it row by row
  {
    std::lock_guard g(qMu_);
    rows.swap(queue_);
  }
  return rows.empty() || writeBatch(rows, err);
}

bool CallLog::writeBatch(const std::vector<Row>& rows, std::string& err) {
  auto failed = [&](const char* what) {
    err = std::string(what) + ": " + sqlite3_errmsg(db_);
    for (sqlite3_stmt* st : {insert_, begin_, commit_}) sqlite3_reset(st);
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return false;
  };
  if (sqlite3_step(begin_) != SQLITE_DONE) return failed("begin");
  sqlite3_reset(begin_);
  sqlite3_stmt* st = insert_;
  // Bindings outlive sqlite3_reset, and a batch's rows mostly share their run, spell, model,
  // provider and finish reason: a text equal to the previous row's keeps that row's binding
  // (SQLITE_STATIC: `rows` outlives the batch).
  const Row* prev = nullptr;
  auto text = [&](int i, std::string Row::*field, const Row& r) {
    if (!prev || prev->*field != r.*field) {
      sqlite3_bind_text(st, i, (r.*field).data(), static_cast<int>((r.*field).size()), SQLITE_STATIC);
    }
  };
  for (const Row& r : rows) {
    sqlite3_bind_double(st, 1, r.ts);
    text(2, &Row::runId, r);
    text(3, &Row::spell, r);
    text(4, &Row::model, r);
    text(5, &Row::provider, r);
    // Absent tokens and cost (the provider reported no usage, the call failed) are NULL:
    // unknown, which `llmspell logs` shows as "-", never a made-up 0.
    if (r.inputTokens) sqlite3_bind_int64(st, 6, *r.inputTokens);
    else sqlite3_bind_null(st, 6);
    if (r.outputTokens) sqlite3_bind_int64(st, 7, *r.outputTokens);
    else sqlite3_bind_null(st, 7);
    if (r.costUsd) sqlite3_bind_double(st, 8, *r.costUsd);
    else sqlite3_bind_null(st, 8);
    sqlite3_bind_int64(st, 9, r.latencyMs);
    text(10, &Row::finishReason, r);
    text(11, &Row::errorCode, r);
    if (sqlite3_step(st) != SQLITE_DONE) return failed("insert");
    sqlite3_reset(st);
    prev = &r;
  }
  if (sqlite3_step(commit_) != SQLITE_DONE) return failed("commit");
  sqlite3_reset(commit_);
  ++transactions_;
  return true;
}

void CallLog::flush() {
  if (forward_) return;
  std::lock_guard g(dbMu_);
  std::string err;
  if (!flushLocked(err)) fail(codes::kInternal, "LLM call log write failed: " + err);
}

int64_t CallLog::transactions() const {
  std::lock_guard g(dbMu_);
  return transactions_;
}

Value CallLog::recent(int limit) {
  Filter f;
  f.limit = limit;
  return query(f);
}

Value CallLog::query(const Filter& f) {
  if (forward_) fail(codes::kInternal, "this process forwards its call log rows (" + path_ + ") and cannot read them");
  flush();
  std::lock_guard g(dbMu_);
  Value out = Value::array();
  std::string sql =
      "SELECT ts, run_id, spell, model, provider, input_tokens, output_tokens, cost_usd, latency_ms, finish_reason,"
      " error_code FROM llm_calls WHERE 1";
  if (!f.model.empty()) sql += " AND (model = ?1 OR provider = ?1 OR model LIKE ?1 || '/%')";
  if (f.since > 0) sql += " AND ts >= ?2";
  if (f.status == "ok") sql += " AND (error_code IS NULL OR error_code = '')";
  else if (f.status == "error") sql += " AND error_code IS NOT NULL AND error_code != ''";
  else if (!f.status.empty()) sql += " AND error_code = ?3";
  if (!f.runId.empty()) sql += " AND run_id = ?5";
  sql += f.oldestFirst ? " ORDER BY ts, id LIMIT ?4" : " ORDER BY ts DESC, id DESC LIMIT ?4";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    fail(codes::kInternal, std::string("LLM call log query failed: ") + sqlite3_errmsg(db_));
  }
  if (!f.model.empty()) sqlite3_bind_text(st, 1, f.model.c_str(), static_cast<int>(f.model.size()), SQLITE_TRANSIENT);
  if (f.since > 0) sqlite3_bind_double(st, 2, f.since);
  if (!f.status.empty() && f.status != "ok" && f.status != "error") {
    sqlite3_bind_text(st, 3, f.status.c_str(), static_cast<int>(f.status.size()), SQLITE_TRANSIENT);
  }
  sqlite3_bind_int(st, 4, f.limit > 0 ? f.limit : -1);
  if (!f.runId.empty()) sqlite3_bind_text(st, 5, f.runId.c_str(), static_cast<int>(f.runId.size()), SQLITE_TRANSIENT);
  const char* names[] = {"ts", "run_id", "spell", "model", "provider", "input_tokens", "output_tokens",
                         "cost_usd", "latency_ms", "finish_reason", "error_code"};
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.asArray().push(rowOf(st, names));
  }
  sqlite3_finalize(st);
  return out;
}

Value CallLog::runs(const Filter& f) {
  if (forward_) fail(codes::kInternal, "this process forwards its call log rows (" + path_ + ") and cannot read them");
  flush();
  std::lock_guard g(dbMu_);
  std::string sql =
      "SELECT run_id, MAX(spell), COUNT(*), SUM(error_code IS NOT NULL AND error_code != ''), SUM(input_tokens),"
      " SUM(output_tokens), SUM(cost_usd), MIN(ts), MAX(ts) FROM llm_calls WHERE run_id IS NOT NULL AND run_id != ''";
  if (!f.model.empty()) sql += " AND (model = ?1 OR provider = ?1 OR model LIKE ?1 || '/%')";
  if (f.since > 0) sql += " AND ts >= ?2";
  sql += " GROUP BY run_id ORDER BY MAX(ts) DESC LIMIT ?4";
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
    fail(codes::kInternal, std::string("LLM call log query failed: ") + sqlite3_errmsg(db_));
  if (!f.model.empty()) sqlite3_bind_text(st, 1, f.model.c_str(), static_cast<int>(f.model.size()), SQLITE_TRANSIENT);
  if (f.since > 0) sqlite3_bind_double(st, 2, f.since);
  sqlite3_bind_int(st, 4, f.limit > 0 ? f.limit : -1);
  const char* names[] = {"run_id", "spell", "calls", "errors", "input_tokens", "output_tokens", "cost_usd", "first_ts", "last_ts"};
  Value out = Value::array();
  while (sqlite3_step(st) == SQLITE_ROW) {
    out.asArray().push(rowOf(st, names));
  }
  sqlite3_finalize(st);
  return out;
}

}  // namespace llmspell::llm
