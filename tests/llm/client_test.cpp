// LlmClient against the fake provider server over real loopback HTTP: every provider plain,
// streamed, tool round trips (single and parallel), structured output, each fault, retries,
// cancellation mid-stream; and the mock provider.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fake_provider.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/llm/catalog.hpp"
#include "llmspell/llm/client.hpp"

using namespace llmspell;
using namespace llmspell::llm;
using json = nlohmann::json;

namespace {

struct Outcome {
  bool ok = false;
  Value value;
  Error error;
};

Outcome wait(Loop& loop, const PromisePtr& p) {
  loop.runUntil([&] { return !p->pending(); });
  Outcome o;
  if (p->fulfilled()) {
    o.ok = true;
    o.value = p->value();
  } else if (p->rejected()) {
    o.error = p->error();
  }
  return o;
}

struct Kind {
  std::string kind;   // codec kind
  std::string model;  // provider/model
};

std::string PrintKind(const testing::TestParamInfo<Kind>& i) {
  std::string s = i.param.kind;
  for (auto& c : s) if (c == '-') c = '_';
  return s;
}

class ProviderTest : public testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    client = std::make_unique<LlmClient>(loop);
    client->setJitterSeed(7);
    std::string prov = GetParam().model.substr(0, GetParam().model.find('/'));
    Value cfg = Value::object({{"kind", GetParam().kind},
                               {"base_url", fp.baseUrl(GetParam().kind)},
                               {"api_key", "test-key-123"},
                               {"retry_base", 0.01},
                               {"retries", 2},
                               {"idle_timeout", 0.5}});
    client->configure(prov, cfg);
  }

  ChatRequest prompt(const std::string& text) {
    ChatRequest r;
    r.messages = {Message::system("Be brief."), Message::user(text)};
    r.maxTokens = 100;
    return r;
  }

  ChatResponse chatOk(ChatRequest req, CallOptions opts = {}) {
    auto o = wait(loop, client->chat(GetParam().model, std::move(req), std::move(opts)));
    EXPECT_TRUE(o.ok) << o.error.toString();
    return o.ok ? chatResponseFromValue(o.value) : ChatResponse{};
  }

  Error chatErr(ChatRequest req, CallOptions opts = {}) {
    auto o = wait(loop, client->chat(GetParam().model, std::move(req), std::move(opts)));
    EXPECT_FALSE(o.ok) << "expected a failure";
    return o.error;
  }

  static ToolSpec weatherTool() {
    return {"get_weather", "Weather for a city",
            parseJson(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})")};
  }

  Loop loop;
  fake::FakeProvider fp{42};
  std::unique_ptr<LlmClient> client;
};

TEST_P(ProviderTest, PlainChat) {
  fp.push({{"text", "Hello there friend"}, {"usage", {{"input_tokens", 12}, {"output_tokens", 3}}}});
  auto r = chatOk(prompt("hi"));
  EXPECT_EQ(r.text, "Hello there friend");
  EXPECT_EQ(r.finishReason, FinishReason::kStop);
  EXPECT_EQ(r.usage.inputTokens, 12);
  EXPECT_EQ(r.usage.outputTokens, 3);
  EXPECT_GE(r.latencyMs, 0);
  auto reqs = fp.requests();
  ASSERT_EQ(reqs.size(), 1u);
  std::string auth = reqs[0].header("authorization") + reqs[0].header("x-api-key") + reqs[0].header("x-goog-api-key");
  EXPECT_NE(auth.find("test-key-123"), std::string::npos);
}

TEST_P(ProviderTest, EchoesWhenNothingScripted) {
  auto r = chatOk(prompt("say this back"));
  EXPECT_EQ(r.text, "say this back");
}

TEST_P(ProviderTest, StreamingDeliversChunksAndFinalResult) {
  fp.push({{"text", "one two three four five"}, {"usage", {{"input_tokens", 5}, {"output_tokens", 5}}}});
  std::string seen;
  int chunks = 0;
  CallOptions opts;
  opts.onChunk = [&](const StreamChunk& c) {
    seen += c.text;
    ++chunks;
  };
  auto r = chatOk(prompt("count"), opts);
  EXPECT_EQ(r.text, "one two three four five");
  EXPECT_EQ(seen, r.text);
  EXPECT_GE(chunks, 5);
  EXPECT_EQ(r.usage.outputTokens, 5);
  EXPECT_EQ(r.finishReason, FinishReason::kStop);
}

TEST_P(ProviderTest, ToolRoundTripSingle) {
  fp.push({{"tool_calls", {{{"name", "get_weather"}, {"arguments", {{"city", "Edinburgh"}}}}}}});
  fp.push({{"text", "It is 11C in Edinburgh."}});
  ChatRequest req = prompt("Weather in Edinburgh?");
  req.tools = {weatherTool()};
  auto r1 = chatOk(req);
  ASSERT_EQ(r1.toolCalls.size(), 1u);
  EXPECT_EQ(r1.toolCalls[0].name, "get_weather");
  EXPECT_EQ(r1.toolCalls[0].arguments.getString("city"), "Edinburgh");
  EXPECT_EQ(r1.finishReason, FinishReason::kToolCalls);
  req.messages.push_back(r1.message);
  req.messages.push_back(Message::tool(r1.toolCalls[0].id, r1.toolCalls[0].name, R"({"temp_c": 11})"));
  auto r2 = chatOk(req);  // the fake rejects a malformed tool history with a 400
  EXPECT_EQ(r2.text, "It is 11C in Edinburgh.");
  auto body = fp.requests().back().json();
  EXPECT_NE(body.dump().find("temp_c"), std::string::npos);
}

