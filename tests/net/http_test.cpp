// HttpClient against the loopback Beast server: real sockets, real curl, the real Loop.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "llmspell/core/convert.hpp"
#include "llmspell/net/http.hpp"
#include "llmspell/net/sse.hpp"
#include "net/server.hpp"

using namespace llmspell;
using namespace llmspell::net;

namespace {

class HttpTest : public ::testing::Test {
 protected:
  Loop loop{1};
  std::shared_ptr<HttpClient> client = HttpClient::forLoop(loop);

  // Runs the loop until `p` settles. A hang guard (not a timing assertion) cancels it after
  // `guard` seconds so a broken client fails the test instead of hanging CTest.
  void wait(const PromisePtr& p, double guard = 30) {
    auto h = loop.setTimeout(guard,
                             [p] { p->cancel(Error(codes::kInternal, "test hang guard fired")); });
    loop.runUntil([&] { return !p->pending(); });
    h.cancel();
    ASSERT_FALSE(p->pending());
  }
  // Runs the loop until `pred` holds (checking every 5 ms), at most `guard` seconds.
  bool waitUntil(const std::function<bool()>& pred, double guard = 20) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(guard);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      auto s = loop.sleep(0.005);
      loop.runUntil([&] { return !s->pending(); });
    }
    return true;
  }
  HttpResponsePtr fetch(HttpRequest rq) {
    auto p = client->request(std::move(rq));
    wait(p);
    if (p->rejected()) {
      ADD_FAILURE() << "request failed: " << p->error().toString();
      return std::make_shared<HttpResponse>();
    }
    return responsePtrOf(p->value());
  }
  Error fetchError(HttpRequest rq) {
    auto p = client->request(std::move(rq));
    wait(p);
    if (!p->rejected()) {
      ADD_FAILURE() << "expected a failure, got status " << responseOf(p->value()).status;
      return Error();
    }
    return p->error();
  }
};

HttpRequest get(std::string url) {
  HttpRequest r;
  r.url = std::move(url);
  return r;
}

}  // namespace

TEST_F(HttpTest, GetReturnsStatusLowercasedMultiValuedHeadersAndBody) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    res->send(200, "hello " + rq.path,
              {{"Content-Type", "text/plain"},
               {"Set-Cookie", "a=1"},
               {"Set-Cookie", "b=2"},
               {"X-Custom", "v"}});
  });
  auto r = fetch(get(srv.url("/hi")));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello /hi");
  ASSERT_NE(r->header("content-type"), nullptr);
  EXPECT_EQ(*r->header("Content-Type"), "text/plain");
  EXPECT_EQ(headerValues(r->headers, "set-cookie"), (std::vector<std::string>{"a=1", "b=2"}));
  bool sawLower = false;
  for (auto& [k, v] : r->headers) {
    if (k == "x-custom") sawLower = true;
    for (char c : k) EXPECT_FALSE(c >= 'A' && c <= 'Z') << k;
  }
  EXPECT_TRUE(sawLower);
  EXPECT_EQ(r->effectiveUrl, srv.url("/hi"));
  EXPECT_EQ(r->bytesReceived, 9u);
  EXPECT_GE(r->timing.totalMs, r->timing.firstByteMs);
}

TEST_F(HttpTest, PostSendsMethodHeadersAndBody) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    auto echo = Value::object({{"method", rq.method},
                               {"body", rq.body},
                               {"ct", rq.header("content-type")},
                               {"auth", rq.header("authorization")},
                               {"ua", rq.header("user-agent")},
                               {"expect", rq.header("expect")},
                               {"query", rq.query}});
    res->send(201, toJsonText(echo), {{"content-type", "application/json"}});
  });
  HttpRequest rq;
  rq.method = "post";
  rq.url = appendQuery(srv.url("/echo"), {{"q", "a b&c"}, {"n a", "1"}});
  rq.headers = {{"Content-Type", "application/json"}, {"Authorization", "Bearer x"}};
  rq.body = std::string(100000, 'z');  // large enough that curl would send Expect: 100-continue
  auto r = fetch(rq);
  EXPECT_EQ(r->status, 201);
  Value v = parseJson(r->body);
  EXPECT_EQ(v.getString("method"), "POST");
  EXPECT_EQ(v.getString("body"), rq.body);
  EXPECT_EQ(v.getString("ct"), "application/json");
  EXPECT_EQ(v.getString("auth"), "Bearer x");
  EXPECT_EQ(v.getString("ua"), "llmspell/0.1");
  EXPECT_EQ(v.getString("expect"), "");
  EXPECT_EQ(v.getString("query"), "q=a%20b%26c&n%20a=1");
}

