// The production HTTP/1.1 server behind `llmspell serve` (Boost.Beast parses requests, Asio runs
// the sockets; TLS through asio::ssl): keep-alive, a request body limit (413), timeouts for slow
// clients, chunked streaming whose writer can wait for the client to drain (SSE backpressure),
// CORS only when configured, and a graceful drain. src/net/server.hpp is the small test server.
//
// Usage:
//   net::HttpServer srv({.host = "127.0.0.1", .port = 8080},
//                       [](const net::IncomingRequest& rq, net::ResponderPtr res) {
//     if (rq.path == "/events") {
//       res->startStream(200, {{"content-type", "text/event-stream"}});
//       res->write("data: a\n\n");
//       res->onDrain([res] { res->write("data: b\n\n"); res->end(); });  // once the client read
//     } else {
//       res->send(200, "ok", {{"content-type", "text/plain"}});
//     }
//   });
//   srv.run();   // on this thread, until stop()
//
// Threading: one I/O thread (the one in run()). The handler and the on* callbacks run on it and
// must not block. Responder methods may be called from any thread (they run on the I/O thread,
// in call order) and are no-ops once the response ended or its connection closed.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/net/http.hpp"  // Headers, findHeader

namespace boost::asio {
class io_context;
}

namespace llmspell::net {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 0;                      // 0: an ephemeral port (see HttpServer::port())
  size_t bodyLimit = 1u << 20;       // larger request bodies get 413
  size_t headerLimit = 16u << 10;    // larger request heads get 431
  double headerTimeout = 10;         // seconds to receive a whole request once it began: 408
  double idleTimeout = 60;           // a keep-alive connection with no request is closed
  double writeTimeout = 30;          // a write the client does not take in time closes the connection
  size_t maxConnections = 100000;    // past it new connections are closed at once
  std::string tlsCert, tlsKey;       // PEM files; both set: the server speaks HTTPS only
  // Origins allowed to call from a browser ("*" for any). Empty: no CORS headers at all, so a
  // browser on another origin cannot read responses (the safe default).
  std::vector<std::string> corsOrigins;
};

struct IncomingRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path and query as sent
  std::string path;    // target without the query
  std::string query;   // without '?'
  Headers headers;     // lowercased names, in order
  std::string body;
  std::string remote;  // peer address
  std::string header(std::string_view name) const;  // first value or ""
};

class Responder : public std::enable_shared_from_this<Responder> {
 public:
  // A whole response with a content-length.
  void send(int status, std::string body, Headers headers = {});
  // Starts a chunked response (each write() one chunk, flushed at once).
  void startStream(int status, Headers headers = {});
  void write(std::string chunk);
  // Ends a streamed response; the connection then serves its next request (keep-alive).
  void end();
  // Ends the response by closing the connection (a stream that cannot end cleanly).
  void close();

  // Bytes queued for this connection and not yet taken by the client. Thread-safe.
  size_t buffered() const { return buffered_.load(); }
  // `fn` runs once on the I/O thread when everything queued has been written (at once, posted,
  // when nothing is queued). Not called when the connection closes first (see onClose).
  void onDrain(std::function<void()> fn);
  // `fn` runs once on the I/O thread when the connection closes before the response ended
  // (the client went away, a write timed out, the server stopped).
  void onClose(std::function<void()> fn);
  bool closed() const { return closed_.load(); }
  bool ended() const { return ended_.load(); }

  struct Impl;  // per-connection state, I/O thread only
  explicit Responder(std::shared_ptr<Impl> conn);
  ~Responder();

 private:
  friend struct ResponseOps;
  std::weak_ptr<Impl> conn_;
  std::atomic<size_t> buffered_{0};
  std::atomic<bool> closed_{false}, ended_{false};
  // I/O thread only:
  bool headSent_ = false, chunked_ = false;
  std::function<void()> onDrain_, onClose_;
};
using ResponderPtr = std::shared_ptr<Responder>;

class HttpServer {
 public:
  using Handler = std::function<void(const IncomingRequest&, ResponderPtr)>;
  // Binds and listens (throws Exception(config_error) when it cannot, or the TLS files do not
  // load); serving starts with run().
  HttpServer(HttpServerOptions opts, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  bool tls() const;
  boost::asio::io_context& io();  // the I/O thread's context (timers, other sockets)

  // Serves on the calling thread until stop().
  void run();
  // Stops accepting and closes idle keep-alive connections; responses in flight go on, and each
  // connection closes after its current response. Thread-safe.
  void stopAccepting();
  // Closes every connection now (open responses see onClose) and makes run() return. Thread-safe.
  void stop();

  // Thread-safe counters.
  size_t openConnections() const;
  size_t openResponses() const;  // started, not ended
  uint64_t requests() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

// Formats one Server-Sent Event: `id:` (when not empty), `event:` (when not empty) and one
// `data:` line per line of `data`.
std::string sseEvent(std::string_view id, std::string_view event, std::string_view data);

}  // namespace llmspell::net