TEST_P(ProviderTest, ParallelToolCallsStreamed) {
  fp.push({{"tool_calls", {{{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}},
                           {{"name", "get_weather"}, {"arguments", {{"city", "Rome"}, {"units", "c"}}}}}}});
  fp.push({{"text", "done"}});
  ChatRequest req = prompt("Paris and Rome?");
  req.tools = {weatherTool()};
  int deltas = 0;
  CallOptions opts;
  opts.onChunk = [&](const StreamChunk& c) { deltas += c.toolCall ? 1 : 0; };
  auto r = chatOk(req, opts);
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].arguments.getString("city"), "Paris");
  EXPECT_EQ(r.toolCalls[1].arguments.getString("city"), "Rome");
  EXPECT_EQ(r.toolCalls[1].arguments.getString("units"), "c");
  EXPECT_NE(r.toolCalls[0].id, r.toolCalls[1].id);
  EXPECT_GE(deltas, 2);
  req.messages.push_back(r.message);
  for (const auto& c : r.toolCalls) req.messages.push_back(Message::tool(c.id, c.name, "sunny"));
  EXPECT_EQ(chatOk(req).text, "done");
}

TEST_P(ProviderTest, StructuredOutput) {
  fp.push({{"json", {{"city", "Paris"}, {"country", "France"}}}});
  ChatRequest req = prompt("Capital of France as JSON");
  req.responseSchema = parseJson(R"({"type":"object","properties":{"city":{"type":"string"},"country":{"type":"string"}},"required":["city","country"]})");
  req.responseSchemaName = "capital";
  auto r = chatOk(req);
  Value v = parseJson(r.text);
  EXPECT_EQ(v.getString("city"), "Paris");
  EXPECT_TRUE(r.toolCalls.empty());
}

TEST_P(ProviderTest, RateLimitIsRetriedHonouringRetryAfter) {
  std::string form = GetParam().kind == "gemini" ? "retryinfo" : "ms";
  fp.push({{"fault", "rate_limit"}, {"retry", form}, {"retry_after", 0.05}});
  fp.push({{"fault", "rate_limit"}, {"retry", "seconds"}, {"retry_after", 0.05}});
  fp.push({{"text", "finally"}});
  auto r = chatOk(prompt("x"));
  EXPECT_EQ(r.text, "finally");
  EXPECT_EQ(client->retries(), 2u);
  EXPECT_EQ(fp.requests().size(), 3u);
}

TEST_P(ProviderTest, RateLimitWithHttpDateIsRetried) {
  fp.push({{"fault", "rate_limit"}, {"retry", "date"}, {"retry_after", 0.01}});
  fp.push({{"text", "ok"}});
  EXPECT_EQ(chatOk(prompt("x")).text, "ok");
  EXPECT_EQ(client->retries(), 1u);
}

TEST_P(ProviderTest, ServerErrorsRetriedThenGiveUp) {
  fp.push({{"fault", "server_error"}});
  fp.push({{"fault", "overloaded"}});
  fp.push({{"text", "recovered"}});
  EXPECT_EQ(chatOk(prompt("x")).text, "recovered");
  fp.push({{"fault", "server_error"}});
  fp.push({{"fault", "server_error"}});
  fp.push({{"fault", "server_error"}});
  auto e = chatErr(prompt("x"));
  EXPECT_EQ(e.code, "provider_error");
  EXPECT_TRUE(e.retryable);
  EXPECT_NE(e.message.find("500"), std::string::npos);
  EXPECT_EQ(e.details.getInt("attempts"), 3);
}

TEST_P(ProviderTest, AuthErrorIsNotRetriedAndHidesTheKey) {
  fp.push({{"fault", "auth"}});
  auto e = chatErr(prompt("x"));
  EXPECT_EQ(e.code, "auth_error");
  EXPECT_EQ(client->retries(), 0u);
  EXPECT_EQ(e.message.find("test-key-123"), std::string::npos);
  EXPECT_EQ(toJsonText(e.toObject()).find("test-key-123"), std::string::npos);
}

TEST_P(ProviderTest, QuotaExhaustionIsNotRetried) {
  if (GetParam().kind != "openai" && GetParam().kind != "openai-compatible") GTEST_SKIP() << "OpenAI-specific code";
  fp.push({{"fault", "quota"}});
  auto e = chatErr(prompt("x"));
  EXPECT_EQ(e.code, "rate_limited");
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(fp.requests().size(), 1u);
}

TEST_P(ProviderTest, MalformedJsonIsAProviderError) {
  fp.push({{"fault", "malformed"}});
  fp.push({{"fault", "malformed"}});
  fp.push({{"fault", "malformed"}});
  auto e = chatErr(prompt("x"));
  EXPECT_EQ(e.code, "provider_error");
  EXPECT_NE(e.message.find("malformed"), std::string::npos);
}

