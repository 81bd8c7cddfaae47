// The agent tool loop against a scripted chat function and a real tool registry: parallel tool
// calls, tool errors fed back, max_iterations, repeated calls, budgets, output_schema, memory,
// cancellation.
#include <gtest/gtest.h>

#include <deque>

#include "llmspell/agent/agent.hpp"
#include "llmspell/core/convert.hpp"

using namespace llmspell;
using agent::Agent;

namespace {

Value call(std::string id, std::string name, Value args) {
  return Value::object({{"id", std::move(id)}, {"name", std::move(name)}, {"arguments", std::move(args)}});
}

// A reply as llm.chat returns it.
Value reply(std::string text, Value calls = Value::array(), int64_t tokens = 10, double cost = 0.001) {
  Value msg = Value::object({{"role", "assistant"}, {"content", text}});
  if (!calls.asArray().empty()) msg.asObject().set("tool_calls", calls);
  return Value::object({{"text", text}, {"message", msg}, {"tool_calls", calls},
                        {"usage", Value::object({{"input_tokens", tokens / 2}, {"output_tokens", tokens - tokens / 2}, {"total_tokens", tokens}})},
                        {"cost_usd", cost}, {"model", "test/model"}});
}

struct Fixture : ::testing::Test {
  Loop loop;
  Permissions perms;
  EventBus bus;
  HookRegistry hooks;
  tools::ToolRegistry reg{loop, perms, &hooks, &bus};
  std::deque<Value> replies;
  std::vector<Value> seen;  // messages of every model call
  Value lastOpts;
  int concurrent = 0, maxConcurrent = 0;
  PromisePtr pendingChat;  // set when the script runs dry: the chat never answers

  agent::ChatFn chat() {
    return [this](const Value& messages, const Value& opts, std::function<void(const llm::StreamChunk&)> onChunk) {
      seen.push_back(messages.deepCopy());
      lastOpts = opts;
      auto p = Promise::create();
      if (replies.empty()) {
        pendingChat = p;
        return p;
      }
      Value r = replies.front();
      replies.pop_front();
      loop.post([p, r, onChunk] {
        if (onChunk && !r.getString("text").empty()) {
          llm::StreamChunk c;
          c.text = r.getString("text");
          onChunk(c);
        }
        p->resolve(r);
      });
      return p;
    };
  }

  void SetUp() override {
    tools::Tool add;
    add.name = "add";
    add.description = "adds a and b";
    add.parameters = parseJson(R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"]})");
    add.run = [](const Value& a, tools::ToolEnv&) { return Promise::resolved(Value(a.getNumber("a") + a.getNumber("b"))); };
    reg.define(add);
    tools::Tool slow;
    slow.name = "slow";
    slow.description = "waits, then answers";
    slow.run = [this](const Value& a, tools::ToolEnv&) {
      ++concurrent;
      maxConcurrent = std::max(maxConcurrent, concurrent);
      auto out = Promise::create();
      auto s = loop.sleep(0.02);
      out->setCanceller([s] { s->cancel(); });
      s->onSettle([this, out, a](const Promise& q) {
        --concurrent;
        if (q.rejected()) out->reject(q.error());
        else out->resolve(Value("slow:" + a.getString("tag")));
      });
      return out;
    };
    reg.define(slow);
    tools::Tool boom;
    boom.name = "boom";
    boom.description = "always fails";
    boom.run = [](const Value&, tools::ToolEnv&) -> PromisePtr { fail(codes::kInternal, "the boom tool exploded"); };
    reg.define(boom);
  }

  std::shared_ptr<Agent> make(const std::string& json, std::vector<std::string> tools = {"add", "slow", "boom"}) {
    auto cfg = agent::configFromValue(parseJson(json));
    cfg.tools = std::move(tools);
    return std::make_shared<Agent>(cfg, reg, chat(), &hooks, &bus);
  }

  std::vector<PromisePtr> keep;  // wait() returns a reference: the promise must outlive it
  const Promise& wait(const PromisePtr& p) {
    keep.push_back(p);
    loop.runUntil([&] { return !p->pending(); });
    return *p;
  }
};

TEST_F(Fixture, AnswersWithoutTools) {
  replies = {reply("hello there")};
  auto a = make(R"({"name":"a","system":"be brief"})");
  auto& r = wait(a->run(Value("hi")));
  ASSERT_TRUE(r.fulfilled()) << r.error().message;
  EXPECT_EQ(r.value().getString("text"), "hello there");
  EXPECT_EQ(r.value().getString("status"), "completed");
  EXPECT_EQ(r.value().getInt("iterations"), 1);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].asArray()[0].getString("role"), "system");
  EXPECT_EQ(seen[0].asArray()[1].getString("content"), "hi");
  // The tool specs went to the model.
  EXPECT_EQ(lastOpts.get("tools").asArray().size(), 3u);
}

