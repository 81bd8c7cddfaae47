// Sub-commands of the llmspell CLI that are more than a call into the spell layer.
#pragma once
#include <optional>
#include <functional>
#include <memory>

#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell {
class Registry;
class RunContext;
class Promise;
using PromisePtr = std::shared_ptr<Promise>;
struct RunOptions;
struct RunResult;
class RunStopper;
}  // namespace llmspell

namespace llmspell::cli {

// `llmspell check SPELL`: the manifest, the syntax, then the lint (cli/lint.hpp). Prints
// `file:line:col: severity[code]: message` lines (or, with format "json", one JSON array of
// {file, line, column, severity, code, message}). Exit code: 1 with errors (or, when strict,
// warnings), else 0; 2 when the spell is not there.
struct CheckOptions {
  std::string format = "text";  // text | json
  bool strict = false;
};
int checkSpell(const std::string& path, const CheckOptions& opts = {});
// `llmspell new NAME`: scaffolds a working spell directory. Exit code.
int newSpell(const std::string& name, const std::string& engine);
// `llmspell docs --format F`. Exit code.
int docs(const std::string& format);

// `llmspell logs`: the LLM call log (<data dir>/calls.db, or $LLMSPELL_CALL_LOG), newest first.
struct LogsOptions {
  std::string model;   // model or provider
  std::string since;   // "30s", "10m", "2h", "7d", or a date "2026-11-25[THH:MM[:SS]]" (UTC)
  std::string status;  // ok | error | an error code
  int limit = 50;
  bool json = false;
  std::string db;      // explicit database file
  std::string run;     // one run's calls, in the order they were made
  bool runs = false;   // the recent runs instead of calls
};
int logs(const LogsOptions& o);

// `llmspell keys create|list|revoke`: API keys for `llmspell serve` (serve/access.hpp), in
// $LLMSPELL_KEYS or <data dir>/keys.db. create prints the key once (stdout) and what it may do
// (stderr). Exit code: 0, 1 (not found, store error), 2 (bad flags).
struct KeysOptions {
  std::string action;  // create | list | revoke
  std::string db;
  bool json = false;
  // create
  std::string name;
  std::vector<std::string> spells;
  std::string rate;    // "10/s", "600/min"
  double burst = 0;
  std::string budget;  // "5/day", "100/month"
  std::vector<std::string> net, read, write, env;  // the grant ceiling
  bool run = false, noGrants = false;
  // list
  bool all = false;
  // revoke
  std::string target;
};
int keys(const KeysOptions& o);

// `llmspell test [PATH...]`.
struct TestOptions {
  std::vector<std::string> paths;    // files or directories; default "."
  int jobs = 0;                      // files at once; 0 = the number of cores
  std::string filter;                // RE2 pattern over "describe > test" names
  std::string format = "pretty";     // pretty | tap | junit
  double testTimeout = 0;            // seconds per test and hook; 0 = test.run's default (5)
  std::string childReport;           // set in a child: run the one file, write its report here
  std::vector<std::string> forward;  // run flags (--allow-*, --model, ...) given to each child
};
// Finds the test files, runs each in a child process, prints the report. Exit code: 0 all
// passed, 1 a test failed or a file did not run to its end, 2 usage (no test files found).
int runTests(const TestOptions& o);
// The spell.yaml a test file runs under: beside it, or above the tests/ folder it is in; "".
std::string manifestForTest(const std::string& file);
// Adds describe, it, expect and the hooks as globals (aliases of test.*), for test files.
void addTestGlobals(Registry& r);

// `llmspell repl`'s side of a session (repl.cpp): reads chunks from stdin, with a prompt ("> ",
// or ">> " inside an unfinished chunk) when stdin is a terminal. On a terminal, lines are edited
// with libedit, kept in a history (<data dir>/history) and Tab completes names from the
// registry; piped input is read line by line. Lines starting with ':' are the REPL's commands
// (:help [NAME], :engine E, :quit).
class Repl {
 public:
  explicit Repl(const RunOptions& opts);
  ~Repl();
  // For RunOptions::replInput.
  std::optional<std::string> read(bool continuation);
  // After runSpell returned: true when `:engine` asked for another engine (set in opts, for a
  // new session), false when the session is over.
  bool next(RunOptions& opts, const RunResult& r);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `llmspell mcp serve`: serves the run's defined tools (and the built-ins when `builtins`), or
// with `spellsDir` the tools of every spell in that directory (a child server per spell), to MCP
// clients: over stdin/stdout until stdin ends, or with `http` ("[ADDR:]PORT") over Streamable
// HTTP until SIGINT or SIGTERM; the returned promise settles then. For stdio, call
// mcpProtocolFd() before the spell runs: it moves stdout to stderr and keeps the real stdout
// for the protocol.
struct McpServeOptions {
  bool builtins = false;
  std::string spellsDir;
  std::string http;
  std::string keysPath;      // --keys (over HTTP): the API key store
  bool requireKeys = false;  // --require-keys
};
int mcpProtocolFd();
PromisePtr serveMcp(RunContext& run, const McpServeOptions& o);

}  // namespace llmspell::cli

namespace llmspell::cli {

// The run queue (docs/scaling.md). The queue URL is --queue or $LLMSPELL_QUEUE.
// `llmspell worker --queue URL`: takes runs from the queue one at a time until SIGTERM/SIGINT
// (or, with `maxRuns`, after that many; with `exitWhenIdle`, when the queue is empty), holding
// each run's lease by a heartbeat. `runOne` runs a spell with the worker's run flags.
struct WorkerOptions {
  std::string queue;
  std::string id;            // default hostname:pid
  double leaseSeconds = 30;  // a dead worker's run is taken over this long after its last heartbeat
  int maxRuns = 0;           // 0 = no limit
  int maxAttempts = 3;       // a run whose workers died this often fails (attempts_exhausted); 0 = no cap
  double pollSeconds = 10;   // the longest an idle worker waits without a notification or an expiring lease
  bool exitWhenIdle = false;
};
// What the worker gives the run it starts: `stopper` stops it when it is cancelled or its lease
// is lost; `event(name, data)` adds an event to its stream in the queue (any thread; the bus's
// events go there already: the run adds its spell.output values).
struct QueuedRunHooks {
  std::shared_ptr<RunStopper> stopper;
  std::function<void(std::string_view name, const Value& data)> event;
};
// `runOne` runs a claimed run: `options` is what `serve` put in the queue row (limits, grants,
// typed params; empty from `llmspell submit`).
int worker(const WorkerOptions& o,
           const std::function<RunResult(const std::string& spell, const std::vector<std::pair<std::string, std::string>>& params,
                                         const Value& durable, const Value& options, const QueuedRunHooks& hooks)>& runOne);
// `llmspell submit SPELL --queue URL [--param k=v] [--no-durable]`: prints the run id.
int submit(const std::string& queue, const std::string& spell, const std::vector<std::string>& params, bool durable,
           const std::string& id);
// `llmspell runs --queue URL [ID] [--follow] [--status S] [--json]`.
struct RunsOptions {
  std::string queue, id, status;
  bool follow = false, json = false;
  int limit = 50;
};
int runs(const RunsOptions& o);

}  // namespace llmspell::cli
