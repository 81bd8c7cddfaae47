// Codec tests: request encoding and response / stream decoding per provider, with the recorded
// payloads of docs providers.md; error classification and retry delays.
#include <gtest/gtest.h>

#include <functional>

#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "llm/codecs.hpp"
#include "llm/json_util.hpp"
#include "llmspell/llm/codec.hpp"
#include "llmspell/llm/json_repair.hpp"

using namespace llmspell;
using namespace llmspell::llm;
using json = nlohmann::json;

namespace {

struct Event {
  std::string event, data;
};

// Feeds SSE-style events and returns (response, chunks).
ChatResponse runStream(const Codec& c, const std::vector<Event>& events, std::vector<StreamChunk>* chunks = nullptr) {
  auto dec = c.streamDecoder();
  std::vector<StreamChunk> out;
  for (const auto& e : events) dec->feed(e.event, e.data, out);
  if (chunks) *chunks = out;
  return dec->finish();
}

std::string textOf(const std::vector<StreamChunk>& cs) {
  std::string s;
  for (const auto& c : cs) s += c.text;
  return s;
}

ChatRequest weatherRequest() {
  ChatRequest r;
  r.model = "m";
  r.messages = {Message::system("You are terse."), Message::user("Weather in Edinburgh?")};
  r.tools.push_back({"get_weather", "Current weather for a city",
                     parseJson(R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})")});
  return r;
}

// Turn-2 history: the assistant asked for two calls, the tools answered.
std::vector<Message> toolHistory() {
  Message a;
  a.role = Role::kAssistant;
  ToolCall c1{"call_1", "get_weather", parseJson(R"({"city":"Edinburgh"})")};
  ToolCall c2{"call_2", "get_stock_price", parseJson(R"({"ticker":"AAPL"})")};
  c1.signature = "SIG1";
  a.parts = {ContentPart::toolCallPart(c1), ContentPart::toolCallPart(c2)};
  return {Message::user("Weather and AAPL?"), a, Message::tool("call_1", "get_weather", R"({"temp_c": 11})"),
          Message::tool("call_2", "get_stock_price", "231.4")};
}

}  // namespace

// ---------------- OpenAI ----------------

TEST(OpenAiCodec, DecodesRecordedTextResponse) {
  const char* body = R"({"id":"chatcmpl-ABfvaueLEMLNYbT8YzpJxsmiQ6HSY","object":"chat.completion","created":1727346142,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"I'm unable to provide real-time weather updates.","refusal":null},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":14,"completion_tokens":37,"total_tokens":51,"completion_tokens_details":{"reasoning_tokens":0}},"system_fingerprint":"fp_b40fb1c6fb"})";
  auto r = codecFor("openai").decodeChat(body);
  EXPECT_EQ(r.text, "I'm unable to provide real-time weather updates.");
  EXPECT_EQ(r.finishReason, FinishReason::kStop);
  EXPECT_EQ(r.rawFinishReason, "stop");
  EXPECT_EQ(r.usage.inputTokens, 14);
  EXPECT_EQ(r.usage.outputTokens, 37);
  EXPECT_EQ(r.usage.totalTokens, 51);
  EXPECT_EQ(r.model, "gpt-4o-2024-08-06");
  EXPECT_EQ(r.provider, "openai");
  EXPECT_EQ(r.message.role, Role::kAssistant);
  EXPECT_EQ(r.message.text(), r.text);
}

TEST(OpenAiCodec, TokenCountsOutOfRangeReadAsZero) {
  // Found by the sse_codecs fuzz target: a float token count beyond int64 was converted to an
  // integer (undefined behaviour; INT64_MIN on x86), and an unsigned one wrapped negative.
  const char* body = R"({"id":"x","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2.05556e+124,"completion_tokens":-1e300,"total_tokens":18446744073709551615}})";
  auto r = codecFor("openai").decodeChat(body);
  EXPECT_EQ(r.text, "hi");
  EXPECT_EQ(r.usage.inputTokens, 0);
  EXPECT_EQ(r.usage.outputTokens, 0);
  EXPECT_EQ(r.usage.totalTokens, 0);
}

TEST(OpenAiCodec, DecodesRecordedParallelToolCalls) {
  const char* body = R"({"model":"gpt-4o","choices":[{"index": 0,
 "message": {"role": "assistant", "content": null, "refusal": null,
   "tool_calls": [
     {"id": "call_JMW1whyEaYG438VE1OIflxA2", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"city\": \"Edinburgh\", \"units\": \"c\"}"}},
     {"id": "call_DNYTawLBoN8fj3KN6qU9N1Ou", "type": "function",
      "function": {"name": "get_stock_price", "arguments": "{\"ticker\": \"AAPL\", \"exchange\": \"NASDAQ\"}"}}
   ]},
 "finish_reason": "tool_calls"}]})";
  auto r = codecFor("openai").decodeChat(body);
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_JMW1whyEaYG438VE1OIflxA2");
  EXPECT_EQ(r.toolCalls[0].arguments.getString("city"), "Edinburgh");
  EXPECT_EQ(r.toolCalls[1].name, "get_stock_price");
  EXPECT_EQ(r.toolCalls[1].arguments.getString("exchange"), "NASDAQ");
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(r.message.toolCalls().size(), 2u);
}

TEST(OpenAiCodec, ReassemblesRecordedStreamedParallelToolCallsByIndex) {
  std::string pre = R"("id":"chatcmpl-ABfwAwrNePHUgBBezonVC6MX3zd63","object":"chat.completion.chunk","created":1727346178,"model":"gpt-4o-2024-08-06","system_fingerprint":"fp_5050236cbd",)";
  auto chunk = [&](const std::string& rest) { return Event{"message", "{" + pre + rest + "}"}; };
  auto frag = [&](int idx, const std::string& args) {
    json a = args;
    return chunk(R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":)" + std::to_string(idx) +
                 R"(,"function":{"arguments":)" + a.dump() + R"(}}]},"logprobs":null,"finish_reason":null}])");
  };
  std::vector<Event> ev = {
      chunk(R"("choices":[{"index":0,"delta":{"role":"assistant","content":null},"logprobs":null,"finish_reason":null}])"),
      chunk(R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_JMW1whyEaYG438VE1OIflxA2","type":"function","function":{"name":"GetWeatherArgs","arguments":""}}]},"logprobs":null,"finish_reason":null}])")};
  for (std::string f : {"{\"ci", "ty\": ", "\"Edinb", "urgh", "\", \"c", "ountry", "\": \"", "GB\", ", "\"units", "\": \"", "c\"}"}) {
    ev.push_back(frag(0, f));
  }
  ev.push_back(chunk(R"("choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_DNYTawLBoN8fj3KN6qU9N1Ou","type":"function","function":{"name":"get_stock_price","arguments":""}}]},"logprobs":null,"finish_reason":null}])"));
  for (std::string f : {"{\"ti", "cker\": \"AAPL\", \"exch", "ange\": \"NASDAQ\"}"}) ev.push_back(frag(1, f));
  ev.push_back(chunk(R"("choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}])"));
  ev.push_back(chunk(R"("choices":[],"usage":{"prompt_tokens":149,"completion_tokens":60,"total_tokens":209,"completion_tokens_details":{"reasoning_tokens":0}})"));
  ev.push_back({"message", "[DONE]"});
  std::vector<StreamChunk> chunks;
  auto r = runStream(codecFor("openai"), ev, &chunks);
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_JMW1whyEaYG438VE1OIflxA2");
  EXPECT_EQ(r.toolCalls[0].name, "GetWeatherArgs");
  EXPECT_EQ(toJsonText(r.toolCalls[0].arguments), R"({"city":"Edinburgh","country":"GB","units":"c"})");
  EXPECT_EQ(r.toolCalls[1].arguments.getString("ticker"), "AAPL");
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(r.usage.inputTokens, 149);
  EXPECT_EQ(r.usage.totalTokens, 209);
  int deltas = 0;
  for (const auto& c : chunks) deltas += c.toolCall ? 1 : 0;
  EXPECT_EQ(deltas, 2 + 11 + 3);
}

TEST(OpenAiCodec, StreamTextWithUsageChunkAndObfuscation) {
  std::vector<Event> ev = {
      {"message", R"({"id":"x","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null,"obfuscation":"abc"})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}],"usage":null})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}],"usage":null})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":null})"},
      {"message", R"({"id":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}})"},
      {"message", "[DONE]"}};
  std::vector<StreamChunk> chunks;
  auto r = runStream(codecFor("openai"), ev, &chunks);
  EXPECT_EQ(r.text, "Hello");
  EXPECT_EQ(textOf(chunks), "Hello");
  EXPECT_EQ(r.finishReason, FinishReason::kLength);
  EXPECT_EQ(r.usage.cachedTokens, 1);
}

TEST(OpenAiCodec, TruncatedStreamIsAnError) {
  auto dec = codecFor("openai").streamDecoder();
  std::vector<StreamChunk> out;
  dec->feed("message", R"({"choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]})", out);
  EXPECT_FALSE(dec->finished());
  try {
    dec->finish();
    FAIL() << "expected a truncation error";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "provider_error");
    EXPECT_NE(e.error().message.find("ended before"), std::string::npos);
  }
}

