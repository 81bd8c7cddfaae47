// llmspell: run, exec, check, new, docs. Exit codes per API.md: 0 ok, 1 spell error, 2 usage,
// 3 limit or permission stop.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/debug.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/core/suggest.hpp"
#include "llmspell/engines/engine.hpp"
#include "llmspell/llm/client.hpp"
#include "llmspell/serve/serve.hpp"
#include "llmspell/spell/spell.hpp"

using namespace llmspell;

namespace {

struct RunFlags {
  RunOptions opts;
  std::vector<std::string> params;
  double timeout = 0;
  size_t memory = 0;
  uint64_t instructions = 0;
  std::string record, replay, mockReplies, approve;
  double maxCost = 0;
  bool durable = false;                 // --durable
  std::string runId, checkpoints;       // --run-id, --checkpoints
};

// Checks a limit flag's number as the manifest's `limits: {key: ...}` is checked (limitProblem):
// CLI11's own range checks let NaN through, and a number past a bound overflows where it is used.
CLI::Validator limitFlag(const char* key, bool whole) {
  return CLI::Validator(
      [key, whole](std::string& s) -> std::string {
        const char* what = whole ? "a whole number" : "a number";
        char* end = nullptr;
        double v = std::strtod(s.c_str(), &end);
        if (s.empty() || end != s.c_str() + s.size() ||
            (whole && s.find_first_not_of("0123456789") != std::string::npos))
          return std::string("expects ") + what + ", got '" + s + "'";
        return limitProblem(key, v);
      },
      "", "");
}

// `--allow-read ''` would grant the current directory (an empty path resolves to it).
CLI::Validator nonEmpty(const char* what) {
  return CLI::Validator(
      [what](std::string& s) -> std::string { return s.empty() ? std::string("expects ") + what + ", got ''" : ""; },
      "", "");
}

void addRunOptions(CLI::App* cmd, RunFlags& f) {
  cmd->add_option("--param,-p", f.params, "A spell param as key=value (repeatable)");
  cmd->add_option("--model,-m", f.opts.model, "Model as provider/name");
  cmd->add_option("--engine,-e", f.opts.engine, "Engine: lua")->check(CLI::IsMember({"lua", "js", "tengo"}));
  cmd->add_option("--allow-net", f.opts.allowNet, "Allow network access to HOST (repeatable, * for any)")
      ->allow_extra_args(false)
      ->check(nonEmpty("a host"));
  cmd->add_option("--allow-read", f.opts.allowRead, "Allow reading under PATH (repeatable)")
      ->allow_extra_args(false)
      ->check(nonEmpty("a path"));
  cmd->add_option("--allow-write", f.opts.allowWrite, "Allow writing under PATH (repeatable)")
      ->allow_extra_args(false)
      ->check(nonEmpty("a path"));
  cmd->add_option("--allow-env", f.opts.allowEnv, "Allow reading environment variable NAME (repeatable)")
      ->allow_extra_args(false)
      ->check(nonEmpty("a variable name"));
  cmd->add_flag("--allow-run", f.opts.allowRun, "Allow running processes");
  cmd->add_option("--output,-o", f.opts.outputFormat, "Result format")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_option("--timeout", f.timeout, "Wall-clock limit in seconds")->check(limitFlag("timeout_s", false));
  cmd->add_option("--memory-limit", f.memory, "Memory limit in MiB")->check(limitFlag("memory_mb", true));
  cmd->add_option("--instruction-limit", f.instructions, "Instruction budget")
      ->check(limitFlag("instructions", true));
  cmd->add_option("--record", f.record, "Record every provider exchange to FILE (JSON Lines)");
  cmd->add_option("--replay", f.replay, "Answer provider calls from a recording FILE");
  cmd->add_option("--mock-replies", f.mockReplies, "Scripted replies for the mock provider (JSON Lines)");
  cmd->add_option("--max-cost", f.maxCost, "Stop LLM calls once the run has spent USD")
      ->check(CLI::PositiveNumber)
      ->check(limitFlag("max_cost_usd", false));
  cmd->add_flag("--durable", f.durable,
                "Checkpoint the run's steps and calls; run again with the same --run-id to resume it");
  cmd->add_option("--run-id", f.runId, "The run's id (a durable run resumes the checkpoints of this id)");
  cmd->add_option("--checkpoints", f.checkpoints,
                  "Where a durable run keeps its checkpoints: a SQLite file or a postgres:// URL "
                  "(default $LLMSPELL_CHECKPOINTS, else <data dir>/checkpoints.db)");
  cmd->add_option("--approve", f.approve,
                  "Approve calls of tools that require approval: deny (default), all, ask, or NAME,NAME")
      ->check([](const std::string& v) -> std::string {
        if (v.empty() || v.front() == ',' || v.back() == ',' || v.find(",,") != std::string::npos)
          return "--approve takes deny, all, ask or a comma-separated list of tool names";
        return "";
      });
  // TRACEPARENT: the environment carrier OpenTelemetry proposes for processes a traced caller
  // starts (a CI job, a shell script with otel-cli).
  cmd->add_option("--traceparent", f.opts.traceparent,
                  "Join this W3C trace context (00-TRACEID-SPANID-FLAGS) instead of starting a trace")
      ->envname("TRACEPARENT");
  cmd->add_option("--otlp-endpoint", f.opts.otlpEndpoint,
                  "Send the run's trace spans as OTLP/HTTP JSON to URL (default: $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "
                  "or $OTEL_EXPORTER_OTLP_ENDPOINT/v1/traces)");
}

std::string errorLine(const Error& e) {
  std::string where = (!e.source.empty() && e.line > 0) ? " (at " + e.source + ":" + std::to_string(e.line) + ")" : "";
  return "error[" + e.code + "]: " + e.message + where;
}

int finish(const RunFlags& f, const RunResult& r) {
  for (const auto& e : r.unobservedTaskErrors) {
    std::fprintf(stderr, "warning: a spawned task failed and nothing waited for it: %s\n",
                 redactSecrets(errorLine(e)).c_str());
  }
  if (f.opts.outputFormat == "json") {
    Value out = Value::object({{"ok", !r.error.has_value()}});
    if (r.error) out.asObject().set("error", r.error->toObject());
    else out.asObject().set("value", r.value);
    out.asObject().set("outputs", r.outputs);
    out.asObject().set("exit_code", static_cast<int64_t>(r.exitCode));
    std::string text;
    try {
      text = toJsonText(out, {.pretty = true});
    } catch (const Exception& e) {
      text = R"({"ok": false, "error": {"code": "internal", "message": "result is not JSON-encodable"}})";
    }
    std::printf("%s\n", redactSecrets(text).c_str());
    return r.exitCode;
  }
  if (r.error) {
    std::fprintf(stderr, "%s\n", redactSecrets(errorLine(*r.error)).c_str());
    return r.exitCode;
  }
  if (!r.value.isNull()) {
    std::string text;
    try {
      text = r.value.isString() ? r.value.asString() : toJsonText(r.value, {.pretty = true});
    } catch (const Exception&) {
      text = r.value.describe();
    }
    std::printf("%s\n", text.c_str());
  }
  return r.exitCode;
}

RunResult runWith(RunFlags& f) {
  for (const auto& p : f.params) {
    auto eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      RunResult r;
      r.exitCode = 2;
      r.error = Error(codes::kInvalidArgument,
                      "--param expects key=value, got '" + p +
                          "' (each --param value is one key=value; arguments for the spell itself go "
                          "after --, as in `llmspell run spell.lua -- " + p + "`, and reach it as spell.args)");
      return r;
    }
    f.opts.params.emplace_back(p.substr(0, eq), p.substr(eq + 1));
  }
  if (f.timeout > 0) f.opts.timeoutSeconds = f.timeout;
  if (f.memory > 0) f.opts.memoryMb = f.memory;
  if (f.instructions > 0) f.opts.instructions = f.instructions;
  if (!f.record.empty()) f.opts.extraConfig.asObject().set("record", f.record);
  if (!f.replay.empty()) f.opts.extraConfig.asObject().set("replay", f.replay);
  if (!f.mockReplies.empty()) f.opts.extraConfig.asObject().set("mock_replies", f.mockReplies);
  if (!f.approve.empty()) f.opts.extraConfig.asObject().set("approve", f.approve);
  if (f.maxCost > 0) f.opts.extraConfig.asObject().set("max_cost_usd", f.maxCost);
  if (f.durable || !f.runId.empty() || !f.checkpoints.empty()) {
    Value d = Value::object({{"run_id", f.runId}, {"store", f.checkpoints}});
    if (!f.durable) d.asObject().set("enabled", false);
    if (f.durable || !f.opts.extraConfig.get("durable").isObject()) f.opts.extraConfig.asObject().set("durable", d);
  }
  // A spell stuck past its time limit inside a built-in call is stopped with the process: the
  // error is reported as for any run, then the process exits at once (committed state is safe:
  // SQLite rolls back an unfinished transaction on the next open).
  f.opts.onHardStop = [&f](const Error& e) {
    RunResult r;
    r.error = e;
    r.exitCode = exitCodeFor(e);
    finish(f, r);
    std::fflush(stdout);
    std::fflush(stderr);
    std::_Exit(r.exitCode);
  };
  return runSpell(f.opts);
}

