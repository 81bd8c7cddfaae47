// The HTTP/1.1 server for `llmspell serve`. Beast's request parser enforces the head and body
// limits; responses are written by hand (a status line, headers, chunks) so a stream is flushed
// chunk by chunk and its writer can wait for the client to take what is queued. One connection
// class serves plain TCP and TLS alike (a template over the stream type). TLS is Asio's OpenSSL
// stream; libssl is not linked but loaded when a certificate is given (ssl_lazy.cpp).
#include "llmspell/net/http_server.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>

#include "llmspell/core/error.hpp"
#include "llmspell/core/read_file.hpp"
#include "llmspell/runtime/asio.hpp"

namespace llmspell::net {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::chrono::steady_clock::duration secs(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s < 0 ? 0 : s));
}

std::string statusLine(int status) {
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  return "HTTP/1.1 " + std::to_string(status) + " " + (reason.empty() ? "Status" : reason) + "\r\n";
}
}  // namespace

std::string IncomingRequest::header(std::string_view name) const {
  const std::string* v = findHeader(headers, name);
  return v ? *v : std::string();
}

std::string sseEvent(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  if (!id.empty()) out.append("id: ").append(id).append("\n");
  if (!event.empty()) out.append("event: ").append(event).append("\n");
  size_t start = 0;
  while (true) {
    size_t nl = data.find('\n', start);
    out.append("data: ").append(data.substr(start, nl == std::string_view::npos ? nl : nl - start)).append("\n");
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  out += "\n";
  return out;
}

// What a response needs from its connection (I/O thread only).
struct Responder::Impl {
  virtual ~Impl() = default;
  virtual void queue(std::string bytes) = 0;
  virtual void responseDone(Responder& r) = 0;  // the current response ended
  virtual void closeNow() = 0;
  virtual bool isClosed() const = 0;
  virtual size_t queuedBytes() const = 0;
  virtual void closeIfIdle() = 0;
  bool keepAlive = true;
  bool head = false;
  Headers cors;  // headers every response on this request gets
  asio::io_context* io = nullptr;
};

struct HttpServer::Core : std::enable_shared_from_this<HttpServer::Core> {
  HttpServerOptions opts;
  Handler handler;
  std::atomic<size_t> open{0}, responses{0};
  std::atomic<uint64_t> requests{0};
  std::atomic<bool> accepting{true};
  std::map<Responder::Impl*, std::weak_ptr<Responder::Impl>> conns;  // I/O thread only

  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::optional<ssl::context> tlsCtx;

  void accept();
};

// Response operations, on the I/O thread.
struct ResponseOps {
  static void head(Responder& r, Responder::Impl& c, int status, Headers headers, bool stream) {
    if (r.headSent_ || r.ended_) return;
    r.headSent_ = true;
    bool noBody = status == 204 || status == 304 || (status >= 100 && status < 200) || c.head;
    r.chunked_ = stream && !noBody;
    std::string out = statusLine(status);
    for (const auto& [k, v] : headers) out.append(k).append(": ").append(v).append("\r\n");
    for (const auto& [k, v] : c.cors) out.append(k).append(": ").append(v).append("\r\n");
    if (r.chunked_) out += "transfer-encoding: chunked\r\n";
    if (!c.keepAlive) out += "connection: close\r\n";
    out += "\r\n";
    c.queue(std::move(out));
  }
  static void body(Responder& r, Responder::Impl& c, std::string chunk) {
    if (r.ended_ || !r.headSent_ || chunk.empty() || c.head) return;
    if (r.chunked_) {
      char hex[32];
      std::snprintf(hex, sizeof hex, "%zx\r\n", chunk.size());
      chunk.insert(0, hex);
      chunk += "\r\n";
    }
    c.queue(std::move(chunk));
  }
  static void end(Responder& r, Responder::Impl& c) {
    if (r.ended_) return;
    if (!r.headSent_) head(r, c, 200, {{"content-length", "0"}}, false);
    if (r.chunked_) c.queue("0\r\n\r\n");
    r.ended_ = true;
    c.responseDone(r);
  }
  static void closed(Responder& r) {
    if (r.ended_ || r.closed_) return;
    r.closed_ = true;
    r.onDrain_ = nullptr;
    auto fn = std::move(r.onClose_);
    r.onClose_ = nullptr;
    if (fn) fn();
  }
  static void drained(Responder& r) {
    auto fn = std::move(r.onDrain_);
    r.onDrain_ = nullptr;
    if (fn) fn();
  }
  static void setBuffered(Responder& r, size_t n) { r.buffered_ = n; }
};

template <typename Stream>
class Conn : public Responder::Impl, public std::enable_shared_from_this<Conn<Stream>> {
 public:
  Conn(HttpServer::Core& core, Stream s)
      : core_(core), stream_(std::move(s)), readTimer_(core.io), writeTimer_(core.io) {
    ++core_.open;
    io = &core_.io;
  }
  ~Conn() override {
    if (!closed_) --core_.open;
  }

  tcp::socket& socket() {
    if constexpr (std::is_same_v<Stream, tcp::socket>) return stream_;
    else return stream_.next_layer();
  }

  void start() {
    core_.conns[this] = this->weak_from_this();
    if constexpr (std::is_same_v<Stream, tcp::socket>) {
      arm(core_.opts.idleTimeout, false);
      read();
    }
    else {
      auto self = this->shared_from_this();
      arm(core_.opts.headerTimeout, false);
      stream_.async_handshake(ssl::stream_base::server, [self](const boost::system::error_code& ec) {
        if (ec) return self->closeNow();
        self->arm(self->core_.opts.idleTimeout, false);
        self->read();
      });
    }
  }

  // Reads all the time, also while a response streams, so a client that goes away is seen.
  void read() {
    if (closed_) return;
    // Stop reading when pipelined requests pile up behind a long response; resumes in parse().
    if (current_ && buf_.size() > core_.opts.headerLimit + core_.opts.bodyLimit) {
      paused_ = true;
      return;
    }
    auto self = this->shared_from_this();
    stream_.async_read_some(buf_.prepare(buf_.size() == 0 ? 4096 : 16384),
                            [self](const boost::system::error_code& ec, size_t n) {
                              if (ec) return self->closeNow();
                              self->buf_.commit(n);
                              self->parse();
                              self->read();
                            });
  }

  // The read timer: `idle` (waiting for a request) closes quietly; otherwise a request that
  // began and did not finish in time gets 408.
  void arm(double seconds, bool requestStarted) {
    if (seconds <= 0) {
      readTimer_.cancel();
      return;
    }
    readTimer_.expires_after(secs(seconds));
    std::weak_ptr<Conn> weak = this->weak_from_this();
    readTimer_.async_wait([weak, requestStarted](const boost::system::error_code& ec) {
      auto self = weak.lock();
      if (ec || !self || self->closed_ || self->current_) return;
      if (requestStarted) self->fail(408, "the request did not arrive in time");
      else self->closeNow();
    });
  }

  void parse() {
    while (!current_ && !closed_ && !closeAfterFlush_) {
      if (buf_.size() == 0) return;
      if (!parser_) {
        parser_.emplace();
        parser_->body_limit(core_.opts.bodyLimit);
        parser_->header_limit(static_cast<uint32_t>(core_.opts.headerLimit));
        parser_->eager(true);
        arm(core_.opts.headerTimeout, true);
        continueSent_ = false;
      }
      beast::error_code ec;
      size_t used = parser_->put(buf_.data(), ec);
      buf_.consume(used);
      if (ec == http::error::need_more) ec = {};
      if (ec == http::error::body_limit)
        return fail(413, "the request body is larger than the limit of " + std::to_string(core_.opts.bodyLimit) + " bytes");
      if (ec == http::error::header_limit) return fail(431, "the request headers are too large");
      if (ec) return fail(400, "malformed HTTP request: " + ec.message());
      if (parser_->is_header_done() && !parser_->is_done() && !continueSent_) {
        continueSent_ = true;
        auto& h = parser_->get();
        if (lower(std::string_view(h[http::field::expect].data(), h[http::field::expect].size())) == "100-continue")
          queue("HTTP/1.1 100 Continue\r\n\r\n");
      }
      if (parser_->is_done()) {
        auto msg = parser_->release();
        parser_.reset();
        dispatch(std::move(msg));
      } else if (used == 0) {
        return;
      }
    }
    if (paused_ && !current_ && !closed_) {
      paused_ = false;
      read();
    }
  }

  void dispatch(http::request<http::string_body> msg) {
    readTimer_.cancel();
    IncomingRequest rq;
    auto m = msg.method_string();
    auto tg = msg.target();
    rq.method = std::string(m.data(), m.size());
    rq.target = std::string(tg.data(), tg.size());
    size_t q = rq.target.find('?');
    rq.path = rq.target.substr(0, q);
    if (q != std::string::npos) rq.query = rq.target.substr(q + 1);
    for (const auto& f : msg) {
      auto n = f.name_string();
      auto v = f.value();
      rq.headers.emplace_back(lower(std::string_view(n.data(), n.size())), std::string(v.data(), v.size()));
    }
    rq.body = std::move(msg.body());
    if (remote_.empty()) {  // once per connection: a system call
      boost::system::error_code ig;
      auto ep = socket().remote_endpoint(ig);
      if (!ig) remote_ = ep.address().to_string();
    }
    rq.remote = remote_;
    keepAlive = msg.keep_alive() && core_.accepting;
    head = rq.method == "HEAD";
    cors.clear();
    std::string origin = rq.header("origin");
    bool corsOk = false;
    if (!origin.empty())
      for (const auto& o : core_.opts.corsOrigins)
        if (o == "*" || o == origin) corsOk = true;
    if (corsOk) {
      cors.emplace_back("access-control-allow-origin", origin);
      cors.emplace_back("vary", "origin");
    }
    ++core_.requests;
    ++core_.responses;
    current_ = std::make_shared<Responder>(this->shared_from_this());
    auto r = current_;
    if (corsOk && rq.method == "OPTIONS" && !rq.header("access-control-request-method").empty()) {
      r->send(204, "", {{"access-control-allow-methods", "GET, POST, DELETE, OPTIONS"},
                        {"access-control-allow-headers", "authorization, content-type, last-event-id"},
                        {"access-control-max-age", "600"}});
      return;
    }
    try {
      core_.handler(rq, r);
    } catch (const std::exception& e) {
      r->send(500, std::string("{\"error\":{\"code\":\"internal\",\"message\":\"handler failed\"}}"),
              {{"content-type", "application/json"}});
    }
  }

  // Answers a request that could not be read, then closes.
  void fail(int status, const std::string& msg) {
    parser_.reset();
    std::string body = "{\"error\":{\"code\":\"invalid_argument\",\"message\":\"" + msg + "\"}}";
    queue(statusLine(status) + "content-type: application/json\r\ncontent-length: " +
          std::to_string(body.size()) + "\r\nconnection: close\r\n\r\n" + body);
    closeAfterFlush_ = true;
    flushOrClose();
  }

  void queue(std::string bytes) override {
    if (closed_) return;
    queued_ += bytes.size();
    out_.push_back(std::move(bytes));
    publish();
    if (!writing_) write();
  }

  void publish() {
    if (current_) ResponseOps::setBuffered(*current_, queued_);
  }

  void write() {
    if (closed_) return;
    if (out_.empty()) {
      writing_ = false;
      writeTimer_.cancel();
      if (current_) {
        auto r = current_;
        asio::post(core_.io, [r] { ResponseOps::drained(*r); });
      }
      flushOrClose();
      return;
    }
    writing_ = true;
    // Several queued pieces go out in one write (a stream's small events).
    batch_.clear();
    size_t n = 0;
    for (auto& s : out_) {
      batch_.emplace_back(asio::buffer(s));
      if (++n == 64) break;
    }
    batchCount_ = n;
    writeTimer_.expires_after(secs(core_.opts.writeTimeout));
    std::weak_ptr<Conn> weak = this->weak_from_this();
    writeTimer_.async_wait([weak](const boost::system::error_code& ec) {
      if (auto self = weak.lock(); self && !ec && self->writing_) self->reset();
    });
    auto self = this->shared_from_this();
    asio::async_write(stream_, batch_, [self](const boost::system::error_code& ec, size_t) {
      if (ec) {
        self->writing_ = false;
        return self->closeNow();
      }
      for (size_t i = 0; i < self->batchCount_ && !self->out_.empty(); ++i) {
        self->queued_ -= self->out_.front().size();
        self->out_.pop_front();
      }
      self->publish();
      self->write();
    });
  }

  void flushOrClose() {
    if (closeAfterFlush_ && out_.empty() && !writing_ && !closed_) {
      boost::system::error_code ec;
      socket().shutdown(tcp::socket::shutdown_send, ec);
      closeNow();
    }
  }

  void responseDone(Responder& r) override {
    if (current_.get() != &r) return;
    --core_.responses;
    current_.reset();
    if (!keepAlive) {
      closeAfterFlush_ = true;
      flushOrClose();
      return;
    }
    arm(core_.opts.idleTimeout, false);
    auto self = this->shared_from_this();
    asio::post(core_.io, [self] { self->parse(); });
  }

  // A stalled write: drop the connection without waiting for the client (RST).
  void reset() {
    if (closed_) return;
    boost::system::error_code ec;
    socket().set_option(asio::socket_base::linger(true, 0), ec);
    closeNow();
  }

  void closeNow() override {
    if (closed_) return;
    closed_ = true;
    --core_.open;
    boost::system::error_code ec;
    socket().close(ec);  // out_ is kept: an in-flight write may still reference it
    readTimer_.cancel();
    writeTimer_.cancel();
    core_.conns.erase(this);
    if (current_) {
      auto r = std::move(current_);
      --core_.responses;
      ResponseOps::closed(*r);
    }
  }

  // Drain: an idle connection closes now, a busy one after its response.
  void closeIfIdle() override {
    keepAlive = false;
    if (!current_ && !parser_) {
      closeAfterFlush_ = true;
      flushOrClose();
    }
  }

  bool isClosed() const override { return closed_; }
  size_t queuedBytes() const override { return queued_; }

 private:
  HttpServer::Core& core_;
  Stream stream_;
  std::string remote_;  // the peer's address
  asio::steady_timer readTimer_, writeTimer_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> out_;
  std::vector<asio::const_buffer> batch_;
  size_t batchCount_ = 0;
  size_t queued_ = 0;
  bool writing_ = false, closed_ = false, closeAfterFlush_ = false, continueSent_ = false, paused_ = false;
  std::shared_ptr<Responder> current_;
};

void HttpServer::Core::accept() {
  acceptor.async_accept([self = shared_from_this()](const boost::system::error_code& ec, tcp::socket s) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !self->acceptor.is_open()) return;
      // Out of descriptors and the like: try again shortly instead of spinning.
      auto t = std::make_shared<asio::steady_timer>(self->io, std::chrono::milliseconds(50));
      t->async_wait([self, t](const boost::system::error_code&) {
        if (self->accepting) self->accept();
      });
      return;
    }
    if (self->open >= self->opts.maxConnections) {
      boost::system::error_code ig;
      s.close(ig);
    } else {
      boost::system::error_code ig;
      s.set_option(tcp::no_delay(true), ig);
      if (self->tlsCtx) {
        auto c = std::make_shared<Conn<ssl::stream<tcp::socket>>>(*self, ssl::stream<tcp::socket>(std::move(s), *self->tlsCtx));
        c->start();
        self->accept();
        return;
      }
      std::make_shared<Conn<tcp::socket>>(*self, std::move(s))->start();
    }
    self->accept();
  });
}

