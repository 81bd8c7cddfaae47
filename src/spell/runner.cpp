// Runs a spell end to end: manifest, permissions, params, limits, engine context, loop.
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>
#include <thread>

#include "llmspell/runtime/spawned_tasks.hpp"
#include "llmspell/engines/debug.hpp"
#include "llmspell/runtime/watchdog.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/log.hpp"
#include "llmspell/durable/checkpoint.hpp"
#include "llmspell/events/bus.hpp"
#include "llmspell/net/http.hpp"
#include "llmspell/observe/trace.hpp"
#include "llmspell/tools/tools.hpp"
#include "llmspell/core/random.hpp"
#include "llmspell/spell/spell.hpp"
#include "llmspell/runtime/spell_args.hpp"

namespace llmspell {

namespace {
// The process's resident set in bytes (/proc/self/statm), 0 when it cannot be read. The file
// stays open (a serve worker reads it at the start of every run): pread at 0 reads it afresh.
// A forked child opens its own (the parent's would report the parent).
size_t residentBytes() {
  static std::atomic<int> statm{-1};
  static std::once_flag forkHandler;
  std::call_once(forkHandler, [] {
    ::pthread_atfork(nullptr, nullptr, [] {
      int fd = statm.exchange(-1);
      if (fd >= 0) ::close(fd);
    });
  });
  int fd = statm.load();
  if (fd < 0) {
    fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    int expected = -1;
    if (!statm.compare_exchange_strong(expected, fd)) {
      ::close(fd);
      fd = expected;
    }
  }
  char buf[128];
  ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = 0;
  // "size resident shared ...", in pages: the second field.
  char* end = nullptr;
  std::strtoul(buf, &end, 10);
  unsigned long resident = std::strtoul(end, nullptr, 10);
  static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  return resident * page;
}

}  // namespace

namespace fs = std::filesystem;

void RunStopper::stop(const Error& reason) {
  std::lock_guard<std::mutex> lk(mu_);
  if (target_) target_(reason);
  else pending_ = reason;
}

void RunStopper::attach(std::function<void(const Error&)> target) {
  std::lock_guard<std::mutex> lk(mu_);
  target_ = std::move(target);
  if (target_ && pending_) target_(*pending_);
  pending_.reset();
}

int exitCodeFor(const Error& e) {
  if (e.code == codes::kLimitExceeded || e.code == codes::kPermissionDenied ||
      e.code == codes::kBudgetExceeded)
    return 3;
  return 1;
}

std::string defaultDataDir() {
  if (const char* h = std::getenv("LLMSPELL_HOME"); h && *h) return h;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.llmspell";
  return ".llmspell";
}

namespace {

// Where a spell is in its life. Past the main chunk, a limit stop says where it happened.
enum class Phase { kMain, kFinishHandlers, kCancelling, kClosing, kDone };

const char* teardownWhere(Phase p) {
  switch (p) {
    case Phase::kFinishHandlers: return "in a spell.finish handler";
    case Phase::kCancelling: return "in a callback of work cancelled when the spell ended, such as a promise's catch";
    case Phase::kClosing:
    case Phase::kDone: return "in a finalizer (__gc) run when the spell's VM closed";
    case Phase::kMain: break;
  }
  return nullptr;
}

std::string newRunId() { return randomHex(8); }

// Sends a run's ended spans to an OTLP/HTTP collector, a batch (kBatch spans) per request, on
// the run's loop: a full batch goes while the spell runs (never waited for), the rest at the
// end, when the runner waits for every request up to the export timeout. A failure is a
// warning, once per run.
class TraceExporter {
 public:
  static constexpr size_t kBatch = 512;

  TraceExporter(Loop& loop, std::shared_ptr<observe::Tracer> tracer, std::string url, Value resource)
      : loop_(loop), tracer_(std::move(tracer)), url_(std::move(url)), resource_(std::move(resource)) {
    headers_ = observe::otlpHeaders();
    // OTEL_EXPORTER_OTLP_TIMEOUT is in milliseconds; the specification's default is 10 s.
    for (const char* var : {"OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"}) {
      const char* v = std::getenv(var);
      if (v && *v && std::atof(v) > 0) {
        timeout_ = std::atof(v) / 1000;
        break;
      }
    }
  }