TEST(OpenAiCodec, EncodesRequestWithToolsSchemaAndStreamOptions) {
  ChatRequest r = weatherRequest();
  r.temperature = 0.2;
  r.maxTokens = 256;
  r.stop = {"\n\nUser:"};
  r.seed = 42;
  r.toolChoice = {"tool", "get_weather"};
  r.stream = true;
  ProviderConfig cfg{"openai", "openai"};
  cfg.apiKey = "sk-test";
  auto w = codecFor("openai").encodeChat(r, cfg);
  EXPECT_EQ(w.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(headerValue(w.headers, "authorization"), "Bearer sk-test");
  EXPECT_EQ(w.framing, Framing::kSse);
  auto b = json::parse(w.body);
  EXPECT_EQ(b["max_completion_tokens"], 256);
  EXPECT_FALSE(b.contains("max_tokens"));
  EXPECT_EQ(b["stream_options"]["include_usage"], true);
  EXPECT_EQ(b["messages"][0]["role"], "system");
  EXPECT_EQ(b["tools"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(b["tool_choice"]["function"]["name"], "get_weather");
  EXPECT_EQ(b["seed"], 42);
  EXPECT_EQ(b["stop"][0], "\n\nUser:");

  ChatRequest s;
  s.model = "m";
  s.messages = {Message::user("x")};
  s.responseSchema = parseJson(R"({"type":"object"})");
  s.responseSchemaName = "Location";
  s.maxTokens = 10;
  ProviderConfig compat{"local", "openai-compatible", "http://127.0.0.1:1/v1"};
  auto w2 = codecFor("openai-compatible").encodeChat(s, compat);
  auto b2 = json::parse(w2.body);
  EXPECT_EQ(w2.url, "http://127.0.0.1:1/v1/chat/completions");
  EXPECT_EQ(b2["response_format"]["type"], "json_schema");
  EXPECT_EQ(b2["response_format"]["json_schema"]["name"], "Location");
  EXPECT_EQ(b2["max_tokens"], 10);  // compatible servers: max_tokens unless configured
  EXPECT_EQ(headerValue(w2.headers, "authorization"), "");
}

TEST(OpenAiCodec, EncodesToolRoundTripHistory) {
  ChatRequest r = weatherRequest();
  r.messages = toolHistory();
  auto b = json::parse(codecFor("openai").encodeChat(r, {"openai", "openai"}).body);
  auto& a = b["messages"][1];
  EXPECT_EQ(a["role"], "assistant");
  EXPECT_TRUE(a["content"].is_null());
  ASSERT_EQ(a["tool_calls"].size(), 2u);
  EXPECT_EQ(a["tool_calls"][0]["function"]["arguments"], R"({"city":"Edinburgh"})");
  EXPECT_EQ(b["messages"][2]["role"], "tool");
  EXPECT_EQ(b["messages"][2]["tool_call_id"], "call_1");
  EXPECT_EQ(b["messages"][3]["tool_call_id"], "call_2");
  EXPECT_EQ(b["messages"][3]["content"], "231.4");
}

TEST(OpenAiCodec, ImagesBecomeImageUrlParts) {
  ChatRequest r;
  r.model = "m";
  Message m = Message::user("What is in this image?");
  m.parts.push_back(ContentPart::imageBytes(std::string("\x89PNG", 4), "image/png"));
  m.parts.push_back(ContentPart::imageUrl("https://example.com/a.jpg"));
  r.messages = {m};
  auto b = json::parse(codecFor("openai").encodeChat(r, {"openai", "openai"}).body);
  auto& c = b["messages"][0]["content"];
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[1]["image_url"]["url"], "data:image/png;base64,iVBORw==");
  EXPECT_EQ(c[2]["image_url"]["url"], "https://example.com/a.jpg");
}

TEST(CompatCodec, OpenRouterErrorInside200StreamThrows) {
  auto dec = codecFor("openai-compatible").streamDecoder();
  std::vector<StreamChunk> out;
  dec->feed("message", R"({"choices":[{"index":0,"delta":{"content":"partial"},"finish_reason":null}]})", out);
  try {
    dec->feed("message", R"({"id":"cmpl-abc123","object":"chat.completion.chunk","created":1234567890,"model":"openai/gpt-4o-mini","provider":"openai","error":{"code":"server_error","message":"Provider disconnected unexpectedly"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]})", out);
    FAIL() << "expected in-band error";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "provider_error");
    EXPECT_NE(e.error().message.find("Provider disconnected unexpectedly"), std::string::npos);
    EXPECT_TRUE(e.error().retryable);
  }
}

TEST(CompatCodec, GroqUsageReasoningContentAndMissingDone) {
  std::vector<Event> ev = {
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"think"}}],"x_groq":{"id":"req_1"}})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{"reasoning":" more"}}]})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{"content":"42"}}]})"},
      {"message", R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"x_groq":{"id":"req_1","usage":{"queue_time":0.1,"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}})"}};
  auto r = runStream(codecFor("openai-compatible"), ev);  // no [DONE]: finish_reason suffices
  EXPECT_EQ(r.text, "42");
  EXPECT_EQ(r.reasoning, "think more");
  EXPECT_EQ(r.usage.inputTokens, 7);
  EXPECT_EQ(r.usage.totalTokens, 10);
}

TEST(CompatCodec, ErrorObjectOnHttp200BodyThrows) {
  try {
    codecFor("openai-compatible").decodeChat(R"x({"error":"Unexpected endpoint or method. (POST /chat/completions)"})x");
    FAIL();
  } catch (const Exception& e) {
    EXPECT_NE(e.error().message.find("Unexpected endpoint"), std::string::npos);
  }
  EXPECT_THROW(codecFor("openai-compatible").decodeChat("{not json"), Exception);
}

TEST(CompatCodec, ToolCallsWithoutIndexUseNewIdAsNewSlot) {
  std::vector<Event> ev = {
      {"message", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{\"x\":1}"}}]}}]})"},
      {"message", R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"{}"}}]}}]})"},
      {"message", R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})"},
      {"message", "[DONE]"}};
  auto r = runStream(codecFor("openai-compatible"), ev);
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].arguments.getInt("x"), 1);
  EXPECT_EQ(r.toolCalls[1].name, "g");
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);  // normalized; raw keeps "stop"
  EXPECT_EQ(r.rawFinishReason, "stop");
}

// ---------------- Anthropic ----------------

TEST(AnthropicCodec, DecodesRecordedToolUseResponse) {
  const char* body = R"({"id": "msg_014qNMmxefjUvuPTSkMMHjWE", "type": "message", "role": "assistant",
 "model": "claude-sonnet-4-5-20250929",
 "content": [{"type": "tool_use", "id": "toolu_01ECaF1WRmnTui1BpXZXyBds", "name": "get_user_country", "input": {}}],
 "stop_reason": "tool_use", "stop_sequence": null,
 "usage": {"input_tokens": 711, "output_tokens": 23,
           "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
           "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
           "service_tier": "standard"}})";
  auto r = codecFor("anthropic").decodeChat(body);
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].id, "toolu_01ECaF1WRmnTui1BpXZXyBds");
  EXPECT_TRUE(r.toolCalls[0].arguments.isObject());
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(r.rawFinishReason, "tool_use");
  EXPECT_EQ(r.usage.inputTokens, 711);
  EXPECT_EQ(r.usage.outputTokens, 23);
  EXPECT_EQ(r.usage.totalTokens, 734);
}

TEST(AnthropicCodec, DecodesRecordedParallelToolStreamWithPadding) {
  std::vector<Event> ev = {
      {"message_start", R"({"type":"message_start","message":{"id":"msg_015S7FCRZ7rzjcyuJgzDu35c","type":"message","role":"assistant","model":"claude-3-5-haiku-latest","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":310,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}               })"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}           })"},
      {"ping", R"({"type": "ping"})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I"}})"},
      {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"'ll help."}})"},
      {"content_block_stop", R"({"type":"content_block_stop","index":0            })"},
      {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_017ngBid8gmdReTeroVSZf7r","name":"pelican_name_generator","input":{}}          })"},
      {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}          })"},
      {"content_block_stop", R"({"type":"content_block_stop","index":1            })"},
      {"content_block_start", R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"toolu_01FJrHJrmnfEqR6NxkQ3yhpu","name":"pelican_name_generator","input":{}}              })"},
      {"content_block_delta", R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":""}          })"},
      {"content_block_stop", R"({"type":"content_block_stop","index":2          })"},
      {"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":82}})"},
      {"message_stop", R"({"type":"message_stop"     })"}};
  std::vector<StreamChunk> chunks;
  auto r = runStream(codecFor("anthropic"), ev, &chunks);
  EXPECT_EQ(r.text, "I'll help.");
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[1].id, "toolu_01FJrHJrmnfEqR6NxkQ3yhpu");
  EXPECT_TRUE(r.toolCalls[0].arguments.isObject());
  EXPECT_TRUE(r.toolCalls[0].arguments.asObject().empty());
  EXPECT_EQ(r.usage.inputTokens, 310);
  EXPECT_EQ(r.usage.outputTokens, 82);  // assigned, not added to the placeholder 1
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(textOf(chunks), "I'll help.");
  // The echoed assistant message keeps text then both tool_use blocks.
  ASSERT_EQ(r.message.parts.size(), 3u);
}