// --- Responder ----------------------------------------------------------------------------

Responder::Responder(std::shared_ptr<Impl> conn) : conn_(conn) {}
Responder::~Responder() = default;

namespace {
template <typename Op>
void onIo(const std::shared_ptr<Responder>& r, const std::weak_ptr<Responder::Impl>& wc, Op op) {
  auto c = wc.lock();
  if (!c) return;
  asio::dispatch(*c->io, [r, wc, op = std::move(op)]() mutable {
    auto conn = wc.lock();
    if (conn && !conn->isClosed()) op(*r, *conn);
  });
}
}  // namespace

void Responder::send(int status, std::string body, Headers headers) {
  headers.emplace_back("content-length", std::to_string(body.size()));
  onIo(shared_from_this(), conn_, [status, body = std::move(body), headers = std::move(headers)](Responder& r, Impl& c) mutable {
    ResponseOps::head(r, c, status, std::move(headers), false);
    if (!r.ended_ && !c.head && !body.empty()) c.queue(std::move(body));
    ResponseOps::end(r, c);
  });
}

void Responder::startStream(int status, Headers headers) {
  onIo(shared_from_this(), conn_, [status, headers = std::move(headers)](Responder& r, Impl& c) mutable {
    ResponseOps::head(r, c, status, std::move(headers), true);
  });
}

