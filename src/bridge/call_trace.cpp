#include "llmspell/bridge/call_trace.hpp"

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_set>

namespace llmspell {
namespace {

const char* traceFile() {
  const char* p = std::getenv("LLMSPELL_TRACE_CALLS");
  return p && *p ? p : nullptr;
}

// "agent.create", "agent:run", "sleep": the name the registry declares, as the table shows it.
std::string shownName(const FunctionDecl& d) {
  if (!d.self.empty()) return d.self + ":" + d.name;
  return d.qualifiedName();
}

}  // namespace

const bool gTraceScriptCalls = traceFile() != nullptr;

// Written as calls happen (a line per new name, the file opened for each): a spell stopped by a
// limit or killed by the hard stop has its calls listed too.
void noteScriptCall(const FunctionDecl& d) {
  static std::mutex mu;
  static std::unordered_set<const FunctionDecl*> seen;
  static bool listed = false;
  std::lock_guard lk(mu);
  if (!seen.insert(&d).second) return;
  FILE* f = std::fopen(traceFile(), "a");
  if (!f) return;
  if (!listed) {
    listed = true;
    for (const auto& x : Registry::global().functions())
      if (!x.property) std::fprintf(f, "all\t%s\n", shownName(x).c_str());
  }
  std::fprintf(f, "called\t%s\n", shownName(d).c_str());
  std::fclose(f);
}

}  // namespace llmspell
