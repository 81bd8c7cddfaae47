// llmspell check / new / docs.
#include "cli/commands.hpp"

#include <algorithm>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli/lint.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/llm/call_log.hpp"
#include "llmspell/spell/spell.hpp"
#if __has_include("llmspell/bridge/docs.hpp")
#include "llmspell/bridge/docs.hpp"
#define LLMSPELL_HAVE_DOCS 1
#endif

namespace llmspell::cli {

namespace fs = std::filesystem;

namespace {

// The spell's other source files (included or required), read as `run` reads them: linted too
// when the whole spell is checked, and searched for the params they read. At most 200, under the
// manifest's directory; path and text.
std::vector<std::pair<std::string, std::string>> otherSources(const Manifest& m, const std::string& entry,
                                                              const Engine& e) {
  std::vector<std::pair<std::string, std::string>> out;
  std::error_code ec;
  auto exts = e.extensions();
  fs::recursive_directory_iterator it(m.dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end && out.size() < 200; it.increment(ec)) {
    const fs::path& f = it->path();
    if (!it->is_regular_file(ec) || std::find(exts.begin(), exts.end(), f.extension().string()) == exts.end()) continue;
    if (fs::equivalent(f, entry, ec)) continue;
    try {
      out.emplace_back(f.string(), readSpellFile(f.string(), m.dir));
    } catch (const Exception&) {
    }
  }
  return out;
}

}  // namespace

int checkSpell(const std::string& path, const CheckOptions& opts) {
  std::vector<Diagnostic> diags;
  std::vector<LintDiagnostic> lint;
  fs::path p = path;
  std::error_code ec;
  if (!fs::exists(p, ec)) {
    std::fprintf(stderr, "error[invalid_argument]: spell not found: %s\n", path.c_str());
    return 2;
  }
  // The files are found and read as `run` reads them (the same caps and refusals).
  std::optional<Manifest> m;
  fs::path manifestPath = fs::is_directory(p, ec) ? p / "spell.yaml" : p.parent_path() / "spell.yaml";
  if (fs::exists(manifestPath, ec)) {
    m = loadManifest(manifestPath.string(), diags);
  } else if (fs::is_directory(p, ec)) {
    diags.push_back({manifestPath.string(), 0, "missing spell.yaml"});
  }
  size_t manifestDiags = diags.size();
  std::string entry, within;
  if (!fs::is_directory(p, ec)) {
    entry = p.string();
  } else if (!m) {
    if (fs::exists(p / "main.lua", ec)) entry = (p / "main.lua").string();
  } else {
    try {
      entry = manifestEntry(*m, manifestPath.string());
      within = m->dir;
    } catch (const Exception& e) {
      diags.push_back({manifestPath.string(), 0, e.error().message});
    }
  }
  std::string source;
  bool haveSource = false;
  if (!entry.empty()) {
    try {
      source = readSpellFile(entry, within);
      haveSource = true;
    } catch (const Exception& e) {
      diags.push_back({entry, 0, e.error().code == codes::kNotFound && m && !m->entry.empty()
                                     ? "entry '" + m->entry + "' does not exist"
                                     : e.error().message});
    }
  }
  std::string syntaxCode = "entry";
  if (haveSource) {
    Engine* e = engineForPath(entry);
    if (m && !m->engine.empty()) e = findEngine(m->engine);
    if (!e) {
      diags.push_back({entry, 0, "unknown engine for this file extension"});
    } else {
      Loop loop;
      RunContext run(loop);
      auto ctx = e->createContext(run, Limits{});
      if (auto err = ctx->check(source, fs::path(entry).filename().string())) {
        syntaxCode = "syntax";
        diags.push_back({entry, err->line, err->message});
      } else {
        LintInput in;
        in.file = entry;
        in.source = source;
        in.lang = e->name() == "js" ? Lang::kJs : e->name() == "tengo" ? Lang::kTengo : Lang::kLua;
        std::vector<std::pair<std::string, std::string>> others;
        if (m) {
          in.manifest = &*m;
          in.manifestFile = manifestPath.string();
          others = otherSources(*m, entry, *e);
          for (const auto& [_, text] : others) in.otherSources.push_back(text);
        }
        lint = lintSpell(in);
        // A spell checked as a whole (its directory): its other files too, each on its own.
        for (const auto& [file, text] : fs::is_directory(p, ec) ? others : decltype(others){}) {
          if (auto err = ctx->check(text, fs::path(file).filename().string())) {
            lint.push_back({file, err->line, 0, "error", "syntax", redactSecrets(err->message)});
            continue;
          }
          LintInput more = in;
          more.file = file;
          more.source = text;
          more.otherSources.clear();
          more.checkParams = false;
          auto found = lintSpell(more);
          lint.insert(lint.end(), found.begin(), found.end());
        }
      }
    }
  }
  // Manifest and syntax problems first, as `check` always gave them, then the lint's.
  std::vector<LintDiagnostic> all;
  for (size_t i = 0; i < diags.size(); ++i) {
    const auto& d = diags[i];
    bool warn = d.message.find("(ignored)") != std::string::npos;
    all.push_back({d.file, d.line, 0, warn ? "warning" : "error", i < manifestDiags ? "manifest" : syntaxCode,
                   redactSecrets(d.message)});
  }
  all.insert(all.end(), lint.begin(), lint.end());
  size_t errors = 0, warnings = 0;
  for (const auto& d : all) {
    if (d.severity == "error") ++errors;
    else if (d.severity == "warning") ++warnings;
  }
  int code = errors > 0 || (opts.strict && warnings > 0) ? 1 : 0;
  if (opts.format == "json") {
    Value arr = Value::array();
    for (const auto& d : all)
      arr.asArray().push(Value::object({{"file", d.file},
                                             {"line", static_cast<int64_t>(d.line)},
                                             {"column", static_cast<int64_t>(d.column)},
                                             {"severity", d.severity},
                                             {"code", d.code},
                                             {"message", redactSecrets(d.message)}}));
    std::printf("%s\n", toJsonText(arr, {.pretty = true}).c_str());
    return code;
  }
  for (const auto& d : all) std::fprintf(stderr, "%s\n", redactSecrets(d.toString()).c_str());
  if (code == 0)
    std::printf("ok: %s%s\n", path.c_str(),
                warnings ? (" (" + std::to_string(warnings) + (warnings == 1 ? " warning)" : " warnings)")).c_str() : "");
  return code;
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
  std::string ext = engine == "js" ? "js" : engine == "tengo" ? "tengo" : "lua";
  std::ofstream(dir / "spell.yaml") << "name: " << base << "\n"
                                    << "version: 0.1.0\n"
                                    << "description: A new spell\n"
                                    << "engine: " << engine << "\n"
                                    << "entry: main." << ext << "\n"
                                    << "params:\n"
                                    << "  who: {type: string, default: world, description: Who to greet}\n"
                                    << "permissions:\n"
                                    << "  net: []\n"
                                    << "  read: []\n"
                                    << "  write: []\n"
                                    << "limits: {memory_mb: 64, timeout_s: 60}\n";
  std::string runIt = "run with `llmspell run " + name + " --param who=you`";
  std::string testIt = "run with `llmspell test " + name + "` (see docs/testing.md)";
  // The test includes the entry, whose value is the greeting for the manifest's default param.
  if (ext == "lua") {
    std::ofstream(dir / "main.lua") << "-- " << base << ": " << runIt << "\n"
                                    << "local who = spell.params.who\n"
                                    << "log.info(\"greeting\", {who = who})\n"
                                    << "return \"Hello, \" .. who .. \"!\"\n";
    std::ofstream(dir / (base + "_test.lua")) << "-- Tests of " << base << ": " << testIt << "\n"
                                              << "describe(\"" << base << "\", function()\n"
                                              << "  it(\"greets the default param\", function()\n"
                                              << "    expect(spell.include(\"main.lua\")).to_equal(\"Hello, world!\")\n"
                                              << "  end)\n"
                                              << "end)\n";
  } else if (ext == "js") {
    std::ofstream(dir / "main.js") << "// " << base << ": " << runIt << "\n"
                                   << "const who = spell.params.who;\n"
                                   << "log.info(\"greeting\", {who});\n"
                                   << "export default `Hello, ${who}!`;\n";
    std::ofstream(dir / (base + "_test.js")) << "// Tests of " << base << ": " << testIt << "\n"
                                             << "describe(\"" << base << "\", () => {\n"
                                             << "  it(\"greets the default param\", async () => {\n"
                                             << "    expect(await spell.include(\"main.js\")).toEqual(\"Hello, world!\");\n"
                                             << "  });\n"
                                             << "});\n";
  } else {
    std::ofstream(dir / "main.tengo") << "// " << base << ": " << runIt << "\n"
                                      << "spell := import(\"spell\")\n"
                                      << "log := import(\"log\")\n"
                                      << "who := spell.params.who\n"
                                      << "log.info(\"greeting\", {who: who})\n"
                                      << "out := \"Hello, \" + who + \"!\"\n";
    // Tengo has no spell.include yet, so its test cannot run main.tengo: it checks the params.
    std::ofstream(dir / (base + "_test.tengo")) << "// Tests of " << base << ": " << testIt << "\n"
                                                << "spell := import(\"spell\")\n"
                                                << "describe(\"" << base << "\", func() {\n"
                                                << "  it(\"has the default param\", func() {\n"
                                                << "    expect(spell.params.who).to_equal(\"world\")\n"
                                                << "  })\n"
                                                << "})\n";
  }
  std::printf("created %s (spell.yaml, main.%s, %s_test.%s); run it with: llmspell run %s; test it with: llmspell test %s\n",
              name.c_str(), ext.c_str(), base.c_str(), ext.c_str(), name.c_str(), name.c_str());
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

namespace {

// "30s" / "10m" / "2h" / "7d" before now, or an ISO date / date-time (UTC). nullopt when bad.
std::optional<double> parseSince(const std::string& s, double now) {
  if (s.empty()) return 0.0;
  char* end = nullptr;
  double n = std::strtod(s.c_str(), &end);
  if (end != s.c_str() && end && end[0] && !end[1] && n >= 0) {
    switch (end[0]) {
      case 's': return now - n;
      case 'm': return now - n * 60;
      case 'h': return now - n * 3600;
      case 'd': return now - n * 86400;
      default: break;
    }
  }
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  int got = std::sscanf(s.c_str(), "%4d-%2d-%2d%*1[T ]%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec);
  if (got < 3 || mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = got >= 4 ? h : 0;
  tm.tm_min = got >= 5 ? mi : 0;
  tm.tm_sec = got >= 6 ? sec : 0;
  return static_cast<double>(timegm(&tm));
}

std::string isoTime(double ts) {
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int printRuns(const Value& runs, bool json, const std::string& path) {
  if (json) {
    Value out = runs.deepCopy();
    for (auto& r : out.asArray()) {
      r.asObject().set("started", isoTime(r.getNumber("first_ts")));
      r.asObject().set("ended", isoTime(r.getNumber("last_ts")));
    }
    std::printf("%s\n", toJsonText(out, {.pretty = true}).c_str());
    return 0;
  }
  if (runs.asArray().empty()) {
    std::fprintf(stderr, "no runs with LLM calls logged (%s)\n", path.c_str());
    return 0;
  }
  std::printf("%-16s  %-20s  %-24s  %5s  %6s  %8s  %8s  %10s\n", "RUN", "STARTED", "SPELL", "CALLS", "ERRORS", "IN", "OUT",
              "COST_USD");
  for (const auto& r : runs.asArray()) {
    auto count = [&](const char* k) { return r.get(k).isNumber() ? std::to_string(r.getInt(k)) : std::string("-"); };
    char cost[32] = "-";
    if (r.get("cost_usd").isNumber()) std::snprintf(cost, sizeof cost, "%.6f", r.getNumber("cost_usd"));
    std::printf("%-16s  %-20s  %-24s  %5s  %6s  %8s  %8s  %10s\n", r.getString("run_id").c_str(),
                isoTime(r.getNumber("first_ts")).c_str(), r.getString("spell").c_str(), count("calls").c_str(),
                count("errors").c_str(), count("input_tokens").c_str(), count("output_tokens").c_str(), cost);
  }
  std::printf("(`llmspell logs --run RUN` shows one run's calls)\n");
  return 0;
}

}  // namespace

int logs(const LogsOptions& o) {
  std::string path = o.db;
  if (path.empty()) {
    const char* env = std::getenv("LLMSPELL_CALL_LOG");
    path = env && *env && std::string_view(env) != "off" ? env : defaultDataDir() + "/calls.db";
  }
  double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto since = parseSince(o.since, now);
  if (!since) {
    std::fprintf(stderr, "error[invalid_argument]: --since expects 30s, 10m, 2h, 7d or a date like 2026-11-25T10:00, got '%s'\n",
                 o.since.c_str());
    return 2;
  }
  if (o.limit < 1) {
    std::fprintf(stderr, "error[invalid_argument]: --limit must be at least 1\n");
    return 2;
  }
  if (o.runs && (!o.run.empty() || !o.status.empty())) {
    std::fprintf(stderr, "error[invalid_argument]: --runs lists runs; --run and --status select calls\n");
    return 2;
  }
  std::error_code ec;
  Value rows = Value::array();
  if (fs::exists(path, ec)) {
    try {
      llm::CallLog log(path);
      llm::CallLog::Filter f;
      f.model = o.model;
      f.since = *since;
      f.status = o.status;
      f.limit = o.limit;
      f.runId = o.run;
      f.oldestFirst = !o.run.empty();
      if (o.runs) return printRuns(log.runs(f), o.json, path);
      rows = log.query(f);
    } catch (const Exception& e) {
      std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), redactSecrets(e.error().message).c_str());
      return 1;
    }
  }
  if (o.json) {
    for (auto& r : rows.asArray()) r.asObject().set("time", isoTime(r.getNumber("ts")));
    std::printf("%s\n", toJsonText(rows, {.pretty = true}).c_str());
    return 0;
  }
  if (rows.asArray().empty()) {
    if (!o.run.empty()) {
      // A run id nobody logged is most often a typo or a run from another data directory.
      std::fprintf(stderr, "error[not_found]: no LLM calls logged for run %s in %s (`llmspell logs --runs` lists the runs)\n",
                   o.run.c_str(), path.c_str());
      return 1;
    }
    std::fprintf(stderr, "no LLM calls logged%s (%s)\n", o.model.empty() && o.since.empty() && o.status.empty() ? "" : " that match",
                 path.c_str());
    return 0;
  }
  if (!o.run.empty()) std::printf("run %s (%s)\n", o.run.c_str(), rows.asArray()[0].getString("spell").c_str());
  std::printf("%-20s  %-32s  %-14s  %7s  %7s  %10s  %8s  %s\n", "TIME", "MODEL", "STATUS", "IN", "OUT", "COST_USD",
              "MS", "SPELL");
  bool unknown = false;
  for (const auto& r : rows.asArray()) {
    std::string status = r.getString("error_code");
    if (status.empty()) status = "ok";
    // NULL tokens / cost: the provider reported no usage (or the call failed): "-", not 0.
    auto count = [&](const char* k) {
      if (!r.get(k).isNumber()) return std::string("-");
      return std::to_string(r.getInt(k));
    };
    char cost[32] = "-";
    if (r.get("cost_usd").isNumber()) std::snprintf(cost, sizeof cost, "%.6f", r.getNumber("cost_usd"));
    if (status == "ok" && !r.get("input_tokens").isNumber()) unknown = true;
    std::printf("%-20s  %-32s  %-14s  %7s  %7s  %10s  %8lld  %s\n", isoTime(r.getNumber("ts")).c_str(),
                r.getString("model").c_str(), status.c_str(), count("input_tokens").c_str(),
                count("output_tokens").c_str(), cost, static_cast<long long>(r.getInt("latency_ms")),
                r.getString("spell").c_str());
  }
  if (unknown) std::printf("(-: the provider reported no token usage for that call, so its cost is unknown)\n");
  return 0;
}

}  // namespace llmspell::cli
