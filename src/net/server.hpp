// A minimal HTTP/1.1 server (Boost.Beast request parsing, hand-written responses), on 127.0.0.1
// unless ServerOptions say otherwise, for tests, the fake provider and `llmspell mcp serve
// --http`: streaming chunked responses, delays, resets, any status.
//
// Usage (in a test; the server runs on its own thread with its own io_context):
//   net::TestHttpServer srv([](const net::ServerRequest& rq, net::ResponsePtr res) {
//     if (rq.target == "/stream") {
//       res->writeHead(200, {{"content-type", "text/event-stream"}});   // chunked
//       res->write("data: a\n\n");
//       res->after(0.05, [res] { res->write("data: b\n\n"); res->end(); });
//     } else if (rq.target == "/limited") {
//       res->send(429, R"({"error":"slow down"})", {{"retry-after", "2"}});
//     } else {
//       res->writeHead(200, {{"content-length", "100"}}); res->write("partial"); res->abort();
//     }
//   });
//   std::string url = srv.url("/stream");       // "http://127.0.0.1:<port>/stream"
//
// Thread-safety: the handler and timer callbacks run on the server thread. ResponseWriter methods
// are thread-safe (they post to the server thread, in call order) and are no-ops once the
// response ended or the connection closed. A handler may answer later (keep the ResponsePtr).
// Failure: the constructor throws if it cannot bind; I/O errors close the connection (counted).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "llmspell/net/http.hpp"  // Headers

namespace llmspell::net {

struct ServerRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent: "/v1/chat?x=1"
  std::string path;    // target without the query
  std::string query;   // without '?'
  Headers headers;     // lowercased names, in order
  std::string body;
  // First value of `name` (case-insensitive), or "" when absent.
  std::string header(std::string_view name) const;
};

class ServerCore;

class ResponseWriter : public std::enable_shared_from_this<ResponseWriter> {
 public:
  // Status line and headers. Without a content-length header the body is sent chunked
  // (each write() one chunk, flushed immediately).
  void writeHead(int status, Headers headers = {});
  // A piece of the body (a chunk when chunked). writeHead(200) is implied when not called.
  void write(std::string chunk);
  // Ends the response (terminating chunk when chunked); the connection stays open for the next
  // request unless the client asked to close.
  void end();
  // A whole response with a content-length: writeHead + write + end.
  void send(int status, std::string body, Headers headers = {});
  // Resets the connection now (TCP RST): the client sees a broken transfer.
  void abort();
  // Closes the connection gracefully (FIN) without ending the response.
  void close();

  // Runs `fn` on the server thread after `seconds` (for delays between chunks, slow first byte).
  void after(double seconds, std::function<void()> fn);
  // True once the client closed the connection (detected by a failed write or a read of EOF
  // while the response was open) or the response was aborted.
  bool peerClosed() const { return peerClosed_.load(); }
  bool ended() const { return ended_.load(); }
  // Called once on the server thread when the client is seen to close before end().
  void onPeerClose(std::function<void()> fn);

  // Internal: created by the server per request.
  ResponseWriter(std::shared_ptr<ServerCore> core, std::weak_ptr<void> conn);

 private:
  friend class ServerCore;
  std::weak_ptr<ServerCore> core_;  // weak: a kept writer must not keep the server's io alive
  std::weak_ptr<void> conn_;
  std::atomic<bool> peerClosed_{false};
  std::atomic<bool> ended_{false};
  // Server-thread state:
  bool headSent_ = false;
  bool chunked_ = false;
  std::function<void()> onPeerClose_;
};
using ResponsePtr = std::shared_ptr<ResponseWriter>;

struct ServerOptions {
  std::string host = "127.0.0.1";     // the address to bind (an IPv4 or IPv6 literal)
  int port = 0;                       // 0: an ephemeral port (see port())
  uint64_t bodyLimit = 256ull << 20;  // larger request bodies get 400 and the connection closes
};

class TestHttpServer {
 public:
  using Handler = std::function<void(const ServerRequest&, ResponsePtr)>;
  // Binds 127.0.0.1 on an ephemeral port and starts serving on a new thread.
  explicit TestHttpServer(Handler handler) : TestHttpServer(std::move(handler), ServerOptions{}) {}
  // Binds opts.host:opts.port. Throws boost::system::system_error when it cannot bind.
  TestHttpServer(Handler handler, ServerOptions opts);
  // Stops accepting, closes connections and joins the thread.
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view path = "/") const;  // "http://<host>:<port><path>"

  // Counters (thread-safe).
  uint64_t requests() const;       // requests handled
  uint64_t connections() const;    // connections accepted
  uint64_t peerCloses() const;     // responses whose client went away before end()
  size_t openConnections() const;  // connections currently open

 private:
  std::shared_ptr<ServerCore> core_;
  std::thread thread_;
  int port_ = 0;
  std::string host_;
};

}  // namespace llmspell::net