TEST(AnthropicCodec, ReassemblesRecordedFragmentedToolInput) {
  std::vector<Event> ev = {
      {"message_start", R"({"type":"message_start","message":{"model":"claude","usage":{"input_tokens":5,"output_tokens":1}}})"},
      {"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})"}};
  for (std::string p : {"", "{\"locati", "on\": \"P", "ar", "is\"}"}) {
    json d = {{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "input_json_delta"}, {"partial_json", p}}}};
    ev.push_back({"content_block_delta", d.dump()});
  }
  ev.push_back({"content_block_stop", R"({"type":"content_block_stop","index":0})"});
  ev.push_back({"message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20}})"});
  ev.push_back({"message_stop", R"({"type":"message_stop"})"});
  auto r = runStream(codecFor("anthropic"), ev);
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].arguments.getString("location"), "Paris");
}

TEST(AnthropicCodec, ErrorEventAfter200Throws) {
  auto dec = codecFor("anthropic").streamDecoder();
  std::vector<StreamChunk> out;
  try {
    dec->feed("error", R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})", out);
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "provider_error");
    EXPECT_TRUE(e.error().retryable);
    EXPECT_NE(e.error().message.find("Overloaded"), std::string::npos);
  }
}

TEST(AnthropicCodec, EncodesSystemHeadersAndGroupedToolResults) {
  ChatRequest r = weatherRequest();
  auto hist = toolHistory();
  r.messages.insert(r.messages.end(), hist.begin() + 1, hist.end());
  r.stop = {"\n\nHuman:"};
  r.stream = true;
  ProviderConfig cfg{"anthropic", "anthropic"};
  cfg.apiKey = "sk-ant-xyz";
  auto w = codecFor("anthropic").encodeChat(r, cfg);
  EXPECT_EQ(w.url, "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(headerValue(w.headers, "x-api-key"), "sk-ant-xyz");
  EXPECT_EQ(headerValue(w.headers, "anthropic-version"), "2023-06-01");
  auto b = json::parse(w.body);
  EXPECT_EQ(b["system"], "You are terse.");
  EXPECT_EQ(b["max_tokens"], 4096);
  EXPECT_EQ(b["stop_sequences"][0], "\n\nHuman:");
  EXPECT_EQ(b["tools"][0]["input_schema"]["type"], "object");
  EXPECT_EQ(b["stream"], true);
  ASSERT_EQ(b["messages"].size(), 3u);
  EXPECT_EQ(b["messages"][1]["role"], "assistant");
  EXPECT_EQ(b["messages"][1]["content"][0]["type"], "tool_use");
  EXPECT_EQ(b["messages"][1]["content"][0]["input"]["city"], "Edinburgh");
  auto& results = b["messages"][2];
  EXPECT_EQ(results["role"], "user");
  ASSERT_EQ(results["content"].size(), 2u);  // both results in ONE user message
  EXPECT_EQ(results["content"][0]["tool_use_id"], "call_1");
  EXPECT_EQ(results["content"][1]["tool_use_id"], "call_2");
}

TEST(AnthropicCodec, StructuredOutputForcesATool) {
  ChatRequest r;
  r.model = "claude";
  r.messages = {Message::user("capital of Mexico?")};
  r.responseSchema = parseJson(R"({"type":"object","properties":{"city":{"type":"string"}}})");
  r.responseSchemaName = "record_city";
  auto b = json::parse(codecFor("anthropic").encodeChat(r, {"anthropic", "anthropic"}).body);
  EXPECT_EQ(b["tools"][0]["name"], "record_city");
  EXPECT_EQ(b["tool_choice"]["type"], "tool");
  EXPECT_EQ(b["tool_choice"]["name"], "record_city");
}

TEST(AnthropicCodec, MissingMessageStopIsTruncated) {
  auto dec = codecFor("anthropic").streamDecoder();
  std::vector<StreamChunk> out;
  dec->feed("message_start", R"({"type":"message_start","message":{"model":"c","usage":{"input_tokens":1}}})", out);
  EXPECT_THROW(dec->finish(), Exception);
}

// ---------------- Gemini ----------------

TEST(GeminiCodec, DecodesRecordedStructuredResponse) {
  const char* body = R"({"candidates": [{
   "content": {"role": "model", "parts": [{"text": "{\n  \"city\": \"Mexico City\",\n  \"country\": \"Mexico\"\n}"}]},
   "finishReason": "STOP",
   "avgLogprobs": -5.800400977022946e-05}],
 "usageMetadata": {"promptTokenCount": 8, "candidatesTokenCount": 20, "totalTokenCount": 28,
                   "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 8}],
                   "candidatesTokensDetails": [{"modality": "TEXT", "tokenCount": 20}]},
 "modelVersion": "gemini-2.0-flash",
 "responseId": "Lvkgad-TOprpz7IPiMrqsQQ"})";
  auto r = codecFor("gemini").decodeChat(body);
  EXPECT_EQ(parseJson(r.text).getString("city"), "Mexico City");
  EXPECT_EQ(r.finishReason, FinishReason::kStop);
  EXPECT_EQ(r.usage.inputTokens, 8);
  EXPECT_EQ(r.usage.outputTokens, 20);
  EXPECT_EQ(r.usage.totalTokens, 28);
  EXPECT_EQ(r.model, "gemini-2.0-flash");
}

TEST(GeminiCodec, DecodesRecordedStreamsWithCumulativeUsageAndSignature) {
  std::vector<Event> single = {
      {"message", R"({"candidates": [{"content": {"parts": [{"text": "The capital of France is **Paris**."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 15,"candidatesTokenCount": 8,"totalTokenCount": 39,"promptTokensDetails": [{"modality": "TEXT","tokenCount": 15}],"thoughtsTokenCount": 16},"modelVersion": "gemini-2.5-flash","responseId": "ezh8aaKTCYSnqtsP-qXkqQI"})"}};
  auto r = runStream(codecFor("gemini"), single);
  EXPECT_EQ(r.text, "The capital of France is **Paris**.");
  EXPECT_EQ(r.usage.totalTokens, 39);
  EXPECT_EQ(r.usage.reasoningTokens, 16);
  EXPECT_EQ(r.usage.outputTokens, 24);

  std::vector<Event> multi = {
      {"message", R"({"candidates":[{"content":{"parts":[{"text":"There are **3**"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":5,"totalTokenCount":199,"thoughtsTokenCount":185},"modelVersion":"gemini-3-pro-preview","responseId":"bH6LaZW8Fp_3nsEPqtaSwQ4"})"},
      {"message", R"({"candidates":[{"content":{"parts":[{"text":" \"r\"s in strawberry."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":23,"totalTokenCount":217,"thoughtsTokenCount":185}})"},
      {"message", R"({"candidates":[{"content":{"parts":[{"text":"","thoughtSignature":"EqsFCqgF"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":23,"totalTokenCount":217,"thoughtsTokenCount":185}})"}};
  std::vector<StreamChunk> chunks;
  auto m = runStream(codecFor("gemini"), multi, &chunks);
  EXPECT_EQ(m.text, "There are **3** \"r\"s in strawberry.");
  EXPECT_EQ(m.usage.totalTokens, 217);  // last snapshot, not a sum
  EXPECT_EQ(textOf(chunks), m.text);
  // The signature survives in the assistant message and is echoed on the next request.
  ChatRequest next;
  next.model = "gemini-3-pro-preview";
  next.messages = {Message::user("q"), m.message, Message::user("again")};
  auto b = json::parse(codecFor("gemini").encodeChat(next, {"gemini", "gemini"}).body);
  EXPECT_EQ(b["contents"][1]["role"], "model");
  EXPECT_EQ(b["contents"][1]["parts"].back()["thoughtSignature"], "EqsFCqgF");
}

TEST(GeminiCodec, FunctionCallRoundTripEchoesThoughtSignature) {
  const char* body = R"({"candidates":[{"content":{"role": "model", "parts": [{
  "functionCall": {"name": "pelican_name_generator", "args": {"type": "funny"}, "id": "c9bjmkfz"},
  "thoughtSignature": "EosJCogJAb4"}]},"finishReason":"STOP"}]})";
  auto r = codecFor("gemini").decodeChat(body);
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].arguments.getString("type"), "funny");
  EXPECT_EQ(r.toolCalls[0].signature, "EosJCogJAb4");
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(r.rawFinishReason, "STOP");

  ChatRequest next;
  next.model = "gemini-3-pro-preview";
  next.messages = {Message::system("sys"), Message::user("Two names"), r.message,
                   Message::tool("c9bjmkfz", "", "Charles")};
  ProviderConfig cfg{"gemini", "gemini"};
  cfg.apiKey = "AIzaKEY";
  auto w = codecFor("gemini").encodeChat(next, cfg);
  EXPECT_EQ(w.url, "https://generativelanguage.googleapis.com/v1beta/models/gemini-3-pro-preview:generateContent");
  EXPECT_EQ(headerValue(w.headers, "x-goog-api-key"), "AIzaKEY");
  auto b = json::parse(w.body);
  EXPECT_EQ(b["systemInstruction"]["parts"][0]["text"], "sys");
  auto& model = b["contents"][1];
  EXPECT_EQ(model["parts"][0]["functionCall"]["id"], "c9bjmkfz");
  EXPECT_EQ(model["parts"][0]["thoughtSignature"], "EosJCogJAb4");
  auto& resp = b["contents"][2];
  EXPECT_EQ(resp["role"], "user");
  EXPECT_EQ(resp["parts"][0]["functionResponse"]["name"], "pelican_name_generator");  // found by id
  EXPECT_EQ(resp["parts"][0]["functionResponse"]["response"]["result"], "Charles");  // wrapped
}

