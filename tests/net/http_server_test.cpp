// The serve HTTP server over real loopback sockets: keep-alive, limits, slow clients, streaming
// with backpressure, draining, CORS and TLS.
#include "llmspell/net/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include "llmspell/core/error.hpp"
#include "llmspell/runtime/asio.hpp"

namespace llmspell::net {
namespace {

using tcp = asio::ip::tcp;

struct Running {
  HttpServer srv;
  std::thread t;
  Running(HttpServerOptions o, HttpServer::Handler h) : srv(std::move(o), std::move(h)) {
    t = std::thread([this] { srv.run(); });
  }
  ~Running() {
    srv.stop();
    t.join();
  }
};

// Sends `bytes` on a new connection and reads until the server closes it.
std::string exchange(int port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  asio::write(s, asio::buffer(bytes));
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  while (true) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

int count(const std::string& hay, const std::string& needle) {
  int n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

HttpServer::Handler echo() {
  return [](const IncomingRequest& rq, ResponderPtr res) {
    res->send(200, rq.method + " " + rq.path + " " + std::to_string(rq.body.size()), {{"content-type", "text/plain"}});
  };
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnection) {
  Running r({}, echo());
  std::string out = exchange(r.srv.port(),
                             "GET /a HTTP/1.1\r\nhost: x\r\n\r\n"
                             "POST /b HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc"
                             "GET /c HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK"), 3) << out;
  EXPECT_NE(out.find("GET /a 0"), std::string::npos);
  EXPECT_NE(out.find("POST /b 3"), std::string::npos);
  EXPECT_NE(out.find("GET /c 0"), std::string::npos);
  EXPECT_EQ(r.srv.requests(), 3u);
}

TEST(HttpServer, OversizeBodyGets413WithoutReadingIt) {
  HttpServerOptions o;
  o.bodyLimit = 100;
  Running r(o, echo());
  std::string out = exchange(r.srv.port(), "POST /x HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\n" + std::string(1000, 'a'));
  EXPECT_EQ(out.rfind("HTTP/1.1 413", 0), 0u) << out;
  EXPECT_NE(out.find("larger than the limit of 100 bytes"), std::string::npos) << out;
}

TEST(HttpServer, MalformedRequestGets400) {
  Running r({}, echo());
  std::string out = exchange(r.srv.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << out;
}

TEST(HttpServer, ExpectContinueGetsInterimResponse) {
  // curl sends bodies over 1 KiB this way: the head, then the body once the server said 100.
  Running r({}, echo());
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.srv.port())));
  asio::write(s, asio::buffer(std::string(
                     "POST /x HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 2\r\nconnection: close\r\n\r\n")));
  std::string out;
  asio::read_until(s, asio::dynamic_buffer(out), "\r\n\r\n");
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  asio::write(s, asio::buffer(std::string("hi")));
  boost::system::error_code ec;
  asio::read(s, asio::dynamic_buffer(out), ec);
  EXPECT_NE(out.find("POST /x 2"), std::string::npos) << out;
}

TEST(HttpServer, SlowClientWhoseRequestNeverEndsGets408) {
  HttpServerOptions o;
  o.headerTimeout = 0.2;
  Running r(o, echo());
  // Half a request head, then nothing: the server answers 408 and closes (exchange returns).
  std::string out = exchange(r.srv.port(), "GET /x HTTP/1.1\r\nhost: x\r\n");
  EXPECT_EQ(out.rfind("HTTP/1.1 408", 0), 0u) << out;
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions o;
  o.idleTimeout = 0.2;
  Running r(o, echo());
  // One request, then the client stays silent: the server closes (exchange returns).
  std::string out = exchange(r.srv.port(), "GET /x HTTP/1.1\r\nhost: x\r\n\r\n");
  EXPECT_EQ(count(out, "HTTP/1.1 200"), 1) << out;
}

TEST(HttpServer, StreamWriterWaitsForTheClientToDrain) {
  // The writer queues the next 64 KiB only when the last were taken: a client that reads slowly
  // never makes the server hold more than one piece.
  constexpr int kPieces = 64;
  std::atomic<size_t> maxBuffered{0};
  Running r({}, [&](const IncomingRequest&, ResponderPtr res) {
    res->startStream(200, {{"content-type", "text/event-stream"}});
    auto n = std::make_shared<int>(0);
    auto next = std::make_shared<std::function<void()>>();
    *next = [res, n, next, &maxBuffered] {
      maxBuffered = std::max(maxBuffered.load(), res->buffered());
      if (++*n > kPieces) {
        res->end();
        *next = nullptr;  // breaks the cycle
        return;
      }
      res->write(sseEvent(std::to_string(*n), "", std::string(64 << 10, 'x')));
      res->onDrain(*next);
    };
    (*next)();
  });
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.srv.port())));
  asio::write(s, asio::buffer(std::string("GET /s HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")));
  std::string out;
  char buf[1024];  // small reads: the client is slower than the server
  boost::system::error_code ec;
  while (true) {
    size_t got = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, got);
  }
  EXPECT_EQ(count(out, "\nid: "), kPieces) << out.size();
  EXPECT_NE(out.find("\r\n0\r\n\r\n"), std::string::npos);
  EXPECT_LE(maxBuffered.load(), size_t{(64 << 10) + 200});
}

