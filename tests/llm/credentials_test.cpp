// Where a provider's key may go, through the CLI (issue #10, items 4, 5 and 8): a base URL or
// key variable a spell sets needs its grants (loopback included), provider calls never follow
// redirects, spell requests leave credential headers behind on a redirect to another origin,
// and every configured key is masked by its value wherever the run writes text.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "fake_provider.hpp"
#include "net/server.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class Credentials : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : {"LLMSPELL_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                          "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL", "GEMINI_BASE_URL", "OPENAI_COMPATIBLE_BASE_URL",
                          "SECRET_TOKEN", "LLMSPELL_CALL_LOG"})
      unsetenv(k);
    // Nothing is probed outside this test's servers.
    setenv("OLLAMA_HOST", "http://127.0.0.1:1", 1);
    setenv("LLMSPELL_HOME", (testing::TempDir() + "/credentials_home").c_str(), 1);
  }
  void TearDown() override {
    for (const char* k : {"OPENAI_API_KEY", "OPENAI_BASE_URL", "SECRET_TOKEN", "OLLAMA_HOST", "LLMSPELL_HOME",
                          "LLMSPELL_CALL_LOG"})
      unsetenv(k);
  }
  llmspell::fake::FakeProvider fp{21};
};

// ---- item 4: a spell-set base URL needs --allow-net (loopback too), a key variable --allow-env

