// Tengo source -> compiler -> VM, with every limit set (instructions, memory, allocations, string
// and bytes sizes, deadline) and the stdlib modules a spell gets that neither touch the host nor
// sleep ("os" and "times" are left out). Oracles: no crash, no sanitizer report, no hang past the
// deadline (libFuzzer's -timeout), and a run that is never left suspended.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "llmspell/engines/tengo/tengo.hpp"

namespace tg = llmspell::tengo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tg::Script script(std::string(reinterpret_cast<const char*>(data), size), "fuzz.tengo");
  script.modules().addStdlib({"base64", "enum", "fmt", "hex", "json", "math", "rand", "text"});
  tg::Limits& l = script.limits();
  l.maxInstructions = 200000;
  l.maxMemoryBytes = 32 << 20;
  l.maxAllocs = 200000;
  l.maxStringLen = 1 << 20;
  l.maxBytesLen = 1 << 20;
  l.deadlineMs = 2000;
  std::unique_ptr<tg::Vm> vm;
  tg::Status st = script.compile(&vm);
  if (!st.ok()) return 0;
  vm->setOutput([](std::string_view) {});
  st = vm->run();
  if (st.kind == tg::Status::Kind::kSuspended) std::abort();
  return 0;
}
