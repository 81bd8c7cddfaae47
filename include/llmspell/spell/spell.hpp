// The spell layer: manifests (spell.yaml), typed params, and running a spell end to end on a
// fresh runtime loop with its permissions and limits. Used by the CLI and by embedding programs.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/engines/engine.hpp"

namespace llmspell {

class DebugSession;  // llmspell/engines/debug.hpp

// A problem in a manifest or source, with its position when known.
struct Diagnostic {
  std::string file;
  int line = 0;
  std::string message;
  std::string toString() const;
};

struct Manifest {
  Value raw;                 // the parsed YAML
  std::string dir;           // directory holding spell.yaml
  std::string name, version, description, engine, entry, model;
  Value params = Value::object();       // name -> {type, required, default, description, enum}
  std::vector<std::string> net, read, write, env;
  bool run = false;
  Value limits = Value::object();
  Value config = Value::object();
};

// What loading a spell may cost. A spell's files are read before its limits apply, so these
// bound them instead: a manifest's size, and the nodes of its YAML document counted as a reader
// sees them (an alias as everything it names, so an "alias bomb" of a few lines is refused);
// a source file is at most kMaxSourceBytes (registry.hpp).
inline constexpr size_t kMaxManifestBytes = 1u << 20;
inline constexpr size_t kMaxManifestNodes = 10000;

// Parses and checks spell.yaml text. Problems are appended to `diags` (with YAML line numbers);
// returns nullopt when the manifest cannot be used.
std::optional<Manifest> parseManifest(const std::string& text, const std::string& file,
                                      std::vector<Diagnostic>& diags);

// Reads (a regular file of at most kMaxManifestBytes) and parses the manifest `file`, and sets
// its `dir`. Problems are appended to `diags`; returns nullopt when it cannot be used.
std::optional<Manifest> loadManifest(const std::string& file, std::vector<Diagnostic>& diags);

// The entry file of a manifest's spell (m.dir joined with `entry`, or with main.<ext> of an
// engine when it has none). It must lead, symlinks followed, to a file inside m.dir. Throws
// Exception(invalid_argument) saying what is wrong.
std::string manifestEntry(const Manifest& m, const std::string& manifestFile);

// Reads a spell's source file: a regular file (not a FIFO or device) of at most kMaxSourceBytes.
// With `within` (a manifest's directory), `path` must resolve inside it, and the file opened is
// the one resolved. Throws Exception (not_found, invalid_argument, limit_exceeded,
// permission_denied).
std::string readSpellFile(const std::string& path, const std::string& within = "");

// A copy that shares no table with `m` (its raw YAML, params, limits, config): for a run that
// may change what it was given while `m` is kept for the next.
Manifest independentCopy(const Manifest& m);

// What is wrong with `v` as the run limit `key` ("timeout_s", "memory_mb", "instructions",
// "max_cost_usd", "max_tokens"), for the CLI flags and the manifest's `limits:` alike; "" when
// it is fine. E.g. "must be a number of seconds greater than 0 and at most 31536000 (365 days)".
std::string limitProblem(std::string_view key, double v);

// Converts command-line `--param k=v` strings into typed values checked against the manifest's
// params (types, required, enum, defaults). Throws Exception(invalid_argument) naming the param.
Value typeParams(const Value& declared, const std::vector<std::pair<std::string, std::string>>& raw);

// Stops a run from another thread: `llmspell worker` stops a run that was cancelled in the
// queue, or whose lease another worker took. Thread-safe.
class RunStopper {
 public:
  // Stops the run at its next safe point with `reason`, the way a limit stops it (the script
  // cannot catch it; its work in flight is cancelled); the run's error is `reason`. Called
  // before the run starts, the run stops as soon as it has; after it ended, nothing happens.
  // A spell inside a built-in call that never returns is not reached (the hard stop is).
  void stop(const Error& reason);
  // runSpell's side: `target` is called with the reason (on the stopping thread); null detaches.
  void attach(std::function<void(const Error&)> target);

