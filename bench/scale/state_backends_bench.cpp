// state set/get/update latency (p50, p99) on each backend: memory, SQLite file (WAL, NORMAL),
// PostgreSQL and Redis. The servers are throwaway ones started like the tests start them
// (tests/support/servers.hpp): PostgreSQL over its Unix socket with fsync=off (like SQLite's
// NORMAL, no fsync per commit), Redis on loopback TCP with appendfsync everysec (its default).
// BENCH_PG_URL / BENCH_REDIS_URL point it at other servers instead.
//   build/release/bench/scale/bench_state_backends --benchmark_min_time=2
// Each call is one client, one thread: latency, not the server's throughput under load.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include "llmspell/state/store.hpp"
#include "support/servers.hpp"

namespace llmspell {
namespace {

enum Backend : int64_t { kMemory, kSqlite, kPostgres, kRedis };
const char* const kNames[] = {"memory", "sqlite", "postgres", "redis"};

// Per-iteration latencies -> p50/p99 counters (microseconds).
struct Latencies {
  std::vector<double> us;
  void add(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
    us.push_back(std::chrono::duration<double, std::micro>(b - a).count());
  }
  void report(benchmark::State& st) {
    if (us.empty()) return;
    std::sort(us.begin(), us.end());
    st.counters["p50_us"] = us[us.size() / 2];
    st.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  }
};

std::string where(int64_t b) {
  static int n = 0;
  ++n;
  switch (b) {
    case kMemory: return ":memory:";
    case kSqlite: {
      auto dir = std::filesystem::temp_directory_path() /
                 ("llmspell_bench_scale_" + std::to_string(::getpid()));
      std::filesystem::create_directories(dir);
      return (dir / ("s" + std::to_string(n) + ".db")).string();
    }
    case kPostgres: {
      if (const char* u = std::getenv("BENCH_PG_URL"); u && *u) return u;
      static std::unique_ptr<test::PgCluster> pg = std::make_unique<test::PgCluster>();
      return pg->freshDatabase("bench");
    }
    default: {
      std::string prefix =
          "?prefix=bench" + std::to_string(::getpid()) + "_" + std::to_string(n) + ":";
      if (const char* u = std::getenv("BENCH_REDIS_URL"); u && *u) return u + prefix;
      static std::unique_ptr<test::RedisServer> redis = std::make_unique<test::RedisServer>(false);
      return redis->url() + prefix;
    }
  }
}

std::unique_ptr<StateStore> open(int64_t b) {
  StateOptions o;
  o.path = where(b);
  return std::make_unique<StateStore>(o);
}

const Value& payload() {
  static Value v =
      Value::object({{"user", "ann"}, {"count", 42}, {"tags", Value::array({"a", "b"})}});
  return v;
}

void BM_Set(benchmark::State& st) {
  auto s = open(st.range(0));
  Latencies lat;
  int64_t i = 0;
  for (auto _ : st) {
    auto a = std::chrono::steady_clock::now();
    s->set("spell:bench", "key" + std::to_string(i++ % 1000), payload());
    lat.add(a, std::chrono::steady_clock::now());
  }
  st.SetItemsProcessed(st.iterations());
  lat.report(st);
  st.SetLabel(kNames[st.range(0)]);
}

void BM_Get(benchmark::State& st) {
  auto s = open(st.range(0));
  for (int i = 0; i < 1000; ++i) s->set("spell:bench", "key" + std::to_string(i), payload());
  Latencies lat;
  int64_t i = 0;
  for (auto _ : st) {
    auto a = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(s->get("spell:bench", "key" + std::to_string(i++ % 1000)));
    lat.add(a, std::chrono::steady_clock::now());
  }
  st.SetItemsProcessed(st.iterations());
  lat.report(st);
  st.SetLabel(kNames[st.range(0)]);
}

void BM_Update(benchmark::State& st) {
  auto s = open(st.range(0));
  Latencies lat;
  for (auto _ : st) {
    auto a = std::chrono::steady_clock::now();
    s->update("spell:bench", "counter", [](std::optional<Value> v) -> std::optional<Value> {
      return Value((v ? v->asInt() : 0) + 1);
    });
    lat.add(a, std::chrono::steady_clock::now());
  }
  st.SetItemsProcessed(st.iterations());
  lat.report(st);
  st.SetLabel(kNames[st.range(0)]);
}

BENCHMARK(BM_Set)->DenseRange(kMemory, kRedis)->UseRealTime();
BENCHMARK(BM_Get)->DenseRange(kMemory, kRedis)->UseRealTime();
BENCHMARK(BM_Update)->DenseRange(kMemory, kRedis)->UseRealTime();

}  // namespace
}  // namespace llmspell

BENCHMARK_MAIN();
