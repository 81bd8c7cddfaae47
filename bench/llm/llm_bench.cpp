// LLM layer benchmarks: request encoding, stream decoding per provider, and whole calls (mock
// and over loopback HTTP against the fake provider, streamed and not).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "fake_provider.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/llm/client.hpp"
#include "llmspell/llm/codec.hpp"
#include "llmspell/llm/tokenizer.hpp"

using namespace llmspell;
using namespace llmspell::llm;

namespace {

ChatRequest bigRequest(int turns) {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages.push_back(Message::system("You are a helpful assistant."));
  for (int i = 0; i < turns; ++i) {
    r.messages.push_back(Message::user("Question number " + std::to_string(i) + " about spells and wizards?"));
    r.messages.push_back(Message::assistant("Answer number " + std::to_string(i) + ": it depends on the spell."));
  }
  r.tools.push_back({"get_weather", "weather", parseJson(R"({"type":"object","properties":{"city":{"type":"string"}}})")});
  return r;
}

void BM_EncodeChat(benchmark::State& st, const char* kind) {
  ChatRequest r = bigRequest(static_cast<int>(st.range(0)));
  ProviderConfig cfg{kind, kind, "http://127.0.0.1:1"};
  for (auto _ : st) benchmark::DoNotOptimize(codecFor(kind).encodeChat(r, cfg));
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(r.messages.size()));
}
BENCHMARK_CAPTURE(BM_EncodeChat, openai, "openai")->Arg(50);
BENCHMARK_CAPTURE(BM_EncodeChat, anthropic, "anthropic")->Arg(50);
BENCHMARK_CAPTURE(BM_EncodeChat, gemini, "gemini")->Arg(50);

// Feeds `events` (event name, data) to a fresh stream decoder of codec `k` per iteration;
// items are events.
void decodeEvents(benchmark::State& st, const std::string& k,
                  const std::vector<std::pair<std::string, std::string>>& events) {
  for (auto _ : st) {
    auto dec = codecFor(k).streamDecoder();
    std::vector<StreamChunk> out;
    for (const auto& [ev, data] : events) {
      out.clear();
      dec->feed(ev, data, out);
    }
    benchmark::DoNotOptimize(dec->finish());
  }
  st.SetItemsProcessed(st.iterations() * static_cast<int64_t>(events.size()));
}

// Decoding a 500-delta OpenAI stream (events already framed).
// A streamed reply of 500 text deltas as each provider sends it (providers.md shapes), decoded;
// items are events.
void BM_DecodeStream(benchmark::State& st, const char* kind) {
  std::string k = kind;
  std::vector<std::pair<std::string, std::string>> events;  // (SSE event name, data)
  auto word = [](int i) { return " word" + std::to_string(i); };
  if (k == "openai") {
    for (int i = 0; i < 500; ++i)
      events.emplace_back("message", R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":")" +
                                         word(i) + R"("},"finish_reason":null}],"usage":null})");
    events.emplace_back("message", R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
    events.emplace_back("message", "[DONE]");
  } else if (k == "anthropic") {
    events.emplace_back("message_start", R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}})");
    events.emplace_back("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    for (int i = 0; i < 500; ++i)
      events.emplace_back("content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":")" + word(i) + R"("}})");
    events.emplace_back("content_block_stop", R"({"type":"content_block_stop","index":0})");
    events.emplace_back("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":500}})");
    events.emplace_back("message_stop", R"({"type":"message_stop"})");
  } else if (k == "gemini") {
    for (int i = 0; i < 500; ++i)
      events.emplace_back("message", R"({"candidates":[{"content":{"parts":[{"text":")" + word(i) +
                                         R"("}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":)" +
                                         std::to_string(i + 1) + R"(,"totalTokenCount":)" + std::to_string(i + 13) +
                                         R"(},"modelVersion":"gemini-2.5-flash","responseId":"r1"})");
    events.emplace_back("message", R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":500,"totalTokenCount":512},"modelVersion":"gemini-2.5-flash","responseId":"r1"})");
  } else {  // ollama (NDJSON lines)
    for (int i = 0; i < 500; ++i)
      events.emplace_back("", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00.000000Z","message":{"role":"assistant","content":")" +
                                  word(i) + R"("},"done":false})");
    events.emplace_back("", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":1000,"prompt_eval_count":12,"eval_count":500})");
  }
  decodeEvents(st, k, events);
}
BENCHMARK_CAPTURE(BM_DecodeStream, openai, "openai");
BENCHMARK_CAPTURE(BM_DecodeStream, anthropic, "anthropic");
BENCHMARK_CAPTURE(BM_DecodeStream, gemini, "gemini");
BENCHMARK_CAPTURE(BM_DecodeStream, ollama, "ollama");

