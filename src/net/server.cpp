// Loopback HTTP/1.1 test server: Beast parses requests; responses are written by hand so tests
// control every byte and every pause (chunk per write, resets, half-sent bodies).
#include "net/server.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "llmspell/runtime/asio.hpp"

namespace llmspell::net {

namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {
std::string lowerStr(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}
}  // namespace

std::string ServerRequest::header(std::string_view name) const {
  const std::string* v = findHeader(headers, name);
  return v ? *v : std::string();
}

class Connection;

class ServerCore : public std::enable_shared_from_this<ServerCore> {
 public:
  // Declared before io so they outlive the handlers io destroys last.
  TestHttpServer::Handler handler;
  uint64_t bodyLimit = 256ull << 20;
  std::atomic<uint64_t> requests{0}, connections{0}, peerCloses{0};
  std::atomic<size_t> open{0};
  std::map<Connection*, std::weak_ptr<Connection>> conns;  // server thread only

  asio::io_context io;
  tcp::acceptor acceptor{io};

  void accept();
  void stopAll();

  // Response operations, run on the server thread.
  static void head(ResponseWriter& w, Connection& c, int status, Headers headers);
  static void body(ResponseWriter& w, Connection& c, std::string chunk);
  static void end(ResponseWriter& w, Connection& c);
  static void abort(ResponseWriter& w, Connection& c);
  static void close(ResponseWriter& w, Connection& c);
  static void peerGone(ResponseWriter& w);
  static void setPeerClose(ResponseWriter& w, std::function<void()> fn);
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(ServerCore& core, tcp::socket s) : core_(core), sock_(std::move(s)) { ++core_.open; }
  ~Connection() {
    if (!closed_) --core_.open;
  }

  void start() {
    core_.conns[this] = weak_from_this();
    read();
  }

  void read() {
    if (closed_) return;
    auto self = shared_from_this();
    sock_.async_read_some(buf_.prepare(16384),
                          [self](const boost::system::error_code& ec, size_t n) {
                            if (ec) {
                              self->gone();
                              return;
                            }
                            self->buf_.commit(n);
                            self->parse();
                            self->read();
                          });
  }

  // Parses buffered bytes into requests while no response is open (HTTP/1.1 pipelining order).
  void parse() {
    while (!current_ && !closed_ && buf_.size() > 0) {
      if (!parser_) {
        parser_.emplace();
        parser_->body_limit(core_.bodyLimit);
        parser_->header_limit(1 << 20);
        parser_->eager(true);
      }
      beast::error_code ec;
      size_t used = parser_->put(buf_.data(), ec);
      buf_.consume(used);
      if (ec == http::error::need_more) return;
      if (ec) {
        std::string msg = "bad request: " + ec.message();
        queue("HTTP/1.1 400 Bad Request\r\ncontent-length: " + std::to_string(msg.size()) +
              "\r\nconnection: close\r\n\r\n" + msg);
        closeAfterFlush_ = true;
        flushOrClose();
        return;
      }
      if (parser_->is_done()) {
        auto msg = parser_->release();
        parser_.reset();
        dispatch(std::move(msg));
      } else if (used == 0) {
        return;
      }
    }
  }

  void dispatch(http::request<http::string_body> msg) {
    ServerRequest rq;
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
      rq.headers.emplace_back(lowerStr(std::string_view(n.data(), n.size())),
                              std::string(v.data(), v.size()));
    }
    rq.body = std::move(msg.body());
    keepAlive_ = msg.keep_alive();
    head_ = rq.method == "HEAD";
    ++core_.requests;
    current_ = std::make_shared<ResponseWriter>(core_.shared_from_this(), weak_from_this());
    auto w = current_;
    try {
      core_.handler(rq, w);
    } catch (const std::exception& e) {
      w->send(500, std::string("handler failed: ") + e.what());  // ignored if a head was sent
    }
  }

  void queue(std::string bytes) {
    if (closed_) return;
    out_.push_back(std::move(bytes));
    if (!writing_) write();
  }

  void write() {
    if (out_.empty() || closed_) {
      writing_ = false;
      flushOrClose();
      return;
    }
    writing_ = true;
    auto self = shared_from_this();
    asio::async_write(sock_, asio::buffer(out_.front()),
                      [self](const boost::system::error_code& ec, size_t) {
                        if (ec) {
                          self->writing_ = false;
                          self->gone();
                          return;
                        }
                        if (!self->out_.empty()) self->out_.pop_front();
                        self->write();
                      });
  }

  void flushOrClose() {
    if (closeAfterFlush_ && out_.empty() && !writing_ && !closed_) {
      boost::system::error_code ec;
      sock_.shutdown(tcp::socket::shutdown_send, ec);
      closeSocket();
    }
  }

