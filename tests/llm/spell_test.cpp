// Spell-level tests: Lua spells run through the `llmspell` CLI against the fake provider server
// (base URLs and keys come from the environment, as a user would set them).
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>
#include <sstream>

#include "fake_provider.hpp"
#include "support/cli.hpp"
#include "llmspell/llm/tokenizer.hpp"

namespace {

using json = nlohmann::json;

const std::string kSpells = std::string(LLMSPELL_SOURCE_DIR) + "/tests/llm/spells/";

using llmspell::test::runCli;

class SpellTest : public testing::Test {
 protected:
  void SetUp() override {
    for (const char* k : {"LLMSPELL_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY"}) unsetenv(k);
    setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
    setenv("ANTHROPIC_BASE_URL", fp.baseUrl("anthropic").c_str(), 1);
    setenv("GEMINI_BASE_URL", fp.baseUrl("gemini").c_str(), 1);
    setenv("OLLAMA_HOST", fp.baseUrl("ollama").c_str(), 1);
    setenv("OPENAI_COMPATIBLE_BASE_URL", fp.baseUrl("openai-compatible").c_str(), 1);
  }
  void withKeys() {
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789", 1);
    setenv("GEMINI_API_KEY", "AIzaTestKey0123456789", 1);
  }
  llmspell::fake::FakeProvider fp{11};
};

TEST_F(SpellTest, ChatStreamAndToolRoundTripThroughOpenAi) {
  withKeys();
  fp.push(json{{"text", "Hello!"}, {"usage", {{"input_tokens", 7}, {"output_tokens", 2}}}});
  fp.push(json{{"text", "a b c"}});
  fp.push(json{{"tool_calls", {{{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}});
  fp.push(json{{"text", "It is sunny."}});
  auto r = runCli("run " + kSpells + "chat_openai.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "text=Hello!\tfinish=stop\tprovider=openai\n"
            "usage=7/2\n"
            "chunks=3\tjoined=a b c\tfinal=a b c\n"
            "tool=get_weather\tcity=Paris\tfinish=tool_calls\n"
            "answer=It is sunny.\n");
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[0].header("authorization"), "Bearer sk-test-openai-0123456789");
  EXPECT_EQ(reqs[0].json()["messages"][0]["content"], "Be brief.");
  EXPECT_TRUE(reqs[1].json()["stream"].get<bool>());
  EXPECT_EQ(reqs[3].json()["messages"][2]["role"], "tool");
}

TEST_F(SpellTest, EveryProviderKind) {
  withKeys();
  auto r = runCli("run " + kSpells + "providers_all.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "openai/gpt-4o-mini -> echo openai/gpt-4o-mini [stop]\n"
            "anthropic/claude-sonnet-4-5 -> echo anthropic/claude-sonnet-4-5 [stop]\n"
            "gemini/gemini-2.5-flash -> echo gemini/gemini-2.5-flash [stop]\n"
            "ollama/llama3.2 -> echo ollama/llama3.2 [stop]\n"
            "openai-compatible/qwen -> echo openai-compatible/qwen [stop]\n");
  EXPECT_EQ(fp.requests().size(), 5u);
}

TEST_F(SpellTest, StructuredOutputNativeAndRepair) {
  withKeys();
  fp.push(json{{"json", {{"city", "Paris"}, {"pop", 2100000}}}});
  fp.push(json{{"json", {{"city", "Rome"}, {"pop", 2800000}}}});
  fp.push(json{{"text", "Sure! ```json\n{\"city\": \"Madrid\"}\n```"}});           // missing pop
  fp.push(json{{"text", "Here you go: {\"city\": \"Madrid\", \"pop\": 3300000} hope it helps"}});
  fp.push(json{{"text", "no json here"}});
  fp.push(json{{"text", "{\"city\": 5}"}});
  auto r = runCli("run " + kSpells + "structured.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "openai city=Paris pop=2100000\n"
            "anthropic city=Rome pop=2800000\n"
            "gemini city=Madrid pop=3300000\n"
            "invalid ok=false code=validation_failed\n");
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 6u);
  EXPECT_EQ(reqs[0].json()["response_format"]["type"], "json_schema");
  EXPECT_EQ(reqs[1].json()["tool_choice"]["type"], "tool");
  EXPECT_EQ(reqs[2].json()["generationConfig"]["responseMimeType"], "application/json");
  // The repair request tells the model what was wrong.
  EXPECT_NE(reqs[3].body.find("did not match"), std::string::npos);
  EXPECT_NE(reqs[3].body.find("pop"), std::string::npos);
}

// Each kind of damage is repaired in the one call the spell makes (attempts = 1).
TEST_F(SpellTest, StructuredRepairsDamagedJsonWithoutARetry) {
  withKeys();
  for (const char* text : {
           R"({"city": "Paris", "pop": 2100000, "tags": ["a", "b",],})",
           R"({'city': 'Rome', 'pop': 2800000, 'tags': ['it\'s old']})",
           R"({city: "Oslo", pop: 700000})",
           "{\"city\": \"Bern\", // the capital\n \"pop\": 130000 /* about */}",
           R"({"city": "Lima", "pop": 9700000)",
           R"({"city": "Kyiv", "pop": 2900000, "tags": ["old", "bi)",
           "```json\n{\"city\": \"Madrid\", \"pop\": 3300000,}\n```",
           "Here you go: {\"city\": \"Cairo\", \"pop\": 10000000} Hope that helps!",
       }) {
    fp.push(json{{"text", text}});
  }
  auto r = runCli("run " + kSpells + "structured_repair.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "trailing comma: city=Paris pop=2100000 tags=a,b\n"
            "single quotes: city=Rome pop=2800000 tags=it's old\n"
            "unquoted keys: city=Oslo pop=700000 tags=\n"
            "comments: city=Bern pop=130000 tags=\n"
            "truncated object: city=Lima pop=9700000 tags=\n"
            "truncated array: city=Kyiv pop=2900000 tags=old,bi\n"
            "code fence: city=Madrid pop=3300000 tags=\n"
            "prose: city=Cairo pop=10000000 tags=\n");
  EXPECT_EQ(fp.requests().size(), 8u);  // one model call per reply: no retry spent
}

TEST_F(SpellTest, StructuredReportListsRepairsAndCoercions) {
  withKeys();
  fp.push(json{{"text", R"({"name": "Ann", "age": "5", "score": "2.5", "admin": "true", "tags": "x",})"}});
  fp.push(json{{"text", R"({"name": "Bo", "age": "3"})"}});
  auto r = runCli("run " + kSpells + "structured_report.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            R"({"admin":true,"age":5,"name":"Ann","score":2.5,"tags":["x"]})" "\n"
            "attempts=1\n"
            "$: removed a trailing comma\n"
            "$.age: coerced string \"5\" to integer\n"
            "$.score: coerced string \"2.5\" to number\n"
            "$.admin: coerced string \"true\" to boolean\n"
            "$.tags: wrapped a single value in an array\n"
            "plain name=Bo age=3 repairs=nil\n");
  EXPECT_EQ(fp.requests().size(), 2u);
}

TEST_F(SpellTest, StructuredUnrepairableReplyStillRetriesWithTheErrors) {
  withKeys();
  fp.push(json{{"text", R"({city: 'Rome', pop: "many",})"}});  // repaired, but pop is no integer
  fp.push(json{{"text", R"({"city": "Rome", "pop": "2800000"})"}});
  fp.push(json{{"text", "no json here"}});
  fp.push(json{{"text", "{\"city\": 5}"}});
  auto r = runCli("run " + kSpells + "structured_retry.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "city=Rome pop=2800000 attempts=2\n"
            "$.pop: coerced string \"2800000\" to integer\n"
            "ok=false code=validation_failed attempts=2 error=$.pop: required property missing\n");
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 4u);
  // The retry names what repair could not fix (the repaired JSON's error, not "no JSON").
  std::string retry = reqs[1].json()["messages"].back()["content"];
  EXPECT_NE(retry.find("$.pop"), std::string::npos) << retry;
  EXPECT_EQ(retry.find("no JSON"), std::string::npos) << retry;
}

