// `spell` namespace: params, output, context, config, include; and the reading of the source
// files a spell includes or requires.
#include <algorithm>
#include <filesystem>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/read_file.hpp"
#include "llmspell/runtime/spell_args.hpp"

namespace llmspell {

namespace {
std::string quoteArg(const std::string& s) {
  return s.find_first_of(" \t'\"$") == std::string::npos ? s : "'" + s + "'";
}
}  // namespace

SpellSource readSpellSource(RunContext& run, std::string_view path, std::string caller) {
  namespace fs = std::filesystem;
  if (path.find('\0') != std::string_view::npos)
    fail(codes::kInvalidArgument, caller + ": the path contains a NUL byte");
  SpellSource src;
  src.caller = std::move(caller);
  fs::path dir = run.spellDir.empty() ? fs::current_path() : fs::path(run.spellDir);
  fs::path wrote = fs::path(path).lexically_normal();
  fs::path abs = (dir / wrote).lexically_normal();
  src.chunkName = wrote.string();
  src.path = abs.string();
  src.readable = run.permissions().canRead(src.path);
  const std::string& shown = src.caller;
  // The engine's own source files inside the spell's directory tree, where the spell itself lives,
  // need no grant: `..` and symlinks are resolved before the tree is compared, and the resolved
  // file is opened so that a link swapped in afterwards is refused rather than followed.
  const auto& exts = run.sourceExtensions;
  bool source = std::find(exts.begin(), exts.end(), wrote.extension().string()) != exts.end();
  std::error_code ec1, ec2;
  fs::path root = weaklyCanonicalPath(dir, ec1);
  fs::path real = weaklyCanonicalPath(abs, ec2);
  fs::path rel = real.lexically_relative(root);
  bool inside = !ec1 && !ec2 && !rel.empty() && *rel.begin() != ".." && rel != ".";
  if (source && inside) {
    try {
      src.text = readRegularFile(real, kMaxSourceBytes, true, shown);
      return src;
    } catch (const Exception& e) {
      // A symlink where the check saw none (dangling, or swapped in): the grant decides, so the
      // answer is the same as for a live link leading out of the tree.
      if (e.error().code != codes::kPermissionDenied) throw;
    }
  }
  if (!src.readable) {
    std::string only;
    for (const auto& x : exts) only += (only.empty() ? "" : " or ") + x;
    fail(codes::kPermissionDenied,
         shown + ": without a read grant only " + (only.empty() ? "source" : only) +
             " files inside the spell's directory can be run; run with --allow-read=" +
             quoteArg(src.path) + " to allow this one");
  }
  src.text = readRegularFile(run.permissions().checkRead(src.path), kMaxSourceBytes, true, shown);
  return src;
}

Error sourceSyntaxError(const SpellSource& src, Error e) {
  e.code = std::string(codes::kInvalidArgument);
  if (src.readable) return e;
  e.source = src.chunkName;
  e.message = src.caller + ": syntax error" +
              (e.line > 0 ? " at line " + std::to_string(e.line) : "") +
              "; the compiler's message is not shown because it quotes the file, which the spell "
              "has no read grant for (run with --allow-read=" + quoteArg(src.path) + " to see it)";
  return e;
}

void llmspell_register_spell(Registry& r) {
  r.fn("spell", "params").property()
      .returns("table").doc("Typed spell params from the manifest defaults and --param")
      .sync([](CallContext& cx, Args) -> Value { return cx.run.params.deepCopy(); });
  r.fn("spell", "args").property()
      .returns("list of strings")
      .doc("The spell's positional arguments: `llmspell run spell.lua -- 4 2 0` gives {\"4\", \"2\", \"0\"}")
      .sync([](CallContext& cx, Args) -> Value {
        std::vector<Value> out;
        if (auto* a = cx.run.findService<SpellArgs>())
          for (const auto& s : a->list) out.emplace_back(s);
        return Value::array(std::move(out));
      });
  r.fn("spell", "output")
      .param("value", R"({})")
      .opt("format", R"({"type":"string","enum":["text","json","yaml"],"default":"text"})")
      .returns("nil").doc("Emits a result: printed in text mode, collected in --output json")
      .sync([](CallContext& cx, Args a) -> Value {
        if (cx.run.output) cx.run.output(a[0], a[1].asString());
        return Value();
      });
  r.fn("spell", "context")
      .returns("{name, run_id, engine, data_dir, spell_dir, path}")
      .doc("Facts about this run")
      .sync([](CallContext& cx, Args) -> Value {
        return Value::object({{"name", cx.run.spellName},
                              {"run_id", cx.run.runId},
                              {"engine", cx.run.engine},
                              {"data_dir", cx.run.dataDir},
                              {"spell_dir", cx.run.spellDir},
                              {"path", cx.run.spellPath}});
      });
  r.fn("spell", "config")
      .param("key", R"({"type":"string"})", "dotted path into the manifest's config")
      .opt("default", R"({})")
      .returns("the value, or default").doc("Reads the spell's configuration")
      .sync([](CallContext& cx, Args a) -> Value {
        const Value* cur = &cx.run.config;
        std::string key = a[0].asString();
        size_t start = 0;
        while (cur && start <= key.size()) {
          size_t dot = key.find('.', start);
          std::string part = key.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
          cur = cur->isObject() ? cur->asObject().find(part) : nullptr;
          if (dot == std::string::npos) break;
          start = dot + 1;
        }
        return cur && !cur->isNull() ? *cur : a[1];
      });
  r.fn("spell", "include")
      .param("path", R"({"type":"string","minLength":1})",
             "a source file inside the spell's directory (anything else needs --allow-read)")
      .returns("the included chunk's return value")
      .doc("Runs another source file of the spell and returns its value")
      .async([](CallContext& cx, Args a) -> PromisePtr {
        if (!cx.run.include)
          return Promise::rejected(Error(codes::kInternal, "this engine does not support spell.include"));
        return cx.run.include(readSpellSource(cx.run, a[0].asString(),
                                              "spell.include('" + a[0].asString() + "')"));
      });
}

}  // namespace llmspell