TEST_F(HttpTest, PutDeleteAndHeadMethods) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    res->send(200, rq.method + ":" + rq.body, {{"x-method", rq.method}});
  });
  HttpRequest put = get(srv.url("/r"));
  put.method = "PUT";
  put.body = "data";
  EXPECT_EQ(fetch(put)->body, "PUT:data");
  HttpRequest del = get(srv.url("/r"));
  del.method = "DELETE";
  EXPECT_EQ(fetch(del)->body, "DELETE:");
  HttpRequest head = get(srv.url("/r"));
  head.method = "HEAD";
  auto h = fetch(head);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "");
  EXPECT_EQ(*h->header("x-method"), "HEAD");
  // The kept-alive connection is still in sync after a HEAD.
  EXPECT_EQ(fetch(get(srv.url("/r")))->body, "GET:");
  EXPECT_EQ(srv.connections(), 1u);
}

TEST_F(HttpTest, LargeBodyArrivesIntact) {
  std::string big;
  big.reserve(8 << 20);
  for (size_t i = 0; big.size() < (8u << 20); ++i) big += std::to_string(i) + ",";
  TestHttpServer srv([&big](const ServerRequest&, ResponsePtr res) {
    // Chunked, in 64 KiB pieces.
    res->writeHead(200, {{"content-type", "application/octet-stream"}});
    for (size_t off = 0; off < big.size(); off += 65536) res->write(big.substr(off, 65536));
    res->end();
  });
  auto r = fetch(get(srv.url("/big")));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), big.size());
  EXPECT_TRUE(r->body == big);
}

TEST_F(HttpTest, ChunkedStreamIsDeliveredInPiecesAsItArrives) {
  std::atomic<int> written{0};
  TestHttpServer srv([&](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {{"content-type", "text/event-stream"}});
    // Each step schedules the next; the pending timer holds the only strong reference.
    auto step = std::make_shared<std::function<void(int)>>();
    *step = [res, &written, weak = std::weak_ptr<std::function<void(int)>>(step)](int i) {
      if (i == 5) {
        res->end();
        return;
      }
      res->write("data: {\"i\":" + std::to_string(i) + "}\n\n");
      ++written;
      if (auto next = weak.lock()) res->after(0.1, [next, i] { (*next)(i + 1); });
    };
    (*step)(0);
  });
  std::vector<int> writtenAtReceipt;
  std::vector<std::string> events;
  int headersStatus = 0;
  bool headersBeforeData = false;
  SseParser sse([&](const SseEvent& e) { events.push_back(e.data); });
  HttpRequest rq = get(srv.url("/stream"));
  rq.onHeaders = [&](int status, const Headers& h) {
    headersStatus = status;
    headersBeforeData = writtenAtReceipt.empty();
    EXPECT_NE(findHeader(h, "content-type"), nullptr);
  };
  rq.onData = [&](std::string_view chunk) {
    writtenAtReceipt.push_back(written.load());
    sse.feed(chunk);
  };
  auto p = client->request(rq);
  wait(p);
  ASSERT_TRUE(p->fulfilled()) << p->error().toString();
  sse.finish();
  EXPECT_EQ(headersStatus, 200);
  EXPECT_TRUE(headersBeforeData);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[4], "{\"i\":4}");
  // Streaming, not buffering: several deliveries, the first before the server wrote the last.
  EXPECT_GE(writtenAtReceipt.size(), 2u);
  EXPECT_LT(writtenAtReceipt.front(), 5);
  EXPECT_EQ(responseOf(p->value()).body, "");  // streamed bodies are not accumulated
  EXPECT_GT(responseOf(p->value()).bytesReceived, 0u);
}

