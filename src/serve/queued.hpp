// `llmspell serve --queue URL` (internal to the serve layer): the run queue's database work done
// off the I/O thread. Queries run on a small pool of threads, each with its own connection
// (durable::Queue is a blocking libpq connection); one more thread LISTENs for the queue's event
// notifications and tells the I/O thread which runs have news.
//
// Why threads and not libpq's socket under asio (posix::stream_descriptor): connecting, and
// reconnecting after the database restarts, blocks in libpq; so do the queries of
// durable::Queue, which the worker and the CLI share. A thread keeps every one of those calls
// off the I/O thread without a second, non-blocking copy of the queue's SQL.
//
// Thread-safety: every public method is called on the I/O thread; callbacks run there too.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/durable/queue.hpp"
#include "llmspell/runtime/asio.hpp"

namespace llmspell::serve {

class QueueRuns {
 public:
  // Connects once to check the URL and create the queue's tables: throws Exception
  // (config_error for a bad URL, network_error when the database cannot be reached).
  QueueRuns(asio::io_context& io, std::string url, size_t threads = 2);
  ~QueueRuns();  // stop()
  QueueRuns(const QueueRuns&) = delete;
  QueueRuns& operator=(const QueueRuns&) = delete;

  // Runs `work` with a connection on a database thread, then `done` on the I/O thread with the
  // error `work` threw (nullopt when it returned). Jobs run in the order given per thread.
  void call(std::function<void(durable::Queue&)> work, std::function<void(std::optional<Error>)> done);
  // Calls `onNews` on the I/O thread whenever run `runId` may have new events (a notification,
  // or the listener reconnected and may have missed one). Returns the id for unwatch().
  uint64_t watch(const std::string& runId, std::function<void()> onNews);
  void unwatch(const std::string& runId, uint64_t id);
  // Ends the threads (jobs not started are dropped, their `done` never called). Idempotent.
  void stop();

 private:
  void serveJobs();
  void listen();
  void news(const std::vector<std::string>& runIds, bool all);

  asio::io_context& io_;
  std::string url_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void(std::unique_ptr<durable::Queue>&)>> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
  std::thread listener_;
  // I/O thread only.
  std::map<std::string, std::map<uint64_t, std::function<void()>>> watchers_;
  uint64_t nextWatch_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // posted callbacks check it
};

}  // namespace llmspell::serve