// A streamed reply of two parallel tool calls, each one's arguments in 8 fragments, as each
// provider sends it (OpenAI: tool_calls[].index fragments; Anthropic: input_json_delta; Gemini
// and Ollama send calls whole, so 16 calls, one per event); items are events.
void BM_DecodeStreamToolCalls(benchmark::State& st, const char* kind) {
  std::string k = kind;
  std::vector<std::pair<std::string, std::string>> events;
  // {"city":"Paris","unit":"celsius","days":3} cut into 8 JSON-string-escaped fragments.
  std::vector<std::string> frags = {R"({\"ci)", R"(ty\":)", R"( \"Pa)", R"(ris\",)", R"( \"unit)",
                                    R"(\": \"cel)", R"(sius\", \"da)", R"(ys\": 3})"};
  if (k == "openai") {
    events.emplace_back("message", R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]})");
    for (int c = 0; c < 2; ++c) {
      std::string ix = std::to_string(c);
      events.emplace_back("message", R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":)" + ix +
                                         R"(,"id":"call_)" + ix + R"(","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]})");
      for (const auto& f : frags)
        events.emplace_back("message", R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"tool_calls":[{"index":)" + ix +
                                           R"(,"function":{"arguments":")" + f + R"("}}]},"finish_reason":null}]})");
    }
    events.emplace_back("message", R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})");
    events.emplace_back("message", "[DONE]");
  } else if (k == "anthropic") {
    events.emplace_back("message_start", R"({"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"usage":{"input_tokens":12,"output_tokens":1}}})");
    for (int c = 0; c < 2; ++c) {
      std::string ix = std::to_string(c);
      events.emplace_back("content_block_start", R"({"type":"content_block_start","index":)" + ix +
                                                     R"(,"content_block":{"type":"tool_use","id":"toolu_)" + ix + R"(","name":"get_weather","input":{}}})");
      for (const auto& f : frags)
        events.emplace_back("content_block_delta", R"({"type":"content_block_delta","index":)" + ix +
                                                       R"(,"delta":{"type":"input_json_delta","partial_json":")" + f + R"("}})");
      events.emplace_back("content_block_stop", R"({"type":"content_block_stop","index":)" + ix + "}");
    }
    events.emplace_back("message_delta", R"({"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":50}})");
    events.emplace_back("message_stop", R"({"type":"message_stop"})");
  } else if (k == "gemini") {
    for (int c = 0; c < 16; ++c)
      events.emplace_back("message", R"({"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_weather","args":{"city":"Paris","unit":"celsius","days":)" +
                                         std::to_string(c) + R"(}}}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":)" +
                                         std::to_string(c + 1) + R"(},"modelVersion":"gemini-2.5-flash","responseId":"r1"})");
    events.emplace_back("message", R"({"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":12,"candidatesTokenCount":16,"totalTokenCount":28},"modelVersion":"gemini-2.5-flash","responseId":"r1"})");
  } else {  // ollama
    for (int c = 0; c < 16; ++c)
      events.emplace_back("", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:00.000000Z","message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":"get_weather","arguments":{"city":"Paris","unit":"celsius","days":)" +
                                  std::to_string(c) + R"(}}}]},"done":false})");
    events.emplace_back("", R"({"model":"llama3.2","created_at":"2025-01-01T00:00:01Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":1000,"prompt_eval_count":12,"eval_count":50})");
  }
  decodeEvents(st, k, events);
}
BENCHMARK_CAPTURE(BM_DecodeStreamToolCalls, openai, "openai");
BENCHMARK_CAPTURE(BM_DecodeStreamToolCalls, anthropic, "anthropic");
BENCHMARK_CAPTURE(BM_DecodeStreamToolCalls, gemini, "gemini");
BENCHMARK_CAPTURE(BM_DecodeStreamToolCalls, ollama, "ollama");

