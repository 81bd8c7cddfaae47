// JavaScript engine costs: a registry host call against a raw V8 FunctionCallback doing the
// same work (issue #12's target: at most 3x), and a context's creation.
#include <benchmark/benchmark.h>

#include <v8.h>

#include "engines/js/js_engine.hpp"
#include "llmspell/spell/spell.hpp"
#include "bench_functions.hpp"

using namespace llmspell;

namespace {

void rawAdd(const v8::FunctionCallbackInfo<v8::Value>& info) {
  v8::Local<v8::Context> ctx = info.GetIsolate()->GetCurrentContext();
  int64_t a = info[0]->IntegerValue(ctx).FromMaybe(0), b = info[1]->IntegerValue(ctx).FromMaybe(0);
  info.GetReturnValue().Set(v8::Number::New(info.GetIsolate(), static_cast<double>(a + b)));
}

using bench::registerBenchFunctions;

void runLoop(benchmark::State& state, const char* fname) {
  registerBenchFunctions();
  Loop loop;
  RunContext run(loop);
  auto ctx = jsEngine().createContext(run, {});
  jsDefineRawFunction(*ctx, "rawAdd", rawAdd);
  std::string code = std::string("const f = ") + fname + "; let n = 0; for (let i = 1; i <= 100000; i++) n = f(i, 1); return n";
  for (auto _ : state) {
    auto p = ctx->run(code, "exec");
    loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled()) state.SkipWithError(p->error().toString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}

void BM_JsRawV8Callback(benchmark::State& state) { runLoop(state, "rawAdd"); }
void BM_JsRegistryHostCall(benchmark::State& state) { runLoop(state, "bench.add"); }
BENCHMARK(BM_JsRawV8Callback)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JsRegistryHostCall)->Unit(benchmark::kMillisecond);

void BM_JsContextCreate(benchmark::State& state) {
  Loop loop;
  RunContext run(loop);
  for (auto _ : state) {
    auto ctx = jsEngine().createContext(run, {});
    benchmark::DoNotOptimize(ctx.get());
  }
}
BENCHMARK(BM_JsContextCreate)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
