// The list of engines built into this binary.
#include "llmspell/engines/engine.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "llmspell/engines/lua/lua_engine.hpp"

namespace llmspell {

Engine& tengoEngine();  // tengo_engine.cpp

namespace {

namespace fs = std::filesystem;

// The JavaScript engine lives in a shared module (libllmspell_js.so) loaded on a spell's first
// use of JavaScript. Linking libnode into the binary made every start-up pay for it: libnode is
// marked BIND_NOW, and resolving its ~60K symbol relocations was more than half of the work of
// `llmspell exec 'return 1'` in Lua. The module resolves the host functions it calls against
// this executable, which exports them (src/engines/CMakeLists.txt, llmspell_js_host).
class JsEngineLoader final : public Engine {
 public:
  std::string_view name() const override { return "js"; }
  std::vector<std::string> extensions() const override { return {".js", ".mjs"}; }
  std::unique_ptr<ScriptContext> createContext(RunContext& run, const Limits& limits) override {
    return load().createContext(run, limits);
  }

 private:
  // Where the module may be: beside the executable (the build tree, a relocatable install),
  // in ../lib/llmspell of it (an installed tree), else where this build put it.
  static std::vector<fs::path> candidates() {
    std::vector<fs::path> out;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
      out.push_back(exe.parent_path() / "libllmspell_js.so");
      out.push_back(exe.parent_path().parent_path() / "lib" / "llmspell" / "libllmspell_js.so");
    }
#ifdef LLMSPELL_JS_MODULE_BUILD_PATH
    out.emplace_back(LLMSPELL_JS_MODULE_BUILD_PATH);
#endif
    return out;
  }

  Engine& load() {
    std::call_once(once_, [this] {
      preloadLibnode();
      std::string why;
      for (const auto& path : candidates()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) continue;
        void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
          const char* e = dlerror();
          why = e ? e : path.string();
          break;  // found but unusable: say why instead of trying an older copy elsewhere
        }
        auto entry = reinterpret_cast<Engine* (*)()>(dlsym(h, "llmspell_js_engine"));
        if (!entry) {
          why = path.string() + " has no llmspell_js_engine entry point";
          break;
        }
        engine_ = entry();
        return;
      }
      error_ = "the JavaScript engine is not available: " +
               (why.empty() ? std::string("libllmspell_js.so was not found beside the llmspell binary") : why) +
               ". Rebuild llmspell with the README's command, which builds it.";
    });
    if (!engine_) fail(codes::kConfigError, error_);
    return *engine_;
  }

  // Loads libnode before the module, with its own symbols first in its lookup scope. Loaded
  // plainly, each of its ~60K relocations (it is BIND_NOW) would first search this program and
  // every library it links before reaching libnode: 170M instructions, most of a JavaScript
  // spell's start-up. Not under AddressSanitizer, whose allocator must interpose libnode's too
  // (it refuses RTLD_DEEPBIND), nor under an LD_PRELOAD library (a replacement malloc) but
  // valgrind's core, which replaces nothing (so that callgrind measures what users run). If this
  // fails, the module's own load finds libnode the normal way or reports why it cannot.
  static void preloadLibnode() {
#if defined(LLMSPELL_LIBNODE_PATH) && !defined(__SANITIZE_ADDRESS__)
    if (const char* pre = getenv("LD_PRELOAD")) {
      std::string_view rest = pre;
      while (!rest.empty()) {
        size_t end = rest.find_first_of(": ");
        std::string_view item = rest.substr(0, end);
        if (!item.empty() && fs::path(item).filename().string().rfind("vgpreload_core", 0) != 0) return;
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
      }
    }
    dlopen(LLMSPELL_LIBNODE_PATH, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
#endif
  }

  std::once_flag once_;
  Engine* engine_ = nullptr;
  std::string error_;
};

}  // namespace

const std::vector<Engine*>& allEngines() {
  static JsEngineLoader js;
  static const std::vector<Engine*> all = {&luaEngine(), &tengoEngine(), &js};
  return all;
}

Engine* findEngine(std::string_view name) {
  for (Engine* e : allEngines())
    if (e->name() == name) return e;
  return nullptr;
}

Engine* engineForPath(std::string_view path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (Engine* e : allEngines())
    for (const auto& x : e->extensions())
      if (x == ext) return e;
  return nullptr;
}

}  // namespace llmspell
