// A helper process for the state tests: concurrent incrementers and the SIGKILL writer.
//   state_helper incr DB KEY N       N atomic increments with StateStore::update
//   state_helper cas DB KEY N        N increments with getVersioned + compareAndSet (the path
//                                    script callbacks take), retrying on conflicts
//   state_helper writer DB ROUND     writes r<ROUND>.<i> = i for i = 1, 2, ... forever and
//                                    prints each i after its commit returned
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "llmspell/core/error.hpp"
#include "llmspell/state/store.hpp"

using namespace llmspell;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: state_helper incr|cas|writer DB KEY|ROUND N\n");
    return 2;
  }
  std::string mode = argv[1];
  StateOptions o;
  o.path = argv[2];
  o.busyTimeoutMs = 60000;
  try {
    StateStore store(o);
    if (mode == "incr") {
      long n = std::strtol(argv[4], nullptr, 10);
      for (long i = 0; i < n; ++i)
        store.update("global", argv[3], [](std::optional<Value> v) -> std::optional<Value> {
          return Value((v ? v->asInt() : 0) + 1);
        });
      return 0;
    }
    if (mode == "cas") {
      long n = std::strtol(argv[4], nullptr, 10);
      for (long i = 0; i < n; ++i) {
        while (true) {
          Versioned cur = store.getVersioned("global", argv[3]);
          int64_t next = (cur.value ? cur.value->asInt() : 0) + 1;
          if (store.compareAndSet("global", argv[3], cur.version, Value(next))) break;
        }
      }
      return 0;
    }
    if (mode == "writer") {
      std::string round = argv[3];
      for (long i = 1;; ++i) {
        store.set("durability", "r" + round + "." + std::to_string(i), Value(int64_t{i}));
        // Also churn a hot key so the WAL grows and checkpoints happen under the kill.
        store.update("durability", "r" + round + ".count",
                     [i](std::optional<Value>) { return std::optional<Value>(Value(int64_t{i})); });
        std::printf("%ld\n", i);
        std::fflush(stdout);
      }
    }
  } catch (const Exception& e) {
    std::fprintf(stderr, "state_helper: %s\n", e.what());
    return 1;
  }
  return 2;
}