TEST(HttpServer, ClientGoneIsReportedToTheStream) {
  std::atomic<bool> closed{false};
  Running r({}, [&](const IncomingRequest&, ResponderPtr res) {
    res->startStream(200, {{"content-type", "text/event-stream"}});
    res->write("data: hi\n\n");
    res->onClose([&] { closed = true; });
  });
  {
    asio::io_context io;
    tcp::socket s(io);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.srv.port())));
    asio::write(s, asio::buffer(std::string("GET /s HTTP/1.1\r\nhost: x\r\n\r\n")));
    char buf[256];
    s.read_some(asio::buffer(buf));
  }
  for (int i = 0; i < 500 && !closed; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(closed.load());
  EXPECT_EQ(r.srv.openResponses(), 0u);
}

TEST(HttpServer, DrainFinishesInFlightResponsesAndRefusesNewConnections) {
  ResponderPtr held;
  std::atomic<bool> got{false};
  Running r({}, [&](const IncomingRequest&, ResponderPtr res) {
    held = res;
    got = true;
  });
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.srv.port())));
  asio::write(s, asio::buffer(std::string("GET /slow HTTP/1.1\r\nhost: x\r\n\r\n")));
  while (!got) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  r.srv.stopAccepting();
  while (r.srv.openConnections() != 1u) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // New connections are refused once the listener is closed.
  tcp::socket s2(io);
  boost::system::error_code ec;
  for (int i = 0; i < 200; ++i) {
    s2.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(r.srv.port())), ec);
    if (ec) break;
    s2.close();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(ec) << "the listener still accepts";
  // The in-flight response still completes, and the connection then closes.
  held->send(200, "done");
  std::string out;
  char buf[1024];
  while (true) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  EXPECT_NE(out.find("connection: close"), std::string::npos) << out;
  EXPECT_NE(out.find("done"), std::string::npos) << out;
}

TEST(HttpServer, TlsWithAMissingOrHalfGivenCertificateIsAConfigError) {
  HttpServerOptions half;
  half.tlsCert = "cert.pem";
  EXPECT_THROW(HttpServer(half, echo()), Exception);
  HttpServerOptions missing;
  missing.tlsCert = "/nonexistent-llmspell/cert.pem";
  missing.tlsKey = "/nonexistent-llmspell/key.pem";
  try {
    HttpServer srv(missing, echo());
    ADD_FAILURE() << "a missing certificate was accepted";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kConfigError);
    EXPECT_NE(std::string(e.what()).find("cannot load the TLS certificate"), std::string::npos) << e.what();
  }
}

TEST(HttpServer, CorsHeadersOnlyWhenConfigured) {
  std::string req = "GET /x HTTP/1.1\r\nhost: x\r\norigin: https://app.example\r\nconnection: close\r\n\r\n";
  {
    Running r({}, echo());
    EXPECT_EQ(exchange(r.srv.port(), req).find("access-control-allow-origin"), std::string::npos);
  }
  HttpServerOptions o;
  o.corsOrigins = {"https://app.example"};
  Running r(o, echo());
  EXPECT_NE(exchange(r.srv.port(), req).find("access-control-allow-origin: https://app.example"), std::string::npos);
  std::string pre = exchange(r.srv.port(),
                             "OPTIONS /x HTTP/1.1\r\nhost: x\r\norigin: https://app.example\r\n"
                             "access-control-request-method: POST\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(pre.rfind("HTTP/1.1 204", 0), 0u) << pre;
  EXPECT_NE(pre.find("access-control-allow-methods"), std::string::npos);
  std::string other = exchange(r.srv.port(), "GET /x HTTP/1.1\r\nhost: x\r\norigin: https://evil.example\r\nconnection: close\r\n\r\n");
  EXPECT_EQ(other.find("access-control-allow-origin"), std::string::npos);
}

TEST(HttpServer, ServesHttpsWithAGivenCertificate) {
  namespace fs = std::filesystem;
  std::string dir = testing::TempDir() + "/llmspell_tls_" + std::to_string(getpid());
  fs::create_directories(dir);
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  std::string gen = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                    " -days 1 -subj /CN=127.0.0.1 >/dev/null 2>&1";
  ASSERT_EQ(std::system(gen.c_str()), 0);
  HttpServerOptions o;
  o.tlsCert = cert;
  o.tlsKey = key;
  Running r(o, echo());
  EXPECT_TRUE(r.srv.tls());
  std::string url = "https://127.0.0.1:" + std::to_string(r.srv.port()) + "/secure";
  FILE* p = popen(("curl -sS --cacert " + cert + " " + url + " 2>&1").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  pclose(p);
  EXPECT_EQ(out, "GET /secure 0");
  fs::remove_all(dir);

  HttpServerOptions bad;
  bad.tlsCert = dir + "/missing.pem";
  bad.tlsKey = key;
  EXPECT_THROW(HttpServer(bad, echo()), Exception);
}

}  // namespace
}  // namespace llmspell::net
