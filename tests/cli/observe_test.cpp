// Tracing and run ids through the `llmspell` CLI: a run's spans exported as OTLP/HTTP JSON to a
// loopback collector (GenAI semantic-convention attributes for model calls, tool calls and
// agents, nesting, the caller's traceparent), an unreachable collector, and `llmspell logs
// --run` / `--runs` over the call log.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "fake_provider.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/observe/trace.hpp"
#include "net/server.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;
namespace fs = std::filesystem;

const std::string kDir = std::string(LLMSPELL_SOURCE_DIR) + "/tests/cli/observe/";

// A fake OTLP collector: keeps every POST /v1/traces body.
struct Collector {
  std::mutex mu;
  std::vector<json> bodies;
  std::vector<std::string> contentTypes, auth;
  llmspell::net::TestHttpServer srv{[this](const llmspell::net::ServerRequest& rq, llmspell::net::ResponsePtr res) {
    {
      std::lock_guard lk(mu);
      if (rq.method == "POST" && rq.path == "/v1/traces") {
        bodies.push_back(json::parse(rq.body, nullptr, false));
        contentTypes.push_back(rq.header("content-type"));
        auth.push_back(rq.header("x-api-key"));
      }
    }
    res->send(200, "{}", {{"content-type", "application/json"}});
  }};
  std::vector<json> spans() {
    std::lock_guard lk(mu);
    std::vector<json> out;
    for (const auto& b : bodies)
      for (const auto& rs : b["resourceSpans"])
        for (const auto& ss : rs["scopeSpans"])
          for (const auto& s : ss["spans"]) out.push_back(s);
    return out;
  }
};

// An attribute of an OTLP span as {type, value}: "stringValue" -> "x".
json attr(const json& span, const std::string& key) {
  for (const auto& a : span["attributes"])
    if (a["key"] == key) return a["value"];
  return nullptr;
}

class Observe : public testing::Test {
 protected:
  void SetUp() override {
    home = testing::TempDir() + "/observe_" + std::to_string(getpid()) + "_" +
           testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(home);
    fs::create_directories(home);
    setenv("LLMSPELL_HOME", home.c_str(), 1);
    setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    setenv("LLMSPELL_STATE_BACKEND", "memory", 1);
    for (const char* k : {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
                          "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "TRACEPARENT", "LLMSPELL_CALL_LOG", "LLMSPELL_MODEL"})
      unsetenv(k);
  }
  void TearDown() override { fs::remove_all(home); }
  void pushAgentReplies() {
    // Turn 1 asks for both tools; the spell's tool asks a model; turn 2 answers.
    fp.push(json{{"tool_calls", {{{"id", "call_sum"}, {"name", "summarize"}, {"arguments", {{"text", "long text"}}}},
                                 {{"id", "call_calc"}, {"name", "calculator"}, {"arguments", {{"expression", "2+3"}}}}}},
                 {"usage", {{"input_tokens", 11}, {"output_tokens", 7}}}});
    fp.push(json{{"text", "short"}, {"usage", {{"input_tokens", 3}, {"output_tokens", 2}}}});
    fp.push(json{{"text", "done"}, {"usage", {{"input_tokens", 20}, {"output_tokens", 4}}}});
  }
  std::string home;
  llmspell::fake::FakeProvider fp{3};
};

TEST_F(Observe, RunExportsGenAiSpansToTheOtlpEndpoint) {
  Collector col;
  pushAgentReplies();
  const std::string traceId = "4bf92f3577b34da6a3ce929d0e0e4736", parent = "00f067aa0ba902b7";
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.srv.url("").c_str(), 1);
  setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=secret%20one", 1);
  auto r = runCli("run " + kDir + "agent_trace.lua --traceparent 00-" + traceId + "-" + parent + "-01");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "completed\tdone\t" + traceId + "\n");
  ASSERT_EQ(col.bodies.size(), 1u) << "one batch at run end";
  EXPECT_EQ(col.contentTypes[0], "application/json");
  EXPECT_EQ(col.auth[0], "secret one");
  const json& body = col.bodies[0];
  EXPECT_EQ(attr(body["resourceSpans"][0]["resource"], "service.name")["stringValue"], "llmspell");
  EXPECT_EQ(body["resourceSpans"][0]["scopeSpans"][0]["scope"]["name"], "llmspell");

