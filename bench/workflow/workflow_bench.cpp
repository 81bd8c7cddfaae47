// Workflow benchmarks: a parallel workflow of 100 steps that each wait 50 ms (target: under
// 150 ms of wall time), against the baseline of one 50 ms sleep on the same loop; and the
// overhead of a sequential step (hook point, records, events) with steps that resolve at once.
#include <benchmark/benchmark.h>

#include "llmspell/events/bus.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/workflow/workflow.hpp"

using namespace llmspell;
using namespace llmspell::workflow;

namespace {

// Built with += : GCC 12 at -O3 reports a false -Wrestrict for "s" + std::to_string(i).
std::string stepName(int i) {
  std::string n = "s";
  n += std::to_string(i);
  return n;
}

void waitFor(Loop& loop, const PromisePtr& p) {
  loop.runUntil([&] { return !p->pending(); });
  if (!p->fulfilled() || p->value().getString("status", "completed") != "completed")
    throw std::runtime_error("run did not complete");
}

void BM_Baseline_OneSleep50ms(benchmark::State& st) {
  Loop loop(1);
  for (auto _ : st) {
    auto p = loop.sleep(0.05);
    loop.runUntil([&] { return !p->pending(); });
  }
}
BENCHMARK(BM_Baseline_OneSleep50ms)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);

void BM_Parallel100Steps50msEach(benchmark::State& st) {
  Loop loop(1);
  HookRegistry hooks;
  EventBus bus;
  Config c;
  c.kind = Kind::kParallel;
  c.maxConcurrency = 0;
  for (int i = 0; i < 100; ++i)
    c.steps.push_back(Step::fn(stepName(i),
                               [](Value, StepEnv& e) { return e.run.loop.sleep(0.05); }));
  auto w = Workflow::create(std::move(c));
  for (auto _ : st) waitFor(loop, w->run(Value(), RunEnv{loop, &hooks, &bus}));
}
BENCHMARK(BM_Parallel100Steps50msEach)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(20);

// Sequential steps that resolve at once: the cost per step of the workflow machinery.
void BM_SequentialOverheadPerStep(benchmark::State& st) {
  Loop loop(1);
  HookRegistry hooks;
  EventBus bus;
  uint64_t sub = bus.subscribe("workflow.**", [](const Event&) {});
  const int n = static_cast<int>(st.range(0));
  Config c;
  for (int i = 0; i < n; ++i)
    c.steps.push_back(Step::fn(stepName(i), [](Value in, StepEnv&) {
      return Promise::resolved(Value(in.asInt() + 1));
    }));
  auto w = Workflow::create(std::move(c));
  for (auto _ : st) waitFor(loop, w->run(Value(0), RunEnv{loop, &hooks, &bus}));
  st.SetItemsProcessed(st.iterations() * n);
  st.counters["us_per_step"] = benchmark::Counter(
      static_cast<double>(st.iterations() * n), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  bus.off(sub);
}
BENCHMARK(BM_SequentialOverheadPerStep)->Arg(1000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
