#include "llmspell/durable/pg.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <chrono>

#include "llmspell/core/error.hpp"

namespace llmspell::durable {

namespace {
std::string trimmed(const char* s) {
  std::string m = s ? s : "";
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}
// The URL without its password, for messages.
std::string shown(const std::string& url) {
  auto at = url.find('@');
  auto scheme = url.find("://");
  if (at == std::string::npos || scheme == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}
void ignoreNotice(void*, const char*) {}
}  // namespace

bool isPostgresUrl(const std::string& s) { return s.rfind("postgres://", 0) == 0 || s.rfind("postgresql://", 0) == 0; }

PgConn::PgConn(std::string url) : url_(std::move(url)) { connect(); }

PgConn::~PgConn() {
  if (c_) PQfinish(c_);
}

void PgConn::connect() {
  if (c_) PQfinish(c_);
  c_ = PQconnectdb(url_.c_str());
  if (!c_) fail(codes::kInternal, "out of memory connecting to PostgreSQL");
  if (PQstatus(c_) != CONNECTION_OK) {
    std::string m = trimmed(PQerrorMessage(c_));
    PQfinish(c_);
    c_ = nullptr;
    bool badUrl = m.find("invalid") != std::string::npos && m.find("URI") != std::string::npos;
    fail(badUrl ? codes::kConfigError : codes::kNetworkError,
         "cannot connect to PostgreSQL at " + shown(url_) + ": " + m, !badUrl);
  }
  PQsetNoticeProcessor(c_, ignoreNotice, nullptr);
  ++connections_;
  for (const auto& ch : channels_) {
    PGresult* r = PQexec(c_, ("LISTEN " + ch).c_str());
    PQclear(r);
  }
}

std::vector<Row> PgConn::exec(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                              bool retry) {
  for (int attempt = 0;; ++attempt) {
    if (!c_) connect();
    std::vector<const char*> vals;
    for (const auto& p : params) vals.push_back(p ? p->c_str() : nullptr);
    PGresult* r = PQexecParams(c_, sql.c_str(), static_cast<int>(vals.size()), nullptr, vals.data(), nullptr,
                               nullptr, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      std::vector<Row> rows;
      int n = PQntuples(r), m = PQnfields(r);
      rows.reserve(n);
      for (int i = 0; i < n; ++i) {
        Row row;
        row.reserve(m);
        for (int j = 0; j < m; ++j)
          row.push_back(PQgetisnull(r, i, j) ? std::nullopt : std::optional<std::string>(PQgetvalue(r, i, j)));
        rows.push_back(std::move(row));
      }
      PQclear(r);
      return rows;
    }
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    std::string sqlstate = state ? state : "";
    // The connection is gone (libpq reports that without a SQLSTATE), or the server is shutting
    // down or starting (57P01-57P03), or a connection exception (08...): transient.
    bool lost = PQstatus(c_) != CONNECTION_OK || sqlstate.empty() || sqlstate.rfind("57P0", 0) == 0 ||
                sqlstate.rfind("08", 0) == 0;
    if (lost) {
      // The server went away (a restart, a network cut): one new connection, and the statement
      // again when it is safe to repeat.
      std::string m = trimmed(r ? PQresultErrorMessage(r) : PQerrorMessage(c_));
      if (r) PQclear(r);
      PQfinish(c_);
      c_ = nullptr;
      if (retry && attempt == 0) continue;
      fail(codes::kNetworkError, "lost the connection to PostgreSQL at " + shown(url_) + ": " + m, true);
    }
    std::string m = trimmed(PQresultErrorMessage(r));
    Error e(std::string(codes::kInternal), "PostgreSQL: " + m);
    e.details = Value::object({{"sqlstate", sqlstate}});
    PQclear(r);
    throw Exception(std::move(e));
  }
}

void PgConn::listen(const std::string& channel) {
  channels_.push_back(channel);
  exec("LISTEN " + channel);
}

std::vector<std::string> PgConn::wait(double seconds) {
  std::vector<std::string> out;
  if (!c_) {
    // A new connection: what was notified while there was none is lost, so the caller looks
    // at the state again (it returns at once, as if notified of nothing).
    connect();
    return out;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  for (;;) {
    PQconsumeInput(c_);
    while (PGnotify* n = PQnotifies(c_)) {
      out.emplace_back(n->extra ? n->extra : "");
      PQfreemem(n);
    }
    if (!out.empty()) return out;
    if (PQstatus(c_) != CONNECTION_OK) {
      PQfinish(c_);
      c_ = nullptr;
      return out;  // the caller polls again, which reconnects
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    pollfd p{PQsocket(c_), POLLIN, 0};
    poll(&p, 1, static_cast<int>(left.count()));
  }
}

}  // namespace llmspell::durable