TEST_F(HttpTest, Status429IsAResponseWithRetryAfterVisible) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->send(429, R"({"error":{"message":"slow down"}})",
              {{"Retry-After", "2"}, {"content-type", "application/json"}});
  });
  auto r = fetch(get(srv.url("/v1/chat")));
  EXPECT_EQ(r->status, 429);
  ASSERT_NE(r->header("retry-after"), nullptr);
  EXPECT_EQ(*r->header("retry-after"), "2");
  EXPECT_EQ(parseJson(r->body).get("error").getString("message"), "slow down");
}

TEST_F(HttpTest, StreamingErrorStatusBodyIsBufferedNotStreamed) {
  TestHttpServer srv(
      [](const ServerRequest&, ResponsePtr res) { res->send(500, R"({"error":"boom"})"); });
  HttpRequest rq = get(srv.url("/x"));
  int dataCalls = 0, status = 0;
  rq.onHeaders = [&](int s, const Headers&) { status = s; };
  rq.onData = [&](std::string_view) { ++dataCalls; };
  auto r = fetch(rq);
  EXPECT_EQ(status, 500);
  EXPECT_EQ(dataCalls, 0);
  EXPECT_EQ(r->body, R"({"error":"boom"})");
}

TEST_F(HttpTest, ConnectionResetMidBodyIsRetryableNetworkError) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {{"content-length", "100000"}});
    res->write(std::string(1000, 'x'));
    res->after(0.05, [res] { res->abort(); });
  });
  Error e = fetchError(get(srv.url("/reset")));
  EXPECT_EQ(e.code, "network_error") << e.toString();
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.details.getString("url"), srv.url("/reset"));
}

TEST_F(HttpTest, ClosedMidChunkedBodyIsNetworkError) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    res->write("partial");
    res->after(0.02, [res] { res->close(); });
  });
  HttpRequest rq = get(srv.url("/close"));
  std::string got;
  rq.onData = [&](std::string_view c) { got += c; };
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "network_error") << e.toString();
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(got, "partial");
}

TEST_F(HttpTest, ConnectionRefusedIsNetworkError) {
  int port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  Error e = fetchError(get("http://127.0.0.1:" + std::to_string(port) + "/"));
  EXPECT_EQ(e.code, "network_error") << e.toString();
  EXPECT_TRUE(e.retryable);
}

TEST_F(HttpTest, IdleTimeoutBetweenChunks) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    res->write("first");
    res->after(20, [res] { res->end(); });  // far beyond the idle timeout
  });
  HttpRequest rq = get(srv.url("/idle"));
  rq.idleTimeout = 0.3;
  std::string got;
  rq.onData = [&](std::string_view c) { got += c; };
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "timeout") << e.toString();
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.details.getString("timeout"), "idle");
  EXPECT_EQ(got, "first");
  // The server sees the connection go away.
  EXPECT_TRUE(waitUntil([&] { return srv.peerCloses() == 1; }));
}

TEST_F(HttpTest, IdleTimeoutCoversSlowFirstByte) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->after(20, [res] { res->send(200, "late"); });
  });
  HttpRequest rq = get(srv.url("/slow"));
  rq.idleTimeout = 0.3;
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "timeout") << e.toString();
}

TEST_F(HttpTest, IdleTimerIsResetByEachChunk) {
  // Chunks every 50 ms for 1.5 s with a 1 s idle timeout: the total exceeds the idle timeout
  // but no gap does, so the request succeeds.
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    for (int i = 0; i < 30; ++i) res->after(0.05 * (i + 1), [res] { res->write("."); });
    res->after(1.55, [res] { res->end(); });
  });
  HttpRequest rq = get(srv.url("/trickle"));
  rq.idleTimeout = 1.0;
  auto r = fetch(rq);
  EXPECT_EQ(r->body, std::string(30, '.'));
}