// What `llmspell serve --queue` put in a queued run's row (the request's limits and grants,
// already checked against the manifest and the caller's key): applied over the worker's own
// flags. A limit is the lower of the two; grants, when given, are the run's whole grants (the
// manifest's and the worker's --allow-* flags are not added to them: the request narrowed them).
void applyQueuedOptions(RunFlags& f, const Value& o) {
  if (!o.isObject()) return;
  auto lower = [](auto& flag, double v) {
    using T = std::decay_t<decltype(flag)>;
    if (flag == T{} || v < static_cast<double>(flag)) flag = static_cast<T>(v);
  };
  if (o.get("timeout_s").isNumber()) lower(f.timeout, o.getNumber("timeout_s"));
  if (o.get("memory_mb").isNumber()) lower(f.memory, o.getNumber("memory_mb"));
  if (o.get("instructions").isNumber()) lower(f.instructions, o.getNumber("instructions"));
  if (o.get("typed_params").isObject()) f.opts.typedParams = o.get("typed_params").deepCopy();
  if (o.get("config").isObject())
    for (const auto& [k, v] : o.get("config").asObject()) f.opts.extraConfig.asObject().set(k, v.deepCopy());
  if (o.get("traceparent").isString()) f.opts.traceparent = o.getString("traceparent");
  const Value& g = o.get("grants");
  if (!g.isObject()) return;
  std::filesystem::path dir = o.getString("dir");
  auto strings = [&g](const char* k) {
    std::vector<std::string> out;
    if (g.get(k).isArray())
      for (const auto& x : g.get(k).asArray())
        if (x.isString()) out.push_back(x.asString());
    return out;
  };
  auto inDir = [&dir](std::vector<std::string> ps) {
    for (auto& p : ps)
      if (!std::filesystem::path(p).is_absolute() && !dir.empty()) p = (dir / p).lexically_normal().string();
    return ps;
  };
  f.opts.manifestGrants = false;
  f.opts.allowNet = strings("net");
  f.opts.allowRead = inDir(strings("read"));
  f.opts.allowWrite = inDir(strings("write"));
  f.opts.allowEnv = strings("env");
  f.opts.allowRun = g.get("run").isBool() && g.get("run").asBool();
}

