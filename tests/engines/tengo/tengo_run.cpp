// tengo_run FILE: runs a Tengo script with all stdlib modules (os: no host, so its file,
// environment and process functions are denied) and prints errors.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "llmspell/engines/tengo/tengo.hpp"

namespace tg = llmspell::tengo;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: tengo_run FILE\n");
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 2;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  std::string src = ss.str();
  if (src.rfind("#!", 0) == 0) src.replace(0, 2, "//");
  std::string name = argv[1];
  auto slash = name.rfind('/');
  if (slash != std::string::npos) name = name.substr(slash + 1);
  tg::Script script(src, name);
  script.modules().addStdlib(tg::ModuleMap::allStdlibNames());
  std::unique_ptr<tg::Vm> vm;
  tg::Status st = script.compile(&vm);
  if (st.ok()) st = vm->run();
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.message.c_str());
    return 1;
  }
  return 0;
}