TEST_F(Fixture, RunsOneTurnsCallsConcurrentlyAndKeepsTheirOrder) {
  replies = {reply("", Value::array({call("c1", "slow", Value::object({{"tag", "x"}})),
                                     call("c2", "slow", Value::object({{"tag", "y"}})),
                                     call("c3", "add", Value::object({{"a", 2}, {"b", 3}}))})),
             reply("done")};
  auto a = make(R"({"name":"a"})");
  auto& r = wait(a->run(Value("go")));
  ASSERT_TRUE(r.fulfilled()) << r.error().message;
  EXPECT_EQ(maxConcurrent, 2);
  EXPECT_EQ(r.value().getInt("iterations"), 2);
  EXPECT_EQ(r.value().get("tool_calls").asArray().size(), 3u);
  // The second model call saw the assistant turn then the three results in the model's order.
  const auto& msgs = seen[1].asArray();
  ASSERT_EQ(msgs.size(), 5u);
  EXPECT_EQ(msgs[2].getString("tool_call_id"), "c1");
  EXPECT_EQ(msgs[2].getString("content"), "slow:x");
  EXPECT_EQ(msgs[3].getString("tool_call_id"), "c2");
  EXPECT_EQ(msgs[4].getString("content"), "5.0");
  EXPECT_EQ(r.value().get("usage").getInt("total_tokens"), 20);
}

TEST_F(Fixture, ToolErrorsGoBackToTheModel) {
  replies = {reply("", Value::array({call("c1", "boom", Value::object()),
                                     call("c2", "add", Value::object({{"a", "x"}, {"b", 1}})),
                                     call("c3", "nosuch", Value::object())})),
             reply("recovered")};
  auto a = make(R"({"name":"a"})");
  auto& r = wait(a->run(Value("go")));
  ASSERT_TRUE(r.fulfilled()) << r.error().message;
  EXPECT_EQ(r.value().getString("text"), "recovered");
  const auto& msgs = seen[1].asArray();
  EXPECT_TRUE(msgs[2].getBool("is_error"));
  EXPECT_NE(msgs[2].getString("content").find("exploded"), std::string::npos);
  EXPECT_NE(msgs[3].getString("content").find("validation_failed"), std::string::npos) << msgs[3].getString("content");
  EXPECT_NE(msgs[4].getString("content").find("not available"), std::string::npos);
  EXPECT_FALSE(r.value().get("tool_calls").asArray()[0].getBool("ok"));
}

TEST_F(Fixture, MaxIterationsEndsWithAStatus) {
  for (int i = 0; i < 5; ++i) replies.push_back(reply("", Value::array({call("c", "add", Value::object({{"a", i}, {"b", 1}}))})));
  auto a = make(R"({"name":"a","max_iterations":3})");
  auto& r = wait(a->run(Value("go")));
  ASSERT_TRUE(r.fulfilled());
  EXPECT_EQ(r.value().getString("status"), "max_iterations");
  EXPECT_EQ(r.value().getInt("iterations"), 3);
}

TEST_F(Fixture, RepeatedIdenticalCallsAreDetected) {
  for (int i = 0; i < 6; ++i) replies.push_back(reply("", Value::array({call("c", "add", Value::object({{"a", 1}, {"b", 1}}))})));
  auto a = make(R"({"name":"a","max_iterations":10,"max_repeats":2})");
  auto& r = wait(a->run(Value("go")));
  ASSERT_TRUE(r.fulfilled());
  EXPECT_EQ(r.value().getString("status"), "repeated_tool_call");
  EXPECT_EQ(r.value().getInt("iterations"), 3);
  EXPECT_EQ(r.value().get("tool_calls").asArray().size(), 2u);
}

TEST_F(Fixture, TokenAndCostBudgetsStopTheRun) {
  for (int i = 0; i < 5; ++i) replies.push_back(reply("", Value::array({call("c", "add", Value::object({{"a", i}, {"b", 1}}))}), 40, 0.01));
  auto a = make(R"({"name":"a","budget":{"max_tokens":100}})");
  auto& r = wait(a->run(Value("go")));
  ASSERT_TRUE(r.rejected());
  EXPECT_EQ(r.error().code, codes::kBudgetExceeded);
  EXPECT_NE(r.error().message.find("120 tokens of its 100-token budget"), std::string::npos) << r.error().message;

  auto b = make(R"({"name":"b","budget":{"max_cost_usd":0.015}})");
  auto& r2 = wait(b->run(Value("go")));
  ASSERT_TRUE(r2.rejected());
  EXPECT_EQ(r2.error().code, codes::kBudgetExceeded);
}

TEST_F(Fixture, TimeBudgetCancelsTheCallInFlight) {
  auto a = make(R"({"name":"a","budget":{"max_seconds":0.05}})");
  auto& r = wait(a->run(Value("go")));  // no replies scripted: the model never answers
  ASSERT_TRUE(r.rejected());
  EXPECT_EQ(r.error().code, codes::kBudgetExceeded);
  ASSERT_TRUE(pendingChat);
  EXPECT_TRUE(pendingChat->rejected());  // the model call was cancelled
}