  auto spans = col.spans();
  std::map<std::string, json> byName;  // the last of each name
  std::map<std::string, json> byId;
  for (const auto& s : spans) {
    EXPECT_EQ(s["traceId"], traceId);
    ASSERT_TRUE(s["spanId"].is_string());
    EXPECT_EQ(s["spanId"].get<std::string>().size(), 16u);
    EXPECT_TRUE(s["startTimeUnixNano"].is_string());
    EXPECT_LE(std::stoull(s["startTimeUnixNano"].get<std::string>()), std::stoull(s["endTimeUnixNano"].get<std::string>()));
    byName[s["name"]] = s;
    byId[s["spanId"]] = s;
  }
  // run, work, invoke_agent, chat x3, execute_tool x2.
  ASSERT_EQ(spans.size(), 8u) << body.dump(1);
  auto parentName = [&](const json& s) -> std::string {
    auto it = byId.find(s.value("parentSpanId", ""));
    return it == byId.end() ? "<" + s.value("parentSpanId", "none") + ">" : it->second["name"].get<std::string>();
  };
  const json& root = byName.at("run agent_trace");
  EXPECT_EQ(root["parentSpanId"], parent);
  EXPECT_EQ(attr(root, "llmspell.spell")["stringValue"], "agent_trace");
  EXPECT_EQ(attr(root, "llmspell.run_id")["stringValue"].get<std::string>().size(), 16u);

  const json& work = byName.at("work");
  EXPECT_EQ(parentName(work), "run agent_trace");
  EXPECT_EQ(work["kind"], 1);
  EXPECT_EQ(attr(work, "app.step")["intValue"], "1");
  EXPECT_EQ(attr(work, "app.tier")["stringValue"], "gold");
  ASSERT_EQ(work["events"].size(), 1u);
  EXPECT_EQ(work["events"][0]["name"], "started");
  EXPECT_EQ(work["status"]["code"], 1);

  const json& ag = byName.at("invoke_agent helper");
  EXPECT_EQ(parentName(ag), "work");
  EXPECT_EQ(attr(ag, "gen_ai.operation.name")["stringValue"], "invoke_agent");
  EXPECT_EQ(attr(ag, "gen_ai.agent.name")["stringValue"], "helper");
  EXPECT_EQ(attr(ag, "gen_ai.request.model")["stringValue"], "gpt-4o-mini");
  // The agent's own two model calls (the tool's call is the tool's).
  EXPECT_EQ(attr(ag, "gen_ai.usage.input_tokens")["intValue"], "31");
  EXPECT_EQ(attr(ag, "gen_ai.usage.output_tokens")["intValue"], "11");

  int chats = 0, underAgent = 0, underTool = 0;
  std::string parents;
  for (const auto& s : spans) {
    if (s["name"] != "chat gpt-4o-mini") continue;
    ++chats;
    EXPECT_EQ(s["kind"], 3) << "a model call is a client span";
    EXPECT_EQ(attr(s, "gen_ai.operation.name")["stringValue"], "chat");
    EXPECT_EQ(attr(s, "gen_ai.provider.name")["stringValue"], "openai");
    EXPECT_EQ(attr(s, "gen_ai.system")["stringValue"], "openai");
    EXPECT_EQ(attr(s, "gen_ai.request.model")["stringValue"], "gpt-4o-mini");
    EXPECT_TRUE(attr(s, "gen_ai.response.model").contains("stringValue"));
    EXPECT_TRUE(attr(s, "gen_ai.usage.input_tokens").contains("intValue"));
    EXPECT_TRUE(attr(s, "gen_ai.usage.output_tokens").contains("intValue"));
    ASSERT_TRUE(attr(s, "gen_ai.response.finish_reasons").contains("arrayValue")) << s.dump();
    json reasons = attr(s, "gen_ai.response.finish_reasons")["arrayValue"]["values"];
    ASSERT_EQ(reasons.size(), 1u);
    EXPECT_TRUE(reasons[0] == json({{"stringValue", "tool_calls"}}) || reasons[0] == json({{"stringValue", "stop"}})) << reasons;
    std::string p = parentName(s);
    parents += p + "; ";
    if (p == "invoke_agent helper") ++underAgent;
    if (p == "execute_tool summarize") ++underTool;
  }
  EXPECT_EQ(chats, 3);
  EXPECT_EQ(underAgent, 2);
  EXPECT_EQ(underTool, 1) << "the tool's own model call nests under the tool: " << parents;