  // Sends every full batch waiting now.
  void sendFull() {
    while (tracer_->endedCount() >= kBatch) send(tracer_->takeEnded(kBatch));
  }

  // Sends what is left and waits (running the loop) for every request, at most the timeout.
  void finish() {
    for (auto batch = tracer_->takeEnded(kBatch); !batch.empty(); batch = tracer_->takeEnded(kBatch)) send(std::move(batch));
    bool expired = false;
    auto timer = loop_.setTimeout(timeout_ + 1, [&expired] { expired = true; });
    loop_.runUntil([&] {
      return expired || std::all_of(inflight_.begin(), inflight_.end(), [](const PromisePtr& p) { return !p->pending(); });
    });
    timer.cancel();
    for (auto& p : inflight_)
      if (p->pending()) p->cancel();
    loop_.poll();
  }

 private:
  void send(std::vector<observe::SpanData> spans) {
    if (spans.empty()) return;
    net::HttpRequest req;
    req.method = "POST";
    req.url = url_;
    req.headers = {{"content-type", "application/json"}};
    for (auto& h : headers_) req.headers.push_back(h);
    req.body = toJsonText(observe::otlpRequest(spans, resource_));
    req.totalTimeout = timeout_;
    size_t n = spans.size();
    PromisePtr p = net::HttpClient::forLoop(loop_)->request(std::move(req));
    inflight_.push_back(p);
    p->onSettle([this, n](const Promise& q) {
      std::string problem;
      if (q.rejected()) {
        if (q.error().code == codes::kCancelled) problem = "the export did not finish within " + fmtSeconds(timeout_);
        else problem = q.error().message;
      } else if (int status = net::responseOf(q.value()).status; status < 200 || status >= 300) {
        problem = "the collector answered HTTP " + std::to_string(status);
      }
      if (problem.empty() || warned_) return;
      warned_ = true;
      logMessage(LogLevel::kWarn, "could not export " + std::to_string(n) + " trace span(s) to " + url_ + ": " + problem,
                 Value::object({{"endpoint", url_}}));
    });
  }