  // The current response ended: the next pipelined request may start.
  void responseDone() {
    current_.reset();
    if (!keepAlive_) {
      closeAfterFlush_ = true;
      flushOrClose();
      return;
    }
    auto self = shared_from_this();
    asio::post(core_.io, [self] { self->parse(); });
  }

  // The peer closed or the socket failed.
  void gone() {
    if (current_) {
      auto w = current_;
      current_.reset();
      ServerCore::peerGone(*w);
    }
    closeSocket();
  }

  void reset() {
    if (closed_) return;
    boost::system::error_code ec;
    sock_.set_option(asio::socket_base::linger(true, 0), ec);
    closeSocket();
  }

  void closeSocket() {
    if (closed_) return;
    closed_ = true;
    --core_.open;
    boost::system::error_code ec;
    sock_.close(ec);  // out_ is kept: an in-flight async_write may still reference its front
    core_.conns.erase(this);
  }

  bool closed() const { return closed_; }
  bool keepAlive() const { return keepAlive_; }
  bool isHead() const { return head_; }  // HEAD: headers only, whatever the handler writes
  void setCloseAfterFlush() {
    closeAfterFlush_ = true;
    flushOrClose();
  }
  const std::shared_ptr<ResponseWriter>& current() const { return current_; }

 private:
  ServerCore& core_;
  tcp::socket sock_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool closed_ = false;
  bool closeAfterFlush_ = false;
  bool keepAlive_ = true;
  bool head_ = false;
  std::shared_ptr<ResponseWriter> current_;
};

void ServerCore::accept() {
  // Raw `this`: the core owns io, so it outlives every handler io holds.
  acceptor.async_accept([self = this](const boost::system::error_code& ec, tcp::socket s) {
    if (ec) return;  // acceptor closed
    ++self->connections;
    boost::system::error_code ig;
    s.set_option(tcp::no_delay(true), ig);
    std::make_shared<Connection>(*self, std::move(s))->start();
    self->accept();
  });
}

void ServerCore::stopAll() {
  boost::system::error_code ec;
  acceptor.close(ec);
  auto list = conns;
  for (auto& [p, w] : list)
    if (auto c = w.lock()) c->closeSocket();
  io.stop();
}

void ServerCore::head(ResponseWriter& w, Connection& c, int status, Headers headers) {
  if (w.headSent_ || w.ended_ || c.closed()) return;
  w.headSent_ = true;
  bool hasLength = findHeader(headers, "content-length") != nullptr;
  bool hasTe = findHeader(headers, "transfer-encoding") != nullptr;
  bool noBody = status == 204 || status == 304 || (status >= 100 && status < 200) || c.isHead();
  w.chunked_ = !hasLength && !noBody;
  std::string reason(http::obsolete_reason(static_cast<http::status>(status)));
  std::string out =
      "HTTP/1.1 " + std::to_string(status) + " " + (reason.empty() ? "Status" : reason) + "\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (w.chunked_ && !hasTe) out += "transfer-encoding: chunked\r\n";
  if (!c.keepAlive()) out += "connection: close\r\n";
  out += "\r\n";
  c.queue(std::move(out));
}

void ServerCore::body(ResponseWriter& w, Connection& c, std::string chunk) {
  if (w.ended_ || c.closed()) return;
  if (!w.headSent_) head(w, c, 200, {});
  if (chunk.empty() || c.isHead()) return;
  if (w.chunked_) {
    char hex[32];
    std::snprintf(hex, sizeof hex, "%zx\r\n", chunk.size());
    c.queue(hex + chunk + "\r\n");
  } else {
    c.queue(std::move(chunk));
  }
}

void ServerCore::end(ResponseWriter& w, Connection& c) {
  if (w.ended_ || c.closed()) return;
  if (!w.headSent_) head(w, c, 200, {{"content-length", "0"}});
  if (w.chunked_) c.queue("0\r\n\r\n");
  w.ended_ = true;
  if (c.current().get() == &w) c.responseDone();
}

void ServerCore::abort(ResponseWriter& w, Connection& c) {
  if (w.ended_) return;
  w.ended_ = true;
  c.reset();
}

void ServerCore::close(ResponseWriter& w, Connection& c) {
  if (w.ended_) return;
  w.ended_ = true;
  c.setCloseAfterFlush();
}

void ServerCore::peerGone(ResponseWriter& w) {
  if (w.ended_ || w.peerClosed_) return;
  w.peerClosed_ = true;
  if (auto core = w.core_.lock()) ++core->peerCloses;
  auto fn = std::move(w.onPeerClose_);
  w.onPeerClose_ = nullptr;
  if (fn) fn();
}