void Responder::write(std::string chunk) {
  onIo(shared_from_this(), conn_, [chunk = std::move(chunk)](Responder& r, Impl& c) mutable {
    if (!r.headSent_) ResponseOps::head(r, c, 200, {}, true);
    ResponseOps::body(r, c, std::move(chunk));
  });
}

void Responder::end() {
  onIo(shared_from_this(), conn_, [](Responder& r, Impl& c) { ResponseOps::end(r, c); });
}

void Responder::close() {
  onIo(shared_from_this(), conn_, [](Responder& r, Impl& c) {
    if (r.ended_) return;
    c.keepAlive = false;
    c.closeNow();
  });
}

void Responder::onDrain(std::function<void()> fn) {
  auto c = conn_.lock();
  if (!c) return;
  asio::dispatch(*c->io, [r = shared_from_this(), wc = conn_, fn = std::move(fn)]() mutable {
    auto conn = wc.lock();
    if (!conn || conn->isClosed() || r->closed_) return;
    if (conn->queuedBytes() == 0) {
      asio::post(*conn->io, std::move(fn));
      return;
    }
    r->onDrain_ = std::move(fn);
  });
}

void Responder::onClose(std::function<void()> fn) {
  auto c = conn_.lock();
  if (!c) {
    // Closed already (its connection is gone): nothing will call it later.
    if (!ended_ && fn) fn();
    return;
  }
  asio::dispatch(*c->io, [r = shared_from_this(), fn = std::move(fn)]() mutable {
    if (r->closed_) fn();
    else if (!r->ended_) r->onClose_ = std::move(fn);
  });
}

