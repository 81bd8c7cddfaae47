// LLM layer benchmarks: request encoding, stream decoding per provider, and whole calls (mock
// and over loopback HTTP against the fake provider, streamed and not).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "fake_provider.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/llm/client.hpp"
#include "llmspell/llm/codec.hpp"

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

// Decoding a 500-delta OpenAI stream (events already framed).
void BM_DecodeOpenAiStream(benchmark::State& st) {
  std::vector<std::string> events;
  for (int i = 0; i < 500; ++i) {
    events.push_back(R"({"id":"x","object":"chat.completion.chunk","model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":" word)" +
                     std::to_string(i) + R"("},"finish_reason":null}],"usage":null})");
  }
  events.push_back(R"({"id":"x","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  for (auto _ : st) {
    auto dec = codecFor("openai").streamDecoder();
    std::vector<StreamChunk> out;
    for (const auto& e : events) dec->feed("message", e, out);
    dec->feed("message", "[DONE]", out);
    benchmark::DoNotOptimize(dec->finish());
  }
  st.SetItemsProcessed(st.iterations() * 501);
}
BENCHMARK(BM_DecodeOpenAiStream);

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

}  // namespace

BENCHMARK_MAIN();