 private:
  std::mutex mu_;
  std::function<void(const Error&)> target_;
  std::optional<Error> pending_;
};

// A spell found and read as runSpell finds and reads it (RunOptions::spellPath, manifestPath and
// code): its manifest when it has one, the entry's source, and the names the run gets.
struct LoadedSpell {
  std::optional<Manifest> manifest;
  std::string source, chunkName = "exec", entryPath, spellDir;
};

struct RunOptions;
// Finds and reads the spell of `opts`. Throws Exception(invalid_argument) with the message
// runSpell reports for it (exit code 2).
LoadedSpell loadSpell(const RunOptions& opts);

struct RunOptions {
  std::string spellPath;  // a file, or a directory with spell.yaml
  std::string code;       // inline code (exec); used when spellPath is empty
  std::string engine;     // override; default from extension / manifest / "lua"
  std::vector<std::pair<std::string, std::string>> params;
  // Params already typed (from JSON, `llmspell serve`): set over the typed `params` as given.
  Value typedParams = Value::object();
  std::vector<std::string> args;  // positional arguments (after `--`): spell.args
  std::vector<std::string> allowNet, allowRead, allowWrite, allowEnv;
  bool allowRun = false;
  // False: the manifest's grants (net, read, write, env, run) are not applied, only the allow*
  // lists above (`llmspell serve` narrows a manifest's grants per request this way).
  bool manifestGrants = true;
  std::optional<double> timeoutSeconds;
  std::optional<size_t> memoryMb;
  std::optional<uint64_t> instructions;
  std::string model;
  std::string outputFormat = "text";  // text | json
  std::string dataDir;                // default $LLMSPELL_HOME or ~/.llmspell
  // Relative paths in grants and file calls resolve against this; empty: the current directory,
  // asked for each run (a serve worker, whose directory never changes, gives it once).
  std::string baseDir;
  Value extraConfig = Value::object(); // e.g. record/replay paths for higher layers
  // REPL mode (`llmspell repl`): when set, chunks are read with `replInput(continuation)` until
  // it returns nullopt, and run one after another in the same context (globals persist). A
  // chunk that reads as an expression prints its value through `replOutput`; an error prints
  // `error[code]: message` and the session goes on. `continuation` is true while a chunk is
  // incomplete (an unclosed block or string), so the caller can show a different prompt.
  std::function<std::optional<std::string>(bool continuation)> replInput;
  std::function<void(const std::string& line)> replOutput;
  // The hard stop. An engine's hook cannot interrupt a built-in C function (a Lua pattern match
  // that backtracks for minutes), so the time limit alone cannot stop one. When this is set and
  // the spell has a time limit, a watchdog thread calls it with a limit_exceeded error
  // `hardStopGraceSeconds` after the limit if the spell is still running; it runs on that
  // thread and must end the process (the CLI reports the error and exits with 3). Unset, an
  // embedding program keeps control of its process.
  std::function<void(const Error&)> onHardStop;
  double hardStopGraceSeconds = 2;
  // `llmspell test`: the spell.yaml whose grants, limits, config and params apply although the
  // file run is not its entry (a test beside the spell or in its tests/ folder); the spell's
  // directory (spell.include, require) is then the manifest's. Empty: the usual lookup.
  std::string manifestPath;
  // Called on the loop thread once the main chunk has finished without error, with the context
  // still alive; the run then waits for the returned promise, whose outcome becomes the run's
  // (`llmspell test` runs the file's tests here with test.run).
  std::function<PromisePtr(RunContext& run)> afterMain;
  // A debugger to attach (`llmspell debug`, `llmspell dap`): the spell stops where it says, and
  // its time limit, the hard stop's included, does not run while it is stopped. A usage error
  // when the spell's engine cannot be debugged.
  std::shared_ptr<DebugSession> debugger;
  // The caller's W3C trace context ("00-<trace id>-<span id>-01"): the run's spans join that
  // trace under that span. Empty or malformed: a new trace.
  std::string traceparent;
  // Where the run's spans go as OTLP/HTTP JSON (a URL ending in /v1/traces). Empty: the
  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT variables; neither: kept
  // only for trace.export. Spans are sent in batches while the run goes and the rest when it
  // ends; a collector that cannot be reached is a warning, never a failed run.
  std::string otlpEndpoint;
  // Called on the loop thread once the context exists, before the main chunk runs (`llmspell
  // serve`'s worker replaces run.output here to stream a run's outputs).
  std::function<void(RunContext& run)> onStart;
  // Lets another thread stop the run (see RunStopper); null: none.
  std::shared_ptr<RunStopper> stopper;
  // The spell found and read already (loadSpell; a serve worker keeps them between runs):
  // spellPath, manifestPath and code are then not read. The run gets its own copy of the
  // manifest.
  std::shared_ptr<const LoadedSpell> loaded;
};

struct RunResult {
  int exitCode = 0;            // API.md: 0 ok, 1 spell error, 2 usage, 3 limit or permission stop
  Value value;                 // the spell's return value
  std::optional<Error> error;
  Value outputs = Value::array();  // spell.output values (json mode)
  std::string runId, traceId;
  // Failures of spawned tasks that nothing waited for (printed as warnings; the exit code is
  // the spell's own).
  std::vector<Error> unobservedTaskErrors;
};

// Runs one spell to completion on the calling thread. Never throws.
RunResult runSpell(const RunOptions& opts);

// Exit code for an error (3 for limit_exceeded / permission_denied / budget_exceeded, else 1).
int exitCodeFor(const Error& e);

// The data directory: $LLMSPELL_HOME, else ~/.llmspell.
std::string defaultDataDir();

}  // namespace llmspell