TEST_F(Fixture, OutputSchemaIsValidatedAndRepaired) {
  replies = {reply("here you go: {\"n\": \"five\"}"), reply("```json\n{\"n\": 5}\n```")};
  auto a = make(R"({"name":"a","output_schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}})");
  auto& r = wait(a->run(Value("count")));
  ASSERT_TRUE(r.fulfilled()) << r.error().message;
  EXPECT_EQ(r.value().get("output").getInt("n"), 5);
  EXPECT_EQ(r.value().getInt("iterations"), 2);
  // The retry told the model what was wrong.
  const auto& msgs = seen[1].asArray();
  EXPECT_NE(msgs[msgs.size() - 1].getString("content").find("$.n"), std::string::npos);

  replies = {reply("nope")};
  auto b = make(R"({"name":"b","max_iterations":1,"output_schema":{"type":"object"}})");
  auto& r2 = wait(b->run(Value("count")));
  ASSERT_TRUE(r2.rejected());
  EXPECT_EQ(r2.error().code, codes::kValidationFailed);
}

TEST_F(Fixture, SessionMemoryCarriesTheConversation) {
  replies = {reply("first"), reply("second")};
  auto a = make(R"({"name":"a","system":"sys"})");
  ASSERT_TRUE(wait(a->run(Value("one"))).fulfilled());
  ASSERT_TRUE(wait(a->run(Value("two"))).fulfilled());
  ASSERT_EQ(seen[1].asArray().size(), 4u);  // system, one, first, two
  EXPECT_EQ(a->history().asArray().size(), 4u);
  a->reset();
  EXPECT_EQ(a->history().asArray().size(), 0u);

  replies = {reply("x"), reply("y")};
  auto b = make(R"({"name":"b","memory":"none"})");
  ASSERT_TRUE(wait(b->run(Value("one"))).fulfilled());
  ASSERT_TRUE(wait(b->run(Value("two"))).fulfilled());
  EXPECT_EQ(seen.back().asArray().size(), 1u);
}

TEST_F(Fixture, CancellingTheRunCancelsToolsInFlight) {
  replies = {reply("", Value::array({call("c1", "slow", Value::object({{"tag", "x"}}))})), reply("never")};
  auto a = make(R"({"name":"a"})");
  auto p = a->run(Value("go"));
  loop.runUntil([&] { return concurrent == 1; });
  p->cancel();
  EXPECT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, codes::kCancelled);
  loop.runUntil([&] { return concurrent == 0; });
  EXPECT_EQ(seen.size(), 1u);  // the model was not asked again
}

TEST_F(Fixture, StreamingReportsTextAndToolEvents) {
  replies = {reply("", Value::array({call("c1", "add", Value::object({{"a", 1}, {"b", 2}}))})), reply("three")};
  auto a = make(R"({"name":"a"})");
  std::vector<std::string> types;
  auto& r = wait(a->run(Value("go"), {}, [&](const Value& e) { types.push_back(e.getString("type")); }));
  ASSERT_TRUE(r.fulfilled());
  std::string joined;
  for (auto& t : types) joined += t + ",";
  EXPECT_EQ(joined, "iteration,tool_call,tool_result,iteration,text,done,");
}

TEST_F(Fixture, AgentRunHookCanRewriteTheInput) {
  replies = {reply("ok")};
  hooks.add("agent.run", HookKind::kBefore, [](const Value& ctx, const HookNext&) {
    Value args = ctx.get("args").deepCopy();
    args.asObject().set("input", "rewritten");
    return Promise::resolved(Value::object({{"args", args}}));
  });
  auto a = make(R"({"name":"a"})");
  ASSERT_TRUE(wait(a->run(Value("original"))).fulfilled());
  EXPECT_EQ(seen[0].asArray()[0].getString("content"), "rewritten");
}

TEST_F(Fixture, BadConfigIsRejectedWithTheField) {
  try {
    agent::configFromValue(parseJson(R"({"name":"a","max_iterations":0})"));
    FAIL();
  } catch (const Exception& e) {
    EXPECT_NE(e.error().message.find("max_iterations"), std::string::npos);
  }
  try {
    agent::configFromValue(parseJson(R"({"name":"a","memroy":"none"})"));
    FAIL();
  } catch (const Exception& e) {
    EXPECT_NE(e.error().message.find("memroy"), std::string::npos);
  }
  EXPECT_THROW(make(R"({"name":"a"})", {"nosuch"}), Exception);
}

TEST(ExtractJson, FindsJsonInProse) {
  EXPECT_EQ(llm::extractJson("{\"a\":1}")->get("a").asInt(), 1);
  EXPECT_EQ(llm::extractJson("sure! {\"a\":2} hope that helps")->get("a").asInt(), 2);
  EXPECT_EQ(llm::extractJson("```json\n[1,2]\n```")->asArray().size(), 2u);
  EXPECT_FALSE(llm::extractJson("no json here"));
}

}  // namespace