TEST(GeminiCodec, BlockedPromptIsContentFilter) {
  auto r = codecFor("gemini").decodeChat(R"({"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[]},"usageMetadata":{"promptTokenCount":4,"totalTokenCount":4}})");
  EXPECT_EQ(r.finishReason, FinishReason::kContentFilter);
  EXPECT_EQ(r.rawFinishReason, "SAFETY");
  EXPECT_EQ(r.text, "");
}

TEST(GeminiCodec, ErrorChunkInStreamThrowsAndStreamUrlUsesSse) {
  auto dec = codecFor("gemini").streamDecoder();
  std::vector<StreamChunk> out;
  EXPECT_THROW(dec->feed("message", R"({"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})", out), Exception);
  ChatRequest r;
  r.model = "gemini-2.5-flash";
  r.messages = {Message::user("x")};
  r.stream = true;
  r.responseSchema = parseJson(R"({"type":"object"})");
  auto w = codecFor("gemini").encodeChat(r, {"gemini", "gemini", "http://127.0.0.1:9/v1beta"});
  EXPECT_EQ(w.url, "http://127.0.0.1:9/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
  auto b = json::parse(w.body);
  EXPECT_EQ(b["generationConfig"]["responseMimeType"], "application/json");
  EXPECT_EQ(b["generationConfig"]["responseJsonSchema"]["type"], "object");
}

// ---------------- Ollama ----------------

TEST(OllamaCodec, DecodesRecordedNdjsonStream) {
  std::vector<Event> ev = {
      {"", R"({"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The"},"done":false})"},
      {"", R"({"model":"llama3.2","created_at":"2023-08-04T08:52:19.406271022-07:00","message":{"role":"assistant","content":" sky"},"done":false})"},
      {"", R"({"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000})"}};
  auto r = runStream(codecFor("ollama"), ev);
  EXPECT_EQ(r.text, "The sky");
  EXPECT_EQ(r.usage.inputTokens, 26);
  EXPECT_EQ(r.usage.outputTokens, 282);
  EXPECT_EQ(r.finishReason, FinishReason::kStop);
}

TEST(OllamaCodec, ToolCallsAndErrorLine) {
  auto r = codecFor("ollama").decodeChat(R"({"model": "llama3.2", "created_at": "2025-07-07T20:32:53.844124Z",
 "message": {"role": "assistant", "content": "",
             "tool_calls": [{"id": "call_k3j9x0ab", "function": {"index": 0, "name": "get_weather", "arguments": {"city": "Tokyo"}}}]},
 "done": true, "done_reason": "stop", "eval_count": 18})");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].arguments.getString("city"), "Tokyo");
  EXPECT_EQ(r.finishReason, FinishReason::kToolCalls);
  EXPECT_EQ(r.usage.inputTokens, 0);  // omitted zero metric

  auto dec = codecFor("ollama").streamDecoder();
  std::vector<StreamChunk> out;
  EXPECT_THROW(dec->feed("", R"({"error":"an error was encountered while running the model"})", out), Exception);
}

TEST(OllamaCodec, EncodesOptionsFormatAndImages) {
  ChatRequest r;
  r.model = "llama3.2";
  Message m = Message::user("what is in this image?");
  m.parts.push_back(ContentPart::imageBytes("abc", "image/png"));
  r.messages = {Message::system("You are terse."), m};
  r.temperature = 0;
  r.maxTokens = 256;
  r.seed = 42;
  r.responseSchema = parseJson(R"({"type":"object","properties":{"age":{"type":"integer"}}})");
  ProviderConfig cfg{"ollama", "ollama", "127.0.0.1:11434"};
  auto w = codecFor("ollama").encodeChat(r, cfg);
  EXPECT_EQ(w.url, "http://127.0.0.1:11434/api/chat");
  auto b = json::parse(w.body);
  EXPECT_EQ(b["stream"], false);
  EXPECT_EQ(b["options"]["num_predict"], 256);
  EXPECT_EQ(b["options"]["seed"], 42);
  EXPECT_EQ(b["format"]["type"], "object");
  EXPECT_EQ(b["messages"][1]["images"][0], "YWJj");  // bare base64, no data: prefix
  r.stream = true;
  EXPECT_EQ(codecFor("ollama").encodeChat(r, cfg).framing, Framing::kNdjson);
}

// ---------------- Errors and retry delays ----------------

TEST(ErrorClassification, StatusesMapToApiCodes) {
  auto f = classifyHttpError("openai", 401, {}, R"({"error":{"message":"Incorrect API key provided: sk-abc123456789xyz","type":"invalid_request_error","code":"invalid_api_key"}})");
  EXPECT_EQ(f.error.code, "auth_error");
  EXPECT_FALSE(f.error.retryable);
  EXPECT_EQ(f.error.message.find("sk-abc123456789xyz"), std::string::npos);  // key redacted
  EXPECT_NE(f.error.message.find("Incorrect API key"), std::string::npos);

  auto q = classifyHttpError("openai", 429, {}, R"({"error":{"message":"quota","type":"insufficient_quota","code":"insufficient_quota"}})");
  EXPECT_EQ(q.error.code, "rate_limited");
  EXPECT_FALSE(q.error.retryable);

  auto o = classifyHttpError("anthropic", 529, {{"retry-after", "3"}}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
  EXPECT_EQ(o.error.code, "provider_error");
  EXPECT_TRUE(o.error.retryable);
  EXPECT_EQ(*o.retryAfterSeconds, 3.0);

  auto g = classifyHttpError("gemini", 400, {}, R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}})");
  EXPECT_EQ(g.error.code, "auth_error");

  auto n = classifyHttpError("ollama", 404, {}, R"({"error":"model 'llama3' not found"})");
  EXPECT_EQ(n.error.code, "not_found");
  EXPECT_NE(n.error.message.find("model 'llama3' not found"), std::string::npos);

  auto s = classifyHttpError("openai", 503, {{"x-should-retry", "false"}}, "oops");
  EXPECT_FALSE(s.error.retryable);
  EXPECT_EQ(classifyHttpError("x", 400, {}, "{}").error.code, "invalid_argument");
  EXPECT_TRUE(classifyHttpError("x", 500, {}, "").error.retryable);
  EXPECT_EQ(classifyHttpError("x", 408, {}, "").error.code, "timeout");
  EXPECT_EQ(classifyHttpError("v", 400, {}, R"({"object":"error","message":"bad vllm","type":"BadRequestError","code":400})").error.message,
            "v returned HTTP 400: bad vllm");
}

TEST(ErrorClassification, RetryAfterForms) {
  EXPECT_DOUBLE_EQ(*parseRetryAfter({{"retry-after-ms", "1500"}, {"retry-after", "9"}}, ""), 1.5);
  EXPECT_DOUBLE_EQ(*parseRetryAfter({{"Retry-After", "2.5"}}, ""), 2.5);
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_DOUBLE_EQ(*parseRetryAfter({{"retry-after", "Sun, 06 Nov 1994 08:49:41 GMT"}}, "", now), 4.0);
  const char* gemini = R"({"error": {"code": 429, "message": "You exceeded your current quota, please check your plan.", "status": "RESOURCE_EXHAUSTED",
  "details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{"quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
              {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "34.4s"}]}})";
  EXPECT_DOUBLE_EQ(*parseRetryAfter({}, gemini), 34.4);
  auto f = classifyHttpError("gemini", 429, {}, gemini);
  EXPECT_EQ(f.error.code, "rate_limited");
  EXPECT_TRUE(f.error.retryable);
  EXPECT_DOUBLE_EQ(*f.retryAfterSeconds, 34.4);
  EXPECT_FALSE(parseRetryAfter({}, "{}").has_value());
}

// ---------------- Types ----------------

TEST(ChatTypes, MessagesRoundTripThroughValues) {
  auto hist = toolHistory();
  for (const auto& m : hist) {
    Message back = messageFromValue(toValue(m));
    EXPECT_EQ(back.role, m.role);
    EXPECT_EQ(toJsonText(toValue(back)), toJsonText(toValue(m)));
  }
  Value v = toValue(hist[1]);
  EXPECT_EQ(v.get("tool_calls").asArray()[0].get("arguments").getString("city"), "Edinburgh");
  EXPECT_EQ(v.get("tool_calls").asArray()[0].getString("signature"), "SIG1");
  auto ms = messagesFromValue(parseJson(R"([{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image","url":"https://x/y.png"}]}])"));
  ASSERT_EQ(ms.size(), 2u);
  EXPECT_EQ(ms[1].parts[1].kind, ContentPart::Kind::kImage);
  EXPECT_THROW(messagesFromValue(parseJson(R"([{"role":"wizard","content":"x"}])")), Exception);
  EXPECT_THROW(messagesFromValue(Value(3)), Exception);
  EXPECT_EQ(messagesFromValue(Value("hi"))[0].text(), "hi");
}

TEST(ChatTypes, ResponseValueHasApiShape) {
  ChatResponse r;
  r.text = "hi";
  r.finishReason = FinishReason::kLength;
  r.rawFinishReason = "max_tokens";
  r.usage = {1, 2, 3, 0, 0, true};
  r.toolCalls.push_back({"id1", "f", parseJson(R"({"a":1})")});
  r.message = Message::assistant("hi");
  Value v = toValue(r);
  EXPECT_EQ(v.getString("finish_reason"), "length");
  EXPECT_EQ(v.getString("raw_finish_reason"), "max_tokens");
  EXPECT_EQ(v.get("usage").getInt("total_tokens"), 3);
  EXPECT_EQ(v.get("tool_calls").asArray()[0].get("arguments").getInt("a"), 1);
  ChatResponse back = chatResponseFromValue(v);
  EXPECT_EQ(back.finishReason, FinishReason::kLength);
  EXPECT_EQ(back.toolCalls[0].name, "f");
}