TEST_P(ProviderTest, MalformedStreamEventAfterContentFailsWithoutRetry) {
  fp.push({{"text", "a b c d e f"}, {"fault", "malformed"}, {"after_chunks", 5}});
  CallOptions opts;
  std::string seen;
  opts.onChunk = [&](const StreamChunk& c) { seen += c.text; };
  auto e = chatErr(prompt("x"), opts);
  EXPECT_EQ(e.code, "provider_error");
  EXPECT_FALSE(seen.empty());
  EXPECT_EQ(fp.requests().size(), 1u);  // content was delivered: never retried
}

TEST_P(ProviderTest, TruncatedStreamIsAnError) {
  fp.push({{"text", "a b c d e f g"}, {"fault", "truncate"}, {"after_chunks", 5}});
  CallOptions opts;
  opts.onChunk = [](const StreamChunk&) {};
  auto e = chatErr(prompt("x"), opts);
  EXPECT_EQ(e.code, "provider_error");
  EXPECT_NE(e.message.find("ended before"), std::string::npos);
  EXPECT_TRUE(e.details.getBool("partial"));
}

TEST_P(ProviderTest, ConnectionResetMidStreamIsANetworkError) {
  fp.push({{"text", "a b c d e f g"}, {"fault", "reset"}, {"after_chunks", 5}});
  CallOptions opts;
  opts.onChunk = [](const StreamChunk&) {};
  auto e = chatErr(prompt("x"), opts);
  EXPECT_TRUE(e.code == "network_error" || e.code == "provider_error") << e.toString();
  EXPECT_EQ(fp.requests().size(), 1u);
}

TEST_P(ProviderTest, ResetBeforeContentIsRetried) {
  fp.push({{"text", "a b"}, {"fault", "reset"}, {"after_chunks", 0}});
  fp.push({{"text", "second try"}});
  CallOptions opts;
  opts.onChunk = [](const StreamChunk&) {};
  EXPECT_EQ(chatOk(prompt("x"), opts).text, "second try");
}

TEST_P(ProviderTest, StallMidStreamTimesOut) {
  fp.push({{"text", "a b c d e f g"}, {"fault", "stall"}, {"after_chunks", 5}});
  CallOptions opts;
  opts.onChunk = [](const StreamChunk&) {};
  auto e = chatErr(prompt("x"), opts);
  EXPECT_EQ(e.code, "timeout") << e.toString();
}

TEST_P(ProviderTest, ErrorInside200Stream) {
  fp.push({{"text", "a b c d e"}, {"fault", "stream_error"}, {"after_chunks", 5}});
  CallOptions opts;
  opts.onChunk = [](const StreamChunk&) {};
  auto e = chatErr(prompt("x"), opts);
  EXPECT_EQ(e.code, "provider_error") << e.toString();
  EXPECT_TRUE(e.details.getBool("in_stream"));
}

TEST_P(ProviderTest, SlowFirstByteStillSucceeds) {
  fp.push({{"text", "slow"}, {"delay", 0.2}});
  EXPECT_EQ(chatOk(prompt("x")).text, "slow");
}

TEST_P(ProviderTest, CancellationMidStreamAbortsTheTransfer) {
  fp.push({{"text", "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10"}, {"chunk_delay", 0.05}});
  PromisePtr p;
  int chunks = 0;
  CallOptions opts;
  opts.onChunk = [&](const StreamChunk& c) {
    if (!c.text.empty() && ++chunks == 2) p->cancel();
  };
  p = client->chat(GetParam().model, prompt("x"), opts);
  auto o = wait(loop, p);
  EXPECT_FALSE(o.ok);
  EXPECT_EQ(o.error.code, "cancelled");
  EXPECT_EQ(chunks, 2);
  // The server sees the client go away.
  for (int i = 0; i < 100 && fp.peerCloses() == 0; ++i) {
    auto s = loop.sleep(0.02);
    wait(loop, s);
  }
  EXPECT_GE(fp.peerCloses(), 1u);
}

TEST_P(ProviderTest, EmbeddingsAndModelList) {
  if (GetParam().kind == "anthropic") GTEST_SKIP() << "no embeddings endpoint";
  auto o = wait(loop, client->embed(GetParam().model, {"first", "second"}, Value::object()));
  ASSERT_TRUE(o.ok) << o.error.toString();
  ASSERT_EQ(o.value.asArray().size(), 2u);
  EXPECT_EQ(o.value.asArray()[0].asArray().size(), 4u);
  EXPECT_NE(o.value.asArray()[0], o.value.asArray()[1]);  // sorted by index, distinct texts
  std::string prov = GetParam().model.substr(0, GetParam().model.find('/'));
  auto m = wait(loop, client->listModels(prov));
  ASSERT_TRUE(m.ok) << m.error.toString();
  EXPECT_FALSE(m.value.asArray().empty());
}

INSTANTIATE_TEST_SUITE_P(AllProviders, ProviderTest,
                         testing::Values(Kind{"openai", "openai/gpt-4o-mini"},
                                         Kind{"anthropic", "anthropic/claude-sonnet-4-5"},
                                         Kind{"gemini", "gemini/gemini-2.5-flash"},
                                         Kind{"ollama", "ollama/llama3.2"},
                                         Kind{"openai-compatible", "local/qwen2.5"}),
                         PrintKind);

