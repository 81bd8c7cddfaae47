// MCP client: talks the Model Context Protocol (JSON-RPC 2.0, newline-delimited over a child's
// stdin/stdout) to a server process, driven by the runtime loop (no thread blocks on the pipes).
//
// Usage (on the loop thread):
//   auto c = tools::McpClient::spawn(loop, {.argv = {"mcp-server-everything"}, .envp = {...}});
//   c->initialize()->onSettle(...);              // {protocolVersion, capabilities, serverInfo}
//   c->listAll("tools/list", "tools");           // every page, following nextCursor
//   c->request("tools/call", {name, arguments}, onProgress);
//   c->close();                                  // stdin closed, SIGTERM, SIGKILL after 2 s
//
// Requests time out after McpOptions::timeout seconds (timeout), and a cancelled or timed-out
// request is announced to the server with notifications/cancelled. When the server exits, every
// pending request rejects with provider_error naming the exit status and the end of its stderr.
// Thread-safety: loop-affine. The destructor kills the child (its whole process group).
#pragma once

#include <sys/types.h>

#include <array>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "llmspell/net/http.hpp"
#include "llmspell/runtime/asio.hpp"
#include "llmspell/runtime/loop.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell::tools {

// The protocol revision llmspell asks for; the server's answer in initialize is accepted when it
// is one of kMcpSupportedVersions.
inline constexpr const char* kMcpProtocolVersion = "2025-06-18";
extern const std::vector<std::string> kMcpSupportedVersions;

struct McpOptions {
  // stdio: the server process. Streamable HTTP: `url` instead (argv empty).
  std::vector<std::string> argv;
  std::string url;
  net::UrlCheck checkUrl;  // each URL the HTTP transport reaches (the run's net grant)
  net::Headers headers;    // extra request headers (HTTP transport)
  std::vector<std::string> envp;  // exactly the child's environment ("K=V")
  std::string cwd;
  double timeout = 30;  // seconds per request; 0 = none
  std::string label;    // names the server in messages: "mcp server 'fs'"
};

class McpClient : public std::enable_shared_from_this<McpClient> {
 public:
  using ProgressFn = std::function<void(const Value& params)>;
  using NotificationFn = std::function<void(const std::string& method, const Value& params)>;

  // Starts the server process. Throws like spawnChild (not_found, permission_denied, internal).
  static std::shared_ptr<McpClient> spawn(Loop& loop, McpOptions o);
  // A client of the Streamable HTTP endpoint o.url: each message is a POST whose answer is JSON
  // or an SSE stream; the session id the server gives at initialize goes with every later POST,
  // and close() ends the session with DELETE. After initialize a GET stream carries the server's
  // messages outside a request; it is reopened with Last-Event-ID when it ends.
  static std::shared_ptr<McpClient> http(Loop& loop, McpOptions o);
  McpClient(Loop& loop, McpOptions o);
  ~McpClient();
  McpClient(const McpClient&) = delete;
  McpClient& operator=(const McpClient&) = delete;

  // initialize + notifications/initialized (+ over HTTP, the GET stream's answer). Resolves
  // with the server's initialize result.
  PromisePtr initialize();
  // A request; `timeout` < 0 uses the client's. `onProgress` gets each notifications/progress
  // params for this request (a progress token is sent only when it is set).
  PromisePtr request(const std::string& method, Value params, ProgressFn onProgress = {},
                     double timeout = -1);
  void notify(const std::string& method, Value params);
  // Every item of a paginated list method ("tools/list" -> result.tools), following nextCursor.
  PromisePtr listAll(const std::string& method, const std::string& key);
  // Server notifications other than progress and cancelled (tools/list_changed, log messages).
  void onNotification(NotificationFn f) { onNotification_ = std::move(f); }

  // Ends the session: stdin closed, SIGTERM to the server's process group, SIGKILL when it has
  // not exited within 2 seconds; pending requests reject with cancelled, or, with
  // settle = false (the run is ending and nobody can observe them), are dropped. Idempotent.
  void close(bool settle = true);
  bool closed() const { return closed_; }
  bool isHttp() const { return !opts_.url.empty(); }
  pid_t pid() const { return pid_; }
  const Value& initResult() const { return init_; }
  const std::string& label() const { return opts_.label; }

 private:
  struct Pending {
    PromisePtr promise;
    ProgressFn onProgress;
    Loop::TimerHandle timer;
    std::string method;
    PromisePtr transfer;  // HTTP: the POST that carries the answer
  };
  void start();
  void send(const Value& msg);
  void writeNext();
  void readOut();
  void readErr();
  void onLine(std::string_view line);
  void onServerRequest(const Value& msg);
  void abandon(int64_t id, const std::string& reason);
  void failAll(const Error& e);
  void serverGone();
  void reap(bool wait);
  void post(const Value& msg);
  void openStream(std::function<void()> ready);
  Loop& loop_;
  McpOptions opts_;
  pid_t pid_ = -1;
  bool closed_ = false;
  bool exited_ = false;
  bool reaped_ = false;
  int exitStatus_ = 0;
  std::unique_ptr<asio::posix::stream_descriptor> in_, out_, err_;
  std::deque<std::string> outq_;
  bool writing_ = false;
  std::string lineBuf_, errTail_;
  std::array<char, 65536> outBuf_{}, errBuf_{};
  int64_t nextId_ = 1;
  std::map<int64_t, Pending> pending_;
  NotificationFn onNotification_;
  Value init_;
  std::shared_ptr<net::HttpClient> httpClient_;
  std::string sessionId_;
  std::vector<std::weak_ptr<Promise>> transfers_;
  std::string lastEventId_;  // the GET stream's last event id, sent back when it reopens
  int64_t retryMs_ = 1000;   // the server's retry: for reopening it
  int streamFailures_ = 0;   // reopenings in a row without a message
  Loop::TimerHandle reconnect_;
};

// A tools/call result as a spell sees it: {text (the text blocks joined), content (every block),
// structured (structuredContent, when given)}. A result with isError rejects: throws
// provider_error "<label> tool '<name>': <text>" with the content in the details.
Value mcpToolResult(const Value& result, const std::string& label, const std::string& tool);

}  // namespace llmspell::tools