TEST(ChatTypes, AssemblerKeysByIndexAndReportsBadJson) {
  ToolCallAssembler a;
  a.apply({1, "b", "g", "{\"y\":"});
  a.apply({0, "a", "f", ""});
  a.apply({1, "", "", "2}"});
  a.apply({0, "", "f", "{\"x"});  // truncated at `length`
  auto calls = a.finish();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].id, "a");
  EXPECT_FALSE(calls[0].argumentsError.empty());
  EXPECT_TRUE(calls[0].arguments.isObject());
  EXPECT_EQ(calls[1].arguments.getInt("y"), 2);
}

// Mangled events (truncated, wrong types, random bytes) must fail with an Exception, never
// crash or throw anything else.
TEST(CodecRobustness, MangledEventsOnlyThrowExceptions) {
  std::vector<std::pair<std::string, std::string>> seeds = {
      {"openai", R"({"choices":[{"index":0,"delta":{"content":"Hi","tool_calls":[{"index":0,"id":"a","function":{"name":"f","arguments":"{}"}}]},"finish_reason":null}],"usage":{"prompt_tokens":1}})"},
      {"openai-compatible", R"({"choices":[{"index":0,"delta":{"reasoning_content":"x"}}],"x_groq":{"usage":{"prompt_tokens":2}}})"},
      {"anthropic", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"a\":"}})"},
      {"anthropic", R"({"type":"message_start","message":{"model":"c","usage":{"input_tokens":3,"output_tokens":1}}})"},
      {"gemini", R"({"candidates":[{"content":{"parts":[{"text":"a","thought":true},{"functionCall":{"name":"f","args":{"x":1}}}]},"finishReason":"STOP"}],"usageMetadata":{"promptTokenCount":1}})"},
      {"ollama", R"({"message":{"content":"a","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},"done":true,"eval_count":3})"}};
  std::vector<std::string> swaps = {"1", "\"s\"", "[]", "{}", "null", "true", "-1", "1e400"};
  uint64_t rng = 12345;
  int checked = 0;
  for (const auto& [kind, seed] : seeds) {
    for (int i = 0; i < 400; ++i) {
      std::string m = seed;
      rng = rng * 6364136223846793005ull + 1442695040888963407ull;
      size_t pos = (rng >> 33) % m.size();
      switch (i % 4) {
        case 0: m = m.substr(0, pos); break;                                   // truncated
        case 1: m[pos] = static_cast<char>((rng >> 20) & 0x7f); break;        // one byte changed
        case 2: {                                                              // a value of another type
          auto colon = m.find(':', pos);
          if (colon == std::string::npos) break;
          auto end = m.find_first_of(",}", colon + 1);
          if (end == std::string::npos) break;
          m = m.substr(0, colon + 1) + swaps[(rng >> 40) % swaps.size()] + m.substr(end);
          break;
        }
        default: m.insert(pos, "\"\\u0000\x01"); break;
      }
      auto dec = codecFor(kind).streamDecoder();
      std::vector<StreamChunk> out;
      try {
        dec->feed(kind == "anthropic" ? "content_block_delta" : "message", m, out);
        dec->finish();
      } catch (const Exception&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << kind << " threw a non-Exception (" << e.what() << ") for: " << m;
      }
      try {
        codecFor(kind).decodeChat(m);
      } catch (const Exception&) {
      } catch (const std::exception& e) {
        ADD_FAILURE() << kind << " decodeChat threw a non-Exception (" << e.what() << ") for: " << m;
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 2400);
}

// A codec's stream fast path (simdjson's DOM read directly, for text deltas) must mean exactly
// what its general path means: the same random event sequences (seeds with values swapped for
// other types), fed to a decoder with and without it, give the same chunks, the same final
// response and the same errors.
void expectFastPathMatchesGeneral(const std::function<std::unique_ptr<StreamDecoder>(bool fast, int round)>& make,
                                  const std::vector<std::string>& seeds,
                                  const std::vector<std::string>& eventNames = {"message"}) {
  std::vector<std::string> swaps = {"1", "\"s\"", "[]", "{}", "null", "true", "0", "1e400", "\"\"", "18446744073709551615", "2.5"};
  auto describe = [](const std::vector<StreamChunk>& cs) {
    std::string s;
    for (const auto& c : cs) {
      s += "[" + c.text + "|" + c.reasoning + "|" + c.refusal + "|";
      if (c.toolCall) s += std::to_string(c.toolCall->index) + c.toolCall->id + c.toolCall->name + c.toolCall->argumentsDelta;
      s += "|";
      if (c.serverTool) s += std::to_string(c.serverTool->index) + c.serverTool->id + c.serverTool->name + c.serverTool->argumentsDelta;
      s += "]";
    }
    return s;
  };
  auto finalOf = [](StreamDecoder& d) {
    try {
      ChatResponse r = d.finish();
      std::string s = r.text + "|" + r.reasoning + "|" + r.model + "|" + r.rawFinishReason + "|" +
                      std::to_string(static_cast<int>(r.finishReason)) + "|" + std::to_string(r.usage.present) + "|" +
                      std::to_string(r.usage.inputTokens) + "|" + std::to_string(r.usage.outputTokens) + "|" +
                      std::to_string(r.usage.reasoningTokens) + "|" + std::to_string(r.usage.cachedTokens) + "|" +
                      std::to_string(r.usage.totalTokens) + "|" + std::to_string(r.toolCalls.size()) + "|" +
                      std::to_string(r.message.parts.size());
      auto call = [](const ToolCall& c) {
        return c.id + "," + c.name + "," + c.rawArguments + "," + toJsonText(c.arguments) + "," + c.argumentsError +
               "," + c.signature;
      };
      for (const auto& c : r.toolCalls) s += "|" + call(c);
      for (const auto& p : r.message.parts) {
        s += '|';
        s += std::to_string(static_cast<int>(p.kind)) + ":" + p.text + ":" + p.signature;
        if (p.kind == ContentPart::Kind::kToolCall) s += ":" + call(p.call);
      }
      s += "|" + toJsonText(r.raw) + "|" + r.refusal;
      return s;
    } catch (const Exception& e) {
      return "error " + e.error().code + ": " + e.error().message;
    }
  };
  uint64_t rng = 99;
  auto next = [&rng] {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return rng >> 33;
  };
  int withChunks = 0;
  for (int round = 0; round < 3000; ++round) {
    auto general = make(false, round);
    auto fast = make(true, round);
    std::vector<StreamChunk> outG, outF;
    std::string trace;
    for (int k = 0, n = 1 + static_cast<int>(next() % 6); k < n; ++k) {
      std::string m = seeds[next() % seeds.size()];
      if (next() % 2) {  // a value of another type somewhere
        size_t pos = next() % m.size();
        auto colon = m.find(':', pos);
        auto end = colon == std::string::npos ? colon : m.find_first_of(",}]", colon + 1);
        if (end != std::string::npos) m = m.substr(0, colon + 1) + swaps[next() % swaps.size()] + m.substr(end);
      }
      const std::string& ev = eventNames[next() % eventNames.size()];
      trace += ev + ": " + m + "\n";
      std::string errG, errF;
      size_t beforeG = outG.size();
      try {
        general->feed(ev, m, outG);
      } catch (const Exception& e) {
        errG = e.error().code + ": " + e.error().message;
      }
      try {
        fast->feed(ev, m, outF);
      } catch (const Exception& e) {
        errF = e.error().code + ": " + e.error().message;
      }
      ASSERT_EQ(errG, errF) << trace;
      ASSERT_EQ(describe(outG), describe(outF)) << trace;
      if (errG.empty() && outG.size() > beforeG) ++withChunks;
      if (!errG.empty()) break;
    }
    ASSERT_EQ(general->finished(), fast->finished()) << trace;
    ASSERT_EQ(finalOf(*general), finalOf(*fast)) << trace;
  }
  EXPECT_GT(withChunks, 1000);
}

TEST(OpenAiCodec, StreamFastPathMatchesGeneralPath) {
  std::vector<std::string> seeds = {
      R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}],"usage":null,"obfuscation":"abc"})",
      R"({"id":"x","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hel\u00e9 \"q\""},"finish_reason":null}]})",
      R"({"choices":[{"index":0,"delta":{"reasoning_content":"think"},"finish_reason":null}]})",
      R"({"choices":[{"index":0,"delta":{"reasoning":"hmm","content":"a"}}]})",
      R"({"choices":[{"index":0,"delta":{"reasoning":"rs","reasoning_content":"rc","refusal":"r"}}]})",
      R"({"choices":[{"index":0,"delta":{"refusal":"no"},"finish_reason":null}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
      R"({"choices":[{"index":1,"delta":{"content":"other"}},{"index":0,"delta":{"content":"mine"}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"x","content":"y"},"finish_reason":"length","finish_reason":null}]})",
      R"({"model":"a","model":"b","choices":[{"delta":{"content":"no index"}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"t","tool_calls":[{"index":0,"id":"c","function":{"name":"f","arguments":"{}"}}]}}]})",
      R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})",
      R"({"choices":[{"index":0,"delta":{"content":"g"}}],"x_groq":{"usage":{"prompt_tokens":2}}})",
      R"({"error":{"message":"boom","type":"server_error"}})",
      R"({"error":null,"choices":[{"index":0,"delta":{"content":"null error"}}]})",
      R"({"object":"error","message":"old vLLM","type":"BadRequestError","choices":[{"index":0,"delta":{"content":"x"}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"the word \"error\" in text"}}]})",
      R"({"choices":[{"index":0.0,"delta":{"content":"float index"}},{"index":"0","delta":{"content":"string index"}}]})",
      R"({"choices":[{"index":0,"delta":"not an object"},7,null,{"index":0,"delta":{"content":null,"reasoning_content":5}}]})",
      R"({"choices":{"index":0},"usage":null,"x_groq":null})",
      // Tool-call deltas (read by the fast path too): a call's head, argument fragments by
      // index, a second call, calls without index (compat layers), odd shapes.
      R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_a","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})",
      R"({"id":"x","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]},"finish_reason":null}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"ty\": \"Par\u00e9s\"}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_b","type":"function","function":{"name":"add","arguments":"{\"a\":2,"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"b\":3}"}},{"index":0,"function":{"arguments":""}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"id":"call_c","function":{"name":"f","arguments":"{}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"{\"x\":1}"}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"name":"g","arguments":{"as":"object"}}}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":[1,null,"x",[],{"index":"0","id":7,"function":"f"},{"index":2.5,"function":null}]}}]})",
      R"({"choices":[{"index":0,"delta":{"tool_calls":{"index":0}}},{"index":0,"delta":{"tool_calls":[{"index":3,"id":"d","function":{"name":"h"}}],"tool_calls":null}}]})",
      R"({"choices":[{"index":0,"delta":{"content":"first","tool_calls":[{"index":0,"id":"e","function":{"name":"n","arguments":"[1"}}]},"finish_reason":"tool_calls"}]})",
      R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})",
      R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"prompt_tokens_details":{"cached_tokens":2},"completion_tokens_details":{"reasoning_tokens":1}}})",
      R"({"choices":[],"usage":7,"x_groq":{"usage":{"prompt_tokens":5,"total_tokens":6}}})",
      R"({"choices":[],"usage":null,"x_groq":{"usage":{"prompt_tokens":5,"completion_tokens":1.5}},"usage":{"total_tokens":3},"usage":null})",
      R"([DONE])"};
  expectFastPathMatchesGeneral([](bool fast, int round) { return openAiStreamDecoder(round % 2 == 1, fast); }, seeds);
}