// The run flags a `llmspell test` child gets from its parent.
std::vector<std::string> forwardedFlags(const RunFlags& f) {
  std::vector<std::string> out;
  auto many = [&](const char* flag, const std::vector<std::string>& vs) {
    for (const auto& v : vs) out.insert(out.end(), {flag, v});
  };
  auto one = [&](const char* flag, const std::string& v) {
    if (!v.empty()) out.insert(out.end(), {flag, v});
  };
  many("--param", f.params);
  many("--allow-net", f.opts.allowNet);
  many("--allow-read", f.opts.allowRead);
  many("--allow-write", f.opts.allowWrite);
  many("--allow-env", f.opts.allowEnv);
  if (f.opts.allowRun) out.push_back("--allow-run");
  one("--model", f.opts.model);
  one("--replay", f.replay);
  one("--mock-replies", f.mockReplies);
  one("--approve", f.approve);
  one("--traceparent", f.opts.traceparent);
  one("--otlp-endpoint", f.opts.otlpEndpoint);
  if (f.timeout > 0) one("--timeout", std::to_string(f.timeout));
  if (f.memory > 0) one("--memory-limit", std::to_string(f.memory));
  if (f.instructions > 0) one("--instruction-limit", std::to_string(f.instructions));
  if (f.maxCost > 0) one("--max-cost", std::to_string(f.maxCost));
  return out;
}

// A `llmspell test` child: runs one test file as a spell (with the grants of its spell's
// manifest), then its tests, and writes {ok, error, report} as JSON to o.childReport.
int runTestChild(RunFlags& f, const cli::TestOptions& o) {
  if (o.paths.size() != 1) {
    std::fprintf(stderr, "error[invalid_argument]: --child-report runs exactly one file\n");
    return 2;
  }
  const std::string& file = o.paths[0];
  f.opts.spellPath = file;
  if (Engine* e = engineForPath(file)) f.opts.engine = std::string(e->name());
  f.opts.manifestPath = cli::manifestForTest(file);
  Value topts = Value::object();
  if (!o.filter.empty()) topts.asObject().set("filter", o.filter);
  if (o.testTimeout > 0) topts.asObject().set("test_timeout", o.testTimeout);
  f.opts.afterMain = [topts](RunContext& run) {
    CallContext cx{run, run.loop(), "test.run"};
    return Registry::invoke("test.run", cx, {topts});
  };
  Registry::extend(cli::addTestGlobals);
  RunResult r = runWith(f);
  for (const auto& e : r.unobservedTaskErrors)
    std::fprintf(stderr, "warning: a spawned task failed and nothing waited for it: %s\n",
                 redactSecrets(errorLine(e)).c_str());
  Value out = Value::object({{"ok", !r.error.has_value()}});
  if (r.error) out.asObject().set("error", r.error->toObject());
  if (r.value.isObject() && r.value.get("tests").isArray()) out.asObject().set("report", r.value);
  std::string text;
  try {
    text = toJsonText(out);
  } catch (const Exception& e) {
    text = toJsonText(Value::object({{"ok", false}, {"error", Error(codes::kInternal, e.error().message).toObject()}}));
  }
  if (FILE* fp = std::fopen(o.childReport.c_str(), "wb")) {
    std::fwrite(text.data(), 1, text.size(), fp);
    std::fclose(fp);
  }
  if (r.error) return r.exitCode;
  return r.value.getInt("failed") > 0 ? 1 : 0;
}