  const json& sum = byName.at("execute_tool summarize");
  EXPECT_EQ(parentName(sum), "invoke_agent helper");
  EXPECT_EQ(attr(sum, "gen_ai.operation.name")["stringValue"], "execute_tool");
  EXPECT_EQ(attr(sum, "gen_ai.tool.name")["stringValue"], "summarize");
  EXPECT_EQ(attr(sum, "gen_ai.tool.call.id")["stringValue"], "call_sum");
  const json& calc = byName.at("execute_tool calculator");
  EXPECT_EQ(parentName(calc), "invoke_agent helper");
  EXPECT_EQ(attr(calc, "gen_ai.tool.call.id")["stringValue"], "call_calc");
}

TEST_F(Observe, FailedCallsCarryErrorTypeAndTracesEndpointWins) {
  Collector col;
  fp.push(json{{"fault", "auth"}});
  setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9/not-this", 1);
  setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", col.srv.url("/v1/traces").c_str(), 1);
  auto r = runCli("exec 'local ok, e = pcall(llm.chat, \"hi\", {model = \"openai/gpt-4o-mini\", retries = 0}); print(ok, e.code)'");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  auto spans = col.spans();
  ASSERT_EQ(spans.size(), 2u);
  const json* chat = nullptr;
  for (const auto& s : spans)
    if (s["name"] == "chat gpt-4o-mini") chat = &s;
  ASSERT_TRUE(chat);
  EXPECT_EQ((*chat)["status"]["code"], 2);
  std::string code = r.out.substr(r.out.find('\t') + 1);
  code.pop_back();
  EXPECT_EQ(attr(*chat, "error.type")["stringValue"], code);
}

TEST_F(Observe, UnreachableCollectorIsAWarningNotAFailure) {
  // Port 9 (discard) on loopback: nothing listens there, so the connection is refused.
  auto r = runCli("exec 'trace.span(\"x\", function() end) print(\"ran\")' --otlp-endpoint http://127.0.0.1:9/v1/traces");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "ran\n");
  EXPECT_NE(r.err.find("could not export 2 trace span(s) to http://127.0.0.1:9/v1/traces"), std::string::npos) << r.err;
}

TEST_F(Observe, EventsCarryTheRunsTraceId) {
  const std::string traceId = "0af7651916cd43dd8448eb211c80319c";
  auto r = runCli("exec 'events.on(\"app.ping\", function(e) print(e.trace_id == trace.context().trace_id, e.trace_id) end) "
                  "events.emit(\"app.ping\", {}) sleep(0.01)' --traceparent 00-" + traceId + "-b7ad6b7169203331-01");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out, "true\t" + traceId + "\n");
  // Without a traceparent: a new trace id, 32 hex digits, not all zero.
  r = runCli("exec 'print(trace.context().trace_id, #trace.context().traceparent)'");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.size(), 32u + 1 + 2 + 1) << r.out;
  // A malformed traceparent starts a new trace rather than failing the run.
  r = runCli("exec 'print(#trace.context().trace_id)' --traceparent nonsense");
  EXPECT_EQ(r.out, "32\n") << r.err;
}