// The agent workload's second request (bench/agent/workload.lua): system-less user prompt, an
// assistant turn with two tool calls, their two results, two tools with JSON-schema parameters.
void BM_EncodeAgentTurn(benchmark::State& st, const char* kind) {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.stream = true;
  r.messages.push_back(Message::user("What is the weather in Paris, and what is 2+3? Use the tools."));
  Message a;
  a.role = Role::kAssistant;
  ToolCall w{"call_0", "get_weather", parseJson(R"({"city":"Paris"})")};
  w.rawArguments = R"({"city":"Paris"})";
  ToolCall s{"call_1", "add", parseJson(R"({"a":2,"b":3})")};
  s.rawArguments = R"({"a":2,"b":3})";
  a.parts = {ContentPart::toolCallPart(w), ContentPart::toolCallPart(s)};
  r.messages.push_back(a);
  r.messages.push_back(Message::tool("call_0", "get_weather", "Paris: sunny, 22 C"));
  r.messages.push_back(Message::tool("call_1", "add", "5"));
  r.tools.push_back({"get_weather", "Get the current weather for a city.",
                     parseJson(R"({"type":"object","properties":{"city":{"type":"string","description":"City name"}},"required":["city"],"additionalProperties":false})")});
  r.tools.push_back({"add", "Add two numbers and return the sum.",
                     parseJson(R"({"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}},"required":["a","b"],"additionalProperties":false})")});
  ProviderConfig cfg{kind, kind, "http://127.0.0.1:1"};
  cfg.streamUsage = true;
  for (auto _ : st) benchmark::DoNotOptimize(codecFor(kind).encodeChat(r, cfg));
}
BENCHMARK_CAPTURE(BM_EncodeAgentTurn, openai, "openai");
BENCHMARK_CAPTURE(BM_EncodeAgentTurn, anthropic, "anthropic");
BENCHMARK_CAPTURE(BM_EncodeAgentTurn, gemini, "gemini");
BENCHMARK_CAPTURE(BM_EncodeAgentTurn, ollama, "ollama");

void BM_MockChat(benchmark::State& st) {
  Loop loop;
  LlmClient c(loop);
  ChatRequest r;
  r.messages = {Message::user("hello there general kenobi")};
  for (auto _ : st) {
    auto p = c.chat("mock/echo", r, {});
    loop.runUntil([&] { return !p->pending(); });
  }
}
BENCHMARK(BM_MockChat);

// A whole call over loopback HTTP against the fake provider (echo replies).
void BM_FakeServerChat(benchmark::State& st, const char* kind, const char* model, bool stream) {
  fake::FakeProvider fp;
  Loop loop;
  LlmClient c(loop);
  std::string prov = std::string(model).substr(0, std::string(model).find('/'));
  c.configure(prov, Value::object({{"kind", kind}, {"base_url", fp.baseUrl(kind)}, {"api_key", "k"}}));
  ChatRequest r;
  r.messages = {Message::user("one two three four five six seven eight nine ten")};
  CallOptions o;
  if (stream) o.onChunk = [](const StreamChunk&) {};
  for (auto _ : st) {
    auto p = c.chat(model, r, o);
    loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled()) st.SkipWithError("call failed");
  }
}
BENCHMARK_CAPTURE(BM_FakeServerChat, openai, "openai", "openai/gpt-4o-mini", false)->UseRealTime();
BENCHMARK_CAPTURE(BM_FakeServerChat, openai_stream, "openai", "openai/gpt-4o-mini", true)->UseRealTime();
BENCHMARK_CAPTURE(BM_FakeServerChat, anthropic_stream, "anthropic", "anthropic/claude-haiku-4-5", true)->UseRealTime();
BENCHMARK_CAPTURE(BM_FakeServerChat, ollama_stream, "ollama", "ollama/llama3.2", true)->UseRealTime();