// The first word that is not an option must name a command. Returns 2 after explaining when it
// does not (a spell path given without `run`, a mistyped command), 0 otherwise.
int checkCommandWord(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> commands;
  for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) commands.push_back(sub->get_name());
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") return 0;
    if (a == "--log-level") {
      ++i;
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    if (std::find(commands.begin(), commands.end(), a) != commands.end()) return 0;
    std::error_code ec;
    bool spellLike = a.ends_with(".lua") || a.ends_with(".tengo") || a.ends_with(".yaml") ||
                     a.find('/') != std::string_view::npos || std::filesystem::exists(std::string(a), ec);
    std::string msg = "error[invalid_argument]: '" + std::string(a) + "' is not a command";
    if (spellLike) {
      msg += "; to run a spell: llmspell run " + std::string(a);
    } else {
      auto close = closestNames(a, commands);
      if (!close.empty()) msg += "; did you mean " + orList(close) + "?";
      std::string all;
      for (const auto& c : commands) all += (all.empty() ? "" : ", ") + c;
      msg += " (commands: " + all + "; to run a spell: llmspell run FILE)";
    }
    std::fprintf(stderr, "%s\n", msg.c_str());
    return 2;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Provider keys and base URLs are the operator's: taken now, before a spell can touch the
  // environment.
  llm::captureOperatorEnvironment();
  // A worker process of `llmspell serve` (re-executed by the server, its socket on fd 3).
  if (argc == 2 && std::string_view(argv[1]) == "__serve-worker") return serve::runServeWorker(3);
  CLI::App app{"llmspell: run spells (Lua scripts) that drive LLMs, agents, tools and workflows"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "llmspell 0.1.0");
  std::string logLevel = "info";
  app.add_option("--log-level", logLevel, "debug, info, warn, error, off")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}));

  // The run options (30-odd flags) are added only to the command this invocation names: making
  // them for all four commands that take them was a tenth of a spell's start-up. The other
  // commands are still declared, so help lists them and a mistyped one is still caught.
  std::string_view named;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--log-level") ++i;  // its value is not the command
    else if (!a.empty() && a[0] != '-') {
      named = a;
      break;
    }
  }
  auto runOptionsFor = [named](std::string_view cmd) { return named.empty() || named == cmd; };

  RunFlags runF, execF;
  std::string spellPath, code, checkPath, newName, newEngine = "lua", docsFormat = "md";
  auto* run = app.add_subcommand("run", "Run a spell (a file, or a directory with spell.yaml)");
  run->add_option("spell", spellPath, "Spell file or directory")->required();
  if (runOptionsFor("run")) addRunOptions(run, runF);
  auto* exec = app.add_subcommand("exec", "Run code given on the command line");
  exec->add_option("code", code, "Source code")->required();
  if (runOptionsFor("exec")) addRunOptions(exec, execF);
  cli::CheckOptions checkO;
  auto* check = app.add_subcommand("check", "Check a spell: manifest, syntax, and lint against the registry");
  check->add_option("spell", checkPath, "Spell file or directory")->required();
  check->add_option("--format,-f", checkO.format, "text or json")->check(CLI::IsMember({"text", "json"}));
  check->add_flag("--strict", checkO.strict, "Exit 1 on warnings too");
  auto* mk = app.add_subcommand("new", "Create a new spell directory");
  mk->add_option("name", newName, "Directory name")->required();
  mk->add_option("--engine", newEngine, "Engine: lua (default), js or tengo")->check(CLI::IsMember({"lua", "js", "tengo"}));
  auto* docs = app.add_subcommand("docs", "Print the API reference generated from the registry");
  docs->add_option("--format,-f", docsFormat, "md, json, lua-meta or dts");
  // `tool list|info|call`: small spells run through the same runner as `exec`, so the allow
  // flags and --approve apply to `tool call` exactly as to a spell.
  RunFlags toolF;
  std::string toolName, toolArgs = "{}", toolCategory;
  auto* tool = app.add_subcommand("tool", "List, describe or call tools");
  tool->require_subcommand(1);
  auto* toolList = tool->add_subcommand("list", "List the built-in tools");
  toolList->add_option("--category", toolCategory, "Only this category");
  auto* toolInfo = tool->add_subcommand("info", "A tool's description and parameter schema (JSON)");
  toolInfo->add_option("name", toolName, "Tool name")->required();
  auto* toolCall = tool->add_subcommand("call", "Call a tool with JSON arguments");
  toolCall->add_option("name", toolName, "Tool name")->required();
  toolCall->add_option("args", toolArgs, "Arguments as a JSON object (default {})");
  if (runOptionsFor("tool")) addRunOptions(toolCall, toolF);
  RunFlags testF;
  cli::TestOptions testO;
  auto* testCmd = app.add_subcommand("test", "Run the tests of *_test.lua|js|tengo files and tests/ folders");
  testCmd->add_option("paths", testO.paths, "Test files or directories to search (default: .)");
  testCmd->add_option("--jobs,-j", testO.jobs, "Test files run at once (default: the number of cores)")
      ->check(CLI::Range(1, 4096));
  testCmd->add_option("--filter", testO.filter, "Only the tests whose \"describe > test\" name matches this RE2 pattern");
  testCmd->add_option("--format,-f", testO.format, "pretty (default), tap (TAP 13) or junit (JUnit XML)")
      ->check(CLI::IsMember({"pretty", "tap", "junit"}));
  testCmd->add_option("--test-timeout", testO.testTimeout, "Seconds each test and hook may take (default 5)")
      ->check(CLI::PositiveNumber);
  testCmd->add_option("--child-report", testO.childReport, "")->group("");  // internal: one file, in a child
  if (runOptionsFor("test")) addRunOptions(testCmd, testF);
  RunFlags replF;
  auto* repl = app.add_subcommand("repl", "An interactive session: expressions print their value, globals persist");
  if (runOptionsFor("repl")) addRunOptions(repl, replF);
  RunFlags debugF;
  std::string debugPath;
  int dapPort = 0;
  auto* debugCmd = app.add_subcommand("debug", "Debug a spell in the terminal (commands on stdin; see docs/debugging.md)");
  debugCmd->add_option("spell", debugPath, "Spell file or directory")->required();
  if (runOptionsFor("debug")) addRunOptions(debugCmd, debugF);
  auto* dapCmd = app.add_subcommand("dap", "Serve the Debug Adapter Protocol on stdio (or --port) for an editor");
  dapCmd->add_option("--port", dapPort, "Listen on 127.0.0.1:PORT instead of stdio")->check(CLI::Range(1, 65535));
  // `mcp serve SPELL | --spells DIR`: tools to MCP clients over stdio or Streamable HTTP.
  RunFlags mcpF;
  std::string mcpPath;
  cli::McpServeOptions mcpO;
  auto* mcpCmd = app.add_subcommand("mcp", "Model Context Protocol: serve a spell's tools to MCP clients");
  mcpCmd->require_subcommand(1);
  auto* mcpServe = mcpCmd->add_subcommand("serve", "Run SPELL, then serve the tools it defines over stdio or HTTP (see docs/mcp.md)");
  auto* mcpSpellOpt = mcpServe->add_option("spell", mcpPath, "Spell file or directory");
  auto* mcpSpellsOpt = mcpServe->add_option("--spells", mcpO.spellsDir,
                                            "Serve the tools of every spell in DIR, each named <spell>__<tool>, each spell under its own manifest");
  mcpSpellOpt->excludes(mcpSpellsOpt);
  mcpServe->add_option("--http,--listen", mcpO.http, "Serve over Streamable HTTP on [ADDR:]PORT (ADDR 127.0.0.1 unless given) at /mcp");
  mcpServe->add_flag("--builtins", mcpO.builtins, "Serve the built-in tools too (with the grants given)");
  mcpServe->add_option("--keys", mcpO.keysPath,
                       "Over HTTP: API key store (default $LLMSPELL_KEYS or <data dir>/keys.db; keys are required when it has any)");
  mcpServe->add_flag("--require-keys", mcpO.requireKeys, "Over HTTP: refuse requests without a valid API key even when the store has none");
  if (runOptionsFor("mcp")) addRunOptions(mcpServe, mcpF);
  serve::ServeOptions serveO;
  std::string listen = "127.0.0.1:8080";
  auto* serveCmd = app.add_subcommand("serve", "Serve the spells of a directory over HTTP, OpenAI-compatible too (see docs/serve.md)");
  serveCmd->add_option("--spells", serveO.spellsDir, "Directory whose subdirectories with spell.yaml are served (default .)");
  serveCmd->add_option("--listen", listen, "ADDR:PORT to listen on (default 127.0.0.1:8080; port 0 picks one)");
  serveCmd->add_option("--workers", serveO.workers, "Worker processes, one run at a time each (default: one per core, plus one)")->check(CLI::Range(1, 256));
  serveCmd->add_option("--run-timeout", serveO.defaultTimeoutSeconds, "Time limit (s) of a spell whose manifest sets none (default 300)")
      ->check(CLI::Range(0.001, 31536000.0));
  serveCmd->add_option("--drain-timeout", serveO.drainSeconds, "On SIGTERM, seconds in-flight runs get before they are cancelled (default 30)")
      ->check(CLI::Range(0.0, 86400.0));
  serveCmd->add_option("--max-body", serveO.bodyLimit, "Largest request body in bytes (default 1048576)")->check(CLI::Range(1, 1 << 30));
  serveCmd->add_option("--tls-cert", serveO.tlsCert, "PEM certificate (chain): serve HTTPS");
  serveCmd->add_option("--tls-key", serveO.tlsKey, "PEM private key of --tls-cert");
  serveCmd->add_option("--cors-origin", serveO.corsOrigins, "An origin browsers may call from (repeatable; '*' for any). Default: none");
  serveCmd->add_option("--keys", serveO.keysPath, "API key store (default $LLMSPELL_KEYS or <data dir>/keys.db; see `llmspell keys`)");
  serveCmd->add_flag("--require-keys", serveO.requireKeys, "Refuse requests without a valid API key even when the store has none");
  serveCmd->add_option("--mock-replies", serveO.mockReplies, "Scripted replies for the mock provider (JSON Lines), for every run");
  serveCmd->add_option("--queue", serveO.queue,
                       "Submit runs to this PostgreSQL run queue (postgres://...) for `llmspell worker` processes "
                       "instead of running them here (see docs/scaling.md)");
  cli::LogsOptions logsO;
  auto* logsCmd = app.add_subcommand("logs", "List the LLM call log (newest first)");
  logsCmd->add_option("--model", logsO.model, "Only calls to this model or provider");
  logsCmd->add_option("--since", logsO.since, "Only calls since 30s / 10m / 2h / 7d ago, or a date (UTC)");
  logsCmd->add_option("--status", logsO.status, "ok, error, or an error code");
  logsCmd->add_option("--limit,-n", logsO.limit, "At most N calls (default 50)");
  logsCmd->add_option("--run", logsO.run, "Only the calls of this run (its id: `llmspell logs --runs`, spell.context().run_id)");
  logsCmd->add_flag("--runs", logsO.runs, "List the recent runs (calls, tokens, cost per run) instead of calls");
  logsCmd->add_flag("--json", logsO.json, "JSON output");
  cli::KeysOptions keysO;
  auto* keysCmd = app.add_subcommand("keys", "API keys for llmspell serve: create, list, revoke");
  keysCmd->require_subcommand(1);
  keysCmd->fallthrough();  // --db and --json after the action too
  keysCmd->add_option("--db", keysO.db, "The key store (default: $LLMSPELL_KEYS or <data dir>/keys.db)");
  keysCmd->add_flag("--json", keysO.json, "JSON output");
  auto* keysCreate = keysCmd->add_subcommand("create", "Make a key (printed once: only its hash is stored)");
  keysCreate->add_option("--name", keysO.name, "A label for the key (default: its id)");
  keysCreate->add_option("--spell", keysO.spells, "A spell the key may run: a name, prefix* or * (repeatable; required)")
      ->required();
  keysCreate->add_option("--rate", keysO.rate, "Request rate limit: 10/s, 600/min, 1000/h (a token bucket)");
  keysCreate->add_option("--burst", keysO.burst, "Requests at once the bucket allows (default: the rate's count)")
      ->check(CLI::PositiveNumber);
  keysCreate->add_option("--budget", keysO.budget, "Cost budget in USD per day or month: 5/day, 100/month (UTC)");
  keysCreate->add_option("--grant-net", keysO.net, "Ceiling: hosts the key's runs may reach (repeatable, * for any)");
  keysCreate->add_option("--grant-read", keysO.read, "Ceiling: paths the key's runs may read (repeatable)");
  keysCreate->add_option("--grant-write", keysO.write, "Ceiling: paths the key's runs may write (repeatable)");
  keysCreate->add_option("--grant-env", keysO.env, "Ceiling: environment variables the key's runs may read (repeatable)");
  keysCreate->add_flag("--grant-run", keysO.run, "Ceiling: the key's runs may run processes");
  keysCreate->add_flag("--no-grants", keysO.noGrants, "Ceiling: no grants at all, whatever the manifest asks");
  auto* keysList = keysCmd->add_subcommand("list", "List the keys (never the keys themselves)");
  keysList->add_flag("--all", keysO.all, "Revoked keys too");
  auto* keysRevoke = keysCmd->add_subcommand("revoke", "Revoke a key by id or name");
  keysRevoke->add_option("key", keysO.target, "The key's id (or name)")->required();
  (void)keysList;
  (void)keysRevoke;
  logsCmd->add_option("--db", logsO.db, "The call log file (default: $LLMSPELL_CALL_LOG or <data dir>/calls.db)");

  cli::WorkerOptions workerO;
  RunFlags workerF;
  auto* workerCmd = app.add_subcommand("worker", "Take runs from a PostgreSQL queue and run them (docs/scaling.md)");
  workerCmd->add_option("--queue", workerO.queue, "The queue: a postgres:// URL (default $LLMSPELL_QUEUE)");
  workerCmd->add_option("--id", workerO.id, "This worker's name (default host:pid)");
  workerCmd->add_option("--lease", workerO.leaseSeconds, "Seconds a run stays held without a heartbeat (default 30)")
      ->check(CLI::Range(0.5, 3600.0));
  workerCmd->add_option("--max-runs", workerO.maxRuns, "Exit after N runs");
  workerCmd->add_option("--max-attempts", workerO.maxAttempts,
                        "Fail a run (attempts_exhausted) once its workers died N times (default 3; 0: retry forever)")
      ->check(CLI::Range(0, 1000000));
  workerCmd->add_flag("--exit-when-idle", workerO.exitWhenIdle, "Exit when the queue has no runnable run");
  if (runOptionsFor("worker")) addRunOptions(workerCmd, workerF);
  std::string submitQueue, submitSpell, submitId;
  std::vector<std::string> submitParams;
  bool submitNotDurable = false;
  auto* submitCmd = app.add_subcommand("submit", "Queue a run of SPELL for the workers (prints its id)");
  submitCmd->add_option("spell", submitSpell, "Spell file or directory (the workers read it at this path)")->required();
  submitCmd->add_option("--queue", submitQueue, "The queue: a postgres:// URL (default $LLMSPELL_QUEUE)");
  submitCmd->add_option("--param,-p", submitParams, "A spell param as key=value (repeatable)");
  submitCmd->add_option("--id", submitId, "The run's id (default: a new one)");
  submitCmd->add_flag("--no-durable", submitNotDurable, "Do not checkpoint the run (a retried run starts over)");
  cli::RunsOptions runsO;
  auto* runsCmd = app.add_subcommand("runs", "List the queue's runs, show one, or follow its events");
  runsCmd->add_option("id", runsO.id, "A run id: show it (or follow it with --follow)");
  runsCmd->add_option("--queue", runsO.queue, "The queue: a postgres:// URL (default $LLMSPELL_QUEUE)");
  runsCmd->add_option("--status", runsO.status, "Only runs in this status")
      ->check(CLI::IsMember({"queued", "running", "completed", "failed", "cancelled"}));
  runsCmd->add_option("--limit,-n", runsO.limit, "At most N runs (default 50)");
  runsCmd->add_flag("--follow,-f", runsO.follow, "Print the run's events as JSON lines until it finishes");
  runsCmd->add_flag("--json", runsO.json, "JSON output");

  // CLI11 reads `--allow-read=` (nothing after '=') as `--allow-read` and takes the next argument
  // as its value, so `--allow-read= --allow-write=x` would grant reading "--allow-write=x".
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--") break;
    if (a.size() > 3 && a.substr(0, 2) == "--" && a.back() == '=' && a.find('=') == a.size() - 1 &&
        a.find_first_not_of("abcdefghijklmnopqrstuvwxyz-", 2) == a.size() - 1) {
      std::fprintf(stderr, "error[invalid_argument]: %.*s has an empty value; give one after '=' or leave the flag out\n",
                   static_cast<int>(a.size() - 1), a.data());
      return 2;
    }
  }
  // A first word that is no command: a spell path given without `run`, or a mistyped command.
  if (int code = checkCommandWord(app, argc, argv)) return code;
  // Arguments after `--` are the spell's own (spell.args), for `run` and `exec`; CLI11 parses
  // what comes before.
  std::vector<std::string> spellArgs;
  int parsedArgc = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) != "--") continue;
    spellArgs.assign(argv + i + 1, argv + argc);
    parsedArgc = i;
    break;
  }
  try {
    app.parse(parsedArgc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  setLogLevel(parseLogLevel(logLevel));
  if (parsedArgc != argc && !*run && !*exec && !*debugCmd) {
    std::fprintf(stderr, "error[invalid_argument]: arguments after -- are passed to a spell: only `run`, `exec` and `debug` take them\n");
    return 2;
  }
  runF.opts.args = spellArgs;
  execF.opts.args = spellArgs;
  debugF.opts.args = spellArgs;

  if (*run) {
    runF.opts.spellPath = spellPath;
    return finish(runF, runWith(runF));
  }
  if (*exec) {
    execF.opts.code = code;
    return finish(execF, runWith(execF));
  }
  if (*debugCmd) {
    debugF.opts.spellPath = debugPath;
    debugF.opts.debugger = cli::terminalDebugger(debugPath);
    if (!debugF.opts.debugger) return 0;
    return finish(debugF, runWith(debugF));
  }
  if (*mcpCmd) {
    if (mcpPath.empty() == mcpO.spellsDir.empty()) {
      std::fprintf(stderr, "error[invalid_argument]: mcp serve: give a SPELL or --spells DIR\n");
      return 2;
    }
    if (mcpO.http.empty() && (!mcpO.keysPath.empty() || mcpO.requireKeys)) {
      std::fprintf(stderr, "error[invalid_argument]: mcp serve: --keys and --require-keys apply to --http "
                           "(over stdio the client is the process that started the server)\n");
      return 2;
    }
    // Over stdio, before the spell runs: its output must not reach the protocol's stdout.
    if (mcpO.http.empty()) cli::mcpProtocolFd();
    if (!mcpPath.empty())
      mcpF.opts.spellPath = mcpPath;
    else
      mcpF.opts.code = "-- mcp serve --spells: the spells run in children";  // the parent runs no spell
    mcpF.opts.afterMain = [mcpO](RunContext& run) { return cli::serveMcp(run, mcpO); };
    RunResult r = runWith(mcpF);
    if (r.error) std::fprintf(stderr, "%s\n", redactSecrets(errorLine(*r.error)).c_str());
    return r.exitCode;
  }
  if (*dapCmd) {
    return cli::dap(dapPort, [&](RunOptions& opts) {
      RunFlags f;
      f.opts = opts;
      return runWith(f);
    });
  }
  if (*repl) {
    cli::Repl session(replF.opts);
    replF.opts.replInput = [&session](bool continuation) { return session.read(continuation); };
    // Errors and values alike: a session prints what `exec --output json` would mask.
    replF.opts.replOutput = [](const std::string& text) {
      std::string line = redactSecrets(text);
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    };
    for (;;) {  // a session per engine (:engine)
      RunResult r = runWith(replF);
      replF.params.clear();  // runWith has typed them into opts.params
      if (!session.next(replF.opts, r)) return finish(replF, r);
    }
  }
  if (*tool) {
    toolF.opts.params = {{"tool", toolName}, {"args", toolArgs}, {"category", toolCategory}};
    if (*toolList) {
      toolF.opts.code =
          "local c = spell.params.category\n"
          "for _, t in ipairs(tools.list(c ~= '' and c or nil)) do\n"
          "  print(string.format('%-14s %-10s %-5s %s', t.name, t.category, t.permission, t.description))\n"
          "end";
    } else if (*toolInfo) {
      toolF.opts.code = "return tools.info(spell.params.tool)";
    } else {
      toolF.opts.code = "return tools.call(spell.params.tool, json.decode(spell.params.args))";
    }
    return finish(toolF, runWith(toolF));
  }
  if (*testCmd) {
    if (!testO.childReport.empty()) return runTestChild(testF, testO);
    // Run flags that mean nothing for a set of test files are refused rather than ignored.
    for (const auto& [flag, why] :
         {std::pair{"--engine", "each file's engine comes from its extension"},
          std::pair{"--output", "use --format pretty|tap|junit"},
          std::pair{"--record", "one recording cannot hold test files run in parallel; record with llmspell run"},
          std::pair{"--durable", "tests are not durable runs"}, std::pair{"--run-id", "tests are not durable runs"},
          std::pair{"--checkpoints", "tests are not durable runs"}}) {
      if (auto* opt = testCmd->get_option_no_throw(flag); opt && opt->count() > 0) {
        std::fprintf(stderr, "error[invalid_argument]: llmspell test does not take %s: %s\n", flag, why);
        return 2;
      }
    }
    testO.forward = forwardedFlags(testF);
    return cli::runTests(testO);
  }
  if (*serveCmd) {
    size_t colon = listen.rfind(':');
    char* end = nullptr;
    long port = colon == std::string::npos ? -1 : std::strtol(listen.c_str() + colon + 1, &end, 10);
    if (colon == std::string::npos || colon == 0 || !end || *end || port < 0 || port > 65535) {
      std::fprintf(stderr, "error[invalid_argument]: --listen expects ADDR:PORT (e.g. 127.0.0.1:8080), got '%s'\n", listen.c_str());
      return 2;
    }
    serveO.host = listen.substr(0, colon);
    if (serveO.host.size() > 2 && serveO.host.front() == '[' && serveO.host.back() == ']')
      serveO.host = serveO.host.substr(1, serveO.host.size() - 2);
    serveO.port = static_cast<int>(port);
    return serve::runServe(serveO);
  }
  if (*check) return cli::checkSpell(checkPath, checkO);
  if (*mk) return cli::newSpell(newName, newEngine);
  if (*docs) return cli::docs(docsFormat);
  if (*logsCmd) return cli::logs(logsO);
  if (*workerCmd) {
    return cli::worker(workerO, [&workerF](const std::string& spell,
                                           const std::vector<std::pair<std::string, std::string>>& params,
                                           const Value& durable, const Value& options,
                                           const cli::QueuedRunHooks& hooks) {
      RunFlags f = workerF;
      f.opts.spellPath = spell;
      f.opts.stopper = hooks.stopper;
      // The run's spell.output values join its bus events in the queue's stream.
      f.opts.onStart = [event = hooks.event, before = f.opts.onStart](RunContext& run) {
        if (before) before(run);
        run.output = [event, print = run.output](const Value& v, std::string_view format) {
          if (event) event("spell.output", v);
          if (print) print(v, format);
        };
      };
      for (const auto& [k, v] : params) f.params.push_back(k + "=" + v);
      if (durable.isObject()) f.opts.extraConfig.asObject().set("durable", durable);
      applyQueuedOptions(f, options);
      f.opts.onHardStop = nullptr;
      RunResult r = runWith(f);
      f.opts.onHardStop = nullptr;
      return r;
    });
  }
  if (*submitCmd) return cli::submit(submitQueue, submitSpell, submitParams, !submitNotDurable, submitId);
  if (*runsCmd) return cli::runs(runsO);
  for (auto* sub : keysCmd->get_subcommands())
    if (*sub) {
      keysO.action = sub->get_name();
      return cli::keys(keysO);
    }
  return 2;
}
