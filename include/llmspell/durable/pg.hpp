// A PostgreSQL connection for the durable-run layer (libpq, loaded on first use): text
// parameters, text results, one reconnect on a broken connection.
//
// Thread-safety: none; one connection per thread (the worker's heartbeat has its own).
// Failure: throws Exception: config_error for a URL libpq rejects, network_error (retryable)
// when the server cannot be reached or the connection broke, internal for an SQL error (the
// server's message, with its SQLSTATE in details.sqlstate).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace llmspell::durable {

using Row = std::vector<std::optional<std::string>>;

class PgConn {
 public:
  explicit PgConn(std::string url);
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs `sql` with $1.. = params (nullopt = NULL); returns the rows. A broken connection is
  // re-opened once and the statement retried when `retry` (statements that are safe to repeat).
  std::vector<Row> exec(const std::string& sql, const std::vector<std::optional<std::string>>& params = {},
                        bool retry = true);
  // LISTEN on `channel` (kept across reconnects), and waits up to `seconds` for a notification;
  // returns the payloads received (empty on timeout, and at once when the connection had to be
  // re-opened: notifications sent meanwhile were lost, so the caller should look again).
  void listen(const std::string& channel);
  std::vector<std::string> wait(double seconds);

  const std::string& url() const { return url_; }
  // Connections made so far (1 after the constructor): a LISTENer that sees it change knows
  // notifications may have been missed while it was away.
  uint64_t connections() const { return connections_; }

 private:
  void connect();
  std::string url_;
  pg_conn* c_ = nullptr;
  std::vector<std::string> channels_;
  uint64_t connections_ = 0;
};

// True for postgres:// and postgresql:// URLs.
bool isPostgresUrl(const std::string& s);

}  // namespace llmspell::durable