TEST(GeminiCodec, StreamFastPathMatchesGeneralPath) {
  std::vector<std::string> seeds = {
      R"({"candidates":[{"content":{"parts":[{"text":"Hel\u00e9"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":1,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash","responseId":"r1"})",
      R"({"candidates":[{"content":{"parts":[{"text":"lo"},{"text":" there"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":3,"thoughtsTokenCount":5,"cachedContentTokenCount":2}})",
      R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":500,"totalTokenCount":512}})",
      R"({"candidates":[{"content":{"parts":[{"text":"sig","thoughtSignature":"SIG"}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"text":"hmm","thought":true}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"text":"not a thought","thought":false}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"x":1}},"thoughtSignature":"S2"}]}}]})",
      R"({"candidates":[],"promptFeedback":{"blockReason":"SAFETY"}})",
      R"({"promptFeedback":{"blockReason":"OTHER"},"usageMetadata":{"promptTokenCount":4}})",
      R"({"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}})",
      R"({"candidates":[{"content":{"parts":[{"text":"a","text":"b"}]},"finishReason":"MAX_TOKENS","finishReason":""}],"modelVersion":"m1","modelVersion":"m2"})",
      R"({"candidates":[7,{"content":{"parts":[{"text":"second"}]}}]})",
      R"({"candidates":[{"content":{"parts":"x"}},{"content":{"parts":[{"text":"y"}]}}]})",
      R"({"candidates":[{"content":{"parts":[1,null,{"other":1},{"text":5},{"text":"ok"}]}}]})",
      R"({"candidates":[{"content":null,"finishReason":"SAFETY"}],"usageMetadata":null})",
      R"({"candidates":[{"content":{"parts":[{"text":"t"}]}}],"object":"error","message":"m"})",
      R"({"candidates":[{"content":{"parts":[{"text":"u"}]}}],"usageMetadata":{"totalTokenCount":"x","promptTokenCount":1.9}})",
      // Function calls (whole, one part each; read by the fast path too).
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris","days":3,"deep":{"a":[1,2.5,null,true]}}}}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":5},"modelVersion":"gemini-2.5-flash"})",
      R"({"candidates":[{"content":{"parts":[{"text":"before "},{"functionCall":{"id":"fc1","name":"add","args":{"a":2,"b":3}},"thoughtSignature":"SIG3"},{"text":" after"}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f"},"thought":true,"text":"ignored"},{"functionCall":7},{"functionCall":{"name":"g","args":[1]}}]}}]})",
      R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"f","args":{"k":"\u00e9\n\"q\"","k":"dup"}},"functionCall":null,"text":"t"}]},"finishReason":"STOP"}]})"};
  expectFastPathMatchesGeneral([](bool fast, int) { return geminiStreamDecoder(fast); }, seeds);
}

TEST(AnthropicCodec, StreamFastPathMatchesGeneralPath) {
  std::vector<std::string> seeds = {
      R"({"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":12,"output_tokens":1}}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel\u00e9"}})",
      R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"thinking_delta","thinking":"hmm"}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"signature_delta","signature":"SIG"}})",
      R"({"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"f","input":{}}})",
      R"({"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"a\":1}"}})",
      R"({"index":0,"delta":{"type":"text_delta","text":"typed by the event name"}})",
      R"({"type":"content_block_delta","index":0.7,"delta":{"type":"text_delta","text":"x","text":"y","type":"text_delta"}})",
      R"({"type":"content_block_delta","delta":{"type":"citations_delta","citation":{}}})",
      R"({"type":"content_block_delta","index":0,"delta":"nope"})",
      R"({"type":"content_block_stop","index":0})",
      R"({"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":9}})",
      R"({"type":"ping"})",
      R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
      R"({"type":"message_stop"})",
      // Tool calls: blocks starting (client tool_use, text, thinking, server tools) and their
      // input deltas (read by the fast path too).
      R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ris\u00e9\"}"}})",
      R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})",
      R"({"type":"content_block_delta","index":5,"delta":{"type":"input_json_delta","partial_json":"{}"}})",
      R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":"Hi"}})",
      R"({"type":"content_block_start","index":3,"content_block":{"type":"thinking","thinking":"th","text":"no"}})",
      R"({"type":"content_block_start","index":4,"content_block":{"type":"server_tool_use","id":"srv_1","name":"web_search","input":{}}})",
      R"({"type":"content_block_delta","index":4,"delta":{"type":"input_json_delta","partial_json":"{\"query\":\"x\"}"}})",
      R"({"type":"content_block_start","index":6,"content_block":{"type":"web_search_tool_result","tool_use_id":"srv_1","content":[]}})",
      R"({"type":"content_block_start","index":2,"content_block":null})",
      R"({"type":"content_block_start","content_block":"odd","content_block":{"type":"tool_use","id":7,"name":["f"]}})",
      R"({"type":"content_block_delta","index":3,"delta":{"type":"signature_delta","signature":"SIG","signature":5}})"};
  expectFastPathMatchesGeneral([](bool fast, int) { return anthropicStreamDecoder(fast); }, seeds,
                               {"content_block_delta", "message_delta", "message"});
}

TEST(OllamaCodec, StreamFastPathMatchesGeneralPath) {
  std::vector<std::string> seeds = {
      R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"Hel\u00e9"},"done":false})",
      R"({"model":"llama3.2","message":{"role":"assistant","content":"","thinking":"hmm"},"done":false})",
      R"({"model":"other","model":"","message":{"content":"a","content":"b"}})",
      R"({"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},"done":false})",
      R"({"message":"not an object","done":false})",
      R"({"message":null,"done":"true"})",
      R"({"error":"model not found"})",
      R"({"model":"llama3.2","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":1000,"prompt_eval_count":12,"eval_count":5})",
      R"({"model":"llama3.2","done":true,"done_reason":"length","eval_count":7})",
      R"({"done":true,"done":false,"eval_count":null,"prompt_eval_count":2.5,"message":{"content":"not done"}})",
      R"({"done":false,"done":true,"done_reason":5,"eval_count":1e300,"prompt_eval_count":null,"done_reason":"stop"})",
      // Tool calls (whole; read by the fast path too).
      R"({"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Par\u00e9s","n":[1,2.5,null,{"d":true}]}}},{"id":"c2","function":{"index":1,"name":"add","arguments":{"a":2,"b":3}}}]},"done":false})",
      R"({"message":{"content":"text too","tool_calls":[{"function":{"name":"s","arguments":"{\"as\":\"string\"}"}},{"function":{"name":"bad","arguments":"{not json"}},{"function":{"name":"arr","arguments":"[1]"}}]},"done":false})",
      R"({"message":{"tool_calls":[1,null,{"function":null},{"function":{"arguments":7}},{"id":5,"function":{"name":"f","arguments":{"k":1,"k":2}}}]}})",
      R"({"message":{"tool_calls":{"function":{"name":"not an array"}},"content":"c"}})",
      R"({"model":"llama3.2","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"last","arguments":{}}}]},"done":true,"done_reason":"stop","eval_count":3})"};
  expectFastPathMatchesGeneral([](bool fast, int) { return ollamaStreamDecoder(fast); }, seeds);
}

