// The `http` script namespace: through the registry (as every engine calls it) and as Lua
// snippets, against the loopback server. Permissions are real: hosts must be granted.
#include <gtest/gtest.h>

#include "../bridge/harness.hpp"
#include "llmspell/engines/lua/lua_engine.hpp"
#include "net/server.hpp"

using namespace llmspell;
using llmspell::testing::Harness;
using llmspell::testing::J;
using net::ResponsePtr;
using net::ServerRequest;
using net::TestHttpServer;

namespace {

// Echoes the request as JSON; a few paths misbehave on purpose.
void echo(const ServerRequest& rq, ResponsePtr res) {
  if (rq.path == "/teapot") {
    res->send(418, "short and stout", {{"content-type", "text/plain"}, {"x-a", "1"}, {"x-a", "2"}});
    return;
  }
  if (rq.path == "/redirect-out") {
    res->send(302, "", {{"location", "http://localhost:1/elsewhere"}});
    return;
  }
  if (rq.path == "/slow") {
    res->after(20, [res] { res->send(200, "late"); });
    return;
  }
  if (rq.path == "/big") {
    res->send(200, std::string(5000, 'x'));
    return;
  }
  if (rq.path == "/badjson") {
    res->send(200, "{nope", {{"content-type", "application/json"}});
    return;
  }
  Value h = Value::object();
  for (auto& [k, v] : rq.headers) h.asObject().set(k, v);
  auto v = Value::object({{"method", rq.method},
                          {"path", rq.path},
                          {"query", rq.query},
                          {"body", rq.body},
                          {"headers", h}});
  res->send(200, toJsonText(v), {{"content-type", "application/json; charset=utf-8"}});
}

struct Ran {
  Value value;
  std::optional<Error> error;
};

Ran runLua(const std::string& code, int grantPort) {
  Loop loop;
  RunContext run(loop);
  if (grantPort) run.permissions().allowNet("127.0.0.1:" + std::to_string(grantPort));
  auto ctx = luaEngine().createContext(run, {});
  auto p = ctx->run(code, "http_snippet.lua");
  bool expired = false;
  auto guard = loop.setTimeout(30, [&] { expired = true; });
  loop.runUntil([&] { return (!p->pending() && !ctx->busy()) || expired; });
  guard.cancel();
  Ran r;
  if (p->fulfilled())
    r.value = p->value();
  else if (p->rejected())
    r.error = p->error();
  else
    r.error = Error(codes::kInternal, "still pending");
  return r;
}

}  // namespace