TEST_F(Observe, LogsShowOneRunsCallsAndListRuns) {
  fp.push(json{{"text", "a"}, {"usage", {{"input_tokens", 5}, {"output_tokens", 1}}}});
  fp.push(json{{"text", "b"}, {"usage", {{"input_tokens", 6}, {"output_tokens", 2}}}});
  fp.push(json{{"text", "c"}, {"usage", {{"input_tokens", 7}, {"output_tokens", 3}}}});
  auto first = runCli("exec 'llm.chat(\"one\", {model = \"openai/gpt-4o-mini\"}) llm.chat(\"two\", {model = \"openai/gpt-4o-mini\"}) "
                      "print(spell.context().run_id)'");
  ASSERT_EQ(first.exit, 0) << first.err;
  auto second = runCli("exec 'llm.chat(\"three\", {model = \"openai/gpt-4o-mini\"}) print(spell.context().run_id)'");
  ASSERT_EQ(second.exit, 0) << second.err;
  std::string run1 = first.out.substr(0, first.out.size() - 1), run2 = second.out.substr(0, second.out.size() - 1);
  ASSERT_NE(run1, run2);

  auto r = runCli("logs --run " + run1 + " --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0]["run_id"], run1);
  EXPECT_EQ(rows[0]["input_tokens"], 5) << "one run's calls in the order they were made";
  EXPECT_EQ(rows[1]["input_tokens"], 6);

  r = runCli("logs --run " + run1);
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(r.out.rfind("run " + run1 + " (exec)\n", 0), 0u) << r.out;

  r = runCli("logs --runs --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  json runs = json::parse(r.out);
  ASSERT_EQ(runs.size(), 2u) << r.out;
  EXPECT_EQ(runs[0]["run_id"], run2) << "the latest run first";
  EXPECT_EQ(runs[0]["calls"], 1);
  EXPECT_EQ(runs[1]["run_id"], run1);
  EXPECT_EQ(runs[1]["calls"], 2);
  EXPECT_EQ(runs[1]["input_tokens"], 11);
  EXPECT_EQ(runs[1]["output_tokens"], 3);

  r = runCli("logs --runs");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find(run1), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(run2), std::string::npos) << r.out;

  r = runCli("logs --run 0123456789abcdef");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("no LLM calls logged for run 0123456789abcdef"), std::string::npos) << r.err;
}

// The tracer itself: traceparent parsing and the OTLP encoding of attribute types.
TEST(Tracer, TraceparentAndOtlpTypes) {
  using llmspell::observe::parseTraceparent;
  EXPECT_TRUE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parseTraceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01")) << "all-zero trace id";
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")) << "all-zero span id";
  EXPECT_FALSE(parseTraceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")) << "upper case";
  EXPECT_FALSE(parseTraceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")) << "version ff";
  EXPECT_FALSE(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x")) << "00 has no more fields";

  llmspell::observe::Tracer t;
  EXPECT_EQ(t.traceId().size(), 32u);
  std::string a = t.start("a", llmspell::observe::SpanKind::kInternal,
                          llmspell::Value::object({{"s", "x"}, {"i", int64_t{1} << 60}, {"d", 0.5}, {"b", true},
                                                   {"l", llmspell::Value::array({llmspell::Value("p"), llmspell::Value(2)})}}));
  t.swapCurrent(a);
  std::string b = t.start("b");
  t.end(b, "timeout", "too slow");
  t.end(a);
  EXPECT_EQ(t.current(), "");
  auto doc = json::parse(llmspell::toJsonText(llmspell::observe::otlpRequest(t.takeEnded(), llmspell::observe::resourceAttributes())));
  const json& spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"];
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0]["name"], "b");
  EXPECT_EQ(spans[0]["parentSpanId"], a);
  EXPECT_EQ(spans[0]["status"], json({{"code", 2}, {"message", "too slow"}}));
  EXPECT_EQ(attr(spans[0], "error.type"), json({{"stringValue", "timeout"}}));
  EXPECT_FALSE(spans[1].contains("parentSpanId"));
  EXPECT_EQ(attr(spans[1], "s"), json({{"stringValue", "x"}}));
  EXPECT_EQ(attr(spans[1], "i"), json({{"intValue", "1152921504606846976"}}));
  EXPECT_EQ(attr(spans[1], "d"), json({{"doubleValue", 0.5}}));
  EXPECT_EQ(attr(spans[1], "b"), json({{"boolValue", true}}));
  EXPECT_EQ(attr(spans[1], "l"), json({{"arrayValue", {{"values", {{{"stringValue", "p"}}, {{"intValue", "2"}}}}}}}));
}

}  // namespace