// Streamed tool calls as each provider sends them (providers.md shapes) are read by the stream
// fast paths alone: no event of these streams is parsed a second time into an nlohmann tree
// (which is what the general path costs), and the calls come out whole.
TEST(StreamFastPath, ToolCallStreamsOfEveryProtocolNeedNoSecondParse) {
  struct Case {
    std::string kind;
    std::vector<Event> events;
  };
  std::vector<Case> cases = {
      {"openai",
       {{"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_0","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]},"finish_reason":null}]})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"}}]},"finish_reason":null}]})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":null})"},
        {"message", R"({"id":"c","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13,"prompt_tokens_details":{"cached_tokens":0}}})"},
        {"message", "[DONE]"}}},
      {"anthropic",
       {{"content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_0","name":"get_weather","input":{}}})"},
        {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":""}})"},
        {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}})"},
        {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}})"},
        {"content_block_start", R"({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"add","input":{}}})"},
        {"content_block_delta", R"({"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\":2,\"b\":3}"}})"}}},
      {"gemini",
       {{"message", R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}},"thoughtSignature":"S"}],"role":"model"},"index":0}],"modelVersion":"gemini-2.5-flash"})"},
        {"message", R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"add","args":{"a":2,"b":3}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":5,"totalTokenCount":17},"modelVersion":"gemini-2.5-flash"})"}}},
      {"ollama",
       {{"", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}},{"function":{"name":"add","arguments":{"a":2,"b":3}}}]},"done":false})"},
        {"", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":12,"eval_count":5})"}}},
  };
  for (const auto& c : cases) {
    auto dec = codecFor(c.kind).streamDecoder();
    std::vector<StreamChunk> out;
    uint64_t before = parseOjsonCount();
    for (const auto& e : c.events) dec->feed(e.event, e.data, out);
    EXPECT_EQ(parseOjsonCount(), before) << c.kind << ": a tool-call event took the general path";
    std::map<int64_t, std::string> args;
    for (const auto& ch : out) {
      if (ch.toolCall) args[ch.toolCall->index] += ch.toolCall->argumentsDelta;
    }
    EXPECT_EQ(args[0], R"({"city":"Paris"})") << c.kind;
    EXPECT_EQ(args[1], R"({"a":2,"b":3})") << c.kind;
  }
}

// Whole (non-stream) replies are read from simdjson's DOM straight into the response: no
// nlohmann tree (OpenAI, Gemini and Ollama; Anthropic replies still go through one).
TEST(ReplyDecoding, RepliesNeedNoTree) {
  struct Case {
    std::string kind, body;
  };
  std::vector<Case> cases = {
      {"openai", R"({"id":"c","object":"chat.completion","model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_0","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},{"id":"call_1","type":"function","function":{"name":"add","arguments":"{\"a\":2,\"b\":3}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}})"},
      {"gemini", R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris"}}},{"functionCall":{"name":"add","args":{"a":2,"b":3}}}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":4,"totalTokenCount":13},"modelVersion":"gemini-2.5-flash"})"},
      {"ollama", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris"}}},{"function":{"name":"add","arguments":{"a":2,"b":3}}}]},"done":true,"done_reason":"stop","prompt_eval_count":9,"eval_count":4})"},
  };
  for (const auto& c : cases) {
    uint64_t before = parseOjsonCount();
    ChatResponse r = codecFor(c.kind).decodeChat(c.body);
    EXPECT_EQ(parseOjsonCount(), before) << c.kind;
    ASSERT_EQ(r.toolCalls.size(), 2u) << c.kind;
    EXPECT_EQ(toJsonText(r.toolCalls[0].arguments), R"({"city":"Paris"})") << c.kind;
    EXPECT_EQ(toJsonText(r.toolCalls[1].arguments), R"({"a":2,"b":3})") << c.kind;
    EXPECT_EQ(r.finishReason, FinishReason::kToolCalls) << c.kind;
    EXPECT_EQ(r.usage.inputTokens, 9) << c.kind;
    EXPECT_EQ(r.usage.totalTokens, 13) << c.kind;
  }
  // What simdjson refuses but nlohmann reads (a number past 64 bits) still decodes.
  ChatResponse big = codecFor("openai").decodeChat(
      R"({"model":"m","choices":[{"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":123456789012345678901234567890}})");
  EXPECT_EQ(big.text, "ok");
  EXPECT_EQ(big.usage.inputTokens, 0);
  EXPECT_THROW(codecFor("openai").decodeChat("{\"choices\": ["), Exception);
}

// The old tree encoder of OpenAI request bodies (ordered_json built, then dumped), kept as the
// reference the direct writer must match byte for byte.
ojson treeArguments(const ToolCall& c) {
  if (!c.rawArguments.empty() && c.argumentsError.empty()) return c.rawArguments;
  return dumpJson(toOjson(c.arguments.isNull() ? Value::object() : c.arguments));
}

ojson treeMessage(const Message& m) {
  ojson o = ojson::object();
  if (m.role == Role::kTool) {
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolResult) continue;
      o["role"] = "tool";
      o["tool_call_id"] = p.toolCallId;
      o["content"] = p.text;
      return o;
    }
    throw std::runtime_error("a tool message needs a tool result");
  }
  o["role"] = std::string(roleName(m.role));
  bool hasImage = false;
  for (const auto& p : m.parts) hasImage |= p.kind == ContentPart::Kind::kImage;
  if (hasImage) {
    ojson parts = ojson::array();
    for (const auto& p : m.parts) {
      if (p.kind == ContentPart::Kind::kText) {
        parts.push_back({{"type", "text"}, {"text", p.text}});
      } else if (p.kind == ContentPart::Kind::kImage) {
        std::string url = !p.url.empty() ? p.url
                                         : "data:" + (p.mediaType.empty() ? std::string("image/png") : p.mediaType) +
                                               ";base64," + base64Encode(p.data);
        parts.push_back({{"type", "image_url"}, {"image_url", {{"url", url}}}});
      }
    }
    o["content"] = std::move(parts);
  } else {
    auto calls = m.toolCalls();
    std::string text = m.text();
    if (m.role == Role::kAssistant && !calls.empty() && text.empty()) {
      o["content"] = nullptr;
    } else {
      o["content"] = std::move(text);
    }
    if (!calls.empty()) {
      ojson tcs = ojson::array();
      for (const auto& c : calls) {
        tcs.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", treeArguments(c)}}}});
      }
      o["tool_calls"] = std::move(tcs);
    }
  }
  return o;
}