// --- HttpServer ------------------------------------------------------------------------------

HttpServer::HttpServer(HttpServerOptions opts, Handler handler) : core_(std::make_shared<Core>()) {
  core_->opts = std::move(opts);
  core_->handler = std::move(handler);
  const auto& o = core_->opts;
  if (!o.tlsCert.empty() || !o.tlsKey.empty()) {
    if (o.tlsCert.empty() || o.tlsKey.empty())
      fail(codes::kConfigError, "TLS needs both a certificate and a key (--tls-cert and --tls-key)");
    core_->tlsCtx.emplace(ssl::context::tls_server);
    core_->tlsCtx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                               ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    // Read here rather than by OpenSSL, whose message for a missing file is "asio.ssl error".
    auto pem = [](const std::string& path, const char* what) {
      try {
        return readRegularFile(path, 1 << 20);
      } catch (const Exception& e) {
        fail(codes::kConfigError, std::string("cannot load the TLS ") + what + ": " + e.error().message);
      }
    };
    std::string cert = pem(o.tlsCert, "certificate"), key = pem(o.tlsKey, "key");
    boost::system::error_code ec;
    core_->tlsCtx->use_certificate_chain(asio::buffer(cert), ec);
    if (ec)
      fail(codes::kConfigError, "cannot load the TLS certificate " + o.tlsCert + ": " + ec.message() +
                                    " (expected PEM: -----BEGIN CERTIFICATE-----, then any intermediates)");
    core_->tlsCtx->use_private_key(asio::buffer(key), ssl::context::pem, ec);
    if (ec)
      fail(codes::kConfigError, "cannot load the TLS key " + o.tlsKey + ": " + ec.message() +
                                    " (expected the certificate's private key in PEM, unencrypted)");
  }
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(o.host, ec);
  if (ec) fail(codes::kConfigError, "cannot listen on '" + o.host + "': not an IP address");
  tcp::endpoint ep(addr, static_cast<unsigned short>(o.port));
  core_->acceptor.open(ep.protocol(), ec);
  if (!ec) core_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) core_->acceptor.bind(ep, ec);
  if (!ec) core_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    fail(codes::kConfigError, "cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " + ec.message());
  core_->accept();
}

