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

// Three identical calls in one turn run the tool once and answer each call id; the repeat guard
// counts turns, and when it stops a run the result says why (issue #11 item 10).
TEST_P(AgentSpell, IdenticalCallsInOneTurnRunOnceAndTheGuardSaysWhy) {
  const std::string model = GetParam();
  json same = {{"name", "lookup"}, {"arguments", {{"city", "Paris"}}}};
  fp.push(json{{"tool_calls", {same, same, same}}});
  fp.push(json{{"text", "2.1 million"}});
  // Second run: the same call in three turns; max_repeats = 2 stops it before the third runs.
  for (int i = 0; i < 3; ++i) fp.push(json{{"tool_calls", {same}}});
  setenv("LLMSPELL_MODEL", model.c_str(), 1);
  auto r = runCli("run " + kSpells + "agent_repeats.lua");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out,
            "status=completed\ttext=2.1 million\truns=1\terror=nil\n"
            "lookup\ttrue\t2.1\n"
            "lookup\ttrue\t2.1\n"
            "lookup\ttrue\t2.1\n"
            "status=repeated_tool_call\truns=2\titerations=3\n"
            "text=agent 'geo' stopped: the model asked for lookup with the same arguments ({\"city\":\"Paris\"}) in 3 "
            "turns, more than max_repeats = 2; the call was not run again\n"
            "error=limit_exceeded: agent 'geo' stopped: the model asked for lookup with the same arguments "
            "({\"city\":\"Paris\"}) in 3 turns, more than max_repeats = 2; the call was not run again\n")
      << r.err;
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 5u);
  // The second request answers each of the three call ids (Gemini has none: by name, in order).
  std::string second = reqs[1].json().dump();
  size_t results = 0;
  for (size_t at = second.find("2.1"); at != std::string::npos; at = second.find("2.1", at + 1)) ++results;
  EXPECT_EQ(results, 3u) << second;
}

// 50 runs started at once on one agent with session memory take turns on the memory: every
// request carries the whole conversation so far, each earlier question followed by its own
// answer, and the memory ends with all 100 messages (issue #11: runs used to overwrite it).
TEST(AgentMemory, ConcurrentRunsOfOneAgentSeeAConsistentHistory) {
  llmspell::fake::FakeProvider fp{5};
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
  // No replies queued: the fake provider answers each request with its last user message.
  auto r = runCli("exec 'local a = agent.create{name = \"chat\", model = \"openai/gpt-4o-mini\"}; "
                  "local ps = {}; "
                  "for i = 1, 50 do ps[i] = spawn(function() return a:run(\"q\" .. i) end) end; "
                  "local rs = await(promise.all(ps)); "
                  "local bad = 0; "
                  "for i, r in ipairs(rs) do if r.text ~= \"q\" .. i and not r.text:find(\"q\" .. i .. \"$\") then bad = bad + 1 end end; "
                  "print(#a:history(), bad)'");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "100\t0\n") << r.err;
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 50u);
  std::vector<std::string> asked;  // user questions in the order the conversation holds them
  for (size_t k = 0; k < reqs.size(); ++k) {
    json msgs = reqs[k].json()["messages"];
    ASSERT_EQ(msgs.size(), 2 * k + 1) << "request " << k << ": " << msgs.dump();
    // The history is the previous request's conversation plus its answer, unchanged.
    for (size_t m = 0; m + 1 < msgs.size(); m += 2) {
      EXPECT_EQ(msgs[m]["role"], "user") << k;
      EXPECT_EQ(msgs[m]["content"].get<std::string>(), asked[m / 2]) << "request " << k << " message " << m;
      EXPECT_EQ(msgs[m + 1]["role"], "assistant") << k;
      std::string answer = msgs[m + 1]["content"].get<std::string>();
      EXPECT_NE(answer.find(asked[m / 2]), std::string::npos) << "request " << k << ": " << answer;
    }
    EXPECT_EQ(msgs.back()["role"], "user");
    std::string q = msgs.back()["content"].get<std::string>();
    for (const auto& earlier : asked) EXPECT_NE(earlier, q) << "request " << k << " repeats a question";
    asked.push_back(q);
  }
}

// An agent with memory given itself as a tool: the call is refused (the model gets the error)
// instead of waiting forever for the run that made it.
TEST(AgentMemory, AnAgentCallingItselfAsAToolIsRefusedNotDeadlocked) {
  llmspell::fake::FakeProvider fp{6};
  setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
  setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
  fp.push(json{{"tool_calls", {{{"name", "self"}, {"arguments", {{"input", "again"}}}}}}});
  fp.push(json{{"text", "gave up"}});
  auto r = runCli("exec 'local a = agent.create{name = \"self\", model = \"openai/gpt-4o-mini\"}; a:add_tool(a); "
                  "local r = a:run(\"go\"); print(r.status, r.text, r.tool_calls[1].ok, r.tool_calls[1].error.code)' "
                  "--timeout 20");
  ASSERT_EQ(r.exit, 0) << r.err << r.out;
  EXPECT_EQ(r.out, "completed\tgave up\tfalse\tinvalid_argument\n") << r.err;
  ASSERT_EQ(fp.requests().size(), 2u);
  EXPECT_NE(fp.requests()[1].body.find("cannot call itself as a tool"), std::string::npos) << fp.requests()[1].body;
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
