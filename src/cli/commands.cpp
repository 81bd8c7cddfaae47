// llmspell check / new / docs.
#include "cli/commands.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "llmspell/core/convert.hpp"
#include "llmspell/spell/spell.hpp"
#if __has_include("llmspell/bridge/docs.hpp")
#include "llmspell/bridge/docs.hpp"
#define LLMSPELL_HAVE_DOCS 1
#endif

namespace llmspell::cli {

namespace fs = std::filesystem;

namespace {
std::optional<std::string> slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

int checkSpell(const std::string& path) {
  std::vector<Diagnostic> diags;
  fs::path p = path;
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    std::fprintf(stderr, "error[invalid_argument]: spell not found: %s\n", path.c_str());
    return 2;
  }
  std::optional<Manifest> m;
  fs::path manifestPath = fs::is_directory(p, ec) ? p / "spell.yaml" : p.parent_path() / "spell.yaml";
  if (fs::exists(manifestPath, ec)) {
    m = parseManifest(*slurp(manifestPath), manifestPath.string(), diags);
  } else if (fs::is_directory(p, ec)) {
    diags.push_back({manifestPath.string(), 0, "missing spell.yaml"});
  }
  fs::path entry = p;
  if (fs::is_directory(p, ec)) entry = m && !m->entry.empty() ? p / m->entry : p / "main.lua";
  if (m && !m->entry.empty() && !fs::exists(entry, ec))
    diags.push_back({manifestPath.string(), 0, "entry '" + m->entry + "' does not exist"});
  bool failed = false;
  if (fs::exists(entry, ec) && !fs::is_directory(entry, ec)) {
    Engine* e = engineForPath(entry.string());
    if (m && !m->engine.empty()) e = findEngine(m->engine);
    if (!e) {
      diags.push_back({entry.string(), 0, "unknown engine for this file extension"});
    } else {
      Loop loop;
      RunContext run(loop);
      auto ctx = e->createContext(run, Limits{});
      if (auto err = ctx->check(*slurp(entry), entry.filename().string())) {
        diags.push_back({entry.string(), err->line, err->message});
      }
    }
  }
  for (const auto& d : diags) {
    bool warn = d.message.find("(ignored)") != std::string::npos;
    failed = failed || !warn;
    std::fprintf(stderr, "%s: %s\n", warn ? "warning" : "error", d.toString().c_str());
  }
  if (!failed) std::printf("ok: %s\n", path.c_str());
  return failed ? 1 : 0;
}

int newSpell(const std::string& name, const std::string& engine) {
  fs::path dir = name;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    std::fprintf(stderr, "error[invalid_argument]: %s already exists\n", name.c_str());
    return 2;
  }
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "error[permission_denied]: cannot create %s: %s\n", name.c_str(), ec.message().c_str());
    return 1;
  }
  std::string base = dir.filename().string();
  std::ofstream(dir / "spell.yaml") << "name: " << base << "\n"
                                    << "version: 0.1.0\n"
                                    << "description: A new spell\n"
                                    << "engine: " << engine << "\n"
                                    << "entry: main.lua\n"
                                    << "params:\n"
                                    << "  who: {type: string, default: world, description: Who to greet}\n"
                                    << "permissions:\n"
                                    << "  net: []\n"
                                    << "  read: []\n"
                                    << "  write: []\n"
                                    << "limits: {memory_mb: 64, timeout_s: 60}\n";
  std::ofstream(dir / "main.lua")
      << "-- " << base << ": run with `llmspell run " << name << " --param who=you`\n"
      << "local who = spell.params.who\n"
      << "log.info(\"greeting\", {who = who})\n"
      << "return \"Hello, \" .. who .. \"!\"\n";
  std::printf("created %s (spell.yaml, main.lua); run it with: llmspell run %s\n", name.c_str(), name.c_str());
  return 0;
}

int docs(const std::string& format) {
#ifdef LLMSPELL_HAVE_DOCS
  try {
    std::string out = generateDocs(Registry::global(), format);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  } catch (const Exception& e) {
    std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
    return 2;
  }
#else
  std::fprintf(stderr, "error[internal]: docs generator not built\n");
  return 1;
#endif
}

}  // namespace llmspell::cli
