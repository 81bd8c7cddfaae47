// The SQLite call log.
#include "llmspell/llm/call_log.hpp"

#include <sqlite3.h>

#include <chrono>

#include "llmspell/core/error.hpp"
#include "llmspell/core/log.hpp"

namespace llmspell::llm {

namespace {
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS llm_calls (id INTEGER PRIMARY KEY, ts REAL NOT NULL, run_id TEXT, spell TEXT,"
    " model TEXT, provider TEXT, input_tokens INTEGER, output_tokens INTEGER, cost_usd REAL, latency_ms INTEGER,"
    " finish_reason TEXT, error_code TEXT)";
}

CallLog::CallLog(const std::string& path) {
  if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot open the LLM call log " + path + ": " + msg);
  }
  sqlite3_busy_timeout(db_, 2000);
  // WAL: concurrent runs append without blocking readers (`llmspell logs`); NORMAL sync is
  // enough for a log.
  sqlite3_exec(db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
  char* err = nullptr;
  if (sqlite3_exec(db_, kSchema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "?";
    sqlite3_free(err);
    sqlite3_close(db_);
    db_ = nullptr;
    fail(codes::kInvalidArgument, "cannot create the LLM call log in " + path + ": " + msg);
  }
}

CallLog::~CallLog() {
  if (db_) sqlite3_close(db_);
}

void CallLog::append(const Value& e) {
  std::lock_guard<std::mutex> g(mu_);
  sqlite3_stmt* st = nullptr;
  const char* sql =
      "INSERT INTO llm_calls (ts, run_id, spell, model, provider, input_tokens, output_tokens, cost_usd,"
      " latency_ms, finish_reason, error_code) VALUES (?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) != SQLITE_OK) fail(codes::kInternal, sqlite3_errmsg(db_));
  // The caller's time when it gives one (appends may run on several pool threads: the row order
  // is by ts, not by insertion).
  double ts = e.get("ts").isNumber() ? e.getNumber("ts")
                                     : std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto text = [&](int i, const char* k) {
    std::string s = redactSecrets(e.getString(k));
    sqlite3_bind_text(st, i, s.c_str(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  };
  sqlite3_bind_double(st, 1, ts);
  text(2, "run_id");
  text(3, "spell");
  text(4, "model");
  text(5, "provider");
  // Absent tokens and cost (the provider reported no usage, the call failed) are NULL: unknown,
  // which `llmspell logs` shows as "-", never a made-up 0.
  auto integer = [&](int i, const char* k) {
    if (e.get(k).isNumber()) sqlite3_bind_int64(st, i, e.getInt(k));
    else sqlite3_bind_null(st, i);
  };
  integer(6, "input_tokens");
  integer(7, "output_tokens");
  if (e.get("cost_usd").isNumber()) sqlite3_bind_double(st, 8, e.getNumber("cost_usd"));
  else sqlite3_bind_null(st, 8);
  sqlite3_bind_int64(st, 9, e.getInt("latency_ms"));
  text(10, "finish_reason");
  text(11, "error_code");
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) fail(codes::kInternal, std::string("LLM call log write failed: ") + sqlite3_errmsg(db_));
}

Value CallLog::recent(int limit) const {
  Filter f;
  f.limit = limit;
  return query(f);
}

Value CallLog::query(const Filter& f) const {
  std::lock_guard<std::mutex> g(mu_);
  Value out = Value::array();
  std::string sql =
      "SELECT ts, run_id, spell, model, provider, input_tokens, output_tokens, cost_usd, latency_ms, finish_reason,"
      " error_code FROM llm_calls WHERE 1";
  if (!f.model.empty()) sql += " AND (model = ?1 OR provider = ?1 OR model LIKE ?1 || '/%')";
  if (f.since > 0) sql += " AND ts >= ?2";
  if (f.status == "ok") sql += " AND (error_code IS NULL OR error_code = '')";
  else if (f.status == "error") sql += " AND error_code IS NOT NULL AND error_code != ''";
  else if (!f.status.empty()) sql += " AND error_code = ?3";
  sql += " ORDER BY ts DESC, id DESC LIMIT ?4";
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
  const char* names[] = {"ts", "run_id", "spell", "model", "provider", "input_tokens", "output_tokens",
                         "cost_usd", "latency_ms", "finish_reason", "error_code"};
  while (sqlite3_step(st) == SQLITE_ROW) {
    Value row = Value::object();
    for (int i = 0; i < 11; ++i) {
      switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER: row.asObject().set(names[i], static_cast<int64_t>(sqlite3_column_int64(st, i))); break;
        case SQLITE_FLOAT: row.asObject().set(names[i], sqlite3_column_double(st, i)); break;
        case SQLITE_TEXT: row.asObject().set(names[i], std::string(reinterpret_cast<const char*>(sqlite3_column_text(st, i)))); break;
        default: row.asObject().set(names[i], Value()); break;
      }
    }
    out.asArray().push(row);
  }
  sqlite3_finalize(st);
  return out;
}

}  // namespace llmspell::llm