// A provider that reports no usage: usage and cost are absent (nil to scripts), not 0/0 and $0;
// streamed and not. (Anthropic always reports usage.)
TEST_P(ProviderTest, MissingUsageIsAbsentNotZero) {
  if (GetParam().kind == "anthropic") GTEST_SKIP() << "Anthropic always sends usage";
  for (bool stream : {false, true}) {
    fp.push({{"text", "no usage"}, {"no_usage", true}});
    CallOptions opts;
    if (stream) opts.onChunk = [](const StreamChunk&) {};
    auto o = wait(loop, client->chat(GetParam().model, prompt("hi"), std::move(opts)));
    ASSERT_TRUE(o.ok) << o.error.toString();
    EXPECT_TRUE(o.value.get("usage").isNull()) << stream << " " << toJsonText(o.value.get("usage"));
    EXPECT_TRUE(o.value.get("cost_usd").isNull()) << stream;
    EXPECT_EQ(o.value.getString("text"), "no usage");
  }
}

// ---------------- provider-specific quirks over the wire ----------------

class QuirkTest : public testing::Test {
 protected:
  void SetUp() override {
    client = std::make_unique<LlmClient>(loop);
    for (const char* name : {"openai", "groq", "openrouter", "llamacpp", "gemini", "anthropic"}) {
      std::string kind = std::string(name) == "openai" || std::string(name) == "gemini" || std::string(name) == "anthropic"
                             ? name : "openai-compatible";
      client->configure(name, Value::object({{"kind", kind}, {"base_url", fp.baseUrl(kind)}, {"api_key", "k"}, {"retry_base", 0.01}}));
    }
  }
  Outcome chat(const std::string& model, const std::string& text, bool stream) {
    ChatRequest r;
    r.messages = {Message::user(text)};
    CallOptions o;
    if (stream) o.onChunk = [](const StreamChunk&) {};
    return wait(loop, client->chat(model, r, o));
  }
  Loop loop;
  fake::FakeProvider fp{3};
  std::unique_ptr<LlmClient> client;
};

// Anthropic server tools (web search) in a whole response: kept in raw.server_blocks, never
// tool calls.
TEST_F(QuirkTest, AnthropicServerToolBlocksAreNotToolCalls) {
  fp.push({{"server_tools", {{{"name", "web_search"}, {"input", {{"query", "llmspell"}}}}}}, {"text", "Found it."}});
  auto o = chat("anthropic/claude-sonnet-4-5", "search", false);
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.get("tool_calls").asArray().size(), 0u);
  EXPECT_EQ(o.value.getString("finish_reason"), "stop");
  EXPECT_EQ(o.value.getString("text"), "Found it.");
  const Value& blocks = o.value.get("raw").get("server_blocks");
  ASSERT_TRUE(blocks.isArray());
  ASSERT_EQ(blocks.asArray().size(), 2u);
  EXPECT_EQ(blocks.asArray()[0].getString("type"), "server_tool_use");
  EXPECT_EQ(blocks.asArray()[0].get("input").getString("query"), "llmspell");
  EXPECT_EQ(blocks.asArray()[1].getString("type"), "web_search_tool_result");
}

TEST_F(QuirkTest, GroqUsageInXGroq) {
  fp.push({{"text", "fast answer"}, {"variant", "groq"}, {"usage", {{"input_tokens", 9}, {"output_tokens", 2}}}});
  auto o = chat("groq/llama-3.1-8b-instant", "q", true);
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.get("usage").getInt("input_tokens"), 9);
  EXPECT_EQ(o.value.getString("provider"), "groq");
}

TEST_F(QuirkTest, OpenRouterCommentsAndInBandError) {
  fp.push({{"text", "hello world"}, {"variant", "openrouter"}});
  auto o = chat("openrouter/openai/gpt-4o-mini", "q", true);
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.getString("text"), "hello world");
  EXPECT_EQ(fp.requests().back().json()["model"], "openai/gpt-4o-mini");
  fp.push({{"text", "a b c"}, {"variant", "openrouter"}, {"fault", "stream_error"}, {"after_chunks", 5}});
  auto e = chat("openrouter/openai/gpt-4o-mini", "q", true);
  ASSERT_FALSE(e.ok);
  EXPECT_NE(e.error.message.find("Provider disconnected unexpectedly"), std::string::npos);
}

TEST_F(QuirkTest, LlamaCppErrorWithoutDone) {
  fp.push({{"text", "a b c"}, {"variant", "llamacpp"}, {"fault", "stream_error"}, {"after_chunks", 2}});
  auto e = chat("llamacpp/local", "q", true);
  ASSERT_FALSE(e.ok);
  EXPECT_NE(e.error.message.find("llama decode failed"), std::string::npos);
}