TEST_F(HttpTest, TotalTimeout) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    for (int i = 0; i < 100; ++i) res->after(0.05 * (i + 1), [res] { res->write("."); });
    res->after(6, [res] { res->end(); });
  });
  HttpRequest rq = get(srv.url("/long"));
  rq.totalTimeout = 0.4;
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "timeout") << e.toString();
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.details.getString("timeout"), "total");
}

TEST_F(HttpTest, MaxResponseBytesWithContentLength) {
  TestHttpServer srv(
      [](const ServerRequest&, ResponsePtr res) { res->send(200, std::string(1 << 20, 'a')); });
  HttpRequest rq = get(srv.url("/big"));
  rq.maxResponseBytes = 1000;
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "limit_exceeded") << e.toString();
  EXPECT_FALSE(e.retryable);
}

TEST_F(HttpTest, MaxResponseBytesWhileStreamingChunked) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    for (int i = 0; i < 100; ++i) res->write(std::string(100, 'b'));
    res->end();
  });
  HttpRequest rq = get(srv.url("/chunks"));
  rq.maxResponseBytes = 1000;
  uint64_t delivered = 0;
  rq.onData = [&](std::string_view c) { delivered += c.size(); };
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "limit_exceeded") << e.toString();
  EXPECT_LE(delivered, 1000u);
}

TEST_F(HttpTest, CancelMidStreamRejectsCancelledAndServerSeesClose) {
  std::atomic<int> written{0};
  TestHttpServer srv([&](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {{"content-type", "text/event-stream"}});
    for (int i = 0; i < 200; ++i)
      res->after(0.02 * i, [res, &written] {
        res->write("data: tick\n\n");
        ++written;
      });
    res->after(0.02 * 200 + 0.1, [res] { res->end(); });
  });
  HttpRequest rq = get(srv.url("/ticks"));
  PromisePtr p;
  int chunks = 0;
  rq.onData = [&](std::string_view) {
    if (++chunks == 2) p->cancel();  // cancel from inside the data callback
  };
  p = client->request(rq);
  wait(p);
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, "cancelled");
  EXPECT_EQ(chunks, 2);  // no data after cancel
  EXPECT_TRUE(waitUntil([&] { return srv.peerCloses() == 1; })) << "server did not see the close";
  EXPECT_LT(written.load(), 200);
  EXPECT_TRUE(waitUntil([&] { return client->active() == 0; }));
}

TEST_F(HttpTest, CancelScopeCancelsInFlightRequest) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->after(30, [res] { res->send(200, "late"); });
  });
  CancelScope scope;
  auto p = client->request(get(srv.url("/hang")));
  scope.add(p);
  auto t =
      loop.setTimeout(0.1, [&] { scope.cancelAll(Error(codes::kCancelled, "run cancelled")); });
  wait(p);
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, "cancelled");
  EXPECT_EQ(p->error().message, "run cancelled");
  EXPECT_TRUE(waitUntil([&] { return srv.openConnections() == 0; }));
  EXPECT_EQ(client->active(), 0u);
}

TEST_F(HttpTest, CallbackExceptionAbortsWithItsError) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {});
    res->write("x");
    res->after(0.05, [res] {
      res->write("y");
      res->end();
    });
  });
  HttpRequest rq = get(srv.url("/"));
  rq.onData = [](std::string_view) { fail(codes::kValidationFailed, "bad chunk"); };
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "validation_failed");
  EXPECT_EQ(e.message, "bad chunk");
}

