#include "llmspell/core/lazy_library.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_map>

namespace llmspell::lazy {

void* library(const char* soname, const char* package) {
  static std::mutex mu;
  static std::unordered_map<std::string, void*> open;
  std::lock_guard<std::mutex> lock(mu);
  void*& h = open[soname];
  if (!h) {
    h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      std::fprintf(stderr, "llmspell: cannot load %s (%s); install Debian's %s (scripts/setup.sh does)\n", soname,
                   dlerror(), package);
      std::abort();
    }
  }
  return h;
}

void* symbol(void* library, const char* soname, const char* name) {
  void* p = dlsym(library, name);
  if (!p) {
    std::fprintf(stderr, "llmspell: %s has no %s: it is older than the headers llmspell was built with\n", soname,
                 name);
    std::abort();
  }
  return p;
}

}  // namespace llmspell::lazy
