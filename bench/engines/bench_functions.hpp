// `bench.add(a, b)`: a registry function doing a trivial sum, to compare a registry host call
// with a raw engine callback doing the same work (lua_bench, js_bench).
#pragma once

#include "llmspell/bridge/registry.hpp"

namespace llmspell::bench {

inline void registerBenchFunctions() {
  static bool done = false;
  if (done) return;
  done = true;
  Registry::extend([](Registry& r) {
    r.fn("bench", "add")
        .param("a", R"({"type":"integer"})")
        .param("b", R"({"type":"integer"})")
        .returns("integer").doc("a + b (benchmark only)")
        .sync([](CallContext&, Args a) -> Value { return Value(a[0].asInt() + a[1].asInt()); });
  });
}

}  // namespace llmspell::bench
