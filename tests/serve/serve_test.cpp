// `llmspell serve` through real HTTP on loopback: the run endpoints, SSE read as it comes,
// disconnects, cancellation, isolation of stuck and memory-hungry spells, and the SIGTERM drain.
#include <sys/resource.h>

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <chrono>
#include <thread>

#include "support/serve.hpp"

namespace llmspell::test {
namespace {

using json = nlohmann::json;

std::string spellsDir() {
  static std::string dir = writeSpells(
      "main",
      {{"hello",
        {{"spell.yaml",
          "name: hello\ndescription: Greets\nparams:\n  name: {type: string, required: true}\n  times: {type: integer, default: 1}\n"
          "limits: {timeout_s: 30, memory_mb: 64}\npermissions:\n  net: [api.example.com]\n"},
         {"main.lua", "spell.output({greeting = 'hi ' .. spell.params.name})\nreturn 'hello ' .. spell.params.name .. ' x' .. spell.params.times\n"}}},
       {"gate",  // outputs "one", then waits for the file named by its param, then outputs "two"
        {{"spell.yaml", "name: gate\nparams:\n  flag: {type: string, required: true}\npermissions:\n  read: ['/']\nlimits: {timeout_s: 60}\n"},
         {"main.lua",
          "spell.output('one')\nwhile not fs.exists(spell.params.flag) do sleep(0.01) end\nspell.output('two')\nreturn 'done'\n"}}},
       {"stuck",  // a pattern match that backtracks for hours: a built-in call the time limit cannot interrupt
        {{"spell.yaml", "name: stuck\nlimits: {timeout_s: 1}\n"},
         {"main.lua", "return string.find(string.rep('a', 3000), '.-.-.-.-.-.-b')\n"}}},
       {"bomb",
        {{"spell.yaml", "name: bomb\nlimits: {memory_mb: 32, timeout_s: 60}\n"},
         {"main.lua", "local t = {}\nfor i = 1, 1e9 do t[i] = string.rep('x', 1000) .. i end\n"}}},
       {"fails", {{"spell.yaml", "name: fails\n"}, {"main.lua", "error({code = 'validation_failed', message = 'bad input'})\n"}}},
       {"echo",  // an agent answering as the model echo-agent: tool calls when given tools, else the mock model's echo
        {{"spell.yaml", "name: echo\nserve:\n  models: [echo-agent]\n"},
         {"main.lua",
          "local p = spell.params\nlocal last = p.messages[#p.messages]\n"
          "if #p.tools > 0 then\n"
          "  return {tool_calls = {{name = p.tools[1]['function'].name, arguments = {city = last.content}}}}\nend\n"
          "local r = llm.chat(last.content, {model = 'mock/echo'})\n"
          "for w in r.text:gmatch('%S+%s*') do spell.output(w) end\n"
          "return nil\n"}}}});
  return dir;
}

void waitReady(int port) {
  for (int i = 0; i < 500; ++i) {
    if (http(port, "GET", "/readyz").status == 200) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  FAIL() << "the server never became ready";
}

json waitFinished(int port, const std::string& id) {
  for (int i = 0; i < 3000; ++i) {
    json j = http(port, "GET", "/v1/runs/" + id).json();
    if (j.contains("finished_at")) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return {};
}

class Serve : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    srv = new ServeProcess({"--spells", spellsDir(), "--workers", "2"});
    ASSERT_GT(srv->port(), 0) << srv->firstLine();
    waitReady(srv->port());
  }
  static void TearDownTestSuite() {
    delete srv;
    srv = nullptr;
  }
  static int port() { return srv->port(); }
  static ServeProcess* srv;
};
ServeProcess* Serve::srv = nullptr;

TEST_F(Serve, HealthAndSpellList) {
  EXPECT_EQ(http(port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http(port(), "GET", "/readyz").status, 200);
  auto r = http(port(), "GET", "/v1/spells");
  ASSERT_EQ(r.status, 200) << r.body;
  json list = r.json(), names = json::array();
  for (auto& s : list["data"]) names.push_back(s["name"]);
  EXPECT_EQ(names, json({"bomb", "echo", "fails", "gate", "hello", "stuck"}));
  EXPECT_EQ(list["data"][4]["params"]["name"]["type"], "string");
  EXPECT_EQ(list["data"][4]["description"], "Greets");
}

TEST_F(Serve, RunWaitedForGivesOutputAndStatus) {
  auto r = http(port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Ada","times":3},"wait":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = r.json();
  EXPECT_EQ(j["status"], "succeeded");
  EXPECT_EQ(j["output"], "hello Ada x3");
  EXPECT_EQ(j["outputs"][0]["greeting"], "hi Ada");
  EXPECT_EQ(j["spell"], "hello");
}

TEST_F(Serve, RunStartedThenPolled) {
  auto r = http(port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"Bo"}})");
  ASSERT_EQ(r.status, 202) << r.body;
  std::string id = r.json()["id"];
  json j = waitFinished(port(), id);
  EXPECT_EQ(j["status"], "succeeded") << j.dump();
  EXPECT_EQ(j["output"], "hello Bo x1");
}

TEST_F(Serve, FailedRunCarriesItsError) {
  auto r = http(port(), "POST", "/v1/runs", R"({"spell":"fails","wait":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "failed");
  EXPECT_EQ(r.json()["error"]["code"], "validation_failed");
  EXPECT_EQ(r.json()["error"]["message"], "bad input");
}

TEST_F(Serve, BadRequestsGet400WithAStableCodeAndUnknownThings404) {
  struct Case {
    std::string body;
    int status;
    std::string needle;
  } cases[] = {
      {"{not json", 400, "not valid JSON"},
      {"[1,2]", 400, "must be a JSON object"},
      {R"({"params":{}})", 400, "'spell'"},
      {R"({"spell":"nope"})", 404, "no spell named 'nope'"},
      {R"({"spell":"hello"})", 400, "missing required param 'name'"},
      {R"({"spell":"hello","params":{"name":"a","times":"x"}})", 400, "param 'times'"},
      {R"({"spell":"hello","params":{"name":"a","colour":"red"}})", 400, "unknown param 'colour'"},
      {R"({"spell":"hello","params":{"name":"a"},"limits":{"timeout_s":100}})", 400, "never raise them"},
      {R"({"spell":"hello","params":{"name":"a"},"limits":{"speed":1}})", 400, "limits.speed is not a limit"},
      {R"({"spell":"hello","params":{"name":"a"},"grants":{"net":["evil.example.com"]}})", 400, "only narrow its grants"},
      {R"({"spell":"hello","params":{"name":"a"},"grants":{"run":true}})", 400, "only narrow its grants"},
      {R"({"spell":"hello","stream":"yes"})", 400, "stream must be true or false"},
      {R"({"spell":"hello","colour":1})", 400, "unknown field 'colour'"},
  };
  for (const auto& c : cases) {
    auto r = http(port(), "POST", "/v1/runs", c.body);
    EXPECT_EQ(r.status, c.status) << c.body << " -> " << r.body;
    EXPECT_NE(r.body.find(c.needle), std::string::npos) << c.body << " -> " << r.body;
    EXPECT_EQ(r.json()["error"]["code"], c.status == 404 ? "not_found" : "invalid_argument") << r.body;
  }
  EXPECT_EQ(http(port(), "GET", "/v1/runs/run_nope").status, 404);
  EXPECT_EQ(http(port(), "GET", "/v1/nothing").status, 404);
  EXPECT_EQ(http(port(), "PUT", "/v1/runs").status, 405);
  // Narrower limits and grants are accepted.
  auto ok = http(port(), "POST", "/v1/runs",
                 R"({"spell":"hello","params":{"name":"a"},"limits":{"timeout_s":5,"memory_mb":32},"grants":{"net":[]},"wait":true})");
  EXPECT_EQ(ok.json()["status"], "succeeded") << ok.body;
}

std::string flagPath(const std::string& tag) {
  std::string p = testing::TempDir() + "/llmspell_serve_flag_" + tag + "_" + std::to_string(getpid());
  std::filesystem::remove(p);
  return p;
}

TEST_F(Serve, StreamedRunEventsArriveWhileTheRunGoesOn) {
  std::string flag = flagPath("stream");
  SseClient c(port(), "POST", "/v1/runs", R"({"spell":"gate","stream":true,"params":{"flag":")" + flag + R"("}})");
  // The first output arrives while the run is still waiting on the flag: streamed, not buffered.
  ASSERT_TRUE(c.readUntil("data: \"one\"")) << c.text();
  std::string id = c.runId();
  ASSERT_FALSE(id.empty()) << c.text();
  EXPECT_EQ(http(port(), "GET", "/v1/runs/" + id).json()["status"], "running");
  EXPECT_EQ(c.text().find("\"two\""), std::string::npos);
  std::ofstream(flag) << "go";
  ASSERT_TRUE(c.readUntil("event: run.finish")) << c.text();
  c.readAll();
  EXPECT_NE(c.text().find("event: spell.output\ndata: \"two\""), std::string::npos) << c.text();
  EXPECT_NE(c.text().find("\"status\":\"succeeded\""), std::string::npos) << c.text();
  EXPECT_NE(c.text().find("event: spell.start"), std::string::npos);

  // Resume: Last-Event-ID n gives the events after n.
  auto all = http(port(), "GET", "/v1/runs/" + id + "/events");
  auto resumed = http(port(), "GET", "/v1/runs/" + id + "/events", "", "last-event-id: 2\r\n");
  EXPECT_EQ(all.body.rfind("id: 1\n", 0), 0u) << all.body;
  EXPECT_EQ(resumed.body.rfind("id: 3\n", 0), 0u) << resumed.body;
  EXPECT_EQ(all.body.substr(all.body.find("id: 3\n")), resumed.body);
}

TEST_F(Serve, ClientDisconnectCancelsOrNotAsTheRequestSaid) {
  for (std::string mode : {"cancel", "continue"}) {
    std::string flag = flagPath("disc_" + mode);
    std::string id;
    {
      SseClient c(port(), "POST", "/v1/runs",
                  R"({"spell":"gate","stream":true,"on_disconnect":")" + mode + R"(","params":{"flag":")" + flag + R"("}})");
      ASSERT_TRUE(c.readUntil("data: \"one\"")) << c.text();
      id = c.runId();
      c.close();
    }
    if (mode == "continue") {
      // Only after the client left does the run get to finish.
      for (int i = 0; i < 100; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      std::ofstream(flag) << "go";
    }
    json j = waitFinished(port(), id);
    EXPECT_EQ(j["status"], mode == "cancel" ? "cancelled" : "succeeded") << mode << ": " << j.dump();
    if (mode == "cancel") {
      EXPECT_EQ(j["error"]["code"], "cancelled");
      std::ofstream(flag) << "go";
    }
  }
}

TEST_F(Serve, DeleteCancelsARunningRun) {
  std::string flag = flagPath("delete");
  auto r = http(port(), "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + flag + R"("}})");
  std::string id = r.json()["id"];
  for (int i = 0; i < 500 && http(port(), "GET", "/v1/runs/" + id).json()["status"] != "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  auto d = http(port(), "DELETE", "/v1/runs/" + id);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json()["status"], "cancelled");
  EXPECT_EQ(d.json()["error"]["code"], "cancelled");
  // The worker it ran on was replaced: the service still runs spells.
  EXPECT_EQ(http(port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"x"},"wait":true})").json()["status"], "succeeded");
}

TEST_F(Serve, OpenAIClientListsModelsCreatesStreamsAndGetsToolCallsAndTypedErrors) {
  std::string modules = std::string(LLMSPELL_SOURCE_DIR) + "/third_party_data/node_modules";
  if (!std::filesystem::exists(modules + "/openai/package.json")) GTEST_SKIP() << "openai is not installed in " << modules << ": run scripts/setup.sh";
  if (runShell("command -v node >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "node is not on PATH";
  std::string script = std::string(LLMSPELL_SOURCE_DIR) + "/tests/serve/openai_client.mjs";
  auto r = runShell("node " + shellQuote(script) + " " + shellQuote(modules) + " http://127.0.0.1:" + std::to_string(port()) + "/v1 2>&1");
  ASSERT_EQ(r.exit, 0) << r.out;
  json j = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["models"], json({"echo-agent"}));
  EXPECT_EQ(j["create"]["content"], "hello there");
  EXPECT_EQ(j["create"]["finish"], "stop");
  EXPECT_EQ(j["create"]["object"], "chat.completion");
  EXPECT_GT(j["create"]["usage"]["total_tokens"].get<int>(), 0) << j.dump();
  EXPECT_EQ(j["stream"]["deltas"], json({"stream ", "me"})) << j.dump();
  EXPECT_EQ(j["stream"]["finish"], "stop");
  EXPECT_GT(j["stream"]["usage"]["completion_tokens"].get<int>(), 0) << j.dump();
  EXPECT_EQ(j["tool"]["finish"], "tool_calls");
  EXPECT_EQ(j["tool"]["name"], "get_weather");
  EXPECT_EQ(j["tool"]["args"], json({{"city", "Paris"}}));
  EXPECT_EQ(j["notFound"]["typed"], true) << j.dump();
  EXPECT_EQ(j["notFound"]["status"], 404);
  EXPECT_EQ(j["notFound"]["code"], "model_not_found");
  EXPECT_EQ(j["badRequest"]["typed"], true) << j.dump();
  EXPECT_EQ(j["badRequest"]["param"], "messages");
}

TEST_F(Serve, MetricsPassPromtoolAfterAMixedWorkload) {
  // A mix: successes, a failure, a bad request, an LLM call, a cancel.
  http(port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"m"},"wait":true})");
  http(port(), "POST", "/v1/runs", R"({"spell":"fails","wait":true})");
  http(port(), "POST", "/v1/runs", R"({"spell":"nope"})");
  http(port(), "POST", "/v1/chat/completions", R"({"model":"echo-agent","messages":[{"role":"user","content":"count me"}]})");
  auto m = http(port(), "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.headers.find("text/plain; version=0.0.4"), std::string::npos);
  for (const char* needle : {"llmspell_serve_runs_total{spell=\"hello\",status=\"succeeded\"}",
                             "llmspell_serve_runs_total{spell=\"fails\",status=\"failed\"}",
                             "llmspell_serve_errors_total{code=\"validation_failed\"}",
                             "llmspell_serve_llm_calls_total{provider=\"mock\",model=\"mock/echo\"}",
                             "llmspell_serve_llm_tokens_total{provider=\"mock\",model=\"mock/echo\",direction=\"output\"} 2",
                             "llmspell_serve_run_duration_seconds_bucket{spell=\"hello\",le=\"+Inf\"}",
                             "llmspell_serve_runs_in_flight", "llmspell_serve_streams_open"})
    EXPECT_NE(m.body.find(needle), std::string::npos) << needle << "\n" << m.body;
  if (runShell("command -v promtool >/dev/null 2>&1").exit != 0) GTEST_SKIP() << "promtool is not installed: run scripts/setup.sh";
  std::string file = testing::TempDir() + "/llmspell_metrics_" + std::to_string(getpid()) + ".txt";
  std::ofstream(file) << m.body;
  auto check = runShell("promtool check metrics < " + shellQuote(file) + " 2>&1");
  EXPECT_EQ(check.exit, 0) << check.out;
}

TEST(ServeScale, AThousandConcurrentSseClientsEachGetTheWholeStream) {
  // Each client opens its own connection to one run's events before the run goes on: all 1,000
  // are open at once, each sees the first output, then every event to the end.
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2200) {
    rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 4096);
    setrlimit(RLIMIT_NOFILE, &rl);  // the server inherits it
  }
  if (rl.rlim_cur < 2200) GTEST_SKIP() << "needs 2,200 open files; the hard limit is " << rl.rlim_max;
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  std::string flag = flagPath("scale");
  std::string id = http(srv.port(), "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + flag + R"("}})").json()["id"];
  constexpr int kClients = 1000;
  std::vector<std::unique_ptr<SseClient>> clients;
  for (int i = 0; i < kClients; ++i)
    clients.push_back(std::make_unique<SseClient>(srv.port(), "GET", "/v1/runs/" + id + "/events", ""));
  for (auto& c : clients) ASSERT_TRUE(c->readUntil("data: \"one\"")) << c->text();
  EXPECT_NE(http(srv.port(), "GET", "/metrics").body.find("llmspell_serve_streams_open 1000"), std::string::npos);
  std::ofstream(flag) << "go";
  int complete = 0;
  for (auto& c : clients) {
    if (c->readUntil("event: run.finish") && c->readUntil("\r\n0\r\n\r\n") && c->text().find("data: \"two\"") != std::string::npos)
      ++complete;
  }
  EXPECT_EQ(complete, kClients);
  EXPECT_EQ(srv.terminate(), 0);
}

TEST(ServeTls, ServesHttpsWithTheGivenCertificate) {
  std::string dir = testing::TempDir() + "/llmspell_serve_tls_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  ASSERT_EQ(runShell("openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                     " -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1").exit, 0);
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1", "--tls-cert", cert, "--tls-key", key});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  EXPECT_EQ(srv.firstLine().rfind("listening on https://", 0), 0u) << srv.firstLine();
  std::string url = "https://127.0.0.1:" + std::to_string(srv.port());
  auto r = runShell("curl -sS --cacert " + cert + " " + url + "/healthz 2>&1");
  EXPECT_EQ(r.out, R"({"status":"ok"})");
  // Plain HTTP on the TLS port gets nowhere.
  EXPECT_NE(runShell("curl -sS --max-time 5 http://127.0.0.1:" + std::to_string(srv.port()) + "/healthz 2>&1").out, R"({"status":"ok"})");
  EXPECT_EQ(srv.terminate(), 0);
  std::filesystem::remove_all(dir);
}

TEST(ServeIsolation, StuckAndMemoryBombFailAloneWhileAHundredRunsComplete) {
  ServeProcess srv({"--spells", spellsDir(), "--workers", "3"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  int port = srv.port();
  std::string stuck = http(port, "POST", "/v1/runs", R"({"spell":"stuck"})").json()["id"];
  std::string bomb = http(port, "POST", "/v1/runs", R"({"spell":"bomb"})").json()["id"];
  std::vector<std::string> ids;
  for (int i = 0; i < 100; ++i)
    ids.push_back(http(port, "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"n)" + std::to_string(i) + R"("}})").json()["id"]);
  for (int i = 0; i < 100; ++i) {
    json j = waitFinished(port, ids[i]);
    EXPECT_EQ(j["status"], "succeeded") << j.dump();
    EXPECT_EQ(j["output"], "hello n" + std::to_string(i) + " x1");
  }
  json s = waitFinished(port, stuck), b = waitFinished(port, bomb);
  EXPECT_EQ(s["status"], "failed");
  EXPECT_EQ(s["error"]["code"], "limit_exceeded") << s.dump();
  EXPECT_NE(s["error"]["message"].get<std::string>().find("time limit"), std::string::npos) << s.dump();
  EXPECT_EQ(b["status"], "failed");
  EXPECT_EQ(b["error"]["code"], "limit_exceeded") << b.dump();
  EXPECT_NE(b["error"]["message"].get<std::string>().find("memory limit"), std::string::npos) << b.dump();
  EXPECT_EQ(http(port, "GET", "/readyz").status, 200);
  EXPECT_EQ(srv.terminate(), 0);
}

TEST(ServeDrain, SigtermFinishesInFlightRunsThenExits) {
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1", "--drain-timeout", "60"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  std::string flag = flagPath("drain");
  SseClient c(srv.port(), "POST", "/v1/runs", R"({"spell":"gate","stream":true,"params":{"flag":")" + flag + R"("}})");
  ASSERT_TRUE(c.readUntil("data: \"one\"")) << c.text();
  kill(srv.pid(), SIGTERM);
  // Draining: no new connections once the listener closed; the run in flight goes on.
  bool refused = false;
  for (int i = 0; i < 500 && !refused; ++i) {
    refused = http(srv.port(), "GET", "/healthz").status == 0;
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(refused);
  std::ofstream(flag) << "go";
  ASSERT_TRUE(c.readUntil("event: run.finish")) << c.text();
  EXPECT_NE(c.text().find("\"status\":\"succeeded\""), std::string::npos) << c.text();
  EXPECT_EQ(srv.wait(), 0);
}

TEST(ServeDrain, RunsPastTheDrainDeadlineAreCancelled) {
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1", "--drain-timeout", "0.2"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  std::string flag = flagPath("drain2");
  SseClient c(srv.port(), "POST", "/v1/runs", R"({"spell":"gate","stream":true,"params":{"flag":")" + flag + R"("}})");
  ASSERT_TRUE(c.readUntil("data: \"one\"")) << c.text();
  kill(srv.pid(), SIGTERM);
  ASSERT_TRUE(c.readUntil("event: run.finish")) << c.text();
  EXPECT_NE(c.text().find("\"status\":\"cancelled\""), std::string::npos) << c.text();
  EXPECT_NE(c.text().find("shutting down"), std::string::npos) << c.text();
  EXPECT_EQ(srv.wait(), 0);
}

}  // namespace
}  // namespace llmspell::test

namespace llmspell::test {
namespace {

// API keys wired into the service: a store with an active key makes every route need one; the
// key's spells, rate (token bucket) and budget decide; the OpenAI client sees the SDK's typed
// errors (AuthenticationError, PermissionDeniedError, RateLimitError).
TEST(ServeKeys, KeysGateEveryRouteWithTheirSpellsAndRateAndTheSdkSeesTypedErrors) {
  std::string store = testing::TempDir() + "/serve_keys_" + std::to_string(getpid()) + ".db";
  std::filesystem::remove(store);
  auto made = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + cliPath() +
                       " keys create --spell hello --spell echo --rate 1/h --burst 4 2>/dev/null");
  ASSERT_EQ(made.exit, 0) << made.out;
  std::string key = made.out.substr(0, made.out.find('\n'));
  ASSERT_EQ(key.rfind("lsk_", 0), 0u) << made.out;
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1", "--keys", store});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  const std::string hello = R"({"spell":"hello","params":{"name":"Ada"},"wait":true})";
  const std::string auth = "authorization: Bearer " + key + "\r\n";
  // No key, a wrong key: 401, before anything is looked up (an unknown spell is not revealed).
  EXPECT_EQ(http(srv.port(), "POST", "/v1/runs", hello).status, 401);
  EXPECT_EQ(http(srv.port(), "POST", "/v1/runs", R"({"spell":"nosuch"})").status, 401);
  EXPECT_EQ(http(srv.port(), "GET", "/v1/spells", "", "authorization: Bearer lsk_0000000000000000_00\r\n").status, 401);
  // The key's own spell runs (its bucket's first token); another is 403 (refused before the bucket).
  auto ok = http(srv.port(), "POST", "/v1/runs", hello, auth);
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(ok.json()["output"], "hello Ada x1");
  // Runs belong to the key that started them: another key (made after the server started: the
  // store is read per request) does not see them.
  auto other = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + cliPath() + " keys create --spell '*' 2>/dev/null");
  ASSERT_EQ(other.exit, 0) << other.out;
  std::string runPath = "/v1/runs/" + ok.json()["id"].get<std::string>();
  EXPECT_EQ(http(srv.port(), "GET", runPath, "", auth).status, 200);
  EXPECT_EQ(http(srv.port(), "GET", runPath, "", "authorization: Bearer " + other.out.substr(0, other.out.find('\n')) + "\r\n").status, 404);
  auto denied = http(srv.port(), "POST", "/v1/runs", R"({"spell":"fails","wait":true})", auth);
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(denied.json()["error"]["code"], "permission_denied") << denied.body;
  // The OpenAI client: a bad key, then the last two tokens of the burst (the run and the GET took
  // two), then the bucket is empty.
  std::string modules = std::string(LLMSPELL_SOURCE_DIR) + "/third_party_data/node_modules";
  if (std::filesystem::exists(modules + "/openai/package.json") && runShell("command -v node >/dev/null 2>&1").exit == 0) {
    std::string js =
        "const OpenAI = require(process.argv[1] + '/openai');"
        "const base = process.argv[2], key = process.argv[3];"
        "const ask = (k) => new OpenAI({apiKey: k, baseURL: base, maxRetries: 0}).chat.completions.create("
        "  {model: 'echo-agent', messages: [{role: 'user', content: 'hi'}]});"
        "const kind = (e) => e instanceof OpenAI.AuthenticationError ? 'auth' : e instanceof OpenAI.RateLimitError ? "
        "  'rate ' + (e.headers && (e.headers.get ? e.headers.get('retry-after') : e.headers['retry-after']) ? 'retry-after' : 'none') : "
        "  'other ' + e.status;"
        "(async () => { const out = [];"
        "  for (const k of ['lsk_wrong', key, key, key]) {"
        "    try { const r = await ask(k); out.push('ok ' + r.choices[0].message.content); } catch (e) { out.push(kind(e)); } }"
        "  console.log(out.join('|')); })();";
    auto r = runShell("node -e " + shellQuote(js) + " " + shellQuote(modules) + " http://127.0.0.1:" +
                      std::to_string(srv.port()) + "/v1 " + shellQuote(key) + " 2>&1");
    EXPECT_EQ(r.out, "auth|ok hi|ok hi|rate retry-after\n") << r.out;
  } else {
    // Without the SDK: the bucket runs out the same way over plain HTTP.
    EXPECT_EQ(http(srv.port(), "POST", "/v1/runs", hello, auth).status, 200);
    EXPECT_EQ(http(srv.port(), "POST", "/v1/runs", hello, auth).status, 200);
    auto limited = http(srv.port(), "POST", "/v1/runs", hello, auth);
    EXPECT_EQ(limited.status, 429) << limited.body;
    EXPECT_NE(limited.headers.find("retry-after:"), std::string::npos) << limited.headers;
  }
  std::filesystem::remove(store);
}

}  // namespace
}  // namespace llmspell::test

namespace llmspell::test {
namespace {

// A caller's W3C traceparent header reaches the run: its spans join the caller's trace.
TEST(ServeTrace, ARunJoinsTheCallersTrace) {
  std::string dir = writeSpells("trace", {{"traced", {{"spell.yaml", "name: traced\n"}, {"main.lua", "return trace.context().trace_id\n"}}}});
  ServeProcess srv({"--spells", dir, "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  auto r = http(srv.port(), "POST", "/v1/runs", R"({"spell":"traced","wait":true})",
                "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["output"], "4bf92f3577b34da6a3ce929d0e0e4736") << r.body;
  auto fresh = http(srv.port(), "POST", "/v1/runs", R"({"spell":"traced","wait":true})");
  ASSERT_EQ(fresh.status, 200) << fresh.body;
  EXPECT_EQ(fresh.json()["output"].get<std::string>().size(), 32u) << fresh.body;
  EXPECT_NE(fresh.json()["output"], "4bf92f3577b34da6a3ce929d0e0e4736") << fresh.body;
}

}  // namespace
}  // namespace llmspell::test

namespace llmspell::test {
namespace {

// A worker killed from outside (the OOM killer, an operator) fails only the run it held, with
// worker_crashed and the signal; the parent starts another worker and the next run succeeds.
// A frame between worker and parent has a bound (64 MiB): a result past it fails its run with a
// limit error, where before the frame was dropped and the run waited for its time limit. The
// worker stays and runs the next spell.
TEST(ServeIsolation, AResultTooLargeToSendFailsItsRunWithALimitError) {
  std::string dir = writeSpells("huge", {{"huge", {{"spell.yaml", "name: huge\nlimits: {memory_mb: 200, timeout_s: 30}\n"},
                                                    {"main.lua", "return string.rep('x', 65 * 1024 * 1024)\n"}}},
                                         {"small", {{"spell.yaml", "name: small\n"}, {"main.lua", "return 'fine'\n"}}}});
  ServeProcess srv({"--spells", dir, "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  auto r = http(srv.port(), "POST", "/v1/runs", R"({"spell":"huge","wait":true})");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  json j = r.json();
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["error"]["code"], "limit_exceeded");
  EXPECT_NE(j["error"]["message"].get<std::string>().find("more than a run can return"), std::string::npos) << j["error"];
  json next = http(srv.port(), "POST", "/v1/runs", R"({"spell":"small","wait":true})").json();
  EXPECT_EQ(next["status"], "succeeded") << next.dump();
  EXPECT_EQ(next["output"], "fine");
}

TEST(ServeIsolation, AWorkerKilledFromOutsideFailsOnlyItsRun) {
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  std::string flag = testing::TempDir() + "/serve_kill_flag_" + std::to_string(getpid());
  std::filesystem::remove(flag);
  std::string id = http(srv.port(), "POST", "/v1/runs", R"({"spell":"gate","params":{"flag":")" + flag + R"("}})").json()["id"];
  json j;
  for (int i = 0; i < 3000; ++i) {  // running, and past its first output
    j = http(srv.port(), "GET", "/v1/runs/" + id).json();
    if (j["status"] == "running" && j.dump().find("one") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(j["status"], "running") << j.dump();
  auto workers = runShell("pgrep -P " + std::to_string(srv.pid()));
  ASSERT_EQ(workers.exit, 0) << "no worker process under the server";
  for (size_t p = 0, nl; (nl = workers.out.find('\n', p)) != std::string::npos; p = nl + 1)
    kill(std::atoi(workers.out.substr(p, nl - p).c_str()), SIGKILL);
  json done = waitFinished(srv.port(), id);
  EXPECT_EQ(done["status"], "failed") << done.dump();
  EXPECT_EQ(done["error"]["code"], "worker_crashed") << done.dump();
  auto next = http(srv.port(), "POST", "/v1/runs", R"({"spell":"hello","params":{"name":"again"},"wait":true})");
  EXPECT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json()["output"], "hello again x1") << next.body;
  EXPECT_EQ(srv.terminate(), 0);
}

// A key's grant ceiling narrows what its runs receive, whatever the manifest grants: the gate
// spell's manifest may read '/', a key limited to one directory reads there and nowhere else,
// and a key with no grants reads nothing.
TEST(ServeKeys, AKeysGrantCeilingNarrowsTheManifestsGrants) {
  std::string base = testing::TempDir() + "/serve_ceiling_" + std::to_string(getpid());
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base + "/allowed");
  std::ofstream(base + "/allowed/flag") << "x";
  std::ofstream(base + "/outside") << "x";
  std::string store = base + "/keys.db";
  auto mk = [&](const std::string& extra) {
    auto r = runShell("LLMSPELL_KEYS=" + shellQuote(store) + " " + cliPath() + " keys create --spell gate " + extra + " 2>/dev/null");
    EXPECT_EQ(r.exit, 0) << r.out;
    return "authorization: Bearer " + r.out.substr(0, r.out.find('\n')) + "\r\n";
  };
  std::string narrow = mk("--grant-read " + shellQuote(base + "/allowed")), none = mk("--no-grants");
  ServeProcess srv({"--spells", spellsDir(), "--workers", "1", "--keys", store});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  auto gate = [&](const std::string& flag, const std::string& auth) {
    return http(srv.port(), "POST", "/v1/runs", R"({"spell":"gate","wait":true,"params":{"flag":")" + flag + R"("}})", auth).json();
  };
  json inside = gate(base + "/allowed/flag", narrow);
  EXPECT_EQ(inside["status"], "succeeded") << inside.dump();
  EXPECT_EQ(inside["output"], "done") << inside.dump();
  json outside = gate(base + "/outside", narrow);
  EXPECT_EQ(outside["status"], "failed") << outside.dump();
  EXPECT_EQ(outside["error"]["code"], "permission_denied") << outside.dump();
  json nothing = gate(base + "/allowed/flag", none);
  EXPECT_EQ(nothing["status"], "failed") << nothing.dump();
  EXPECT_EQ(nothing["error"]["code"], "permission_denied") << nothing.dump();
  EXPECT_EQ(srv.terminate(), 0);
  std::filesystem::remove_all(base);
}

}  // namespace
}  // namespace llmspell::test

namespace llmspell::test {
namespace {

// A streamed model call's text reaches the run's event stream as llm.token events, piece by
// piece, whether or not the spell passes it on itself.
TEST(ServeTokens, AStreamedModelCallsTokensAreRunEvents) {
  std::string dir = writeSpells(
      "tokens", {{"streamer", {{"spell.yaml", "name: streamer\n"},
                               {"main.lua", "local n = 0\n"
                                            "local r = llm.stream('alpha beta gamma', {model = 'mock/echo'}, function() n = n + 1 end)\n"
                                            "return r.text .. ' ' .. n\n"}}}});
  ServeProcess srv({"--spells", dir, "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  auto r = http(srv.port(), "POST", "/v1/runs", R"({"spell":"streamer","wait":true})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string out = r.json()["output"];
  ASSERT_EQ(out.rfind("alpha beta gamma ", 0), 0u) << r.body;
  int chunks = std::atoi(out.substr(17).c_str());
  EXPECT_GE(chunks, 2) << r.body;
  auto ev = http(srv.port(), "GET", "/v1/runs/" + r.json()["id"].get<std::string>() + "/events");
  std::string text, body = ev.body;
  int tokens = 0;
  for (size_t at = 0; (at = body.find("event: llm.token\ndata: ", at)) != std::string::npos; ++tokens) {
    at += 23;
    json d = json::parse(body.substr(at, body.find('\n', at) - at));
    EXPECT_EQ(d["model"], "mock/echo") << d.dump();
    text += d["text"].get<std::string>();
  }
  EXPECT_EQ(tokens, chunks) << body;
  EXPECT_EQ(text, "alpha beta gamma") << body;
  EXPECT_LT(body.find("event: llm.request"), body.find("event: llm.token")) << body;
  EXPECT_LT(body.rfind("event: llm.token"), body.find("event: llm.response")) << body;
}

}  // namespace
// A worker keeps a spell's manifest and entry between runs; any change in the spell's directory
// is seen by the next run: an edit, a file renamed over the entry, a new entry in the manifest,
// an entry replaced by a link leading out (refused, as when the spell is read the first time),
// and the spell's directory replaced by another (whose own edits are seen too).
TEST(ServeSpellCache, TheRunAfterAnEditRunsTheEditedSpell) {
  namespace fs = std::filesystem;
  std::string dir = writeSpells("cache", {{"edit", {{"spell.yaml", "name: edit\n"}, {"main.lua", "return 1\n"}}}});
  std::string spell = dir + "/edit";
  ServeProcess srv({"--spells", dir, "--workers", "1"});
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  auto run = [&] { return http(srv.port(), "POST", "/v1/runs", R"({"spell":"edit","wait":true})"); };
  auto output = [&] {
    auto r = run();
    EXPECT_EQ(r.status, 200) << r.body;
    return r.json()["output"];
  };
  EXPECT_EQ(output(), 1);
  EXPECT_EQ(output(), 1);  // kept
  std::ofstream(spell + "/main.lua") << "return 2\n";
  EXPECT_EQ(output(), 2);
  std::ofstream(spell + "/next.lua") << "return 3\n";
  fs::rename(spell + "/next.lua", spell + "/main.lua");
  EXPECT_EQ(output(), 3);
  std::ofstream(spell + "/other.lua") << "return 4\n";
  std::ofstream(spell + "/spell.yaml") << "name: edit\nentry: other.lua\n";
  EXPECT_EQ(output(), 4);
  fs::create_directories(dir + "/outside");
  std::ofstream(dir + "/outside/x.lua") << "return 5\n";
  fs::remove(spell + "/other.lua");
  fs::create_symlink(dir + "/outside/x.lua", spell + "/other.lua");
  auto refused = run();
  ASSERT_EQ(refused.status, 200) << refused.body;
  EXPECT_EQ(refused.json()["status"], "failed") << refused.body;
  EXPECT_NE(refused.json()["error"]["message"].get<std::string>().find("other.lua"), std::string::npos) << refused.body;
  fs::remove(spell + "/other.lua");
  std::ofstream(spell + "/other.lua") << "return 6\n";
  EXPECT_EQ(output(), 6);
  // The spell's directory replaced by another at its path, then that one edited.
  std::string fresh = dir + "_fresh";
  fs::remove_all(fresh);
  fs::create_directories(fresh);
  std::ofstream(fresh + "/spell.yaml") << "name: edit\n";
  std::ofstream(fresh + "/main.lua") << "return 7\n";
  fs::rename(spell, dir + "/outside/old");
  fs::rename(fresh, spell);
  EXPECT_EQ(output(), 7);
  std::ofstream(spell + "/main.lua") << "return 8\n";
  EXPECT_EQ(output(), 8);
  EXPECT_EQ(srv.terminate(), 0);
  fs::remove_all(dir);
}

// Workers hand their runs' call log rows to the parent, which writes them (one writer) in
// batches, at most 200 ms after a run is answered: `llmspell logs --run ID` then has each run's
// calls, whichever worker ran it.
TEST(ServeCallLog, ARunsCallsAreLoggedByTheParentWhicheverWorkerRanIt) {
  std::string dir = writeSpells(
      "calllog", {{"twice", {{"spell.yaml", "name: twice\n"},
                             {"main.lua", "llm.chat('a', {model = 'mock/echo'})\n"
                                          "llm.chat('b', {model = 'mock/echo'})\n"
                                          "return spell.context().run_id\n"}}}});
  std::string log = testing::TempDir() + "/llmspell_serve_calls_" + std::to_string(getpid()) + ".db";
  std::filesystem::remove(log);
  setenv("LLMSPELL_CALL_LOG", log.c_str(), 1);
  ServeProcess srv({"--spells", dir, "--workers", "2"});
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_GT(srv.port(), 0) << srv.firstLine();
  waitReady(srv.port());
  std::vector<std::string> runIds;
  for (int i = 0; i < 6; ++i) {
    auto r = http(srv.port(), "POST", "/v1/runs", R"({"spell":"twice","wait":true})");
    ASSERT_EQ(r.status, 200) << r.body;
    runIds.push_back(r.json()["output"]);
  }
  // Committed within 200 ms of the run's answer; a loaded machine gets a few seconds.
  for (const std::string& runId : runIds) {
    json j;
    std::string out;
    for (int tries = 0; tries < 50; ++tries) {
      auto rows = runShell("LLMSPELL_CALL_LOG=" + shellQuote(log) + " " + cliPath() + " logs --run " + runId + " --json");
      ASSERT_EQ(rows.exit, 0) << rows.out;
      out = rows.out;
      j = json::parse(rows.out);
      if (j.size() >= 2u) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    ASSERT_EQ(j.size(), 2u) << out;
    EXPECT_EQ(j[0]["model"], "mock/echo") << out;
    EXPECT_EQ(j[1]["run_id"], runId) << out;
  }
  EXPECT_EQ(srv.terminate(), 0);
  std::filesystem::remove(log);
}

}  // namespace llmspell::test