// The issue's CPU target: build a typical request (about 2 KB of messages, 3 tools) and parse its
// 4 KB reply, per provider codec. Target: < 50 us per call.
ChatRequest typicalRequest() {
  ChatRequest r;
  r.model = "gpt-4o-mini";
  r.messages.push_back(Message::system("You are a careful assistant for a travel agency. Answer briefly and use the tools "
                                       "when a question needs live data."));
  while (true) {
    size_t bytes = 0;
    for (const auto& m : r.messages) bytes += m.text().size();
    if (bytes >= 2048) break;
    r.messages.push_back(Message::user("What is the weather like in Lisbon next week, and which museums are open on Monday?"));
    r.messages.push_back(Message::assistant("Lisbon should be sunny around 22 C; the Gulbenkian and MAAT are open on Mondays."));
  }
  auto schema = [](const char* field) {
    return parseJson(std::string(R"({"type":"object","properties":{")") + field +
                     R"(":{"type":"string","description":"what to look up"},"days":{"type":"integer","minimum":1}},"required":[")" +
                     field + R"("]})");
  };
  r.tools.push_back({"get_weather", "Weather forecast for a city", schema("city")});
  r.tools.push_back({"find_museums", "Museums open on a day", schema("city")});
  r.tools.push_back({"book_table", "Book a restaurant table", schema("restaurant")});
  return r;
}

std::string typicalReply() {
  std::string text;
  while (text.size() < 3900) text += "The forecast for Lisbon is mild with sunshine, light winds from the north-west. ";
  nlohmann::json j = {{"id", "chatcmpl-1"},
                      {"object", "chat.completion"},
                      {"model", "gpt-4o-mini"},
                      {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"finish_reason", "stop"}}}},
                      {"usage", {{"prompt_tokens", 512}, {"completion_tokens", 800}, {"total_tokens", 1312}}}};
  return j.dump();
}

void BM_TypicalCallCpu(benchmark::State& st) {
  ChatRequest r = typicalRequest();
  std::string reply = typicalReply();
  ProviderConfig cfg{"openai", "openai", "http://127.0.0.1:1"};
  const Codec& codec = codecFor("openai");
  for (auto _ : st) {
    WireRequest w = codec.encodeChat(r, cfg);
    benchmark::DoNotOptimize(w);
    ChatResponse resp = codec.decodeChat(reply);
    benchmark::DoNotOptimize(resp);
  }
  st.counters["reply_bytes"] = static_cast<double>(reply.size());
}
BENCHMARK(BM_TypicalCallCpu);

void BM_TypicalEncode(benchmark::State& st) {
  ChatRequest r = typicalRequest();
  ProviderConfig cfg{"openai", "openai", "http://127.0.0.1:1"};
  for (auto _ : st) benchmark::DoNotOptimize(codecFor("openai").encodeChat(r, cfg));
}
BENCHMARK(BM_TypicalEncode);

void BM_TypicalDecode(benchmark::State& st) {
  std::string reply = typicalReply();
  for (auto _ : st) benchmark::DoNotOptimize(codecFor("openai").decodeChat(reply));
}
BENCHMARK(BM_TypicalDecode);

// Exact token counting (o200k_base) of about 2 KB of English text.
void BM_CountTokensO200k(benchmark::State& st) {
  auto t = tokenizerFor("o200k_base");
  if (!t) {
    st.SkipWithError("tokenizer data not installed (scripts/setup.sh)");
    return;
  }
  std::string text;
  while (text.size() < 2048) text += "The quick brown fox jumps over the lazy dog, then reads 12 pages of API docs. ";
  for (auto _ : st) benchmark::DoNotOptimize(t->count(text));
  st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_CountTokensO200k);

}  // namespace

BENCHMARK_MAIN();
