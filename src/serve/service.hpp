// The serve parent's state (internal to the serve layer): spells, runs with their event logs,
// streams reading them, and the worker processes. I/O thread only.
#pragma once

#include <sys/types.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "llmspell/net/http_server.hpp"
#include "serve/authorize.hpp"
#include "llmspell/runtime/asio.hpp"
#include "llmspell/serve/serve.hpp"
#include "llmspell/spell/spell.hpp"
#include "serve/metrics.hpp"

namespace llmspell::serve {

struct SpellInfo {
  std::string name, dir;
  Manifest manifest;
  std::vector<std::string> models;  // serve.models: the model ids it answers on /v1/chat/completions
};

struct RunEvent {
  std::string name;
  std::string data;  // JSON text
};

struct Stream;
class QueueRuns;

struct RunRec {
  std::string id, spell, runId;
  std::string status = "queued";  // queued, running, succeeded, failed, cancelled
  nlohmann::json message;         // what the worker is sent
  double created = 0, started = 0, finished = 0;
  double timeout = 0;
  size_t memoryMb = 0;
  nlohmann::json value, error, outputs = nlohmann::json::array();
  nlohmann::json stopError;  // why the parent stopped its worker (a cancel, a limit)
  double inputTokens = 0, outputTokens = 0, cost = 0;
  std::string principal;  // the API key that started it ("" without keys): its budget pays
  std::vector<RunEvent> events;  // event n is events[n-1] (SSE ids from 1)
  size_t eventsDropped = 0;
  std::vector<std::shared_ptr<Stream>> streams;
  std::vector<std::function<void()>> onDone;
};

// A client reading a run's events (SSE). `format` turns event n into bytes ("" skips it);
// `finish` is written once after the last event. Unset: plain SSE with the event's name and id.
struct Stream {
  std::shared_ptr<RunRec> run;
  net::ResponderPtr res;
  size_t next = 0;
  bool waiting = false, closed = false;
  std::function<std::string(size_t n, const RunEvent&)> format;
  std::function<std::string()> finish;
};

struct Worker {
  explicit Worker(asio::io_context& io) : deadline(io) {}
  size_t index = 0;
  pid_t pid = -1;
  uint64_t generation = 0;  // bumped when its socket goes: stale callbacks see a new number
  bool ready = false;
  int failedStarts = 0;
  size_t baseRss = 0;
  std::unique_ptr<asio::local::stream_protocol::socket> sock;
  std::shared_ptr<RunRec> run;
  asio::steady_timer deadline;
  std::string in;  // bytes read from the worker, not yet a whole frame
  std::unique_ptr<char[]> readBuf = std::make_unique<char[]>(kReadBytes);
  static constexpr size_t kReadBytes = 64u << 10;
};

class Service {
 public:
  Service(const ServeOptions& opts, net::HttpServer& server);
  ~Service();
  void start();
  void handle(const net::IncomingRequest& rq, net::ResponderPtr res);
  void stopWorkers();
  size_t spellCount() const { return spells_.size(); }

 private:
  void loadSpells();
  static std::string newRunId();
  void spawn(Worker& w);
  void respawnLater(Worker& w);
  void readFrom(Worker& w, uint64_t gen);
  void onWorkerMessage(Worker& w, const nlohmann::json& m);
  void onWorkerFrame(Worker& w, std::string_view body);  // a tagged frame (frame.hpp)
  void workerGone(Worker& w);
  void pollMemory();
  void dispatch();
  void assign(Worker& w, std::shared_ptr<RunRec> run);
  void addEventText(RunRec& run, std::string name, std::string data);  // data: JSON text
  void finish(RunRec& run, const std::string& status, nlohmann::json value, nlohmann::json error);
  void logCall(std::string_view body);
  nlohmann::json runJson(const RunRec& r) const;
  void pump(const std::shared_ptr<Stream>& s);
  void closeStream(const std::shared_ptr<Stream>& s);
  std::shared_ptr<Stream> openStream(std::shared_ptr<RunRec> run, net::ResponderPtr res, size_t from, bool cancelOnDisconnect);
  void cancel(RunRec& run, const std::string& why);
  void sendError(const net::ResponderPtr& res, int status, const std::string& code, const std::string& message,
                 net::Headers extra = {});
  void sendJson(const net::ResponderPtr& res, int status, const nlohmann::json& j);
  void sendJsonText(const net::ResponderPtr& res, int status, std::string text);
  nlohmann::json runMessage(const SpellInfo& spell, const nlohmann::json& params, const nlohmann::json& limits,
                            const nlohmann::json& grants, double& timeout, size_t& memoryMb);
  std::shared_ptr<RunRec> enqueue(const SpellInfo& spell, nlohmann::json msg, double timeout, size_t memoryMb);
  void createRun(const net::IncomingRequest& rq, net::ResponderPtr res);
  void drain();
  void checkDrained();
  void closeWhenFlushed(int tries);
  size_t inFlight() const;
  // OpenAI-compatible routes (openai.cpp).
  void handleOpenAI(const net::IncomingRequest& rq, net::ResponderPtr res);
  void chatCompletions(const net::IncomingRequest& rq, net::ResponderPtr res);
  void openAIError(const net::ResponderPtr& res, int status, const std::string& type, const std::string& code,
                   const std::string& message, const std::string& param = "", const net::Headers& extra = {});
  // The caller's key narrows what the run is granted (its ceiling) and pays for it (its budget).
  void applyKey(nlohmann::json& msg, const SpellInfo& spell, const AuthResult& a);
  // --queue (queued.cpp): POST /v1/runs submits to the queue; /v1/runs/{id}[/events] read it.
  void submitQueued(net::ResponderPtr res, const SpellInfo& spell, nlohmann::json msg, double timeout,
                    const std::string& principal, bool stream, bool wait, bool cancelOnDisconnect);
  void queuedRunRoute(const net::IncomingRequest& rq, net::ResponderPtr res, const std::string& id, bool events);

  ServeOptions opts_;
  net::HttpServer& server_;
  asio::io_context& io_;
  asio::steady_timer memoryTimer_;
  asio::signal_set signals_;
  std::unique_ptr<asio::steady_timer> drainTimer_;
  ServeMetrics metrics_;
  std::map<std::string, SpellInfo> spells_;
  std::map<std::string, std::string> models_;  // model id -> spell name
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unordered_map<std::string, std::shared_ptr<RunRec>> runs_;
  std::deque<std::string> finishedOrder_;
  std::deque<std::shared_ptr<RunRec>> queue_;
  bool draining_ = false, stopping_ = false;
  std::unique_ptr<QueueRuns> queueRuns_;  // with --queue
};

}  // namespace llmspell::serve