TEST(HttpModule, GetReturnsResultTableWithDecodedJson) {
  TestHttpServer srv(echo);
  Harness h;
  h.run().permissions().allowNet("127.0.0.1:" + std::to_string(srv.port()));
  Value r = h.call(
      "http.get", {srv.url("/x"), J(R"({"query":{"a":"1 2","n":[1,2]},"headers":{"X-Key":"k"}})")});
  EXPECT_EQ(r.getInt("status"), 200);
  EXPECT_TRUE(r.getBool("ok"));
  EXPECT_EQ(r.get("json").getString("method"), "GET");
  EXPECT_EQ(r.get("json").getString("query"), "a=1%202&n=1&n=2");
  EXPECT_EQ(r.get("json").get("headers").getString("x-key"), "k");
  EXPECT_EQ(r.get("headers").getString("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(r.getString("url"), srv.url("/x?a=1%202&n=1&n=2"));
  EXPECT_TRUE(r.get("elapsed_ms").isNumber());
}

TEST(HttpModule, PostTableBodyIsJsonWithContentType) {
  TestHttpServer srv(echo);
  Harness h;
  h.run().permissions().allowNet("127.0.0.1");
  Value r = h.call("http.post", {srv.url("/p"), J(R"({"a":[1,2],"b":"c"})")});
  EXPECT_EQ(r.get("json").getString("method"), "POST");
  EXPECT_EQ(parseJson(r.get("json").getString("body")), J(R"({"a":[1,2],"b":"c"})"));
  EXPECT_EQ(r.get("json").get("headers").getString("content-type"), "application/json");
  Value s = h.call("http.post",
                   {srv.url("/p"), "raw text", J(R"({"headers":{"content-type":"text/plain"}})")});
  EXPECT_EQ(s.get("json").getString("body"), "raw text");
  EXPECT_EQ(s.get("json").get("headers").getString("content-type"), "text/plain");
}

TEST(HttpModule, RequestWithMethodAndErrorStatusIsAResult) {
  TestHttpServer srv(echo);
  Harness h;
  h.run().permissions().allowNet("127.0.0.1");
  Value r =
      h.call("http.request", {J(R"({"url":")" + srv.url("/teapot") + R"(","method":"delete"})")});
  EXPECT_EQ(r.getInt("status"), 418);
  EXPECT_FALSE(r.getBool("ok"));
  EXPECT_EQ(r.getString("body"), "short and stout");
  EXPECT_TRUE(r.get("json").isNull());
  EXPECT_EQ(r.get("headers").getString("x-a"), "1, 2");
  EXPECT_EQ(r.get("header_list").asArray().size(), 4u);  // x-a twice, content-type, content-length
  Value bad = h.call("http.get", {srv.url("/badjson")});
  EXPECT_EQ(bad.getString("body"), "{nope");
  EXPECT_TRUE(bad.get("json").isNull());
}

TEST(HttpModule, HostMustBeGranted) {
  TestHttpServer srv(echo);
  Harness h;
  Error e = h.error("http.get", {srv.url("/x")});
  EXPECT_EQ(e.code, "permission_denied");
  EXPECT_NE(e.message.find("--allow-net"), std::string::npos) << e.message;
  EXPECT_EQ(srv.requests(), 0u);
  // A granted host cannot redirect the spell to one that is not.
  h.run().permissions().allowNet("127.0.0.1");
  Error e2 = h.error("http.get", {srv.url("/redirect-out")});
  EXPECT_EQ(e2.code, "permission_denied");
  EXPECT_NE(e2.message.find("localhost"), std::string::npos) << e2.message;
}

TEST(HttpModule, TimeoutMaxBytesAndBadOptions) {
  TestHttpServer srv(echo);
  Harness h;
  h.run().permissions().allowNet("127.0.0.1");
  Error t = h.error("http.get", {srv.url("/slow"), J(R"({"timeout":0.2})")});
  EXPECT_EQ(t.code, "timeout");
  EXPECT_TRUE(t.retryable);
  Error big = h.error("http.get", {srv.url("/big"), J(R"({"max_bytes":100})")});
  EXPECT_EQ(big.code, "limit_exceeded");
  EXPECT_EQ(h.error("http.get", {"ftp://127.0.0.1/"}).code, "invalid_argument");
  EXPECT_EQ(h.error("http.request", {J(R"({"method":"GET"})")}).code, "invalid_argument");
  EXPECT_EQ(h.error("http.get", {srv.url("/x"), J(R"({"headers":{"a":{}}})")}).code,
            "invalid_argument");
  EXPECT_EQ(h.error("http.get", {srv.url("/x"), J(R"({"timeout":-1})")}).code, "invalid_argument");
}

TEST(HttpModuleLua, GetAndPostFromAScript) {
  TestHttpServer srv(echo);
  auto r = runLua(R"(
    local base = ")" + srv.url("") +
                      R"("
    local g = await(http.get(base .. "/hello", {query = {q = "x"}}))
    local p = await(http.post(base .. "/items", {name = "n", tags = {"a", "b"}}))
    local t = await(http.request({url = base .. "/teapot", method = "PUT", body = "x"}))
    return {g.status, g.json.path, g.json.query, p.json.method, p.json.body, t.status, t.ok}
  )",
                  srv.port());
  ASSERT_FALSE(r.error) << r.error->toString();
  auto& a = r.value.asArray();
  EXPECT_EQ(a[0].asInt(), 200);
  EXPECT_EQ(a[1].asString(), "/hello");
  EXPECT_EQ(a[2].asString(), "q=x");
  EXPECT_EQ(a[3].asString(), "POST");
  EXPECT_EQ(parseJson(a[4].asString()), J(R"({"name":"n","tags":["a","b"]})"));
  EXPECT_EQ(a[5].asInt(), 418);
  EXPECT_FALSE(a[6].asBool());
}

TEST(HttpModuleLua, ErrorsAreCatchableObjects) {
  TestHttpServer srv(echo);
  auto r = runLua(R"(
    local ok, e = pcall(function() return await(http.get(")" +
                      srv.url("/x") + R"(")) end)
    local ok2, e2 = pcall(function() return await(http.get(")" +
                      srv.url("/slow") + R"(", {timeout = 0.2})) end)
    return {ok, e.code, ok2, e2.code, e2.retryable}
  )",
                  0);
  ASSERT_FALSE(r.error) << r.error->toString();
  auto& a = r.value.asArray();
  EXPECT_FALSE(a[0].asBool());
  EXPECT_EQ(a[1].asString(), "permission_denied");
  EXPECT_FALSE(a[2].asBool());
  EXPECT_EQ(a[3].asString(), "permission_denied");  // no grant: refused before the timeout
  EXPECT_TRUE(a[4].isBool());
}

TEST(HttpModuleLua, ConcurrentRequestsWithPromiseAll) {
  TestHttpServer srv(echo);
  auto r = runLua(R"(
    local ps = {}
    for i = 1, 20 do ps[i] = http.get(")" +
                      srv.url("/n") + R"(" .. i) end
    local rs = await(promise.all(ps))
    local paths = {}
    for i, x in ipairs(rs) do paths[i] = x.json.path end
    return paths
  )",
                  srv.port());
  ASSERT_FALSE(r.error) << r.error->toString();
  ASSERT_EQ(r.value.asArray().size(), 20u);
  EXPECT_EQ(r.value.asArray()[19].asString(), "/n20");
}
