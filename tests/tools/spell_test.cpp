// Network tools through the real binary against the loopback test server: http_request and
// web_fetch with and without a grant for the server's host, and the --approve flag's checks.
#include <gtest/gtest.h>

#include "support/cli.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "net/server.hpp"

using namespace llmspell;

namespace {

using llmspell::test::shellQuote;

std::string exec(const std::string& code, const std::string& flags, int* status = nullptr) {
  std::string cmd = std::string(LLMSPELL_BIN) + " exec " + flags + " " + shellQuote(code) + " 2>&1";
  auto r = llmspell::test::runShell(cmd);
  if (status) *status = r.exit;
  return r.out;
}

void site(const net::ServerRequest& rq, net::ResponsePtr res) {
  if (rq.path == "/page") {
    res->send(200,
              "<html><head><title>Test &amp; Page</title><script>var x = '<b>no</b>';</script>"
              "<style>body{}</style></head><body><h1>Heading</h1><p>First&nbsp;para\n with "
              "<a href='/x'>a link</a>.</p><p>Second &lt;para&gt;</p></body></html>",
              {{"content-type", "text/html; charset=utf-8"}});
  } else if (rq.path == "/api") {
    res->send(
        200,
        R"({"method":")" + rq.method + R"(","body":)" + (rq.body.empty() ? "null" : rq.body) + "}",
        {{"content-type", "application/json"}});
  } else if (rq.path == "/away") {
    res->send(302, "", {{"location", "http://localhost:1/elsewhere"}});
  } else {
    res->send(404, "not here", {{"content-type", "text/plain"}});
  }
}

}  // namespace

TEST(ToolsSpell, HttpRequestWithGrant) {
  net::TestHttpServer srv(site);
  std::string grant = "--allow-net=127.0.0.1:" + std::to_string(srv.port());
  std::string code =
      "local r = tools.call('http_request', {url = '" + srv.url("/api") +
      "', method = 'POST', body = {x = 1}})\n"
      "print(r.status, r.ok, r.json.method, r.json.body.x, r.headers['content-type'])";
  EXPECT_EQ(exec(code, grant), "200\ttrue\tPOST\t1\tapplication/json\n");
  // A 404 is a result, not an error.
  code = "local r = tools.call('http_request', {url = '" + srv.url("/missing") +
         "'}) print(r.status, r.ok, r.body)";
  EXPECT_EQ(exec(code, grant), "404\tfalse\tnot here\n");
}

TEST(ToolsSpell, NetworkToolsNeedAGrantForTheHost) {
  net::TestHttpServer srv(site);
  std::string code = "local r = tools.try_call('http_request', {url = '" + srv.url("/api") +
                     "'}) print(r.ok, r.error.code, r.error.message)";
  EXPECT_EQ(exec(code, ""),
            "false\tpermission_denied\ttool 'http_request' needs net permission; run with "
            "--allow-net=HOST\n");
  // A grant for another host does not cover this one.
  std::string out = exec(code, "--allow-net=example.com");
  EXPECT_NE(out.find("false\tpermission_denied\tnetwork access to 127.0.0.1"), std::string::npos)
      << out;
  // Redirects are checked too.
  code = "local r = tools.try_call('web_fetch', {url = '" + srv.url("/away") +
         "'}) print(r.ok, r.error.code)";
  EXPECT_EQ(exec(code, "--allow-net=127.0.0.1:" + std::to_string(srv.port())),
            "false\tpermission_denied\n");
}

TEST(ToolsSpell, WebFetchReturnsPageText) {
  net::TestHttpServer srv(site);
  std::string grant = "--allow-net=127.0.0.1:" + std::to_string(srv.port());
  std::string code = "local r = tools.call('web_fetch', {url = '" + srv.url("/page") +
                     "'}) print(r.status, r.title) print(r.text) print(r.truncated)";
  EXPECT_EQ(exec(code, grant),
            "200\tTest & Page\nHeading\nFirst para with a link.\nSecond <para>\nfalse\n");
  code = "local r = tools.call('web_fetch', {url = '" + srv.url("/page") +
         "', max_chars = 7}) print(r.text, r.truncated)";
  EXPECT_EQ(exec(code, grant), "Heading\ttrue\n");
  code = "local r = tools.try_call('web_fetch', {url = '" + srv.url("/gone") +
         "'}) print(r.ok, r.error.code, r.error.message)";
  EXPECT_EQ(exec(code, grant),
            "false\tnetwork_error\tweb_fetch: " + srv.url("/gone") + " answered HTTP 404\n");
}

TEST(ToolsSpell, ApproveFlagIsChecked) {
  int status = 0;
  std::string out = exec("print(1)", "--approve a,,b", &status);
  EXPECT_EQ(status, 2) << out;
  EXPECT_NE(out.find("--approve takes deny, all, ask or a comma-separated list"), std::string::npos)
      << out;
  std::string code =
      "tools.define{name = 'x', requires_approval = true, run = function() return 'ran' end}\n"
      "local r = tools.try_call('x') print(r.ok, r.result)";
  EXPECT_EQ(exec(code, "--approve deny"), "false\tnil\n");
  EXPECT_EQ(exec(code, "--approve y,x"), "true\tran\n");
  EXPECT_EQ(exec(code, "--approve all"), "true\tran\n");
  // ask without a terminal refuses.
  EXPECT_EQ(exec(code, "--approve ask </dev/null"), "false\tnil\n");
}

TEST(ToolsSpell, ToolCommand) {
  auto run = [](const std::string& args, int* status) {
    std::string cmd = std::string(LLMSPELL_BIN) + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    int st = ::pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
  };
  int status = 0;
  std::string out = run("tool list --category math", &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(out.rfind("calculator     math       none  Evaluates", 0), 0u) << out;
  out = run("tool info csv_parse", &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("\"name\": \"csv_parse\""), std::string::npos) << out;
  out = run("tool call calculator '{\"expression\":\"6*7\"}'", &status);
  EXPECT_EQ(status, 0);
  EXPECT_NE(out.find("\"result\": 42"), std::string::npos) << out;
  out = run("tool call file_read '{\"path\":\"/etc/hostname\"}'", &status);
  EXPECT_EQ(status, 3) << out;  // a permission stop
  EXPECT_NE(out.find("--allow-read"), std::string::npos) << out;
  out = run("tool call calculator '{\"expression\":1}'", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("error[validation_failed]"), std::string::npos) << out;
}

// A shell command still running when the spell ends is killed (its process group), instead of
// keeping llmspell alive until it finishes.
TEST(ToolsSpell, ShellStillRunningWhenTheSpellEndsIsKilled) {
  std::string marker = "/tmp/llmspell_tools_shell_" + std::to_string(::getpid());
  std::remove(marker.c_str());
  std::string code = "tools.call_async('shell', {command = {'sh', '-c', 'sleep 1; echo late > " +
                     marker + "'}}) sleep(0.1) print('ended')";
  EXPECT_EQ(exec(code, "--allow-run"), "ended\n");
  ::sleep(2);
  FILE* f = std::fopen(marker.c_str(), "r");
  EXPECT_EQ(f, nullptr) << "the command outlived the spell";
  if (f) std::fclose(f);
  std::remove(marker.c_str());
}