TEST_F(HttpTest, HundredConcurrentRequestsOnOneLoop) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    res->after(0.01, [res, path = rq.path] { res->send(200, path); });
  });
  std::vector<PromisePtr> ps;
  for (int i = 0; i < 100; ++i)
    ps.push_back(client->request(get(srv.url("/r" + std::to_string(i)))));
  EXPECT_EQ(client->active(), 100u);
  auto all = promiseAll(ps);
  wait(all, 60);
  ASSERT_TRUE(all->fulfilled()) << all->error().toString();
  for (int i = 0; i < 100; ++i) {
    const auto& r = responseOf(all->value().asArray()[i]);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "/r" + std::to_string(i));
  }
  EXPECT_EQ(srv.requests(), 100u);
  EXPECT_EQ(client->active(), 0u);
}

TEST_F(HttpTest, ConnectionsAreReused) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) { res->send(200, "ok"); });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fetch(get(srv.url("/k")))->body, "ok");
  EXPECT_EQ(srv.connections(), 1u);
}

TEST_F(HttpTest, RedirectsFollowedForGetNotForPost) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    if (rq.path == "/a")
      res->send(302, "moved", {{"location", "/b?x=1"}});
    else if (rq.path == "/loop")
      res->send(301, "", {{"location", "/loop"}});
    else
      res->send(200, rq.method + " " + rq.target);
  });
  auto r = fetch(get(srv.url("/a")));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /b?x=1");
  EXPECT_EQ(r->redirects, 1);
  EXPECT_EQ(r->effectiveUrl, srv.url("/b?x=1"));

  HttpRequest post = get(srv.url("/a"));
  post.method = "POST";
  post.body = "{}";
  EXPECT_EQ(fetch(post)->status, 302);
  post.followRedirects = true;
  EXPECT_EQ(fetch(post)->body, "GET /b?x=1");  // 302 after POST continues as GET

  HttpRequest loopy = get(srv.url("/loop"));
  loopy.maxRedirects = 3;
  Error e = fetchError(loopy);
  EXPECT_EQ(e.code, "network_error");
  EXPECT_NE(e.message.find("too many redirects"), std::string::npos);
}

TEST_F(HttpTest, PermissionCheckedBeforeConnectingAndOnEveryRedirect) {
  TestHttpServer srv([&](const ServerRequest& rq, ResponsePtr res) {
    if (rq.path == "/out")
      res->send(302, "", {{"location", "http://localhost:" + std::to_string(srv.port()) + "/x"}});
    else
      res->send(200, "in");
  });
  Permissions none;
  HttpRequest rq = get(srv.url("/in"));
  rq.checkUrl = netPermissionCheck(none);
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "permission_denied");
  EXPECT_NE(e.message.find("127.0.0.1"), std::string::npos) << e.message;
  EXPECT_EQ(srv.requests(), 0u);  // refused before connecting

  Permissions local;
  local.allowNet("127.0.0.1:" + std::to_string(srv.port()));
  rq.checkUrl = netPermissionCheck(local);
  EXPECT_EQ(fetch(rq)->body, "in");
  HttpRequest out = get(srv.url("/out"));
  out.checkUrl = netPermissionCheck(local);
  Error e2 = fetchError(out);
  EXPECT_EQ(e2.code, "permission_denied");
  EXPECT_NE(e2.message.find("localhost"), std::string::npos) << e2.message;
  EXPECT_EQ(srv.requests(), 2u);  // the redirect target was never requested

  // Trusted (provider) hosts pass without a grant.
  HttpRequest trusted = get(srv.url("/in"));
  trusted.checkUrl = netPermissionCheck(none, {"127.0.0.1"});
  EXPECT_EQ(fetch(trusted)->body, "in");
}

TEST_F(HttpTest, BadInputRejectsWithInvalidArgument) {
  EXPECT_EQ(fetchError(get("not a url")).code, "invalid_argument");
  EXPECT_EQ(fetchError(get("file:///etc/passwd")).code, "invalid_argument");
  EXPECT_EQ(fetchError(get("ftp://example.com/")).code, "invalid_argument");
  HttpRequest bad = get("http://127.0.0.1:1/");
  bad.method = "GE T";
  EXPECT_EQ(fetchError(bad).code, "invalid_argument");
  HttpRequest inj = get("http://127.0.0.1:1/");
  inj.headers = {{"x", "a\r\nInjected: 1"}};
  EXPECT_EQ(fetchError(inj).code, "invalid_argument");
}