void ServerCore::setPeerClose(ResponseWriter& w, std::function<void()> fn) {
  if (w.peerClosed_) {
    fn();
    return;
  }
  w.onPeerClose_ = std::move(fn);
}

// --- ResponseWriter: every call hops to the server thread -----------------------------------

ResponseWriter::ResponseWriter(std::shared_ptr<ServerCore> core, std::weak_ptr<void> conn)
    : core_(core), conn_(std::move(conn)) {}

namespace {
// Runs `op(writer, connection)` on the server thread if both are still there.
template <typename Op>
void onServer(const std::shared_ptr<ResponseWriter>& w, const std::weak_ptr<ServerCore>& wc,
              const std::weak_ptr<void>& conn, Op op) {
  auto core = wc.lock();
  if (!core) return;
  asio::post(core->io, [w, conn, op = std::move(op)]() mutable {
    auto c = std::static_pointer_cast<Connection>(conn.lock());
    if (c) op(*w, *c);
  });
}
}  // namespace

void ResponseWriter::writeHead(int status, Headers headers) {
  onServer(shared_from_this(), core_, conn_,
           [status, headers = std::move(headers)](ResponseWriter& w, Connection& c) mutable {
             ServerCore::head(w, c, status, std::move(headers));
           });
}

void ResponseWriter::write(std::string chunk) {
  onServer(shared_from_this(), core_, conn_,
           [chunk = std::move(chunk)](ResponseWriter& w, Connection& c) mutable {
             ServerCore::body(w, c, std::move(chunk));
           });
}

void ResponseWriter::end() {
  onServer(shared_from_this(), core_, conn_,
           [](ResponseWriter& w, Connection& c) { ServerCore::end(w, c); });
}

void ResponseWriter::send(int status, std::string body, Headers headers) {
  if (!findHeader(headers, "content-length"))
    headers.emplace_back("content-length", std::to_string(body.size()));
  onServer(shared_from_this(), core_, conn_,
           [status, body = std::move(body), headers = std::move(headers)](ResponseWriter& w,
                                                                          Connection& c) mutable {
             ServerCore::head(w, c, status, std::move(headers));
             ServerCore::body(w, c, std::move(body));
             ServerCore::end(w, c);
           });
}

void ResponseWriter::abort() {
  onServer(shared_from_this(), core_, conn_,
           [](ResponseWriter& w, Connection& c) { ServerCore::abort(w, c); });
}

void ResponseWriter::close() {
  onServer(shared_from_this(), core_, conn_,
           [](ResponseWriter& w, Connection& c) { ServerCore::close(w, c); });
}

void ResponseWriter::onPeerClose(std::function<void()> fn) {
  auto core = core_.lock();
  if (!core) return;
  asio::post(core->io, [w = shared_from_this(), fn = std::move(fn)]() mutable {
    ServerCore::setPeerClose(*w, std::move(fn));
  });
}

void ResponseWriter::after(double seconds, std::function<void()> fn) {
  auto core = core_.lock();
  if (!core) return;
  auto t = std::make_shared<asio::steady_timer>(core->io);
  t->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds < 0 ? 0 : seconds)));
  // The timer is created here but waited on the server thread (timers are not thread-safe).
  asio::post(core->io, [t, fn = std::move(fn)]() mutable {
    t->async_wait([t, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (!ec) fn();
    });
  });
}

// --- TestHttpServer -------------------------------------------------------------------------

TestHttpServer::TestHttpServer(Handler handler, ServerOptions opts) : core_(std::make_shared<ServerCore>()) {
  core_->handler = std::move(handler);
  core_->bodyLimit = opts.bodyLimit;
  auto addr = asio::ip::make_address(opts.host);
  host_ = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  tcp::endpoint ep(addr, static_cast<unsigned short>(opts.port));
  core_->acceptor.open(ep.protocol());
  core_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  core_->acceptor.bind(ep);
  core_->acceptor.listen(asio::socket_base::max_listen_connections);
  port_ = core_->acceptor.local_endpoint().port();
  core_->accept();
  thread_ = std::thread([core = core_] { core->io.run(); });
}

TestHttpServer::~TestHttpServer() {
  asio::post(core_->io, [core = core_.get()] { core->stopAll(); });
  thread_.join();
}

std::string TestHttpServer::url(std::string_view path) const {
  return "http://" + host_ + ":" + std::to_string(port_) + std::string(path);
}

uint64_t TestHttpServer::requests() const {
  return core_->requests.load();
}
uint64_t TestHttpServer::connections() const {
  return core_->connections.load();
}
uint64_t TestHttpServer::peerCloses() const {
  return core_->peerCloses.load();
}
size_t TestHttpServer::openConnections() const {
  return core_->open.load();
}

}  // namespace llmspell::net
