// Lua engine costs: a registry host call against a raw lua_CFunction doing the same work,
// an idle context's memory, and 1,000 concurrent sleeps in one spell.
#include <benchmark/benchmark.h>

#include <lua.hpp>

#include "llmspell/engines/lua/lua_engine.hpp"
#include "llmspell/spell/spell.hpp"
#include "bench_functions.hpp"

using namespace llmspell;

namespace {

int rawAdd(lua_State* L) {
  lua_Integer a = luaL_checkinteger(L, 1), b = luaL_checkinteger(L, 2);
  lua_pushinteger(L, a + b);
  return 1;
}

using bench::registerBenchFunctions;

void runLoop(benchmark::State& state, const char* fname) {
  registerBenchFunctions();
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, {});
  lua_State* L = luaStateOf(*ctx);
  lua_register(L, "raw_add", rawAdd);
  std::string code = std::string("local f = ") + fname +
                     " local n = ... or 0 for i = 1, 100000 do n = f(i, 1) end return n";
  for (auto _ : state) {
    auto p = ctx->run(code, "bench.lua");
    loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled()) state.SkipWithError(p->error().toString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}

void BM_RawLuaCFunction(benchmark::State& state) { runLoop(state, "raw_add"); }
void BM_RegistryHostCall(benchmark::State& state) { runLoop(state, "bench.add"); }
BENCHMARK(BM_RawLuaCFunction)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RegistryHostCall)->Unit(benchmark::kMillisecond);

// The same registry call from Tengo: the generic binder's cost per engine.
void BM_TengoRegistryHostCall(benchmark::State& state) {
  registerBenchFunctions();
  Loop loop;
  RunContext run(loop);
  Engine* tengo = findEngine("tengo");
  const char* code =
      "b := import(\"bench\")\nn := 0\nfor i := 0; i < 100000; i++ { n = b.add(i, 1) }\n";
  for (auto _ : state) {
    auto ctx = tengo->createContext(run, {});
    auto p = ctx->run(code, "bench.tengo");
    loop.runUntil([&] { return !p->pending(); });
    if (!p->fulfilled()) state.SkipWithError(p->error().toString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * 100000);
}
BENCHMARK(BM_TengoRegistryHostCall)->Unit(benchmark::kMillisecond);

// The host calling a script callback with a small table, as llm.stream does for every chunk:
// the Value built, converted to a Lua table, the function run on a task, the result checked.
void BM_HostCallsLuaCallback(benchmark::State& state) {
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, {});
  auto p = ctx->run("local n = 0 return function(c) n = n + #c.text end", "cb.lua");
  loop.runUntil([&] { return !p->pending(); });
  if (!p->fulfilled() || !p->value().isFunction()) {
    state.SkipWithError("no callback");
    return;
  }
  FunctionPtr fn = p->value().asFunction();
  std::string word = " word";
  for (auto _ : state) {
    PromisePtr r = fn->call({Value::object({{"text", word}})});
    if (r->pending() || r->rejected()) state.SkipWithError("callback did not finish at once");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HostCallsLuaCallback);

void BM_IdleContext(benchmark::State& state) {
  Loop loop;
  RunContext run(loop);
  size_t bytes = 0;
  for (auto _ : state) {
    auto ctx = luaEngine().createContext(run, {});
    bytes = ctx->memoryUsed();
  }
  state.counters["idle_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_IdleContext)->Unit(benchmark::kMicrosecond);

void BM_ThousandSleeps(benchmark::State& state) {
  Loop loop;
  RunContext run(loop);
  auto ctx = luaEngine().createContext(run, {});
  const char* code =
      "local ps = {} for i = 1, 1000 do ps[i] = spawn(function() sleep(0.05) end) end "
      "promise.all(ps)";
  for (auto _ : state) {
    auto p = ctx->run(code, "sleeps.lua");
    loop.runUntil([&] { return !p->pending() && !ctx->busy(); });
    if (!p->fulfilled()) state.SkipWithError(p->error().toString().c_str());
  }
}
BENCHMARK(BM_ThousandSleeps)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);

}  // namespace

BENCHMARK_MAIN();