TEST(Url, ParseResolveAppend) {
  auto u = parseUrl("HTTPS://API.Example.com/v1/chat?x=1");
  EXPECT_EQ(u.scheme, "https");
  EXPECT_EQ(u.host, "api.example.com");
  EXPECT_EQ(u.port, 443);
  EXPECT_EQ(u.path, "/v1/chat");
  EXPECT_EQ(u.query, "x=1");
  EXPECT_EQ(parseUrl("http://[::1]:8080").host, "::1");
  EXPECT_EQ(parseUrl("http://[::1]:8080").port, 8080);
  EXPECT_EQ(parseUrl("http://h").port, 80);
  EXPECT_EQ(parseUrl("http://h").path, "/");
  EXPECT_THROW(parseUrl("javascript:alert(1)"), Exception);
  EXPECT_THROW(parseUrl("http://"), Exception);
  EXPECT_EQ(resolveUrl("http://a/b/c", "../d"), "http://a/d");
  EXPECT_EQ(resolveUrl("http://a/b/c", "https://x/y"), "https://x/y");
  EXPECT_EQ(appendQuery("http://a/p?k=v", {{"x", "1 2"}}), "http://a/p?k=v&x=1%202");
}

TEST(HttpClientLifetime, ForLoopSharesOneClientPerLoop) {
  Loop a(1), b(1);
  auto c1 = HttpClient::forLoop(a);
  auto c2 = HttpClient::forLoop(a);
  auto c3 = HttpClient::forLoop(b);
  EXPECT_EQ(c1.get(), c2.get());
  EXPECT_NE(c1.get(), c3.get());
}

TEST(HttpClientLifetime, DestroyingClientRejectsInFlightAsCancelled) {
  TestHttpServer srv(
      [](const ServerRequest&, ResponsePtr res) { res->after(30, [res] { res->send(200, ""); }); });
  Loop loop(1);
  PromisePtr p;
  {
    HttpClient c(loop);  // not shared: in-flight requests do not keep it alive
    HttpRequest rq;
    rq.url = srv.url("/");
    p = c.request(rq);
    auto s = loop.sleep(0.05);
    loop.runUntil([&] { return !s->pending(); });
  }
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, "cancelled");
}

TEST_F(HttpTest, HostNameIsResolvedThroughTheLoop) {
  // "localhost" goes through curl's resolver (not a literal address) without blocking the loop.
  TestHttpServer srv(
      [](const ServerRequest& rq, ResponsePtr res) { res->send(200, rq.header("host")); });
  auto r = fetch(get("http://localhost:" + std::to_string(srv.port()) + "/"));
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "localhost:" + std::to_string(srv.port()));
}

TEST_F(HttpTest, TlsHandshakeWithAPlainServerIsNetworkError) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) { res->send(200, "plain"); });
  HttpRequest rq = get("https://127.0.0.1:" + std::to_string(srv.port()) + "/");
  rq.totalTimeout = 10;
  Error e = fetchError(rq);
  EXPECT_EQ(e.code, "network_error") << e.toString();
  EXPECT_TRUE(e.details.get("curl_code").isInt());
}

TEST_F(HttpTest, RequestStartedFromADataCallbackRuns) {
  // curl forbids adding transfers inside its callbacks; the client defers such a start.
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    if (rq.path == "/outer") {
      res->writeHead(200, {});
      res->write("go");
      res->after(0.05, [res] { res->end(); });
    } else {
      res->send(200, "inner");
    }
  });
  PromisePtr inner;
  HttpRequest rq = get(srv.url("/outer"));
  rq.onData = [&](std::string_view) {
    if (!inner) inner = client->request(get(srv.url("/inner")));
  };
  auto outer = client->request(rq);
  wait(outer);
  ASSERT_TRUE(outer->fulfilled()) << outer->error().toString();
  ASSERT_TRUE(inner);
  wait(inner);
  ASSERT_TRUE(inner->fulfilled()) << inner->error().toString();
  EXPECT_EQ(responseOf(inner->value()).body, "inner");
}

