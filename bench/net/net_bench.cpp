// net benchmarks: SSE / NDJSON parsing throughput (bytes/s) and HTTP round trips on loopback.
#include <benchmark/benchmark.h>

#include "llmspell/net/http.hpp"
#include "llmspell/net/ndjson.hpp"
#include "llmspell/net/sse.hpp"
#include "net/server.hpp"

using namespace llmspell;
using namespace llmspell::net;

namespace {

// An OpenAI-style chat stream: ~1000 delta events then [DONE].
std::string openAiStream() {
  std::string s;
  for (int i = 0; i < 1000; ++i)
    s += "data: "
         "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"content\":\"tok" +
         std::to_string(i) + " \"},\"finish_reason\":null}]}\n\n";
  s += "data: [DONE]\n\n";
  return s;
}

// Feeds the stream in `chunk`-byte pieces (network reads are usually 1-16 KiB).
void BM_SseParse(benchmark::State& st) {
  const std::string in = openAiStream();
  const size_t chunk = static_cast<size_t>(st.range(0));
  uint64_t events = 0;
  for (auto _ : st) {
    SseParser p([&](const SseEvent& e) { events += e.data.size() > 0; });
    for (size_t off = 0; off < in.size(); off += chunk)
      p.feed(std::string_view(in).substr(off, chunk));
    p.finish();
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * in.size()));
  benchmark::DoNotOptimize(events);
}
BENCHMARK(BM_SseParse)->Arg(7)->Arg(512)->Arg(16384);

void BM_NdjsonSplit(benchmark::State& st) {
  std::string in;
  for (int i = 0; i < 1000; ++i)
    in += "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"tok" +
          std::to_string(i) + "\"},\"done\":false}\n";
  const size_t chunk = static_cast<size_t>(st.range(0));
  uint64_t lines = 0;
  for (auto _ : st) {
    NdjsonParser p([&](std::string_view l) { lines += l.size() > 0; });
    for (size_t off = 0; off < in.size(); off += chunk)
      p.feed(std::string_view(in).substr(off, chunk));
    p.finish();
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * in.size()));
  benchmark::DoNotOptimize(lines);
}
BENCHMARK(BM_NdjsonSplit)->Arg(512)->Arg(16384);

// One GET round trip over a kept-alive loopback connection (client loop on this thread, server
// on its own).
void BM_HttpRoundTrip(benchmark::State& st) {
  const std::string body(static_cast<size_t>(st.range(0)), 'x');
  TestHttpServer srv([&body](const ServerRequest&, ResponsePtr res) { res->send(200, body); });
  Loop loop(1);
  auto client = HttpClient::forLoop(loop);
  HttpRequest rq;
  rq.url = srv.url("/rt");
  for (auto _ : st) {
    auto p = client->request(rq);
    loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled()) {
      st.SkipWithError(p->error().toString().c_str());
      break;
    }
  }
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * body.size()));
}
BENCHMARK(BM_HttpRoundTrip)->Arg(100)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);

// 100 concurrent GETs on one loop.
void BM_Http100Concurrent(benchmark::State& st) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) { res->send(200, "ok"); });
  Loop loop(1);
  auto client = HttpClient::forLoop(loop);
  HttpRequest rq;
  rq.url = srv.url("/c");
  for (auto _ : st) {
    std::vector<PromisePtr> ps;
    for (int i = 0; i < 100; ++i) ps.push_back(client->request(rq));
    auto all = promiseAll(ps);
    loop.runUntil([&] { return !all->pending(); });
    if (!all->fulfilled()) {
      st.SkipWithError(all->error().toString().c_str());
      break;
    }
  }
  st.SetItemsProcessed(static_cast<int64_t>(st.iterations() * 100));
}
BENCHMARK(BM_Http100Concurrent)->Unit(benchmark::kMillisecond);

// Streaming: 1000 SSE events in 1000 chunks, parsed as they arrive.
void BM_HttpSseStream(benchmark::State& st) {
  TestHttpServer srv([](const ServerRequest&, ResponsePtr res) {
    res->writeHead(200, {{"content-type", "text/event-stream"}});
    for (int i = 0; i < 1000; ++i)
      res->write("data: {\"delta\":\"tok" + std::to_string(i) + "\"}\n\n");
    res->end();
  });
  Loop loop(1);
  auto client = HttpClient::forLoop(loop);
  uint64_t events = 0;
  for (auto _ : st) {
    SseParser sse([&](const SseEvent&) { ++events; });
    HttpRequest rq;
    rq.url = srv.url("/sse");
    rq.onData = [&](std::string_view c) { sse.feed(c); };
    auto p = client->request(rq);
    loop.runUntil([&] { return !p->pending(); });
    sse.finish();
  }
  st.SetItemsProcessed(static_cast<int64_t>(events));
}
BENCHMARK(BM_HttpSseStream)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