TEST_F(SpellTest, StreamWithSchemaShowsGrowingPartialsThenTheOutput) {
  withKeys();
  fp.push(json{{"text", R"({"city": "Paris", "pop": 2100000, "tags": ["old", "big"]})"}});
  fp.push(json{{"text", R"({"city": 5})"}});
  fp.push(json{{"text", R"({"city": "Rome", "pop": "2800000"})"}});
  auto r = runCli("run " + kSpells + "structured_stream.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "partial {}\n"
            "partial {\"city\":\"Paris\"}\n"
            "partial {\"city\":\"Paris\",\"pop\":2100000}\n"
            "partial {\"city\":\"Paris\",\"pop\":2100000,\"tags\":[\"old\"]}\n"
            "partial {\"city\":\"Paris\",\"pop\":2100000,\"tags\":[\"old\",\"big\"]}\n"
            "output {\"city\":\"Paris\",\"pop\":2100000,\"tags\":[\"old\",\"big\"]} text=57\n"
            "invalid ok=false code=validation_failed\n"
            "iterator partials=4 city=Rome pop=2800000\n");
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 3u);
  // The schema still reaches the provider (native structured output).
  EXPECT_EQ(reqs[0].json()["response_format"]["type"], "json_schema");
  EXPECT_TRUE(reqs[0].json()["stream"].get<bool>());
}

TEST_F(SpellTest, StructuredRepairAndPartialsFromTengo) {
  withKeys();
  fp.push(json{{"text", R"({age: "5",})"}});
  fp.push(json{{"text", R"({"age": "6"})"}});
  auto r = runCli("run " + kSpells + "structured.tengo");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "5 1 [\"$.age: quoted an unquoted key\", \"$: removed a trailing comma\", "
            "\"$.age: coerced string \\\"5\\\" to integer\"]\n"
            "partial {}\n"
            "partial {age: 6}\n"
            "output {age: 6}\n");
  EXPECT_EQ(fp.requests().size(), 2u);
}

