// Throughput of validateSchema and of utility functions called the way engines call them.
#include <benchmark/benchmark.h>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell {
namespace {

const char* kToolSchema = R"({"type":"object","properties":{
  "query":{"type":"string","minLength":1,"maxLength":500},
  "limit":{"type":"integer","minimum":1,"maximum":100},
  "filters":{"type":"array","items":{"type":"object","properties":{
     "field":{"type":"string","enum":["title","body","author"]},
     "value":{"type":"string"}},"required":["field","value"]}},
  "sort":{"enum":["asc","desc"]}},
  "required":["query"],"additionalProperties":false})";

const char* kToolArgs = R"({"query":"cats and dogs","limit":10,"filters":[
  {"field":"title","value":"x"},{"field":"author","value":"y"}],"sort":"asc"})";

void BM_ValidateSchemaValid(benchmark::State& st) {
  Value schema = parseJson(kToolSchema);
  Value args = parseJson(kToolArgs);
  for (auto _ : st) benchmark::DoNotOptimize(validateSchema(args, schema));
}
BENCHMARK(BM_ValidateSchemaValid);

void BM_ValidateSchemaInvalid(benchmark::State& st) {
  Value schema = parseJson(kToolSchema);
  Value args = parseJson(R"({"query":"","limit":1000,"filters":[{"field":"nope"}],"extra":1})");
  for (auto _ : st) benchmark::DoNotOptimize(validateSchema(args, schema));
}
BENCHMARK(BM_ValidateSchemaInvalid);

void BM_ValidateSchemaPattern(benchmark::State& st) {
  Value schema =
      parseJson(R"({"type":"string","pattern":"^[a-z0-9._%+-]+@[a-z0-9.-]+\\.[a-z]{2,}$"})");
  Value v("someone@example.com");
  for (auto _ : st) benchmark::DoNotOptimize(validateSchema(v, schema));
}
BENCHMARK(BM_ValidateSchemaPattern);

// A registry call as an engine makes it: validate the arguments, then callSync.
void callBench(benchmark::State& st, const char* name, std::vector<Value> proto) {
  Loop loop(1);
  RunContext run(loop);
  const FunctionDecl* d = Registry::global().find(name);
  if (!d) {
    st.SkipWithError("function not registered");
    return;
  }
  CallContext cx{run, loop, name};
  for (auto _ : st) {
    std::vector<Value> args = proto;
    if (Registry::validate(*d, args)) {
      st.SkipWithError("invalid arguments");
      return;
    }
    ErrorPtr err;
    benchmark::DoNotOptimize(Registry::callSync(*d, cx, Args(args), err));
  }
}

void BM_JsonEncodeCall(benchmark::State& st) {
  callBench(st, "json.encode", {parseJson(kToolArgs)});
}
BENCHMARK(BM_JsonEncodeCall);

void BM_JsonDecodeCall(benchmark::State& st) {
  callBench(st, "json.decode", {Value(kToolArgs)});
}
BENCHMARK(BM_JsonDecodeCall);

void BM_Sha256Call1KiB(benchmark::State& st) {
  callBench(st, "crypto.hash", {Value(std::string(1024, 'x'))});
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * 1024);
}
BENCHMARK(BM_Sha256Call1KiB);

void BM_TemplateCall(benchmark::State& st) {
  callBench(st, "text.template",
            {Value("Dear {{user.name}}, your order {{order.id}} ships {{order.date}}."),
             parseJson(R"({"user":{"name":"Ann"},"order":{"id":42,"date":"today"}})")});
}
BENCHMARK(BM_TemplateCall);

void BM_ChunkCall1MiB(benchmark::State& st) {
  std::string text;
  while (text.size() < (1u << 20)) {
    text += "This is one sentence of a longer paragraph. Here is another one! ";
    if (text.size() % 700 < 70) text += "\n\n";
  }
  callBench(st, "text.chunk", {Value(text), parseJson(R"({"max_tokens":500,"overlap":50})")});
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * text.size()));
}
BENCHMARK(BM_ChunkCall1MiB);

}  // namespace
}  // namespace llmspell
BENCHMARK_MAIN();
