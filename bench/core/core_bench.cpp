// core benchmarks: building large Objects key by key, and JSON text with many keys to Value.
// Both must stay linear in the number of keys (untrusted bodies can hold hundreds of thousands).
#include <benchmark/benchmark.h>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/value.hpp"

using namespace llmspell;

namespace {

std::string keyOf(int64_t i) {
  std::string k = "key";
  k += std::to_string(i);
  return k;
}

// Object::set with n distinct keys, then one lookup per key.
void BM_ObjectSet(benchmark::State& st) {
  const int64_t n = st.range(0);
  std::vector<std::string> keys;
  keys.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) keys.push_back(keyOf(i));
  for (auto _ : st) {
    Object o;
    for (int64_t i = 0; i < n; ++i) o.set(keys[static_cast<size_t>(i)], Value(i));
    int64_t found = 0;
    for (const auto& k : keys) found += o.find(k) != nullptr;
    benchmark::DoNotOptimize(found);
  }
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK(BM_ObjectSet)->Arg(1000)->Arg(100000)->Arg(1000000)->Unit(benchmark::kMillisecond);

// json.decode's work: `{"key0":0,"key1":1,...}` with n keys to Value.
void BM_ParseJsonObject(benchmark::State& st) {
  const int64_t n = st.range(0);
  std::string text = "{";
  for (int64_t i = 0; i < n; ++i) {
    if (i) text += ',';
    text += '"';
    text += keyOf(i);
    text += "\":";
    text += std::to_string(i);
  }
  text += '}';
  for (auto _ : st) {
    Value v = parseJson(text);
    benchmark::DoNotOptimize(v);
  }
  st.SetItemsProcessed(st.iterations() * n);
  st.SetBytesProcessed(st.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_ParseJsonObject)->Arg(1000)->Arg(20000)->Arg(100000)->Unit(benchmark::kMillisecond);

// json.encode's work: an Object of n keys to JSON text.
void BM_EncodeJsonObject(benchmark::State& st) {
  const int64_t n = st.range(0);
  Object o;
  for (int64_t i = 0; i < n; ++i) o.set(keyOf(i), Value(i));
  Value v(std::make_shared<Object>(std::move(o)));
  for (auto _ : st) {
    std::string text = toJsonText(v);
    benchmark::DoNotOptimize(text);
  }
  st.SetItemsProcessed(st.iterations() * n);
}
BENCHMARK(BM_EncodeJsonObject)->Arg(1000)->Arg(100000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