// The HTTP client re-arms a socket with asio's async_wait after curl has read from it, and
// relies on this: on the edge-triggered epoll reactor, a wait started while bytes are already
// unread completes (asio re-registers the descriptor with EPOLL_CTL_MOD, which re-checks
// readiness), so bytes curl left behind are never stranded waiting for an edge.
TEST(AsioReactor, WaitOnAlreadyReadableSocketCompletes) {
  Loop loop{1};
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  asio::posix::stream_descriptor sd(loop.io(), sv[0]);
  ASSERT_EQ(::write(sv[1], "abc", 3), 3);
  int completions = 0;
  // First wait: sees the edge. Then two more waits with the bytes still unread and no new
  // data: each must complete too.
  std::function<void(const boost::system::error_code&)> onReady = [&](const boost::system::error_code& ec) {
    ASSERT_FALSE(ec);
    if (++completions < 3) sd.async_wait(asio::posix::stream_descriptor::wait_read, onReady);
  };
  sd.async_wait(asio::posix::stream_descriptor::wait_read, onReady);
  bool expired = false;  // a hang guard, not a timing assertion
  auto guard = loop.setTimeout(10, [&] { expired = true; });
  loop.runUntil([&] { return completions == 3 || expired; });
  EXPECT_EQ(completions, 3);
  guard.cancel();
  sd.close();
  ::close(sv[1]);
}

// Finished requests hand their curl handle to the next ones, and their connection stays in the
// client's cache: five requests in a row make one handle and one TCP connection.
TEST_F(HttpTest, SequentialRequestsReuseOneHandleAndOneConnection) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) { res->send(200, "ok"); });
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fetch(get(srv.url("/k")))->body, "ok");
  EXPECT_EQ(srv.connections(), 1u);
  EXPECT_EQ(client->handlesCreated(), 1u);
}

// A pooled handle is reset: nothing of one request (method, headers, body, timeouts, size
// limit, streaming callbacks) reaches the next request made with the same handle.
TEST_F(HttpTest, PooledHandleCarriesNothingToTheNextRequest) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    auto echo = Value::object({{"method", rq.method},
                               {"body", rq.body},
                               {"ct", rq.header("content-type")},
                               {"auth", rq.header("authorization")},
                               {"custom", rq.header("x-custom")},
                               {"ua", rq.header("user-agent")},
                               {"pad", std::string(rq.path == "/big" ? 5000 : 0, 'p')}});
    // The second request's answer comes later than the first one's total timeout.
    double delay = rq.path == "/big" ? 0.8 : 0;
    res->after(delay, [res, body = toJsonText(echo)] { res->send(200, body); });
  });
  HttpRequest first;
  first.method = "PATCH";
  first.url = srv.url("/first");
  first.headers = {{"Content-Type", "text/plain"}, {"Authorization", "Bearer x"},
                   {"X-Custom", "1"}, {"User-Agent", "first/1"}};
  first.body = "payload";
  first.totalTimeout = 0.4;
  first.idleTimeout = 0.4;
  first.maxResponseBytes = 1000;
  std::string streamed;
  first.onData = [&](std::string_view c) { streamed += c; };
  auto r1 = fetch(first);
  EXPECT_EQ(parseJson(streamed).getString("custom"), "1");
  EXPECT_EQ(r1->body, "");
  size_t streamedBefore = streamed.size();

  auto r2 = fetch(get(srv.url("/big")));  // no options of its own
  Value v = parseJson(r2->body);
  EXPECT_EQ(v.getString("method"), "GET");
  EXPECT_EQ(v.getString("body"), "");
  EXPECT_EQ(v.getString("ct"), "");
  EXPECT_EQ(v.getString("auth"), "");
  EXPECT_EQ(v.getString("custom"), "");
  EXPECT_EQ(v.getString("ua"), "llmspell/0.1");
  EXPECT_GT(r2->bytesReceived, 5000u);  // above the first request's size limit
  EXPECT_EQ(streamed.size(), streamedBefore);  // not delivered to the first one's onData
  EXPECT_EQ(client->handlesCreated(), 1u);
  EXPECT_EQ(srv.connections(), 1u);
}

