#include "llmspell/runtime/journal.hpp"

#include <cstdio>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/usage.hpp"

namespace llmspell {

std::string Journal::pathOf(const UsageScope* scope) const {
  for (const UsageScope* s = scope; s; s = s->parent.get())
    if (auto it = scopes_.find(s); it != scopes_.end()) return it->second;
  return "";
}

std::string journalHash(const Value& v) {
  // FNV-1a: keys only need to be stable across processes and builds, not secret.
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : toJsonText(v, {.sortKeys = true})) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace llmspell