  Loop& loop_;
  std::shared_ptr<observe::Tracer> tracer_;
  std::string url_;
  Value resource_;
  net::Headers headers_;
  double timeout_ = 10;
  std::vector<PromisePtr> inflight_;
  bool warned_ = false;
};

RunResult usage(std::string msg) {
  RunResult r;
  r.exitCode = 2;
  r.error = Error(codes::kInvalidArgument, std::move(msg));
  return r;
}

}  // namespace

RunResult runSpellImpl(const RunOptions& opts);

namespace {

// A chunk the compiler rejects only because it ended too early (Lua says "<eof>", Tengo
// "unexpected EOF" / "expected ... found 'EOF'", V8 "Unexpected end of input"): the REPL reads
// another line.
bool incomplete(const Error& e) {
  const std::string& m = e.message;
  return m.find("<eof>") != std::string::npos || m.find("EOF") != std::string::npos ||
         m.find("unfinished") != std::string::npos || m.find("Unexpected end of input") != std::string::npos ||
         m.find("Unterminated template literal") != std::string::npos;
}

// The chunk as an expression whose value the REPL prints, when it reads as one: `return <chunk>`
// in Lua (as lua.c does), `out := (<chunk>)` in Tengo (a chunk's value is its `out`, which the
// engine does not carry from one REPL line to the next). A JavaScript line is a script whose
// completion value is the value already.
std::optional<std::string> asExpression(std::string_view engine, const std::string& chunk) {
  if (engine == "lua") return "return " + chunk;
  if (engine != "tengo") return std::nullopt;
  std::string e = chunk;
  while (!e.empty() && (e.back() == '\n' || e.back() == ' ' || e.back() == '\t' || e.back() == ';')) e.pop_back();
  if (e.empty()) return std::nullopt;
  return "out := (" + e + ")\n";
}

std::string replText(const Value& v) {
  if (v.isString()) return v.asString();
  try {
    return toJsonText(v);
  } catch (const Exception&) {
    return v.describe();
  }
}

void replLoop(const RunOptions& opts, Loop& loop, ScriptContext& ctx) {
  const std::string engine = opts.engine.empty() ? "lua" : opts.engine;
  int n = 0;
  std::string chunk;
  while (auto line = opts.replInput(!chunk.empty())) {
    chunk += *line;
    chunk += "\n";
    std::string name = "repl:" + std::to_string(++n);
    // An expression prints its value.
    std::string code = chunk;
    auto expr = asExpression(engine, chunk);
    if (expr && !ctx.check(*expr, name)) code = *expr;
    else if (auto err = ctx.check(chunk, name)) {
      if (incomplete(*err)) continue;
      opts.replOutput("error[" + err->code + "]: " + err->message);
      chunk.clear();
      continue;
    }
    chunk.clear();
    PromisePtr done = ctx.run(code, name);
    loop.runUntil([&] { return !done->pending() && !ctx.busy(); });
    if (done->pending()) {
      opts.replOutput("error[internal]: the chunk is waiting for something that can never happen");
    } else if (done->rejected()) {
      opts.replOutput("error[" + done->error().code + "]: " + done->error().message);
    } else if (!done->value().isNull()) {
      opts.replOutput(replText(done->value()));
    }
  }
}

}  // namespace

RunResult runSpell(const RunOptions& opts) {
  // Never throws: anything unexpected becomes an `internal` error with its message.
  try {
    return runSpellImpl(opts);
  } catch (const Exception& e) {
    RunResult r;
    r.exitCode = exitCodeFor(e.error());
    r.error = e.error();
    return r;
  } catch (const std::exception& e) {
    RunResult r;
    r.exitCode = 1;
    r.error = Error(codes::kInternal, e.what());
    return r;
  }
}

LoadedSpell loadSpell(const RunOptions& opts) {
  auto throwUsage = [](std::string msg) { fail(codes::kInvalidArgument, std::move(msg)); };
  LoadedSpell l;
  try {
    if (!opts.spellPath.empty()) {
      std::error_code ec;
      if (!fs::exists(opts.spellPath, ec)) throwUsage("spell not found: " + opts.spellPath);
      fs::path p = fs::absolute(opts.spellPath, ec);
      if (ec) throwUsage("cannot resolve " + opts.spellPath + ": " + ec.message());
      fs::path manifestPath;
      if (fs::is_directory(p, ec)) {
        manifestPath = p / "spell.yaml";
        if (!fs::exists(manifestPath, ec))
          throwUsage(p.string() + " is a directory without spell.yaml; give a spell file or add a manifest");
      } else if (!opts.manifestPath.empty()) {
        manifestPath = fs::absolute(opts.manifestPath, ec);
      } else if (fs::exists(p.parent_path() / "spell.yaml", ec)) {
        manifestPath = p.parent_path() / "spell.yaml";
      }
      std::string within;  // the manifest's directory, when the entry comes from the manifest
      if (!manifestPath.empty()) {
        std::vector<Diagnostic> diags;
        l.manifest = loadManifest(manifestPath.string(), diags);
        for (const auto& d : diags)
          if (d.message.find("(ignored)") != std::string::npos)
            logMessage(LogLevel::kWarn, d.toString());
        if (!l.manifest) {
          std::string msg = "invalid manifest:";
          for (const auto& d : diags) msg += "\n  " + d.toString();
          throwUsage(msg);
        }
        if (fs::is_directory(p, ec)) {
          p = manifestEntry(*l.manifest, manifestPath.string());
          within = l.manifest->dir;
        } else if (opts.manifestPath.empty() && !l.manifest->entry.empty() &&
                   fs::weakly_canonical(p.parent_path() / l.manifest->entry) != fs::weakly_canonical(p)) {
          l.manifest.reset();  // the manifest beside this file belongs to another entry
        }
      }
      l.source = readSpellFile(p.string(), within);
      l.entryPath = fs::absolute(p).string();
      l.chunkName = p.filename().string();
      l.spellDir = fs::absolute(p).parent_path().string();
      if (l.manifest && !opts.manifestPath.empty()) l.spellDir = l.manifest->dir;
    } else {
      l.source = opts.code;
      l.spellDir = fs::current_path().string();
    }
  } catch (const std::filesystem::filesystem_error& e) {
    throwUsage(e.what());
  }
  return l;
}

RunResult runSpellImpl(const RunOptions& opts) {
  if (sodium_init() < 0) return usage("libsodium failed to initialise");
  std::optional<Manifest> manifest;
  std::string source, chunkName, entryPath, spellDir;
  if (opts.loaded) {
    if (opts.loaded->manifest) manifest = independentCopy(*opts.loaded->manifest);
    source = opts.loaded->source;
    chunkName = opts.loaded->chunkName;
    entryPath = opts.loaded->entryPath;
    spellDir = opts.loaded->spellDir;
  } else {
    try {
      LoadedSpell l = loadSpell(opts);
      manifest = std::move(l.manifest);
      source = std::move(l.source);
      chunkName = std::move(l.chunkName);
      entryPath = std::move(l.entryPath);
      spellDir = std::move(l.spellDir);
    } catch (const Exception& e) {
      return usage(e.error().message);
    }
  }

  // Engine: flag, manifest, extension, default lua.
  std::string engineName = opts.engine;
  if (engineName.empty() && manifest) engineName = manifest->engine;
  Engine* engine = nullptr;
  if (!engineName.empty()) {
    engine = findEngine(engineName);
    if (!engine) {
      std::string have;
      for (Engine* e : allEngines()) have += (have.empty() ? "" : ", ") + std::string(e->name());
      return usage("unknown engine '" + engineName + "' (this build has: " + have + ")");
    }
  } else if (!entryPath.empty()) {
    engine = engineForPath(entryPath);
    if (!engine) return usage("cannot tell the engine of " + entryPath + " from its extension; pass --engine");
  } else {
    engine = findEngine("lua");
  }

  Loop loop;
  RunContext run(loop);
  run.engine = std::string(engine->name());
  run.spellPath = entryPath;
  run.spellDir = spellDir;
  run.runId = newRunId();
  run.dataDir = opts.dataDir.empty() ? defaultDataDir() : opts.dataDir;
  run.spellName = manifest && !manifest->name.empty() ? manifest->name
                  : !entryPath.empty() ? fs::path(entryPath).stem().string()
                                       : "exec";
  run.permissions().setBaseDir(opts.baseDir.empty() ? fs::current_path() : fs::path(opts.baseDir));
  // The run's trace: its id is on every event of the run, its spans nest under the run's root
  // span (under the caller's span when a traceparent came with the run).
  auto tracer = std::make_shared<observe::Tracer>(opts.traceparent);
  run.setService(tracer);
  RunResult result;
  result.runId = run.runId;
  result.traceId = tracer->traceId();
  Limits limits;
  try {
    if (manifest) {
      run.manifest = manifest->raw;
      run.config = manifest->config.deepCopy();
      // Files the host itself reads or writes for a run are the operator's to name (flags and
      // environment); from spell.yaml they would be reads and writes outside every grant.
      for (const auto& [key, flag] : {std::pair{"mock_replies", "--mock-replies FILE"}, std::pair{"record", "--record FILE"},
                                      std::pair{"replay", "--replay FILE"}, std::pair{"call_log", "LLMSPELL_CALL_LOG"},
                                      std::pair{"durable", "--durable, --run-id and --checkpoints (the manifest's own `durable: true` asks for a durable run)"}}) {
        const Value& v = run.config.get(key);
        bool off = !v.truthy() || (v.isString() && v.asString() == "off");
        if (v.isNull() || (std::string_view(key) == "call_log" && off)) continue;
        return usage(std::string("spell.yaml: config.") + key + " names a file the host opens outside the spell's grants; "
                     "the operator sets it with " + flag);
      }
      if (opts.manifestGrants) {
        for (const auto& h : manifest->net) run.permissions().allowNet(h);
        for (const auto& p : manifest->read) run.permissions().allowRead(p, manifest->dir);
        for (const auto& p : manifest->write) run.permissions().allowWrite(p, manifest->dir);
        for (const auto& n : manifest->env) run.permissions().allowEnv(n);
        if (manifest->run) run.permissions().allowRun();
      }
      const Value& l = manifest->limits;
      if (l.get("memory_mb").isNumber()) limits.memoryBytes = static_cast<size_t>(l.getNumber("memory_mb") * (1 << 20));
      if (l.get("timeout_s").isNumber()) limits.timeoutSeconds = l.getNumber("timeout_s");
      if (l.get("instructions").isNumber()) limits.instructions = static_cast<uint64_t>(l.getNumber("instructions"));
      if (!manifest->model.empty()) run.config.asObject().set("model", manifest->model);
      for (const char* k : {"max_cost_usd", "max_tokens"})
        if (!l.get(k).isNull()) run.config.asObject().set(k, l.get(k));
    }
    for (const auto& h : opts.allowNet) run.permissions().allowNet(h);
    for (const auto& p : opts.allowRead) run.permissions().allowRead(p);
    for (const auto& p : opts.allowWrite) run.permissions().allowWrite(p);
    for (const auto& n : opts.allowEnv) run.permissions().allowEnv(n);
    if (opts.allowRun) run.permissions().allowRun();
    // The CLI checks its flags the same way; an embedding program's options are checked here.
    auto bounded = [](const char* flag, const char* key, std::optional<double> v) {
      std::string problem = v ? limitProblem(key, *v) : "";
      if (!problem.empty()) fail(codes::kInvalidArgument, std::string(flag) + " " + problem);
    };
    bounded("--timeout", "timeout_s", opts.timeoutSeconds);
    bounded("--memory-limit", "memory_mb", opts.memoryMb ? std::optional<double>(*opts.memoryMb) : std::nullopt);
    bounded("--instruction-limit", "instructions",
            opts.instructions ? std::optional<double>(*opts.instructions) : std::nullopt);
    if (opts.timeoutSeconds) limits.timeoutSeconds = *opts.timeoutSeconds;
    if (opts.memoryMb) limits.memoryBytes = *opts.memoryMb << 20;
    limits.hardStop = opts.onHardStop;
    if (opts.instructions) limits.instructions = *opts.instructions;
    if (!opts.model.empty()) run.config.asObject().set("model", opts.model);
    for (const auto& [k, v] : opts.extraConfig.asObject()) run.config.asObject().set(k, v);
    run.params = typeParams(manifest ? manifest->params : Value::object(), opts.params);
    for (const auto& [k, v] : opts.typedParams.asObject()) run.params.asObject().set(k, v);
    run.setService(std::make_shared<SpellArgs>(SpellArgs{opts.args}));
  } catch (const Exception& e) {
    return usage(e.error().message);
  }
  // A durable run (docs/scaling.md): the manifest's `durable: true`, or the operator's config
  // `durable` = {run_id, store, lease} (llmspell run --durable, a queue's worker). Its journal
  // gives back the steps and calls a run with the same id completed before.
  {
    const Value& d = run.config.get("durable");
    // {enabled = false}: a run id or store was given without --durable, for a manifest that
    // may or may not ask for durability.
    bool asked = d.isObject() ? !(d.get("enabled").isBool() && !d.get("enabled").truthy()) : d.truthy();
    bool on = (manifest && manifest->raw.get("durable").truthy()) || asked;
    if (on) {
      try {
        if (d.get("run_id").isString() && !d.getString("run_id").empty()) run.runId = d.getString("run_id");
        std::string store = d.getString("store");
        if (store.empty() && std::getenv("LLMSPELL_CHECKPOINTS")) store = std::getenv("LLMSPELL_CHECKPOINTS");
        if (store.empty()) store = (fs::path(run.dataDir) / "checkpoints.db").string();
        run.setService<Journal>(durable::openJournal(durable::openCheckpoints(store), run.runId, d.getString("lease")));
      } catch (const Exception& e) {
        result.exitCode = 1;
        result.error = e.error();
        return result;
      }
    }
  }

  const bool jsonMode = opts.outputFormat == "json";
  run.output = [&](const Value& v, std::string_view format) {
    if (jsonMode) {
      result.outputs.asArray().push(v);
      return;
    }
    std::string text;
    if (format == "json") text = toJsonText(v, {.pretty = true});
    else if (format == "yaml") text = toYamlText(v);
    else text = v.isString() ? v.asString() : toJsonText(v, {.pretty = true});
    fwrite(text.data(), 1, text.size(), stdout);
    if (text.empty() || text.back() != '\n') fputc('\n', stdout);
    fflush(stdout);
  };

  // Every tool call is an `execute_tool` span (GenAI semantic conventions), current from its
  // start until it settles (Tracer::end puts its parent back), so what the tool starts, now or
  // after it waits, nests under it.
  {
    tools::ToolRegistry& reg = tools::toolsFor(run);
    reg.setObserver([tracer, &reg](const std::string& name, const std::string& callId,
                                   const Value& ctx) -> std::function<void(const Promise&)> {
      Value attrs = Value::object({{"gen_ai.operation.name", "execute_tool"}, {"gen_ai.tool.name", name},
                                   {"gen_ai.tool.call.id", callId}, {"gen_ai.tool.type", "function"}});
      if (auto t = reg.find(name); t && !t->description.empty()) attrs.asObject().set("gen_ai.tool.description", t->description);
      if (ctx.get("agent").isString()) attrs.asObject().set("gen_ai.agent.name", ctx.get("agent"));
      std::string span = tracer->start("execute_tool " + name, observe::SpanKind::kInternal, attrs);
      tracer->swapCurrent(span);
      return [tracer, span](const Promise& p) {
        if (p.rejected()) tracer->end(span, p.error().code, p.error().message);
        else tracer->end(span);
      };
    });
  }
  std::unique_ptr<ScriptContext> ctx;
  try {
    ctx = engine->createContext(run, limits);
  } catch (const Exception& e) {
    result.exitCode = 1;
    result.error = e.error();
    return result;
  }
  if (opts.debugger) {
    auto* d = dynamic_cast<Debuggable*>(ctx.get());
    if (!d) return usage("the " + std::string(engine->name()) + " engine has no debugger yet");
    d->attachDebugger(opts.debugger);
  }
  // Another thread's stop reaches the VM on its loop thread (a ScriptContext is not
  // thread-safe); `live` turns posted stops into nothing once the run is past them.
  struct StopperLink {
    std::shared_ptr<RunStopper> stopper;
    std::shared_ptr<bool> live = std::make_shared<bool>(true);
    ~StopperLink() {
      if (stopper) stopper->attach(nullptr);
      *live = false;
    }
  } stopperLink{opts.stopper};
  if (opts.stopper)
    opts.stopper->attach([&loop, &ctx, live = stopperLink.live](const Error& reason) {
      loop.post([&ctx, live, reason] {
        if (*live && ctx) ctx->interrupt(reason);
      });
    });
  if (opts.onStart) opts.onStart(run);
  auto t0 = std::chrono::steady_clock::now();
  std::optional<TraceExporter> exporter;
  if (std::string url = observe::otlpTracesEndpoint(opts.otlpEndpoint); !url.empty()) {
    exporter.emplace(loop, tracer, url, observe::resourceAttributes(Value::object({{"llmspell.spell", run.spellName}})));
    tracer->onBatch(TraceExporter::kBatch, [&loop, &exporter] { loop.post([&exporter] { if (exporter) exporter->sendFull(); }); });
  }
  const std::string rootSpan = tracer->start("run " + run.spellName, observe::SpanKind::kInternal,
                                             Value::object({{"llmspell.run_id", run.runId}, {"llmspell.spell", run.spellName},
                                                            {"llmspell.engine", run.engine}}));
  tracer->swapCurrent(rootSpan);
  // The process-wide bus (a run's own, when one was attached) stamps this run's trace id on
  // every event until the run ends.
  busFor(run).setTraceId(tracer->traceId());
  struct TraceIdReset {
    EventBus& bus;
    ~TraceIdReset() { bus.setTraceId(""); }
  } traceIdReset{busFor(run)};
  busFor(run).emit("spell.start", Value::object({{"spell", run.spellName}, {"run_id", run.runId}, {"engine", run.engine}}));
  if (opts.replInput) {
    replLoop(opts, loop, *ctx);
    ctx.reset();
    return result;
  }
  // The limits hold for the spell's whole life: the watchdog stays until the VM is closed, and
  // `phase` (read on its thread) says where a stop after the main chunk happened.
  std::atomic<Phase> phase{Phase::kMain};
  std::optional<Watchdog> watchdog;
  if (opts.onHardStop && limits.timeoutSeconds > 0) {
    double limit = limits.timeoutSeconds;
    watchdog.emplace(limit + std::max(0.0, opts.hardStopGraceSeconds), [&opts, &phase, limit] {
      std::string msg = "time limit of " + fmtSeconds(limit) + " exceeded";
      if (const char* where = teardownWhere(phase.load())) msg += std::string(" during teardown (") + where + ")";
      msg += ", and a built-in call (such as a string pattern match that backtracks) did not "
             "return to the script, so the process was stopped";
      opts.onHardStop(Error(codes::kLimitExceeded, msg));
    }, opts.debugger ? std::function<double()>([d = opts.debugger] { return d->pausedSeconds(); }) : nullptr);
  }
  // The memory limit is held by each engine's own accounting (the VM's heap, host bytes it
  // holds), which cannot see what a built-in allocates for itself while it runs: V8's JSON.parse
  // keeps its working stack outside the JavaScript heap, and parsing a 60 MB text under a 64 MiB
  // limit grew the process by 800 MB. When the process runs this one spell (the CLI, with a hard
  // stop), a guard reads its resident size every 20 ms and stops it when it has grown by more
  // than twice the limit: generous enough that allocator slack and host copies in flight never
  // trip it, tight enough that no built-in takes the machine's memory.
  struct OwnedFd {
    int fd = -1;
    ~OwnedFd() {
      if (fd >= 0) ::close(fd);
    }
  } guardErr;                          // outlives the guard (declared first)
  std::optional<Ticker> memoryGuard;
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's shadow memory and quarantine are resident too: the size says nothing.
  constexpr bool kGuardMemory = false;
#else
  constexpr bool kGuardMemory = true;
#endif
  if (kGuardMemory && opts.onHardStop && limits.memoryBytes > 0) {
    size_t base = residentBytes();
    size_t cap = limits.memoryBytes;
    // The engine may have pointed stderr at /dev/null while it ends a memory stop of its own
    // (V8 prints on its way out): the guard reports on the stderr the spell started with. (A
    // copy kept for the process would keep whatever fd 2 was then open: `llmspell dap` reads
    // its pipe to the end.)
    int err = guardErr.fd = ::fcntl(2, F_DUPFD_CLOEXEC, 3);
    if (base > 0 && err >= 0)
      memoryGuard.emplace(0.02, [&opts, base, cap, err] {
        size_t now = residentBytes();
        if (now <= base || now - base <= 2 * cap) return false;
        ::dup2(err, 2);
        // The same words as the engines' own stop: which one sees the overrun first is timing.
        logMessage(LogLevel::kDebug, "memory guard: the process grew by " + std::to_string((now - base) >> 20) + " MiB");
        opts.onHardStop(Error(codes::kLimitExceeded, "memory limit of " + std::to_string(cap >> 20) + " MiB exceeded"));
        return true;
      });
  }
  PromisePtr done = ctx->run(source, chunkName);
  // After a successful main chunk, tasks it spawned keep the spell alive until they end; after a
  // failed one the spell is over: its tasks are cancelled in teardown, not waited for.
  auto settled = [&] { return !done->pending() && (done->rejected() || !ctx->busy()); };
  loop.runUntil(settled);
  if (opts.afterMain && done->fulfilled() && !ctx->stopped()) {
    done = opts.afterMain(run);
    loop.runUntil(settled);
  }
  if (done->pending()) {
    result.error = Error(codes::kInternal,
                         "the spell is waiting for something that can never happen (a promise "
                         "nobody settles, or a channel nobody sends on)");
    result.exitCode = 1;
  } else if (done->rejected()) {
    result.error = done->error();
    result.exitCode = exitCodeFor(done->error());
  } else if (auto s = ctx->stopped()) {
    // Stopped in a callback after the chunk's last limit check: a stop is never a success.
    result.error = *s;
    result.exitCode = exitCodeFor(*s);
  } else {
    result.value = done->value();
  }
  // A spawned task that failed while nothing waited for it (no await, no promise.all, no
  // :catch): its error would otherwise vanish. Cancellations and stops are not news.
  if (auto* tasks = run.findService<SpawnedTasks>(); tasks && !ctx->stopped()) {
    for (const auto& t : tasks->list) {
      if (t->rejected() && !t->handled() && t->error().code != codes::kCancelled &&
          t->error().code != codes::kLimitExceeded)
        result.unobservedTaskErrors.push_back(t->error());
    }
  }
  // Teardown runs spell code too (spell.finish handlers, callbacks of cancelled work, Lua
  // finalizers), under the same limits: a stop there fails the run like a stop in the main chunk.
  const bool stoppedBefore = ctx->stopped().has_value();
  std::optional<Error> teardownStop;
  auto enter = [&](Phase next) {  // ends the current teardown phase
    if (!stoppedBefore && !teardownStop)
      if (auto s = ctx->stopped()) {
        teardownStop = *s;
        teardownStop->message += std::string(" during teardown (") + teardownWhere(phase.load()) + ")";
      }
    phase.store(next);
  };
  phase.store(Phase::kFinishHandlers);
  {
    Value fin = Value::object({{"spell", run.spellName}, {"run_id", run.runId}, {"ok", !result.error},
                               {"duration_ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()}});
    if (result.error) fin.asObject().set("error", result.error->code);
    busFor(run).emit("spell.finish", fin);
    loop.poll();  // deliver it to the spell's own subscribers
  }
  // Work the spell started and never waited for (a tool still running, a forgotten promise)
  // is cancelled now: its cancellers stop processes and transfers, and settling the promises
  // releases what their callbacks hold.
  enter(Phase::kCancelling);
  run.scope().cancelAll(Error(codes::kCancelled, "the spell ended"));
  loop.poll();
  fflush(stdout);
  enter(Phase::kClosing);
  ctx->close();
  enter(Phase::kDone);
  fflush(stdout);
  ctx.reset();
  if (result.error) tracer->end(rootSpan, result.error->code, result.error->message);
  else tracer->end(rootSpan);
  tracer->onBatch(0, nullptr);
  if (exporter) exporter->finish();
  watchdog.reset();
  if (teardownStop && (!result.error || result.error->code != codes::kLimitExceeded)) {
    if (result.error) teardownStop->message += "; the spell had already failed: " + result.error->toString();
    result.error = *teardownStop;
    result.exitCode = exitCodeFor(*teardownStop);
  }
  return result;
}

}  // namespace llmspell
