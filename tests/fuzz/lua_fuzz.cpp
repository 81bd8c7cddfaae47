// A Lua spell through the whole runner (sandbox, registry, engine) with no grants and every limit
// set: what `llmspell exec CODE` does with untrusted code. Oracles: no crash, no sanitizer
// report, no hang (libFuzzer's -timeout: the time limit must end every spell, teardown included).
// Keys and base URLs are removed from the environment first, so no spell can reach a provider.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "llmspell/spell/spell.hpp"

extern char** environ;

namespace {
std::string gDataDir;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::string> drop;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    if (name.find("API_KEY") != std::string::npos || name.find("BASE_URL") != std::string::npos ||
        name.rfind("LLMSPELL_", 0) == 0)
      drop.push_back(name);
  }
  for (const auto& n : drop) unsetenv(n.c_str());
  auto dir = std::filesystem::temp_directory_path() / ("llmspell-fuzz-lua-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  gDataDir = dir.string();
  setenv("LLMSPELL_HOME", gDataDir.c_str(), 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  llmspell::RunOptions o;
  o.code.assign(reinterpret_cast<const char*>(data), size);
  o.engine = "lua";
  o.timeoutSeconds = 2;
  o.memoryMb = 32;
  o.instructions = 2000000;
  o.dataDir = gDataDir;
  (void)llmspell::runSpell(o);
  return 0;
}