TEST_F(QuirkTest, ReasoningModelGetsMaxCompletionTokens) {
  ChatRequest r;
  r.messages = {Message::user("think")};
  r.maxTokens = 50;
  auto o = wait(loop, client->chat("openai/o4-mini", r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();  // the fake answers 400 to max_tokens here
  EXPECT_EQ(fp.requests().back().json()["max_completion_tokens"], 50);
  EXPECT_GT(o.value.getNumber("cost_usd"), 0.0);
}

TEST_F(QuirkTest, GeminiBlockedPromptAndSignatureEcho) {
  fp.push({{"blocked", true}});
  auto b = chat("gemini/gemini-2.5-flash", "bad", false);
  ASSERT_TRUE(b.ok) << b.error.toString();
  EXPECT_EQ(b.value.getString("finish_reason"), "content_filter");
  EXPECT_EQ(b.value.getString("raw_finish_reason"), "SAFETY");

  // Gemini 3 rejects function-call history without the signature: the echo must carry it.
  fp.push({{"tool_calls", {{{"name", "f"}, {"arguments", {{"a", 1}}}}, {{"name", "g"}, {"arguments", json::object()}}}}});
  fp.push({{"text", "ok"}});
  ChatRequest r;
  r.messages = {Message::user("call")};
  r.tools = {{"f", "", Value()}, {"g", "", Value()}};
  r.tools[0].parameters = parseJson(R"({"type":"object"})");
  r.tools[1].parameters = parseJson(R"({"type":"object"})");
  auto o = wait(loop, client->chat("gemini/gemini-3-pro-preview", r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();
  auto resp = chatResponseFromValue(o.value);
  ASSERT_EQ(resp.toolCalls.size(), 2u);
  r.messages.push_back(resp.message);
  for (const auto& c : resp.toolCalls) r.messages.push_back(Message::tool(c.id, c.name, "1"));
  auto o2 = wait(loop, client->chat("gemini/gemini-3-pro-preview", r, {}));
  ASSERT_TRUE(o2.ok) << o2.error.toString();
  auto sent = fp.requests().back().json();
  EXPECT_EQ(sent["contents"][1]["parts"][0]["thoughtSignature"], "c2lnX2Zha2U=");
  EXPECT_FALSE(sent["contents"][1]["parts"][1].contains("thoughtSignature"));
  EXPECT_EQ(sent["contents"][2]["parts"].size(), 2u);
}

TEST_F(QuirkTest, AnthropicWithoutVersionHeaderIsRejectedByFake) {
  // Sanity check of the fake itself: a raw request without anthropic-version gets a 400.
  client->configure("raw", Value::object({{"kind", "openai-compatible"}, {"base_url", fp.url("")}}));
  ChatRequest r;
  r.messages = {Message::user("x")};
  // openai-compatible posts to /chat/completions; use Anthropic's path through headers instead:
  auto o = wait(loop, client->chat("anthropic/claude-haiku-4-5", r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(fp.requests().back().header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(fp.requests().back().json()["max_tokens"], 4096);
}

// ---------------- mock provider ----------------

TEST(MockProvider, EchoScriptToolsErrorsAndExhaustion) {
  Loop loop;
  LlmClient c(loop);
  ChatRequest r;
  r.messages = {Message::user("repeat after me")};
  auto e = wait(loop, c.chat("mock/echo", r, {}));
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.value.getString("text"), "repeat after me");
  EXPECT_EQ(e.value.getString("provider"), "mock");

  c.configure("mock", parseJson(R"({"replies":["first",{"text":"second","usage":{"input_tokens":3,"output_tokens":4}},
      {"tool_calls":[{"name":"calc","arguments":{"x":2}}]},{"error":{"code":"rate_limited","message":"slow down"}}]})"));
  EXPECT_EQ(wait(loop, c.chat("mock/script", r, {})).value.getString("text"), "first");
  auto s = wait(loop, c.chat("mock/script", r, {}));
  EXPECT_EQ(s.value.get("usage").getInt("output_tokens"), 4);
  auto t = wait(loop, c.chat("mock/script", r, {}));
  EXPECT_EQ(t.value.getString("finish_reason"), "tool_calls");
  EXPECT_EQ(t.value.get("tool_calls").asArray()[0].get("arguments").getInt("x"), 2);
  auto err = wait(loop, c.chat("mock/script", r, {}));
  EXPECT_EQ(err.error.code, "rate_limited");
  auto done = wait(loop, c.chat("mock/script", r, {}));
  EXPECT_FALSE(done.ok);
  EXPECT_NE(done.error.message.find("no more scripted replies"), std::string::npos);
}

TEST(MockProvider, StreamsWordChunksDeterministically) {
  Loop loop;
  LlmClient c(loop);
  ChatRequest r;
  r.messages = {Message::user("alpha beta gamma")};
  std::vector<std::string> chunks;
  CallOptions o;
  o.onChunk = [&](const StreamChunk& ch) { chunks.push_back(ch.text); };
  auto res = wait(loop, c.chat("mock/echo", r, o));
  ASSERT_TRUE(res.ok);
  EXPECT_EQ(chunks, (std::vector<std::string>{"alpha", " beta", " gamma"}));
}

TEST(MockProvider, DelayCanBeCancelled) {
  Loop loop;
  LlmClient c(loop);
  c.configure("mock", parseJson(R"({"replies":[{"text":"late","delay":30}]})"));
  ChatRequest r;
  r.messages = {Message::user("x")};
  auto p = c.chat("mock/script", r, {});
  loop.post([p] { p->cancel(); });
  auto o = wait(loop, p);
  EXPECT_EQ(o.error.code, "cancelled");
}

TEST(ModelNames, SplitAndCatalog) {
  EXPECT_EQ(splitModelName("openai/gpt-4o-mini"), (std::pair<std::string, std::string>{"openai", "gpt-4o-mini"}));
  EXPECT_EQ(splitModelName("openrouter/openai/gpt-4o").second, "openai/gpt-4o");
  EXPECT_EQ(splitModelName("gpt-4o-mini").first, "openai");
  EXPECT_THROW(splitModelName("nonsense-model"), Exception);
  EXPECT_THROW(splitModelName("/x"), Exception);
  ASSERT_NE(findModel("openai/gpt-4o-2024-08-06"), nullptr);
  EXPECT_EQ(findModel("openai/gpt-4o-2024-08-06")->model, "gpt-4o");
  EXPECT_EQ(findModel("openai/gpt-4o-mini-2024-07-18")->model, "gpt-4o-mini");
  Usage u{1000000, 1000000, 2000000, 0, 0, true};
  EXPECT_DOUBLE_EQ(*costUsd(u, "openai/gpt-4o-mini"), 0.75);
  EXPECT_FALSE(costUsd(u, "nobody/model").has_value());
  Loop loop;
  LlmClient c(loop);
  EXPECT_THROW(c.configure("x", Value::object({{"bogus", 1}})), Exception);
  EXPECT_THROW(c.configure("x", Value::object({{"kind", "nope"}})), Exception);
  auto o = wait(loop, c.chat("nobody/m", {}, {}));
  EXPECT_EQ(o.error.code, "invalid_argument");
}

TEST(RetryDelay, ExponentialCappedAndServerOverride) {
  ProviderConfig cfg;
  EXPECT_DOUBLE_EQ(retryDelay(cfg, 0, std::nullopt, 1.0), 0.5);
  EXPECT_DOUBLE_EQ(retryDelay(cfg, 2, std::nullopt, 1.0), 2.0);
  EXPECT_DOUBLE_EQ(retryDelay(cfg, 10, std::nullopt, 0.75), 6.0);
  EXPECT_DOUBLE_EQ(retryDelay(cfg, 3, 1.25, 0.8), 1.25);
  Loop loop;
  LlmClient c(loop);
  for (int i = 0; i < 100; ++i) {
    double j = c.jitter();
    EXPECT_GE(j, 0.75);
    EXPECT_LE(j, 1.0);
  }
}

}  // namespace

namespace {

TEST(RecordReplay, RecordsWithoutSecretsAndReplaysWithDiffOnMiss) {
  fake::FakeProvider fp{5};
  std::string path = testing::TempDir() + "/llm_record_test.jsonl";
  std::remove(path.c_str());
  {
    Loop loop;
    LlmClient c(loop);
    c.configure("openai", Value::object({{"base_url", fp.baseUrl("openai")}, {"api_key", "sk-secret-abcdef0123456789"}}));
    c.recordTo(path);
    fp.push({{"text", "recorded answer"}});
    fp.push({{"text", "streamed answer here"}});
    ChatRequest r;
    r.messages = {Message::user("question one")};
    ASSERT_TRUE(wait(loop, c.chat("openai/gpt-4o-mini", r, {})).ok);
    r.messages = {Message::user("question two")};
    CallOptions o;
    o.onChunk = [](const StreamChunk&) {};
    ASSERT_TRUE(wait(loop, c.chat("openai/gpt-4o-mini", r, o)).ok);
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  EXPECT_EQ(text.find("sk-secret"), std::string::npos);
  EXPECT_NE(text.find("question one"), std::string::npos);
  EXPECT_NE(text.find("\"chunks\""), std::string::npos);

  Loop loop;
  LlmClient c(loop);
  c.replayFrom(path);
  ChatRequest r;
  r.messages = {Message::user("question two")};
  std::string streamed;
  CallOptions o;
  o.onChunk = [&](const StreamChunk& ch) { streamed += ch.text; };
  auto a = wait(loop, c.chat("openai/gpt-4o-mini", r, o));
  ASSERT_TRUE(a.ok) << a.error.toString();
  EXPECT_EQ(a.value.getString("text"), "streamed answer here");
  EXPECT_EQ(streamed, "streamed answer here");
  r.messages = {Message::user("question three")};
  auto miss = wait(loop, c.chat("openai/gpt-4o-mini", r, {}));
  EXPECT_EQ(miss.error.code, "not_found");
  EXPECT_NE(miss.error.message.find("$.messages[0].content"), std::string::npos);
  EXPECT_EQ(fp.requests().size(), 2u);  // replay never reached the server
}

TEST(Pools, FallbackAndRoundRobin) {
  fake::FakeProvider fp{6};
  Loop loop;
  LlmClient c(loop);
  c.configure("openai", Value::object({{"base_url", fp.baseUrl("openai")}, {"api_key", "k"}, {"retries", 0}}));
  c.configure("anthropic", Value::object({{"base_url", fp.baseUrl("anthropic")}, {"api_key", "k"}, {"retries", 0}}));
  std::string pool = c.definePool("p", {"openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"}, "fallback");
  EXPECT_EQ(pool, "pool/p");
  fp.push({{"fault", "server_error"}});
  fp.push({{"text", "from the second"}});
  ChatRequest r;
  r.messages = {Message::user("x")};
  auto o = wait(loop, c.chat(pool, r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.getString("pool_model"), "anthropic/claude-haiku-4-5");
  std::string rr = c.definePool("rr", {"openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"}, "round_robin");
  EXPECT_EQ(wait(loop, c.chat(rr, r, {})).value.getString("pool_model"), "openai/gpt-4o-mini");
  EXPECT_EQ(wait(loop, c.chat(rr, r, {})).value.getString("pool_model"), "anthropic/claude-haiku-4-5");
  EXPECT_THROW(c.definePool("bad", {"openai/x"}, "fastest-ever"), Exception);
  EXPECT_THROW(c.definePool("bad", {}, "fallback"), Exception);
}

TEST(Pools, FastestTakesTheFirstSuccessAndCancelsTheRest) {
  fake::FakeProvider slow{8}, fast{9};
  Loop loop;
  LlmClient c(loop);
  c.configure("openai", Value::object({{"base_url", slow.baseUrl("openai")}, {"api_key", "k"}, {"retries", 0}}));
  c.configure("anthropic", Value::object({{"base_url", fast.baseUrl("anthropic")}, {"api_key", "k"}, {"retries", 0}}));
  std::string pool = c.definePool("f", {"openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"}, "fastest");
  slow.push({{"text", "slow answer"}, {"delay", 3.0}});
  fast.push({{"text", "fast answer"}, {"delay", 0.05}});
  ChatRequest r;
  r.messages = {Message::user("x")};
  auto o = wait(loop, c.chat(pool, r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.getString("text"), "fast answer");
  EXPECT_EQ(o.value.getString("pool_model"), "anthropic/claude-haiku-4-5");
  // The slow call was cancelled: its connection was closed before the reply.
  bool late = false;
  auto timer = loop.setTimeout(2.0, [&] { late = true; });
  loop.runUntil([&] { return slow.peerCloses() >= 1 || late; });
  timer.cancel();
  EXPECT_GE(slow.peerCloses(), 1u);

  // Streaming: chunks come from the winner only.
  slow.clear();
  fast.clear();
  slow.push({{"text", "slow slow slow"}, {"delay", 3.0}});
  fast.push({{"text", "one two three"}});
  CallOptions co;
  std::string joined;
  co.onChunk = [&](const StreamChunk& ch) { joined += ch.text; };
  auto s = wait(loop, c.chat(pool, r, co));
  ASSERT_TRUE(s.ok) << s.error.toString();
  EXPECT_EQ(joined, "one two three");
  EXPECT_EQ(s.value.getString("text"), "one two three");

  // A failing model does not end the race; all failing does, naming each.
  slow.clear();
  fast.clear();
  slow.push({{"text", "late but fine"}, {"delay", 0.2}});
  fast.push({{"fault", "server_error"}});
  auto f = wait(loop, c.chat(pool, r, {}));
  ASSERT_TRUE(f.ok) << f.error.toString();
  EXPECT_EQ(f.value.getString("pool_model"), "openai/gpt-4o-mini");
  slow.push({{"fault", "server_error"}});
  fast.push({{"fault", "auth"}});
  auto e = wait(loop, c.chat(pool, r, {}));
  ASSERT_FALSE(e.ok);
  EXPECT_NE(e.error.message.find("every model of the pool failed"), std::string::npos) << e.error.message;
  EXPECT_NE(e.error.message.find("openai/gpt-4o-mini: "), std::string::npos);
  EXPECT_NE(e.error.message.find("anthropic/claude-haiku-4-5: "), std::string::npos);
}

TEST(Pools, ConsensusPicksTheMostCommonAnswer) {
  fake::FakeProvider a{10}, b{11}, g{12};
  Loop loop;
  LlmClient c(loop);
  c.configure("openai", Value::object({{"base_url", a.baseUrl("openai")}, {"api_key", "k"}, {"retries", 0}}));
  c.configure("anthropic", Value::object({{"base_url", b.baseUrl("anthropic")}, {"api_key", "k"}, {"retries", 0}}));
  c.configure("gemini", Value::object({{"base_url", g.baseUrl("gemini")}, {"api_key", "k"}, {"retries", 0}}));
  std::string pool = c.definePool("c", {"gemini/gemini-2.5-flash", "openai/gpt-4o-mini", "anthropic/claude-haiku-4-5"},
                                  "consensus");
  g.push({{"text", "London"}, {"usage", {{"input_tokens", 5}, {"output_tokens", 1}}}});
  a.push({{"text", "Paris."}, {"usage", {{"input_tokens", 5}, {"output_tokens", 2}}}});
  b.push({{"text", "  paris "}, {"usage", {{"input_tokens", 6}, {"output_tokens", 3}}}});
  ChatRequest r;
  r.messages = {Message::user("Capital of France?")};
  auto o = wait(loop, c.chat(pool, r, {}));
  ASSERT_TRUE(o.ok) << o.error.toString();
  EXPECT_EQ(o.value.getString("text"), "Paris.");
  EXPECT_EQ(o.value.getString("pool_model"), "openai/gpt-4o-mini");
  const Value& cons = o.value.get("consensus");
  EXPECT_EQ(cons.getInt("votes"), 2);
  EXPECT_EQ(cons.getInt("answered"), 3);
  EXPECT_NEAR(cons.getNumber("agreement"), 2.0 / 3.0, 1e-9);
  EXPECT_EQ(toJsonText(cons.get("models")), R"(["openai/gpt-4o-mini","anthropic/claude-haiku-4-5"])");
  EXPECT_EQ(cons.get("answers").asArray().size(), 3u);
  EXPECT_EQ(o.value.get("usage").getInt("input_tokens"), 16);  // every answer counted
  EXPECT_EQ(o.value.get("usage").getInt("output_tokens"), 6);
  EXPECT_EQ(a.requests().size(), 1u);
  EXPECT_EQ(b.requests().size(), 1u);
  EXPECT_EQ(g.requests().size(), 1u);

  // A failed model abstains; a tie goes to the earlier model of the pool.
  g.push({{"fault", "server_error"}});
  a.push({{"text", "yes"}});
  b.push({{"text", "no"}});
  auto t = wait(loop, c.chat(pool, r, {}));
  ASSERT_TRUE(t.ok) << t.error.toString();
  EXPECT_EQ(t.value.getString("text"), "yes");
  EXPECT_EQ(t.value.get("consensus").getInt("answered"), 2);
  EXPECT_EQ(t.value.get("consensus").getNumber("agreement"), 0.5);
  EXPECT_TRUE(t.value.get("consensus").get("answers").asArray()[0].get("error").isError());

  EXPECT_EQ(normalizeAnswer("  \"Paris!\"  "), "paris");
  EXPECT_EQ(normalizeAnswer("The  answer\n is 42."), "the answer is 42");
}

TEST(ListsAndEmbeddings, RetriedOn429And5xx) {
  fake::FakeProvider fp{13};
  Loop loop;
  LlmClient c(loop);
  c.setJitterSeed(3);
  c.configure("openai", Value::object({{"base_url", fp.baseUrl("openai")}, {"api_key", "k"}, {"retries", 2}, {"retry_base", 0.01}}));
  fp.push({{"models", json::array()}, {"status", 503}});
  fp.push({{"models", json::array()}, {"status", 429}, {"retry_after_ms", 20}});
  fp.push({{"models", {"m1", "m2"}}});
  auto l = wait(loop, c.listModels("openai"));
  ASSERT_TRUE(l.ok) << l.error.toString();
  EXPECT_EQ(l.value.asArray().size(), 2u);
  EXPECT_EQ(fp.requests().size(), 3u);

  fp.clear();
  fp.push({{"embeddings", json::array()}, {"status", 500}});
  auto e = wait(loop, c.embed("openai/text-embedding-3-small", {"a", "b"}, Value::object()));
  ASSERT_TRUE(e.ok) << e.error.toString();
  EXPECT_EQ(e.value.asArray().size(), 2u);
  EXPECT_EQ(fp.requests().size(), 2u);

  // Out of retries: the last error, with the provider's message.
  fp.clear();
  for (int i = 0; i < 3; ++i) fp.push({{"models", json::array()}, {"status", 500}});
  auto f = wait(loop, c.listModels("openai"));
  ASSERT_FALSE(f.ok);
  EXPECT_EQ(f.error.code, "provider_error");
  EXPECT_EQ(fp.requests().size(), 3u);
  // A 400 is not retried.
  fp.clear();
  fp.push({{"models", json::array()}, {"status", 400}});
  auto b = wait(loop, c.listModels("openai"));
  EXPECT_EQ(b.error.code, "invalid_argument");
  EXPECT_EQ(fp.requests().size(), 1u);
}

TEST(Probe, ReachableUnreachableAndMock) {
  fake::FakeProvider fp{14};
  Loop loop;
  LlmClient c(loop);
  c.configure("openai", Value::object({{"base_url", fp.baseUrl("openai")}, {"api_key", "k"}}));
  c.configure("down", Value::object({{"kind", "openai-compatible"}, {"base_url", "http://127.0.0.1:1/v1"}}));
  auto up = wait(loop, c.probe("openai", 2.0));
  ASSERT_TRUE(up.ok);
  EXPECT_TRUE(up.value.getBool("reachable"));
  EXPECT_EQ(up.value.getInt("status"), 200);
  EXPECT_TRUE(up.value.get("error").isNull());
  EXPECT_GE(up.value.getInt("latency_ms"), 0);
  auto down = wait(loop, c.probe("down", 1.0));
  ASSERT_TRUE(down.ok);
  EXPECT_FALSE(down.value.getBool("reachable"));
  EXPECT_FALSE(down.value.getString("error").empty());
  auto m = wait(loop, c.probe("mock", 1.0));
  EXPECT_TRUE(m.value.getBool("reachable"));
  auto none = wait(loop, c.probe("nosuch", 1.0));
  EXPECT_FALSE(none.value.getBool("reachable"));
}

}  // namespace
