// Agents through the `llmspell` CLI against the fake provider server: the tool loop over each
// provider's native tool calling (parallel calls, a failing tool, results sent back by id).
#include <gtest/gtest.h>

#include <fstream>

#include "fake_provider.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;

using llmspell::test::runCli;
const std::string kSpells = std::string(LLMSPELL_SOURCE_DIR) + "/tests/agent/spells/";

class AgentSpell : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    for (const char* k : {"GOOGLE_API_KEY"}) unsetenv(k);
    setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
    setenv("ANTHROPIC_BASE_URL", fp.baseUrl("anthropic").c_str(), 1);
    setenv("GEMINI_BASE_URL", fp.baseUrl("gemini").c_str(), 1);
    setenv("OLLAMA_HOST", fp.baseUrl("ollama").c_str(), 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    setenv("ANTHROPIC_API_KEY", "sk-ant-test-0123456789", 1);
    setenv("GEMINI_API_KEY", "AIzaTestKey0123456789", 1);
    setenv("LLMSPELL_STATE_BACKEND", "memory", 1);
  }
  llmspell::fake::FakeProvider fp{7};
};

TEST_P(AgentSpell, ParallelToolCallsRoundTrip) {
  const std::string model = GetParam();
  // Turn 1: two lookups at once plus one for a city with no data; turn 2: the calculator;
  // turn 3: the answer.
  fp.push(json{{"tool_calls", {{{"name", "lookup"}, {"arguments", {{"city", "Paris"}}}},
                               {{"name", "lookup"}, {"arguments", {{"city", "Rome"}}}},
                               {{"name", "lookup"}, {"arguments", {{"city", "Atlantis"}}}}}}});
  fp.push(json{{"tool_calls", {{{"name", "calculator"}, {"arguments", {{"expression", "2.1 + 2.8"}}}}}}});
  fp.push(json{{"text", "4.9 million"}});
  setenv("LLMSPELL_MODEL", model.c_str(), 1);
  auto r = runCli("run " + kSpells + "agent_tools.lua");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "status=completed\titerations=3\ttext=4.9 million\n"
            "lookup\ttrue\t2.1\n"
            "lookup\ttrue\t2.8\n"
            "lookup\tfalse\t\"not_found\"\n"
            "calculator\ttrue\t{\"expression\":\"2.1 + 2.8\",\"result\":4.9}\n"
            "history=8\n")
      << r.err;
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 3u);
  // The second request carries the three tool results; the failed one marked as an error.
  std::string second = reqs[1].json().dump();
  EXPECT_NE(second.find("2.1"), std::string::npos) << second;
  EXPECT_NE(second.find("no data for Atlantis"), std::string::npos) << second;
  // Tool specs were sent natively.
  std::string first = reqs[0].json().dump();
  EXPECT_NE(first.find("lookup"), std::string::npos);
  EXPECT_NE(first.find("calculator"), std::string::npos);
}

// --max-cost: once the run has spent the amount, further model calls (an agent's too) fail
// with budget_exceeded and the spell exits 3.
TEST(MaxCost, StopsCallsOnceTheRunHasSpentIt) {
  llmspell::fake::FakeProvider fp{3};
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
  fp.push(json{{"text", "expensive"}, {"usage", {{"input_tokens", 1000000}, {"output_tokens", 1000000}}}});
  fp.push(json{{"text", "never sent"}});
  auto r = runCli("exec 'print(llm.chat(\"a\", {model = \"openai/gpt-4o-mini\"}).text); "
                  "local a = agent.create{model = \"openai/gpt-4o-mini\"}; "
                  "local ok, e = pcall(a.run, a, \"b\"); print(e.code); a:run(\"c\")' --max-cost 0.01");
  EXPECT_EQ(r.exit, 3) << r.err;
  EXPECT_EQ(r.out, "expensive\nbudget_exceeded\n");
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
  EXPECT_EQ(fp.requests().size(), 1u);
}

// The runtime's own spell.start / spell.finish and agent.* events reach a recording.
TEST(RuntimeEvents, SpellAndAgentEventsAreEmitted) {
  std::string path = testing::TempDir() + "/agent_events_" + std::to_string(getpid()) + ".jsonl";
  std::remove(path.c_str());
  auto r = runCli("exec 'events.record(\"" + path + "\"); "
                  "llm.configure(\"mock\", {replies = {{text = \"hi\"}}}); "
                  "agent.create{model = \"mock/script\"}:run(\"x\")' --allow-write " + testing::TempDir());
  ASSERT_EQ(r.exit, 0) << r.err;
  std::ifstream in(path);
  std::string line, names;
  while (std::getline(in, line)) names += json::parse(line)["name"].get<std::string>() + ",";
  EXPECT_EQ(names, "agent.start,llm.request,llm.response,agent.step,agent.finish,spell.finish,");
}

INSTANTIATE_TEST_SUITE_P(Providers, AgentSpell,
                         testing::Values("openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "gemini/gemini-2.5-flash",
                                         "ollama/llama3.2"),
                         [](const testing::TestParamInfo<std::string>& i) {
                           std::string n = i.param.substr(0, i.param.find('/'));
                           return n;
                         });

}  // namespace