TEST_F(Credentials, SpellSetLoopbackBaseUrlNeedsTheNetGrant) {
  setenv("SECRET_TOKEN", "sk-leak-0123456789", 1);
  std::string configure = "llm.configure(\"x\", {kind = \"openai\", base_url = \"" + fp.baseUrl("openai") +
                          "\", api_key_env = \"SECRET_TOKEN\"}) ";
  // The reproducer of the issue: no grants at all.
  auto r = runCli("exec 'local ok, e = pcall(function() " + configure +
                  " return llm.chat(\"hello\", {model = \"x/foo\", retries = 0}) end) print(e.code) print(e.message)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "permission_denied");
  EXPECT_NE(r.out.find("--allow-net=127.0.0.1"), std::string::npos) << r.out;
  // The host granted, the variable not: still nothing is sent.
  auto e = runCli("exec --allow-net=127.0.0.1 'local ok, e = pcall(function() " + configure +
                  " end) print(e.code) print(e.message)'");
  ASSERT_EQ(e.exit, 0) << e.err;
  EXPECT_EQ(e.out.substr(0, e.out.find('\n')), "permission_denied");
  EXPECT_NE(e.out.find("--allow-env=SECRET_TOKEN"), std::string::npos) << e.out;
  EXPECT_TRUE(fp.requests().empty());
  // Both granted: the call goes through with the key.
  auto g = runCli("exec --allow-net=127.0.0.1 --allow-env=SECRET_TOKEN '" + configure +
                  " print(llm.chat(\"granted\", {model = \"x/foo\", retries = 0}).text)'");
  ASSERT_EQ(g.exit, 0) << g.err;
  EXPECT_EQ(g.out, "granted\n");
  ASSERT_EQ(fp.requests().size(), 1u);
  EXPECT_EQ(fp.requests()[0].header("authorization"), "Bearer sk-leak-0123456789");
}

TEST_F(Credentials, SpellSetBaseUrlIsCheckedInTengoToo) {
  setenv("SECRET_TOKEN", "sk-leak-0123456789", 1);
  // Errors are values in Tengo: print the configure call's.
  std::string configure = "fmt := import(\"fmt\"); llm := import(\"llm\"); e := llm.configure(\"x\", {kind: \"openai\", "
                          "base_url: \"" + fp.baseUrl("openai") + "\", api_key_env: \"SECRET_TOKEN\"}); ";
  auto r = runCli("exec --engine tengo '" + configure + "fmt.println(e.value.code + \" \" + e.value.message)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find(' ')), "permission_denied");
  EXPECT_NE(r.out.find("--allow-net=127.0.0.1"), std::string::npos) << r.out;
  auto e = runCli("exec --engine tengo --allow-net=127.0.0.1 '" + configure + "fmt.println(e.value.code + \" \" + e.value.message)'");
  ASSERT_EQ(e.exit, 0) << e.err;
  EXPECT_EQ(e.out.substr(0, e.out.find(' ')), "permission_denied");
  EXPECT_NE(e.out.find("--allow-env=SECRET_TOKEN"), std::string::npos) << e.out;
  EXPECT_TRUE(fp.requests().empty());
  auto g = runCli("exec --engine tengo --allow-net=127.0.0.1 --allow-env=SECRET_TOKEN '" + configure +
                  "fmt.println(llm.chat(\"via tengo\", {model: \"x/foo\"}).text)'");
  ASSERT_EQ(g.exit, 0) << g.err;
  EXPECT_EQ(g.out, "via tengo\n");
  ASSERT_EQ(fp.requests().size(), 1u);
  EXPECT_EQ(fp.requests()[0].header("authorization"), "Bearer sk-leak-0123456789");
}

TEST_F(Credentials, TheProvidersOwnVariableAndTheOperatorsBaseUrlNeedNoGrant) {
  setenv("OPENAI_API_KEY", "sk-operator-0123456789", 1);
  // The operator's OPENAI_BASE_URL (loopback here) is trusted: no grant needed.
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  auto op = runCli("exec 'print(llm.chat(\"from the operator\", {model = \"openai/gpt-4o-mini\"}).text)'");
  ASSERT_EQ(op.exit, 0) << op.err;
  EXPECT_EQ(op.out, "from the operator\n");
  unsetenv("OPENAI_BASE_URL");
  // openai's own variable for openai needs no --allow-env (the base URL still needs its host) ...
  auto own = runCli("exec --allow-net=127.0.0.1 'llm.configure(\"openai\", {base_url = \"" + fp.baseUrl("openai") +
                    "\", api_key_env = \"OPENAI_API_KEY\"}) print(llm.chat(\"own key\", {model = \"openai/gpt-4o-mini\"}).text)'");
  ASSERT_EQ(own.exit, 0) << own.err;
  EXPECT_EQ(own.out, "own key\n");
  ASSERT_EQ(fp.requests().size(), 2u);
  EXPECT_EQ(fp.requests()[1].header("authorization"), "Bearer sk-operator-0123456789");
  // ... but it is not another provider's standard variable.
  auto other = runCli("exec --allow-net=127.0.0.1 'local ok, e = pcall(llm.configure, \"x\", {base_url = \"" +
                      fp.baseUrl("openai") + "\", api_key_env = \"OPENAI_API_KEY\"}) print(e.code)'");
  EXPECT_EQ(other.out, "permission_denied\n") << other.err;
}

TEST_F(Credentials, ABaseUrlTheSpellPutsInTheEnvironmentIsNotTheOperators) {
  llmspell::fake::FakeProvider elsewhere{23};
  setenv("OPENAI_API_KEY", "sk-operator-0123456789", 1);
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  auto r = runCli("exec --engine tengo --allow-env=OPENAI_BASE_URL 'os := import(\"os\"); fmt := import(\"fmt\"); "
                  "llm := import(\"llm\"); os.setenv(\"OPENAI_BASE_URL\", \"" + elsewhere.baseUrl("openai") + "\"); "
                  "fmt.println(llm.chat(\"to the operator\", {model: \"openai/gpt-4o-mini\"}).text)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "to the operator\n");
  EXPECT_EQ(fp.requests().size(), 1u);
  EXPECT_TRUE(elsewhere.requests().empty());
}

// ---- item 5: redirects

TEST_F(Credentials, ProviderCallsDoNotFollowRedirects) {
  llmspell::fake::FakeProvider elsewhere{22};
  setenv("OPENAI_API_KEY", "sk-redirected-0123456789", 1);
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  // models.refresh: a 302 to another port is an error, and the other port sees nothing.
  fp.push(json{{"models", json::array()}, {"location", elsewhere.url("/v1/models")}});
  auto r = runCli("exec 'local ok, e = pcall(models.refresh, \"openai\") print(e.code) print(e.message)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "provider_error") << r.out;
  EXPECT_NE(r.out.find("do not follow redirects"), std::string::npos) << r.out;
  // The llm.providers() probe.
  fp.push(json{{"models", json::array()}, {"location", elsewhere.url("/v1/models")}});
  auto p = runCli("exec 'for _, x in ipairs(llm.providers({probe_timeout = 5})) do "
                  "if x.name == \"openai\" then print(x.status, x.reachable) end end'");
  ASSERT_EQ(p.exit, 0) << p.err;
  EXPECT_EQ(p.out, "302\ttrue\n");
  // A chat call (307 keeps the method and body, so it would re-send the whole request).
  fp.push(json{{"status", 307}, {"headers", {{"location", elsewhere.url("/v1/chat/completions")}}}});
  auto c = runCli("exec 'local ok, e = pcall(llm.chat, \"hi\", {model = \"openai/gpt-4o-mini\", retries = 0}) print(e.code)'");
  EXPECT_EQ(c.out, "provider_error\n") << c.err;
  EXPECT_EQ(fp.requests().size(), 3u);
  EXPECT_TRUE(elsewhere.requests().empty());
}

// A server whose /hop redirects to `target` and whose other paths echo the request's headers.
struct Hop {
  explicit Hop(std::string target = "")
      : to(std::move(target)), srv([this](const llmspell::net::ServerRequest& rq, llmspell::net::ResponsePtr res) {
          if (rq.path == "/hop") {
            res->send(302, "", {{"location", to.empty() ? "/echo" : to}});
            return;
          }
          json h = json::object();
          for (const auto& [k, v] : rq.headers) h[k] = v;
          res->send(200, h.dump(), {{"content-type", "application/json"}});
        }) {}
  std::string to;
  llmspell::net::TestHttpServer srv;
};

TEST_F(Credentials, SpellRequestsLeaveCredentialHeadersBehindOnAnotherOrigin) {
  Hop b;
  Hop a(b.srv.url("/echo"));
  std::string show =
      "local function show(r) local h = r.json print(r.redirects, h.authorization, h.cookie, h[\"x-api-key\"], "
      "h[\"x-goog-api-key\"], h[\"proxy-authorization\"], h[\"x-mine\"], h[\"x-trace\"]) end "
      "local hs = {Authorization = \"Bearer abcdefgh\", Cookie = \"c=1\", [\"X-Api-Key\"] = \"k1\", "
      "[\"X-Goog-Api-Key\"] = \"k2\", [\"Proxy-Authorization\"] = \"Basic x\", [\"X-Mine\"] = \"m\", [\"X-Trace\"] = \"t\"} ";
  auto r = runCli("exec --allow-net=127.0.0.1 '" + show +
                  "show(http.get(\"" + a.srv.url("/hop") + "\", {headers = hs, secret_headers = {\"x-mine\"}})) "
                  "show(http.get(\"" + b.srv.url("/hop") + "\", {headers = hs, secret_headers = {\"x-mine\"}}))'");
  ASSERT_EQ(r.exit, 0) << r.err;
  // To another port: only the ordinary header arrives. Within one origin everything does.
  EXPECT_EQ(r.out,
            "1\tnil\tnil\tnil\tnil\tnil\tnil\tt\n"
            "1\tBearer abcdefgh\tc=1\tk1\tk2\tBasic x\tm\tt\n");
  // Every hop is checked against the grants: only a's port granted, the redirect to b is refused.
  uint64_t before = b.srv.requests();
  auto d = runCli("exec --allow-net=127.0.0.1:" + std::to_string(a.srv.port()) + " 'local ok, e = pcall(http.get, \"" +
                  a.srv.url("/hop") + "\") print(e.code)'");
  EXPECT_EQ(d.out, "permission_denied\n") << d.err;
  EXPECT_EQ(b.srv.requests(), before);
}

// ---- item 8: keys are masked by value

TEST_F(Credentials, AConfiguredKeyIsMaskedByValueEverywhere) {
  // No known key shape: base64 with '+', '/' and '=', so its percent-encoded form differs.
  const std::string key = "Zm9vYmFyYmF6+/cXV4LXNlY3JldC1rZXk=";
  const std::string encoded = "Zm9vYmFyYmF6%2B%2FcXV4LXNlY3JldC1rZXk%3D";
  setenv("OPENAI_API_KEY", key.c_str(), 1);
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  std::string dir = testing::TempDir() + "/credentials_redact_" + std::to_string(getpid());
  std::string rec = dir + ".jsonl", db = dir + ".db";
  std::remove(rec.c_str());
  std::remove(db.c_str());
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  json err = {{"error", {{"message", "Incorrect API key provided: " + key + " (as sent: " + encoded + ")"},
                         {"type", "invalid_request_error"}, {"code", key}}}};
  fp.push(json{{"status", 401}, {"body", err}, {"headers", {{"content-type", "application/json"}}}});
  fp.push(json{{"text", "your key is " + key}});
  fp.push(json{{"status", 401}, {"body", err}, {"headers", {{"content-type", "application/json"}}}});
  auto r = runCli("exec --output json --record " + rec +
                  " 'events.on(\"llm.error\", function(ev) print(\"event\", ev.data.message) end) "
                  "local ok, e = pcall(llm.chat, \"hi\", {model = \"openai/gpt-4o-mini\", retries = 0}) "
                  "print(e.message) print(e.details.provider_code) log.warn(\"failed: \" .. e.message) "
                  "llm.chat(\"again\", {model = \"openai/gpt-4o-mini\"}) "
                  "llm.chat(\"and fail\", {model = \"openai/gpt-4o-mini\", retries = 0})'");
  EXPECT_NE(r.exit, 0);
  ASSERT_EQ(fp.requests().size(), 3u);
  EXPECT_EQ(fp.requests()[0].header("authorization"), "Bearer " + key);  // it was sent
  std::string recording = slurp(rec), calls = slurp(db) + slurp(db + "-wal");
  EXPECT_FALSE(recording.empty());
  EXPECT_NE(r.out.find("[REDACTED]"), std::string::npos) << r.out;
  for (const std::string& form : {key, encoded, std::string("Zm9vYmFyYmF6+\\/cXV4")}) {
    EXPECT_EQ(r.out.find(form), std::string::npos) << form << " in stdout:\n" << r.out;
    EXPECT_EQ(r.err.find(form), std::string::npos) << form << " in stderr:\n" << r.err;
    EXPECT_EQ(recording.find(form), std::string::npos) << form << " in the recording:\n" << recording;
    EXPECT_EQ(calls.find(form), std::string::npos) << form << " in the call log";
  }
  std::remove(rec.c_str());
  std::remove(db.c_str());
}

}  // namespace