// Connections the server closes (at once, or while idle in the cache) leave the loop with their
// socket, so a new connection on the same descriptor number is watched afresh.
TEST_F(HttpTest, ConnectionsClosedByTheServerAreReplaced) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    bool announce = rq.path == "/announce";
    Headers h = {{"content-length", "2"}};
    if (announce) h.emplace_back("connection", "close");
    res->writeHead(200, h);
    res->write("ok");
    res->close();  // FIN after the body
  });
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(fetch(get(srv.url(i % 2 ? "/announce" : "/silent")))->body, "ok") << i;
  EXPECT_GE(srv.connections(), 6u);
}

// One timer serves every request's idle timeout: a stalled request times out while others, with
// a longer idle timeout or none, go on to the end.
TEST_F(HttpTest, IdleTimeoutsOfConcurrentRequestsAreIndependent) {
  TestHttpServer srv([](const ServerRequest& rq, ResponsePtr res) {
    if (rq.path == "/stall") {
      res->writeHead(200, {});
      res->write("x");
      res->after(20, [res] { res->end(); });
    } else if (rq.path == "/trickle") {
      res->writeHead(200, {});
      for (int i = 0; i < 8; ++i) res->after(0.1 * (i + 1), [res] { res->write("."); });
      res->after(0.9, [res] { res->end(); });
    } else {
      res->after(0.6, [res] { res->send(200, "late"); });
    }
  });
  HttpRequest stall = get(srv.url("/stall"));
  stall.idleTimeout = 0.3;
  HttpRequest trickle = get(srv.url("/trickle"));
  trickle.idleTimeout = 5;
  HttpRequest late = get(srv.url("/late"));
  auto p1 = client->request(stall);
  auto p2 = client->request(trickle);
  auto p3 = client->request(late);
  wait(p2);
  wait(p3);
  wait(p1);
  ASSERT_TRUE(p1->rejected());
  EXPECT_EQ(p1->error().details.getString("timeout"), "idle");
  ASSERT_TRUE(p2->fulfilled()) << p2->error().toString();
  EXPECT_EQ(responseOf(p2->value()).body, std::string(8, '.'));
  ASSERT_TRUE(p3->fulfilled()) << p3->error().toString();
  EXPECT_EQ(responseOf(p3->value()).body, "late");
}

// With no request in flight the client keeps nothing on the loop (no timer armed for the idle
// or total timeouts of finished requests), so the loop runs dry and a spell can end.
TEST_F(HttpTest, FinishedRequestsLeaveNoWorkOnTheLoop) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) { res->send(200, "ok"); });
  HttpRequest rq = get(srv.url("/k"));
  rq.idleTimeout = 100;
  rq.totalTimeout = 100;
  EXPECT_EQ(fetch(rq)->body, "ok");
  std::atomic<bool> stuck{false};
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  std::thread guard([&] {  // hang guard, not a timing assertion
    std::unique_lock<std::mutex> lock(mu);
    if (!cv.wait_for(lock, std::chrono::seconds(20), [&] { return finished; })) {
      stuck = true;
      loop.io().stop();
    }
  });
  loop.runUntil([] { return false; });
  {
    std::lock_guard<std::mutex> lock(mu);
    finished = true;
  }
  cv.notify_one();
  guard.join();
  EXPECT_FALSE(stuck);
}