TEST_F(SpellTest, ErrorsRetriesAndTimeouts) {
  withKeys();
  fp.push(json{{"fault", "rate_limit"}, {"retry", "ms"}, {"retry_after", 0.05}});
  fp.push(json{{"text", "made it"}});
  fp.push(json{{"fault", "auth"}});
  fp.push(json{{"fault", "stall"}});
  auto r = runCli("run " + kSpells + "errors.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "after retry: made it\n"
            "auth ok=false code=auth_error retryable=false\n"
            "timeout ok=false code=timeout\n"
            "bad model code=invalid_argument\n");
  EXPECT_EQ(r.err.find("sk-test-openai"), std::string::npos);
}

TEST_F(SpellTest, MockRepliesFileChoosesTheScriptedMock) {
  // Scripted replies from --mock-replies, served by mock/script.
  auto r = runCli("run --mock-replies " + kSpells + "mock_replies.jsonl " + kSpells + "mock_offline.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "scripted one\t7\nsearch\tllmspell\ttool_calls\nfalse\tprovider_error\n");
  // Without them (and without a model or key) there is no silent echo: see
  // NoModelAndNoKeyIsAConfigError.
  auto m = runCli("exec --model mock/echo 'print(llm.complete(\"chosen\"))'");
  EXPECT_EQ(m.out, "chosen\n");
  EXPECT_EQ(m.err, "");
}

TEST_F(SpellTest, FirstProviderWithAKeyIsTheDefault) {
  setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789", 1);
  fp.push(json{{"text", "from claude"}});
  auto r = runCli("exec 'local r = llm.chat(\"hi\"); print(r.provider, r.text)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "anthropic\tfrom claude\n");
  ASSERT_EQ(fp.requests().size(), 1u);
  EXPECT_EQ(fp.requests()[0].path, "/v1/messages");
}

}  // namespace

namespace {

TEST_F(SpellTest, RecordThenReplayOffline) {
  withKeys();
  std::string rec = testing::TempDir() + "/llm_spell_rec.jsonl";
  std::remove(rec.c_str());
  fp.push(json{{"text", "live answer"}});
  std::string spell = "'print(llm.complete(\"what is up\", {model = \"openai/gpt-4o-mini\"}))'";
  auto a = runCli("exec --record " + rec + " " + spell);
  ASSERT_EQ(a.exit, 0) << a.err;
  EXPECT_EQ(a.out, "live answer\n");
  unsetenv("OPENAI_API_KEY");
  auto b = runCli("exec --replay " + rec + " " + spell);
  ASSERT_EQ(b.exit, 0) << b.err;
  EXPECT_EQ(b.out, "live answer\n");
  EXPECT_EQ(fp.requests().size(), 1u);
  auto c = runCli("exec --replay " + rec + " 'print(llm.complete(\"what is down\", {model = \"openai/gpt-4o-mini\"}))'");
  EXPECT_NE(c.exit, 0);
  EXPECT_NE(c.err.find("what is up"), std::string::npos) << c.err;
}

TEST_F(SpellTest, PoolFallsBackAcrossProviders) {
  withKeys();
  fp.push(json{{"fault", "auth"}});
  fp.push(json{{"text", "gemini saved the day"}});
  auto r = runCli("exec 'local p = llm.pool({models = {\"openai/gpt-4o-mini\", \"gemini/gemini-2.5-flash\"}}); "
                  "local r = llm.chat(\"hi\", {model = p}); print(r.text, r.pool_model)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "gemini saved the day\tgemini/gemini-2.5-flash\n");
}

}  // namespace

namespace {

TEST_F(SpellTest, HooksRedirectAndEventsReport) {
  withKeys();
  fp.push(json{{"text", "via the hook"}});
  auto r = runCli("run " + kSpells + "hooks_events.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "openai\tvia the hook\nllm.request,llm.response\nfalse\tcancelled\tno calls today\n");
}

// The fake provider as a program: prints its port, takes a --script and control requests.
TEST(FakeProviderProgram, PrintsPortServesScriptAndControlEndpoint) {
  std::string script = testing::TempDir() + "/fake_script.json";
  {
    std::ofstream f(script);
    f << R"([{"text": "from the script"}])";
  }
  int toChild[2], fromChild[2];
  ASSERT_EQ(pipe(toChild), 0);
  ASSERT_EQ(pipe(fromChild), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(toChild[0], 0);
    dup2(fromChild[1], 1);
    close(toChild[1]);
    close(fromChild[0]);
    std::string bin = std::string(LLMSPELL_BINARY_DIR) + "/tests/fake_provider/fake_provider";
    execl(bin.c_str(), bin.c_str(), "--script", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(toChild[0]);
  close(fromChild[1]);
  std::string line;
  char c;
  while (read(fromChild[0], &c, 1) == 1 && c != '\n') line += c;
  int port = std::atoi(line.c_str());
  ASSERT_GT(port, 0) << line;
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  setenv("OPENAI_BASE_URL", (base + "/v1").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-x-0123456789", 1);
  auto a = runCli("exec 'print(llm.complete(\"q\", {model = \"openai/gpt-4o-mini\"}))'");
  EXPECT_EQ(a.out, "from the script\n") << a.err;
  // Queue a reply over the control endpoint, from a spell (loopback needs --allow-net).
  auto b = runCli("exec --allow-net=127.0.0.1 'http.post(\"" + base + "/_control/replies\", {text = \"queued over http\"}); "
                  "print(llm.complete(\"q\", {model = \"openai/gpt-4o-mini\"}))'");
  EXPECT_EQ(b.out, "queued over http\n") << b.err;
  close(toChild[1]);  // EOF on stdin: the program exits
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  close(fromChild[0]);
}

}  // namespace

namespace {

TEST_F(SpellTest, StreamIteratorForm) {
  withKeys();
  fp.push(json{{"text", "alpha beta gamma"}, {"chunk_delay", 0.01}});
  fp.push(json{{"text", "a b c d e f g h"}, {"chunk_delay", 0.05}});
  auto r = runCli("exec 'local t = {} "
                  "for c in llm.stream(\"q\", {model = \"anthropic/claude-haiku-4-5\"}) do t[#t + 1] = c.text end "
                  "print(#t, table.concat(t)) "
                  "for c in llm.stream(\"q\", {model = \"anthropic/claude-haiku-4-5\"}) do print(\"first\", c.text) break end'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "3\talpha beta gamma\nfirst\ta\n");
}

}  // namespace

#include "llmspell/llm/call_log.hpp"

namespace {

TEST_F(SpellTest, CallLogRecordsEveryCallInSqlite) {
  withKeys();
  std::string db = testing::TempDir() + "/llm_calls_test.sqlite";
  std::remove(db.c_str());
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  fp.push(json{{"text", "logged"}, {"usage", {{"input_tokens", 100}, {"output_tokens", 50}}}});
  fp.push(json{{"fault", "auth"}});
  auto r = runCli("exec 'print(llm.complete(\"a\", {model = \"openai/gpt-4o-mini\"})); "
                  "print(pcall(llm.complete, \"b\", {model = \"openai/gpt-4o-mini\"}))'");
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_EQ(r.exit, 0) << r.err;
  llmspell::llm::CallLog log(db);
  auto rows = log.recent(10);
  ASSERT_EQ(rows.asArray().size(), 2u);
  EXPECT_EQ(rows.asArray()[0].getString("error_code"), "auth_error");
  EXPECT_EQ(rows.asArray()[1].getString("model"), "openai/gpt-4o-mini");
  EXPECT_EQ(rows.asArray()[1].getInt("input_tokens"), 100);
  EXPECT_EQ(rows.asArray()[1].getString("finish_reason"), "stop");
  EXPECT_GT(rows.asArray()[1].getNumber("cost_usd"), 0.0);
}

// The call log as `llmspell logs --json` shows it (every row of `db`).
json logRows(const std::string& db) {
  auto r = runCli("logs --json --limit 100000 --db " + llmspell::test::shellQuote(db));
  EXPECT_EQ(r.exit, 0) << r.err;
  return json::parse(r.out.empty() ? "[]" : r.out);
}

std::string freshLog(const std::string& name) {
  std::string db = testing::TempDir() + "/" + name;
  for (const char* ext : {"", "-wal", "-shm"}) std::remove((db + ext).c_str());
  return db;
}

// Rows are written in batches by a writer thread: a run that ends must still leave every row.
TEST_F(SpellTest, CallLogKeepsEveryRowOfARunOfManyCalls) {
  withKeys();
  std::string db = freshLog("many_calls.sqlite");
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  auto r = runCli("exec 'for i = 1, 150 do llm.complete(\"p\" .. i, {model = \"openai/gpt-4o-mini\"}) end'");
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_EQ(r.exit, 0) << r.err;
  auto rows = logRows(db);
  ASSERT_EQ(rows.size(), 150u);
  for (const auto& row : rows) EXPECT_EQ(row["model"], "openai/gpt-4o-mini");
}

TEST_F(SpellTest, CallLogKeepsTheRowsOfASpellThatFails) {
  withKeys();
  std::string db = freshLog("spell_error.sqlite");
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  auto r = runCli("exec 'for i = 1, 7 do llm.complete(\"p\" .. i, {model = \"openai/gpt-4o-mini\"}) end error(\"boom\")'");
  unsetenv("LLMSPELL_CALL_LOG");
  EXPECT_EQ(r.exit, 1) << r.err;
  EXPECT_NE(r.err.find("boom"), std::string::npos) << r.err;
  EXPECT_EQ(logRows(db).size(), 7u);
}

TEST_F(SpellTest, CallLogKeepsTheRowsOfALimitStop) {
  withKeys();
  std::string db = freshLog("limit_stop.sqlite");
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  auto r = runCli("exec --instruction-limit 1000000 'for i = 1, 7 do llm.complete(\"p\" .. i, {model = \"openai/gpt-4o-mini\"}) end "
                  "while true do end'");
  unsetenv("LLMSPELL_CALL_LOG");
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(logRows(db).size(), 7u);
}

// SIGTERM mid-run: the process still dies of the signal, and the calls it made are in the log.
TEST_F(SpellTest, CallLogKeepsTheRowsOfARunStoppedBySigterm) {
  withKeys();
  std::string db = freshLog("sigterm.sqlite");
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  int out[2];
  ASSERT_EQ(::pipe(out), 0);
  std::string bin = llmspell::test::cliPath();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    ::close(out[1]);
    ::execl(bin.c_str(), bin.c_str(), "exec",
            "for i = 1, 9 do llm.complete('p' .. i, {model = 'openai/gpt-4o-mini'}) end print('ready') sleep(600)",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_GT(pid, 0);
  ::close(out[1]);
  std::string got;
  char buf[64];
  ssize_t n;
  while (got.find("ready\n") == std::string::npos && (n = ::read(out[0], buf, sizeof buf)) > 0) got.append(buf, n);
  ::close(out[0]);
  ASSERT_EQ(got, "ready\n");
  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(logRows(db).size(), 9u);
}

}  // namespace

namespace {

TEST_F(SpellTest, ConfigurePermissionsAndKeys) {
  // A base URL the spell sets needs --allow-net for its host, loopback included.
  auto r = runCli("exec --allow-net=127.0.0.1 'local ok, e = pcall(llm.configure, \"x\", {kind = \"openai-compatible\", base_url = \"https://evil.example.com/v1\"}); print(e.code) "
                  "ok, e = pcall(llm.configure, \"x\", {kind = \"openai-compatible\", base_url = \"http://127.0.0.1:9/v1\", api_key = \"sk-abc\"}); print(e.code) "
                  "llm.configure(\"local\", {kind = \"openai-compatible\", base_url = \"" + fp.baseUrl("openai-compatible") + "\"}) "
                  "print(llm.complete(\"loopback when granted\", {model = \"local/m\"}))'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "permission_denied\ninvalid_argument\nloopback when granted\n");
  auto g = runCli("exec --allow-net=evil.example.com 'llm.configure(\"x\", {kind = \"openai-compatible\", base_url = \"https://evil.example.com/v1\"}) print(\"granted\")'");
  EXPECT_EQ(g.out, "granted\n") << g.err;
}

}  // namespace

namespace {

TEST_F(SpellTest, BatchKeepsInputOrderAndCompareRunsModelsSideBySide) {
  withKeys();
  auto r = runCli("exec 'local rs = llm.batch({\"p1\", \"p2\", \"p3\", \"p4\"}, {model = \"openai/gpt-4o-mini\", concurrency = 2}) "
                  "local t = {} for _, x in ipairs(rs) do t[#t + 1] = x.text end print(table.concat(t, \" \")) "
                  "local c = llm.compare(\"same\", {\"openai/gpt-4o-mini\", \"gemini/gemini-2.5-flash\", \"nobody/x\"}) "
                  "for _, x in ipairs(c) do print(x.model, x.text or x.error.code) end'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "p1 p2 p3 p4\nopenai/gpt-4o-mini\tsame\ngemini/gemini-2.5-flash\tsame\nnobody/x\tinvalid_argument\n");
  EXPECT_EQ(fp.requests().size(), 6u);
}

}  // namespace

namespace {

// A fresh data directory for one test (LLMSPELL_HOME), removed afterwards.
struct TempHome {
  std::string dir;
  TempHome() {
    char tmpl[] = "/tmp/llmspell_llm_home_XXXXXX";
    dir = mkdtemp(tmpl);
    setenv("LLMSPELL_HOME", dir.c_str(), 1);
    unsetenv("LLMSPELL_CALL_LOG");
  }
  ~TempHome() {
    unsetenv("LLMSPELL_HOME");
    std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", dir.c_str());
  }
};

TEST_F(SpellTest, ProvidersProbesReachability) {
  withKeys();
  // The spell points a provider at a loopback port: that needs the grant like any host.
  auto r = runCli("run --allow-net=127.0.0.1 " + kSpells + "providers_probe.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "openai\ttrue\ttrue\t200\tfalse\tnumber\n"
            "down\ttrue\tfalse\tnil\ttrue\tnumber\n"
            "mock\ttrue\ttrue\tnil\tfalse\tnumber\n"
            "groq\tfalse\tnil\tnil\ttrue\tnil\n"
            "true\tnil\n");
  bool sawList = false;
  for (const auto& q : fp.requests()) sawList |= q.method == "GET" && q.path == "/v1/models";
  EXPECT_TRUE(sawList);
}

TEST_F(SpellTest, ModelsRefreshIsCachedInTheDataDirectory) {
  withKeys();
  TempHome home;
  fp.push(json{{"models", {"gemini-9-experimental", "gemini-2.5-flash"}}});
  auto r = runCli("run " + kSpells + "models_refresh.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "2\tgemini-9-experimental\nlisted\t1048576\t65536\nbuiltin\n");
  std::ifstream cache(home.dir + "/models/gemini.json");
  ASSERT_TRUE(cache.good());
  std::stringstream ss;
  ss << cache.rdbuf();
  auto j = json::parse(ss.str());
  EXPECT_EQ(j["provider"], "gemini");
  EXPECT_EQ(j["models"].size(), 2u);
  // A later run reads the cache; no request is made.
  fp.clear();
  auto later = runCli("run " + kSpells + "models_cached.lua");
  ASSERT_EQ(later.exit, 0) << later.err;
  EXPECT_EQ(later.out, "listed\t1048576\nlisted\t1\n");
  EXPECT_TRUE(fp.requests().empty());
}

TEST_F(SpellTest, LogsCommandListsAndFiltersTheCallLog) {
  TempHome home;
  auto r = runCli("run " + kSpells + "call_log.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 5), "false");
  auto all = runCli("logs --json");
  ASSERT_EQ(all.exit, 0) << all.err;
  auto rows = json::parse(all.out);
  ASSERT_EQ(rows.size(), 3u) << all.out;
  EXPECT_EQ(rows[0]["model"], "mock/script");  // newest first
  EXPECT_EQ(rows[0]["error_code"], "rate_limited");
  EXPECT_EQ(rows[2]["model"], "mock/echo");
  EXPECT_EQ(rows[2]["spell"], "call_log");
  EXPECT_TRUE(rows[2]["time"].is_string());
  EXPECT_EQ(json::parse(runCli("logs --json --status error").out).size(), 1u);
  EXPECT_EQ(json::parse(runCli("logs --json --status ok").out).size(), 2u);
  EXPECT_EQ(json::parse(runCli("logs --json --status rate_limited").out).size(), 1u);
  EXPECT_EQ(json::parse(runCli("logs --json --model mock/echo").out).size(), 2u);
  EXPECT_EQ(json::parse(runCli("logs --json --model mock").out).size(), 3u);
  EXPECT_EQ(json::parse(runCli("logs --json --model openai").out).size(), 0u);
  EXPECT_EQ(json::parse(runCli("logs --json --limit 1").out).size(), 1u);
  EXPECT_EQ(json::parse(runCli("logs --json --since 1h").out).size(), 3u);
  EXPECT_EQ(json::parse(runCli("logs --json --since 2999-01-01").out).size(), 0u);
  EXPECT_EQ(json::parse(runCli("logs --json --since 2000-01-01T00:00").out).size(), 3u);
  auto bad = runCli("logs --since yesterday");
  EXPECT_EQ(bad.exit, 2);
  EXPECT_NE(bad.err.find("--since"), std::string::npos);
  auto text = runCli("logs --limit 2");
  ASSERT_EQ(text.exit, 0) << text.err;
  EXPECT_EQ(text.out.rfind("TIME", 0), 0u) << text.out;
  EXPECT_NE(text.out.find("rate_limited"), std::string::npos);
  EXPECT_EQ(std::count(text.out.begin(), text.out.end(), '\n'), 3);
}

}  // namespace

namespace {

TEST_F(SpellTest, CountTokensExactForOpenAiModels) {
  if (!llmspell::llm::tokenizerFor("o200k_base") || !llmspell::llm::tokenizerFor("cl100k_base")) {
    GTEST_SKIP() << "tokenizer data not installed (scripts/setup.sh)";
  }
  auto r = runCli("run " + kSpells + "count_tokens.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "2\ttrue\to200k_base\n"
            "2\ttrue\tcl100k_base\n"
            "3\tfalse\tchars/4\n"
            "16\ttrue\n");
}

TEST_F(SpellTest, CountTokensFallsBackToAnEstimateWithoutTheData) {
  setenv("LLMSPELL_TOKENIZER_DIR", "off", 1);
  auto r = runCli("run " + kSpells + "count_tokens.lua");
  unsetenv("LLMSPELL_TOKENIZER_DIR");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "3\tfalse\tchars/4\n"
            "3\tfalse\tchars/4\n"
            "3\tfalse\tchars/4\n"
            "18\tfalse\n");
}

}  // namespace

namespace {

TEST_F(SpellTest, SessionSendsTheTrimmedHistoryToTheProvider) {
  withKeys();
  auto r = runCli("run " + kSpells + "session_openai.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].json()["messages"].size(), 2u);
  EXPECT_EQ(reqs[2].json()["messages"][0]["role"], "system");
  if (llmspell::llm::tokenizerFor("o200k_base")) {
    EXPECT_EQ(reqs[1].json()["messages"].size(), 4u);
    // Exact counts: system 7, each user / assistant message 9, +3: the third turn drops the first.
    EXPECT_EQ(reqs[2].json()["messages"].size(), 4u);
    EXPECT_EQ(r.out, "alpha beta gamma delta epsilon\nalpha beta gamma delta epsilon\nalpha beta gamma delta epsilon\n5\t2\n");
  } else {
    // Estimates (about 4 characters a token) are larger: each turn keeps only itself.
    EXPECT_EQ(reqs[1].json()["messages"].size(), 2u);
    EXPECT_EQ(reqs[2].json()["messages"].size(), 2u);
  }
}

}  // namespace

// ---- issue #11: provider edge cases, seen by a spell ----

namespace {

// Lines of `text` that start with `prefix`.
std::string lineStarting(const std::string& text, const std::string& prefix) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return "";
}

TEST_F(SpellTest, RedirectAndHtmlPageAreNamedAndNotRetried) {
  withKeys();
  std::string page = "<!DOCTYPE html><html><body>Sign in to the corporate proxy</body></html>";
  fp.push(json{{"status", 302}, {"headers", {{"location", "https://login.example.com/sso"}}}, {"body", ""}});
  fp.push(json{{"status", 307}, {"headers", {{"location", "https://other.example.com/v1/chat/completions"}, {"content-type", "text/html"}}},
               {"body", page}});
  fp.push(json{{"status", 200}, {"headers", {{"content-type", "text/html; charset=utf-8"}}}, {"body", page}});
  fp.push(json{{"status", 200}, {"headers", {{"content-type", "text/html"}}}, {"body", page}});
  auto r = runCli("run " + kSpells + "edge_not_api.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  std::string post302 = lineStarting(r.out, "post 302");
  EXPECT_NE(post302.find("provider_error\tfalse"), std::string::npos) << r.out;
  EXPECT_NE(post302.find("https://login.example.com/sso"), std::string::npos) << r.out;
  std::string stream307 = lineStarting(r.out, "stream 307");
  EXPECT_NE(stream307.find("provider_error\tfalse"), std::string::npos) << r.out;
  EXPECT_NE(stream307.find("https://other.example.com/v1/chat/completions"), std::string::npos) << r.out;
  for (const char* label : {"stream html", "post html"}) {
    std::string line = lineStarting(r.out, label);
    EXPECT_NE(line.find("provider_error\tfalse"), std::string::npos) << r.out;
    EXPECT_NE(line.find("text/html"), std::string::npos) << r.out;
    EXPECT_NE(line.find("Sign in to the corporate proxy"), std::string::npos) << r.out;
    EXPECT_EQ(line.find("stream ended"), std::string::npos) << r.out;
  }
  // One request each: none of them was retried.
  EXPECT_EQ(fp.requests().size(), 4u);
}

TEST_F(SpellTest, AnthropicServerToolsAreNotToolCalls) {
  withKeys();
  fp.push(json{{"server_tools", {{{"name", "web_search"}, {"input", {{"query", "Paris weather"}}}}}},
               {"text", "Let me check."},
               {"tool_calls", {{{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}}});
  auto r = runCli("run " + kSpells + "edge_server_tools.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "tool_call_delta\t0=get_weather {\"city\":\"Paris\"}\n"
            "server tools\tweb_search\n"
            "tool_calls\t1\tget_weather\tParis\n"
            "server blocks\t2\tserver_tool_use\tParis weather\tweb_search_tool_result\n"
            "text\tLet me check.\n");
}

TEST_F(SpellTest, OpenAiRefusalStreamsAsItsOwnChunks) {
  withKeys();
  fp.push(json{{"refusal", "I can't help with that."}});
  fp.push(json{{"refusal", "I can't help with that."}});
  auto r = runCli("run " + kSpells + "edge_refusal.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "text chunks\t0\trefusal\tI can't help with that.\n"
            "stream\tI can't help with that.\tcontent_filter\tstop\n"
            "chat\tI can't help with that.\tcontent_filter\tstop\n");
}

TEST_F(SpellTest, MissingUsageIsNilAndTheCallLogSaysSo) {
  withKeys();
  std::string db = testing::TempDir() + "/llm_calls_usage_test.sqlite";
  std::remove(db.c_str());
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  fp.push(json{{"text", "no usage here"}, {"no_usage", true}});
  fp.push(json{{"text", "nor here"}, {"no_usage", true}});
  fp.push(json{{"text", "counted"}, {"usage", {{"input_tokens", 100}, {"output_tokens", 50}}}});
  auto r = runCli("run " + kSpells + "edge_usage.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "usage\tnil\tcost\tnil\ttext\tno usage here\n"
            "stream usage\tnil\tcost\tnil\n"
            "reported\t100\t50\ttrue\n");
  auto rows = json::parse(runCli("logs --json --db " + db).out);
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_TRUE(rows[2]["input_tokens"].is_null()) << rows.dump();
  EXPECT_TRUE(rows[2]["cost_usd"].is_null()) << rows.dump();
  EXPECT_EQ(rows[0]["input_tokens"], 100);
  auto text = runCli("logs --db " + db);
  EXPECT_NE(text.out.find("reported no token usage"), std::string::npos) << text.out;
}

TEST_F(SpellTest, FailedCallsAreLoggedWithProviderAndLatency) {
  withKeys();
  std::string db = testing::TempDir() + "/llm_calls_failed_test.sqlite";
  std::remove(db.c_str());
  setenv("LLMSPELL_CALL_LOG", db.c_str(), 1);
  // A rate limit asking for 0.2 s, then an auth failure: the failed call took at least 200 ms.
  fp.push(json{{"fault", "rate_limit"}, {"retry", "ms"}, {"retry_after", 0.2}});
  fp.push(json{{"fault", "auth"}});
  auto r = runCli("exec 'print(pcall(llm.complete, \"b\", {model = \"openai/gpt-4o-mini\"}))'");
  unsetenv("LLMSPELL_CALL_LOG");
  ASSERT_EQ(r.exit, 0) << r.err;
  llmspell::llm::CallLog log(db);
  auto rows = log.recent(10);
  ASSERT_EQ(rows.asArray().size(), 1u);
  EXPECT_EQ(rows.asArray()[0].getString("error_code"), "auth_error");
  EXPECT_EQ(rows.asArray()[0].getString("provider"), "openai");
  EXPECT_GE(rows.asArray()[0].getInt("latency_ms"), 200);
}

TEST_F(SpellTest, AsyncErrorsKeepTheScriptLine) {
  withKeys();
  fp.push(json{{"fault", "auth"}});
  auto r = runCli("run " + kSpells + "edge_async_error.lua");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("auth_error"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(at edge_async_error.lua:3)"), std::string::npos) << r.err;
  // In a spawned task too.
  fp.push(json{{"fault", "auth"}});
  auto s = runCli("exec 'local t = spawn(function()\n return llm.chat(\"hi\", {model = \"openai/gpt-4o-mini\"})\n end)\nawait(t)'");
  EXPECT_EQ(s.exit, 1);
  EXPECT_NE(s.err.find("auth_error"), std::string::npos) << s.err;
  EXPECT_NE(s.err.find(":2)"), std::string::npos) << s.err;
}

TEST_F(SpellTest, QuotaAndLongRetryAfterAreNotRetriedAndSayWhy) {
  withKeys();
  fp.push(json{{"fault", "quota"}});
  fp.push(json{{"fault", "rate_limit"}, {"retry", "seconds"}, {"retry_after", 3600}});
  auto r = runCli("run " + kSpells + "edge_retry_reasons.lua");
  ASSERT_EQ(r.exit, 0) << r.err;
  std::string quota = lineStarting(r.out, "quota");
  EXPECT_NE(quota.find("rate_limited\tfalse"), std::string::npos) << r.out;
  EXPECT_NE(quota.find("not retried"), std::string::npos) << r.out;
  EXPECT_NE(quota.find("insufficient_quota"), std::string::npos) << r.out;
  std::string wait = lineStarting(r.out, "long wait");
  EXPECT_NE(wait.find("rate_limited\tfalse"), std::string::npos) << r.out;
  EXPECT_NE(wait.find("not retried"), std::string::npos) << r.out;
  EXPECT_NE(wait.find("3600s"), std::string::npos) << r.out;
  EXPECT_NE(wait.find("max_retry_after 60s"), std::string::npos) << r.out;
  EXPECT_EQ(fp.requests().size(), 2u);
}

// ---- issue #11 item 13: no model and no key is an error, not the echo mock ----

TEST_F(SpellTest, NoModelAndNoKeyIsAConfigError) {
  auto r = runCli("exec 'print(llm.complete(\"my real question\"))'");
  EXPECT_EQ(r.exit, 1);
  EXPECT_EQ(r.out, "");
  for (const char* word : {"config_error", "--model", "LLMSPELL_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "mock/echo"}) {
    EXPECT_NE(r.err.find(word), std::string::npos) << word << " in " << r.err;
  }
  auto m = runCli("exec --model mock/echo 'print(llm.complete(\"chosen\"))'");
  EXPECT_EQ(m.exit, 0) << m.err;
  EXPECT_EQ(m.out, "chosen\n");
  setenv("LLMSPELL_MODEL", "mock/echo", 1);
  auto e = runCli("exec 'print(llm.complete(\"from the environment\"))'");
  unsetenv("LLMSPELL_MODEL");
  EXPECT_EQ(e.out, "from the environment\n") << e.err;
}

TEST_F(SpellTest, ProviderWithoutKeyFailsBeforeSending) {
  auto r = runCli("exec 'local ok, e = pcall(llm.chat, \"hi\", {model = \"openai/gpt-4o-mini\"}) print(e.code, e.message) "
                  "ok, e = pcall(llm.chat, \"hi\", {model = \"gemini/gemini-2.5-flash\"}) print(e.code, e.message)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  std::string first = r.out.substr(0, r.out.find('\n'));
  EXPECT_EQ(first.rfind("config_error\t", 0), 0u) << r.out;
  EXPECT_NE(first.find("set OPENAI_API_KEY"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("GEMINI_API_KEY"), std::string::npos) << r.out;
  EXPECT_EQ(fp.requests().size(), 0u);  // nothing was sent
  // Local servers need no key.
  auto o = runCli("exec 'print(llm.complete(\"local\", {model = \"ollama/llama3.2\"}))'");
  EXPECT_EQ(o.out, "local\n") << o.err;
}

// ---- issue #11: smaller surprises ----

TEST_F(SpellTest, ResultModelCarriesTheProviderPrefix) {
  withKeys();
  auto r = runCli("exec 'local r = llm.chat(\"hi\", {model = \"openai/gpt-4o-mini\"}) print(r.model, r.raw_model) "
                  "local s = llm.stream(\"hi\", {model = \"anthropic/claude-sonnet-4-5\"}, function() end) print(s.model, s.raw_model) "
                  "local m = llm.chat(\"hi\", {model = \"mock/echo\"}) print(m.model, m.raw_model) "
                  "print(llm.chat(\"again\", {model = r.model}).text)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out,
            "openai/gpt-4o-mini\tgpt-4o-mini\n"
            "anthropic/claude-sonnet-4-5\tclaude-sonnet-4-5\n"
            "mock/echo\techo\n"
            "again\n");
}

TEST_F(SpellTest, ModelsFindRefusesUnknownKeys) {
  auto r = runCli("exec 'local ok, e = pcall(models.find, {capabilites = {\"tools\"}}) print(ok, e.code, e.message) "
                  "print(#models.find({capabilities = {\"tools\"}, provider = \"openai\"}) > 0)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.rfind("false\tinvalid_argument\t", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("capabilites"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\ntrue\n"), std::string::npos) << r.out;
}

}  // namespace