HttpServer::~HttpServer() {
  stop();
  // Connections hold the core by reference: let io destroy them (and their handlers) now.
  core_->io.restart();
  core_->io.poll();
}

int HttpServer::port() const {
  boost::system::error_code ec;
  auto ep = core_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}
bool HttpServer::tls() const {
  return core_->tlsCtx.has_value();
}
asio::io_context& HttpServer::io() { return core_->io; }

void HttpServer::run() {
  auto guard = asio::make_work_guard(core_->io);
  core_->io.run();
}

void HttpServer::stopAccepting() {
  asio::dispatch(core_->io, [core = core_] {
    core->accepting = false;
    boost::system::error_code ec;
    core->acceptor.close(ec);
    auto list = core->conns;
    for (auto& [p, w] : list)
      if (auto c = w.lock()) c->closeIfIdle();
  });
}

void HttpServer::stop() {
  asio::dispatch(core_->io, [core = core_] {
    core->accepting = false;
    boost::system::error_code ec;
    core->acceptor.close(ec);
    auto list = core->conns;
    for (auto& [p, w] : list)
      if (auto c = w.lock()) c->closeNow();
    core->io.stop();
  });
}

size_t HttpServer::openConnections() const { return core_->open.load(); }
size_t HttpServer::openResponses() const { return core_->responses.load(); }
uint64_t HttpServer::requests() const { return core_->requests.load(); }

}  // namespace llmspell::net