std::string treeOpenAiBody(const ChatRequest& req, const ProviderConfig& cfg, bool compatible) {
  ojson body = ojson::object();
  body["model"] = req.model;
  ojson msgs = ojson::array();
  for (const auto& m : req.messages) msgs.push_back(treeMessage(m));
  body["messages"] = std::move(msgs);
  if (req.temperature) body["temperature"] = *req.temperature;
  if (req.topP) body["top_p"] = *req.topP;
  if (req.maxTokens) {
    bool mct = compatible ? cfg.useMaxCompletionTokens : true;
    body[mct ? "max_completion_tokens" : "max_tokens"] = *req.maxTokens;
  }
  if (!req.stop.empty()) body["stop"] = req.stop;
  if (req.seed) body["seed"] = *req.seed;
  if (!req.tools.empty()) {
    ojson tools = ojson::array();
    for (const auto& t : req.tools) {
      ojson fn = {{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      fn["parameters"] = toOjson(t.parameters);
      ojson tool = ojson::object();
      tool["type"] = "function";
      tool["function"] = std::move(fn);
      tools.push_back(std::move(tool));
    }
    body["tools"] = std::move(tools);
    if (!req.toolChoice.mode.empty()) {
      if (req.toolChoice.mode == "tool") {
        body["tool_choice"] = {{"type", "function"}, {"function", {{"name", req.toolChoice.name}}}};
      } else {
        body["tool_choice"] = req.toolChoice.mode;
      }
    }
    if (req.parallelToolCalls) body["parallel_tool_calls"] = *req.parallelToolCalls;
  }
  if (!req.responseSchema.isNull()) {
    body["response_format"] = {
        {"type", "json_schema"},
        {"json_schema", {{"name", req.responseSchemaName}, {"schema", toOjson(req.responseSchema)}}}};
  } else if (req.jsonMode) {
    body["response_format"] = {{"type", "json_object"}};
  }
  body["stream"] = req.stream;
  if (req.stream && cfg.streamUsage) body["stream_options"] = {{"include_usage", true}};
  mergeExtra(body, req.extra);
  return dumpJson(body);
}

TEST(OpenAiCodec, DirectRequestWriterMatchesTheTreeByteForByte) {
  std::vector<ChatRequest> reqs;
  ChatRequest base = weatherRequest();
  reqs.push_back(base);
  {
    ChatRequest r = base;  // the whole tool round trip, numbers, stop words, streaming
    r.messages = toolHistory();
    r.messages[1].parts[1].call.rawArguments = R"({"ticker": "AAPL"})";  // raw text kept as sent
    r.temperature = 0.7;
    r.topP = 1.0;
    r.maxTokens = 256;
    r.seed = -42;
    r.stop = {"\n\n", "END", "\xE2\x80\x94"};
    r.stream = true;
    r.toolChoice = {"tool", "get_weather"};
    r.parallelToolCalls = false;
    reqs.push_back(r);
  }
  {
    ChatRequest r;  // unicode, control characters, quotes, escapes; a schema; extras
    r.model = "gpt-4o";
    r.messages = {Message::system("caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x98\x80 \"quoted\" back\\slash"),
                  Message::user(std::string("ctl \x01\x1f\b\f\n\r\t\x7f nul:") + std::string(1, '\0') + "end"),
                  Message::assistant("")};
    r.temperature = 1e-7;
    r.topP = 0.1 + 0.2;
    r.responseSchema = parseJson(R"({"type":"object","properties":{"n":{"type":"number","minimum":-1.5e300,"maximum":18446744073709551615},"s":{"enum":["a\u0000b",""]}},"required":["n"]})");
    r.responseSchemaName = "answer";
    r.extra = parseJson(R"({"temperature":0.25,"user":"u-1","metadata":{"k":[1,2.5,null,true,{}]},"stream":true,"logit_bias":{}})");
    reqs.push_back(r);
  }
  {
    ChatRequest r;  // images by URL and by bytes; json mode; tool choice modes
    r.model = "gpt-4o-mini";
    Message u = Message::user("what is in these?");
    ContentPart byUrl;
    byUrl.kind = ContentPart::Kind::kImage;
    byUrl.url = "https://example.com/a.png";
    ContentPart byBytes;
    byBytes.kind = ContentPart::Kind::kImage;
    byBytes.data = std::string("\x89PNG\r\n\x1a\n\0\xff", 10);
    byBytes.mediaType = "image/jpeg";
    ContentPart noType = byBytes;
    noType.mediaType.clear();
    u.parts.push_back(byUrl);
    u.parts.push_back(byBytes);
    u.parts.push_back(noType);
    u.parts.push_back(ContentPart::textPart("and this text"));
    r.messages = {u};
    r.jsonMode = true;
    r.tools = {{"no_desc", "", Value()}, {"bytes", "params with bytes and floats",
               Value::object({{"b", Bytes{std::string("\0\x01\xfe", 3)}}, {"f", 3.0}, {"neg", -0.5}, {"big", 1e300}})}};
    r.toolChoice = {"required", ""};
    reqs.push_back(r);
  }
  {
    ChatRequest r;  // an assistant turn with text and calls (arguments with no raw text, a bad raw)
    r.model = "m";
    Message a = Message::assistant("Let me check.");
    ToolCall c1{"c1", "f", Value::object({{"x", 1}, {"y", Value::array({Value("s"), Value(2.5)})}})};
    ToolCall c2{"c2", "g", Value()};
    ToolCall c3{"c3", "h", Value::object()};
    c3.rawArguments = "{oops";
    c3.argumentsError = "tool arguments are not valid JSON";
    a.parts.push_back(ContentPart::toolCallPart(c1));
    a.parts.push_back(ContentPart::toolCallPart(c2));
    a.parts.push_back(ContentPart::toolCallPart(c3));
    r.messages = {Message::user("go"), a, Message::tool("c1", "f", "r\u00e9sult \"1\""), Message::tool("c2", "g", ""),
                  Message::tool("c3", "h", "{}", true)};
    r.maxTokens = 9;
    r.stream = true;
    r.extra = parseJson(R"({"messages":[{"role":"user","content":"replaced"}],"stream_options":{"include_usage":false}})");
    reqs.push_back(r);
  }
  int n = 0;
  for (const auto& r : reqs) {
    for (bool compatible : {false, true}) {
      for (bool streamUsage : {true, false}) {
        for (bool mct : {true, false}) {
          ProviderConfig cfg{"p", compatible ? "openai-compatible" : "openai", "http://127.0.0.1:1/v1"};
          cfg.streamUsage = streamUsage;
          cfg.useMaxCompletionTokens = mct;
          WireRequest w = codecFor(cfg.kind).encodeChat(r, cfg);
          EXPECT_EQ(w.body, treeOpenAiBody(r, cfg, compatible)) << "request " << n;
          EXPECT_TRUE(json::accept(w.body)) << w.body;
        }
      }
    }
    ++n;
  }
  ChatRequest bad = base;  // invalid UTF-8 fails as the tree's dump() failed
  bad.messages[1] = Message::user("bad \xC3\x28 utf8");
  ProviderConfig cfg{"openai", "openai", "http://127.0.0.1:1/v1"};
  EXPECT_THROW(codecFor("openai").encodeChat(bad, cfg), nlohmann::json::type_error);
  EXPECT_THROW(treeOpenAiBody(bad, cfg, false), nlohmann::json::type_error);
}

// The request-body writer gives exactly nlohmann's dump() text, and fails the same way.
TEST(DumpJson, MatchesNlohmannByteForByte) {
  using llmspell::llm::dumpJson;
  using llmspell::llm::ojson;
  ojson j = ojson::parse(R"({"s":"plain","q":"a \"quoted\" \\ back","ctl":"\u0001\u001f\b\f\n\r\t\u007f",
    "u":"caf\u00e9 \u65e5\u672c \ud83d\ude00","n":-12,"u64":18446744073709551615,"f":0.1,"e":1e300,"neg":-0.0,
    "t":true,"z":null,"a":[1,[],{},"x",2.5],"o":{"k":{"deeper":[null,false]}},"":"empty key","k\"ey":1})");
  EXPECT_EQ(dumpJson(j), j.dump());
  for (const char* text : {"[]", "{}", "\"\"", "0", "[1.5e-7,123456789012]", R"({"a":"\u0000"})"}) {
    ojson x = ojson::parse(text);
    EXPECT_EQ(dumpJson(x), x.dump()) << text;
  }
  ojson bad = ojson::object();
  bad["s"] = std::string("bad \xC3\x28 utf8");
  EXPECT_THROW(bad.dump(), nlohmann::json::type_error);
  EXPECT_THROW(dumpJson(bad), nlohmann::json::type_error);
  bad["s"] = std::string("overlong \xC0\xAF");
  EXPECT_THROW(dumpJson(bad), nlohmann::json::type_error);
}

// The repairing scanner behind llm.structured and streamed partial objects: what it reads, what
// it leaves alone, and that hostile text neither crashes it nor recurses without bound.
TEST(JsonRepair, ReadsDamagedTextAndNamesTheRepairs) {
  auto text = [](std::string_view s) {
    auto r = repairJson(s);
    return r ? toJsonText(r->value) : std::string("none");
  };
  EXPECT_EQ(text(R"({"a": 1})"), R"({"a":1})");
  EXPECT_TRUE(repairJson(R"({"a": 1})")->repairs.empty());
  EXPECT_EQ(text(R"({'a': 'it\'s \u00e9 \ud83d\ude00'})"), "{\"a\":\"it's \xC3\xA9 \xF0\x9F\x98\x80\"}");
  EXPECT_EQ(text("[1, 2, /* x */ 3,]"), "[1,2,3]");
  EXPECT_EQ(text(R"({"a": "x" "b": 2})"), R"({"a":"x","b":2})");  // a missing comma
  EXPECT_EQ(text(R"({"a": [1, {"b": "c)"), R"({"a":[1,{"b":"c"}]})");
  EXPECT_EQ(text(R"({"a": 1, "b)"), R"({"a":1})");   // an unfinished key is left out
  EXPECT_EQ(text(R"({"a": 1, "b":)"), R"({"a":1})");  // so is a key with no value yet
  EXPECT_EQ(text(R"({"a": tr)"), R"({"a":true})");
  EXPECT_EQ(text(R"({"a": -)"), "{}");
  EXPECT_EQ(text(R"({"a": 12.)"), R"({"a":12})");
  EXPECT_EQ(text("Use {braces} like this: {\"a\": 1} ok"), R"({"a":1})");
  EXPECT_EQ(text("```json\n{\"a\": 1,"), R"({"a":1})");  // a fence still streaming
  EXPECT_EQ(text("no json here"), "none");
  EXPECT_EQ(text("{\"a\": @}"), "none");
  EXPECT_EQ(text(""), "none");
  EXPECT_EQ(text(std::string(100000, '[')), "none");  // too deep: not read, no stack overflow
  auto r = repairJson("Sure: {a: 1,}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repairs, (std::vector<std::string>{"$: ignored text before the JSON", "$.a: quoted an unquoted key",
                                                  "$: removed a trailing comma"}));
}

TEST(JsonRepair, CoercesOnlyWhereTheSchemaIsUnambiguous) {
  Value schema = parseJson(R"({"type": "object", "properties": {
      "n": {"type": "integer"}, "x": {"type": "number"}, "b": {"type": "boolean"}, "s": {"type": "string"},
      "l": {"type": "array", "items": {"type": "integer"}}, "u": {"type": ["string", "integer"]},
      "h": {"type": "integer"}}})");
  Value v = parseJson(R"({"n": "5", "x": "2.5", "b": "false", "s": 5, "l": "7", "u": "8", "h": "half"})");
  std::vector<std::string> notes;
  coerceToSchema(v, schema, &notes);
  EXPECT_EQ(toJsonText(v), R"({"n":5,"x":2.5,"b":false,"s":5,"l":[7],"u":"8","h":"half"})");
  EXPECT_EQ(notes, (std::vector<std::string>{"$.n: coerced string \"5\" to integer", "$.x: coerced string \"2.5\" to number",
                                             "$.b: coerced string \"false\" to boolean",
                                             "$.l: wrapped a single value in an array",
                                             "$.l[0]: coerced string \"7\" to integer"}));
}
