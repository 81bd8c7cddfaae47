// libFuzzer target for the Tengo scanner, parser and compiler (built with -DLLMSPELL_FUZZ=ON).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "llmspell/engines/tengo/tengo.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string src(reinterpret_cast<const char*>(data), size);
  std::string ast;
  (void)llmspell::tengo::Script::parseToString(src, "fuzz", &ast);
  llmspell::tengo::Script script(src, "fuzz");
  std::unique_ptr<llmspell::tengo::Vm> vm;
  (void)script.compile(&vm);
  return 0;
}
