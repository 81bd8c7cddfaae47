// The Tengo engine: binds the whole registry into llmspell's native Tengo VM (src/engines/tengo).
// Each registry namespace is an importable module (`json := import("json")`), globals such as
// `sleep` and `await` are predeclared, and an async host call suspends the VM with its frames
// kept; the loop resumes it when the promise settles. A Tengo function the host calls (a tool's
// run, a workflow step, a spawn body, a handler) runs as a task: a coroutine of the VM, with
// its own stack, that suspends and resumes the same way.
//
// Host failures come back as Tengo error values (`is_error(x)`, `x.code`, `x.message`), the
// idiom Tengo scripts already use; only limit stops end the script, uncatchably.
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "llmspell/bridge/call_trace.hpp"
#include "llmspell/bridge/script_call.hpp"
#include "llmspell/engines/engine.hpp"
#include "llmspell/core/safe_fs.hpp"
#include "llmspell/engines/tengo/tengo.hpp"
#include "engines/tengo_debug.hpp"

extern char** environ;

namespace llmspell {

namespace tg = llmspell::tengo;

namespace {

using Clock = std::chrono::steady_clock;

// "file:line:col" -> "file:line"
std::string fileLine(const std::string& pos) {
  auto c = pos.rfind(':');
  return c == std::string::npos ? pos : pos.substr(0, c);
}

// Value-stack slots per frame of the call depth limit: room for functions with many locals and
// temporaries before the frame count is what stops a recursion.
constexpr int kStackValuesPerFrame = 32;

class TengoContext;

// A Tengo function value the host holds. A call runs it as a task (TengoContext::startTask).
class TengoFunction final : public Function, public ArgsSeeingCall {
 public:
  TengoFunction(TengoContext* ctx, tg::Value fn, std::weak_ptr<bool> alive, uint64_t vmGen, std::string role)
      : ctx_(ctx), fn_(std::move(fn)), alive_(std::move(alive)), vmGen_(vmGen), role_(std::move(role)) {}
  PromisePtr call(std::vector<Value> args) override { return run(std::move(args), false); }
  // Maps and arrays are passed by reference in Tengo: the ones made for the arguments are read
  // back after the call.
  PromisePtr callSeeingArgs(std::vector<Value> args) override { return run(std::move(args), true); }
  std::string describe() const override { return "tengo function"; }

 private:
  PromisePtr run(std::vector<Value> args, bool seeArgs);
  TengoContext* ctx_;
  tg::Value fn_;
  std::weak_ptr<bool> alive_;
  uint64_t vmGen_;    // the VM that compiled it (the REPL compiles one per line)
  std::string role_;  // "the 'run' function given to tools.define", for arity errors
};

// A Tengo function called by the host, running as a coroutine of the spell's VM: like the main
// chunk it may wait on a host promise (it suspends; the loop resumes it when the promise
// settles), and its result or error settles `done`, the promise the host got.
struct TengoTask {
  std::unique_ptr<tg::Coroutine> co;
  std::vector<tg::Value> args;  // read back for callSeeingArgs
  bool seeArgs = false;
  PromisePtr done;
  // Cancellation, as in the Lua engine: cancelling `done` (a workflow step's timeout) cancels
  // the host promise the task waits on, so the wait fails with `cancelled` in the script; every
  // later wait of a cancelled task fails the same way.
  PromisePtr waitingOn;
  bool cancelled = false;
  bool onStack = false;  // its code is running now (a stop ends it through the VM's abort)
  // The usage scope current when the task started (a workflow step's, for a step function and
  // the functions it spawns), swapped into the run while the task runs.
  UsageScopePtr usageScope;
  int id = 0;  // the debugger's thread id: 1 is the main chunk, then in start order
};
using TaskPtr = std::shared_ptr<TengoTask>;

// The `os` module's host for one spell: Permissions decide, core/safe_fs opens, the same
// resolve-check-open path as the fs module. A spell has its own working directory and its own
// view of the environment, so nothing it does through `os` changes the process: not the
// runtime's current directory, not the environment other spells and the provider
// configuration read.
//
// The grant each function needs:
//   getenv, lookup_env, expand_env, setenv, unsetenv  --allow-env=NAME for each NAME
//   environ                                           lists only granted names
//   temp_dir                                          --allow-env=TMPDIR (it reads $TMPDIR)
//   hostname, getpid, getppid, getuid, geteuid, getgid, getegid
//                                                     --allow-run: they describe the machine and
//                                                     the process, which a spell that may run
//                                                     programs can learn anyway (`id`,
//                                                     `hostname`), and no other spell needs
//   exec_look_path                                    --allow-run
//   getwd, chdir                                      --allow-read (or write) on the directory
//   read_file                                         --allow-read
//   mkdir, mkdir_all                                  --allow-write
//   remove, remove_all, rename                        --allow-write on the entry (a symlink
//                                                     itself, never its target), both for rename
//   getpagesize, args, platform constants             nothing
// Everything else in Tengo's os (exit, open, exec, stat, ...) is refused by the module.
class SpellOs final : public tg::OsHost {
 public:
  using ErrorFn = std::function<tg::Value(const Error&)>;
  SpellOs(const Permissions& perms, ErrorFn toError)
      : perms_(perms), toError_(std::move(toError)), cwd_(perms.resolve(".")) {}

  tg::Value getenv(const std::string& name) override {
    return guard([&] { return tg::makeString(lookup(checkedName(name)).value_or("")); });
  }
  tg::Value lookupEnv(const std::string& name) override {
    return guard([&] {
      auto v = lookup(checkedName(name));
      return v ? tg::makeString(*v) : tg::Value::boolean(false);
    });
  }
  tg::Value setenv(const std::string& name, const std::string& value) override {
    return guard([&] {
      checkedName(name);
      if (name.empty() || name.find('=') != std::string::npos || value.find('\0') != std::string::npos)
        fail(codes::kInvalidArgument, "os.setenv: invalid variable name or value");
      overlay_[name] = value;
      return tg::Value::boolean(true);
    });
  }
  tg::Value unsetenv(const std::string& name) override {
    return guard([&] {
      overlay_[checkedName(name)] = std::nullopt;
      return tg::Value::boolean(true);
    });
  }
  tg::Value environment() override {
    return guard([&] {
      std::set<std::string> names;
      for (char** e = ::environ; e && *e; ++e) {
        std::string_view kv(*e);
        names.emplace(kv.substr(0, kv.find('=')));
      }
      for (const auto& [k, v] : overlay_) names.insert(k);
      std::vector<tg::Value> items;
      for (const auto& n : names) {
        if (!perms_.canEnv(n)) continue;
        if (auto v = lookup(n)) items.push_back(tg::makeString(n + "=" + *v));
      }
      return tg::makeArray(std::move(items));
    });
  }
  tg::Value info(const std::string& what) override {
    return guard([&]() -> tg::Value {
      if (what == "temp_dir") {
        perms_.checkEnv("TMPDIR");
        auto t = lookup("TMPDIR");
        return tg::makeString(t && !t->empty() ? *t : "/tmp");
      }
      if (!perms_.run())
        fail(codes::kPermissionDenied,
             "os." + what +
                 " describes the machine and the process; run with --allow-run or set "
                 "permissions.run in spell.yaml");
      if (what == "hostname") {
        char buf[256];
        if (::gethostname(buf, sizeof buf) != 0) fail(codes::kInternal, std::strerror(errno));
        buf[sizeof buf - 1] = 0;
        return tg::makeString(buf);
      }
      if (what == "getpid") return tg::Value::integer(::getpid());
      if (what == "getppid") return tg::Value::integer(::getppid());
      if (what == "getuid") return tg::Value::integer(::getuid());
      if (what == "geteuid") return tg::Value::integer(::geteuid());
      if (what == "getgid") return tg::Value::integer(::getgid());
      if (what == "getegid") return tg::Value::integer(::getegid());
      fail(codes::kPermissionDenied, "os." + what + " is not offered");
    });
  }
  tg::Value execLookPath(const std::string& file) override {
    return guard([&] {
      perms_.checkRun(file);
      Permissions::checkPathText(file);
      auto executable = [](const std::string& c) {
        struct stat st;
        return ::stat(c.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(c.c_str(), X_OK) == 0;
      };
      if (file.find('/') != std::string::npos) {
        std::string c = file[0] == '/' ? file : (cwd_ / file).string();
        if (executable(c)) return tg::makeString(file);
      } else {
        std::string path = lookup("PATH").value_or("");
        size_t start = 0;
        while (start <= path.size() && !file.empty()) {
          size_t end = path.find(':', start);
          if (end == std::string::npos) end = path.size();
          std::string dir = path.substr(start, end - start);
          std::string c = (dir.empty() ? "." : dir) + "/" + file;
          if (executable(c[0] == '/' ? c : (cwd_ / c).string())) return tg::makeString(c);
          start = end + 1;
        }
      }
      fail(codes::kNotFound, "exec: \"" + file + "\": executable file not found in $PATH");
    });
  }
  tg::Value refused(const std::string& op) override {
    return toError_(Error(codes::kPermissionDenied,
                          "os." + op + " is not available in spells (use fs.* with --allow-read/--allow-write, "
                          "env.get with --allow-env)"));
  }
  tg::Value getwd() override {
    return guard([&] {
      // "." from the spell's directory: a denial names ".", not the directory itself.
      return tg::makeString(perms_.checkRead(".", cwd_).string());
    });
  }
  tg::Value chdir(const std::string& dir) override {
    return guard([&] {
      safefs::Target t = safefs::forRead(perms_, dir, cwd_);
      struct stat st;
      if (!safefs::lstat("os.chdir", t, st)) safefs::failErrno("os.chdir", t.shown, ENOENT);
      if (!S_ISDIR(st.st_mode))
        fail(codes::kInvalidArgument, "os.chdir: " + t.shown + ": is not a directory");
      cwd_ = t.abs;
      return tg::Value::boolean(true);
    });
  }
  tg::Value readFile(const std::string& path) override {
    return guard([&] {
      safefs::Target t = safefs::forRead(perms_, path, cwd_);
      return tg::makeBytes(safefs::readFile("os.read_file", t, kMaxRead, "the 64 MiB read limit"));
    });
  }
  tg::Value remove(const std::string& path, bool all) override {
    return guard([&] {
      const char* fname = all ? "os.remove_all" : "os.remove";
      safefs::Target t = safefs::forEntry(perms_, path, cwd_);
      try {
        safefs::remove(fname, t, all);
      } catch (const Exception& e) {
        // Go's RemoveAll: a path that is already gone is not an error.
        if (!all || e.error().code != codes::kNotFound) throw;
      }
      return tg::Value::boolean(true);
    });
  }
  tg::Value mkdir(const std::string& path, int64_t mode, bool all) override {
    return guard([&] {
      safefs::Target t = safefs::forWrite(perms_, path, cwd_);
      safefs::makeDir(all ? "os.mkdir_all" : "os.mkdir", t, all, static_cast<mode_t>(mode & 0777));
      return tg::Value::boolean(true);
    });
  }
  tg::Value rename(const std::string& from, const std::string& to) override {
    return guard([&] {
      safefs::Target a = safefs::forEntry(perms_, from, cwd_);
      safefs::Target b = safefs::forEntry(perms_, to, cwd_);
      safefs::rename("os.rename", a, b);
      return tg::Value::boolean(true);
    });
  }

 private:
  static constexpr size_t kMaxRead = 64u << 20;  // as fs.read

  template <typename F>
  tg::Value guard(F&& f) {
    try {
      return f();
    } catch (const Exception& e) {
      return toError_(e.error());
    } catch (const std::exception& e) {
      return toError_(Error(codes::kInternal, e.what()));
    }
  }
  // The env grant for `name`; a NUL byte would cut the name the C library sees.
  const std::string& checkedName(const std::string& name) {
    if (name.find('\0') != std::string::npos)
      fail(codes::kInvalidArgument, "variable name contains a NUL byte");
    perms_.checkEnv(name);
    return name;
  }
  // The spell's view: its own setenv/unsetenv first, then the process environment.
  std::optional<std::string> lookup(const std::string& name) const {
    if (auto it = overlay_.find(name); it != overlay_.end()) return it->second;
    const char* v = ::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  }

  const Permissions& perms_;
  ErrorFn toError_;
  std::filesystem::path cwd_;  // resolved; where the spell's relative `os` paths start
  std::map<std::string, std::optional<std::string>> overlay_;  // nullopt: unset by the spell
};

class TengoContext final : public ScriptContext, public Debuggable {
 public:
  TengoContext(RunContext& run, const Limits& limits) : run_(run), limits_(limits) {
    // Host memory held for the spell is added to the VM's heap count, so the VM's own check
    // (growth of tlHeapBytes past maxMemoryBytes) covers it.
    run.memory().attach(
        {.limit = limits.memoryBytes,
         .used = [this] { return static_cast<size_t>(std::max<int64_t>(0, tg::tlHeapBytes - memBase_)); },
         .charge = [](int64_t n) { tg::tlHeapBytes += n; },
         .stop = [this](const Error& e) { interrupt(e); }});
  }
  ~TengoContext() override {
    close();
    run_.memory().detach();
  }

  // Tasks still waiting when the spell ends are cancelled, as in the Lua engine.
  void close() override {
    if (!alive_) return;
    if (session_) session_->setWaker(nullptr);
    if (debugger_) debugger_->attach(nullptr);
    alive_.reset();
    cancelTasks(Error(codes::kCancelled, "spell ended"));
    idle_.clear();
    if (done_ && done_->pending()) done_->reject(Error(codes::kCancelled, "spell ended"));
    vm_.reset();
  }

  std::optional<Error> check(std::string_view source, std::string_view chunkName) override {
    tg::Script s{std::string(source), std::string(chunkName)};
    addModules(s);
    std::unique_ptr<tg::Vm> vm;
    tg::Status st = s.compile(&vm);
    if (st.ok()) return std::nullopt;
    Error e = toError(st);
    e.code = std::string(codes::kInvalidArgument);
    return e;
  }

  PromisePtr run(std::string_view source, std::string_view chunkName) override {
    // A REPL line runs on a VM of its own: tasks of an earlier line still waiting (on something
    // that never came) cannot resume on it.
    cancelTasks(Error(codes::kCancelled, "the REPL line that started it has ended"));
    done_ = Promise::create();
    chunk_ = std::string(chunkName);
    tg::Script s{std::string(source), chunk_};
    addModules(s);
    s.limits().maxMemoryBytes = limits_.memoryBytes ? static_cast<int64_t>(limits_.memoryBytes) : -1;
    s.limits().maxInstructions = limits_.instructions ? static_cast<int64_t>(limits_.instructions) : -1;
    // The call depth Lua and JS spells get; each stack is charged to the memory limit only as
    // far as it has grown, so a deep limit costs a shallow spell nothing.
    s.limits().maxFrames = limits_.maxCallDepth;
    s.limits().maxStackValues = int64_t{limits_.maxCallDepth} * kStackValuesPerFrame;
    // One host for the context's life, so the REPL keeps its directory and environment.
    if (!os_)
      os_ = std::make_shared<SpellOs>(run_.permissions(),
                                      [this](const Error& e) { return errorValue(e); });
    s.setOsHost(os_);
    // The VM measures memory from the start of the run, so the program's constants are charged
    // here: a source whose constants alone pass the limit is a limit stop, not a syntax error.
    const int64_t heapBefore = tg::tlHeapBytes;
    tg::Status st = s.compile(&vm_);
    ++vmGen_;
    mainWaiting_ = false;
    if (st.ok() && limits_.memoryBytes &&
        tg::tlHeapBytes - heapBefore > static_cast<int64_t>(limits_.memoryBytes)) {
      vm_.reset();
      st = {tg::Status::Kind::kLimitExceeded, "memory limit exceeded while compiling"};
    }
    if (!st.ok()) {
      Error e = toError(st);
      if (st.kind == tg::Status::Kind::kLimitExceeded) e = limitError(st);
      else e.code = std::string(codes::kInvalidArgument);
      done_->reject(e);
      return done_;
    }
    vm_->setOutput([](std::string_view t) {
      fwrite(t.data(), 1, t.size(), stdout);
    });
    vm_->setDebugId(1);
    if (debugger_) debugger_->attach(vm_.get());
    if (limits_.timeoutSeconds > 0) {
      deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(limits_.timeoutSeconds));
      armDeadline(limits_.timeoutSeconds);
      done_->onSettle([this](const Promise&) { timer_.cancel(); });
    }
    setSegmentDeadline();
    memBase_ = tg::tlHeapBytes;  // the VM measures its growth from here too
    ++depth_;
    tg::Status ran = vm_->run();
    --depth_;
    handle(ran);
    return done_;
  }

  size_t memoryUsed() const override {
    return static_cast<size_t>(std::max<int64_t>(0, tg::tlHeapBytes - memBase_));
  }

  // Stops the spell: the code running now (the main chunk or tasks) at the VM's next check,
  // what waits at once; a stopped spell runs no more code.
  void interrupt(const Error& reason) override {
    Error e = reason;
    e.code = std::string(codes::kLimitExceeded);
    stopSpell(e);
  }

  // Stops the spell with `reason` as its error (a limit's, or the debugger's `cancelled`).
  void stopSpell(const Error& reason) {
    if (killed_ || !vm_) return;
    killed_ = true;
    killReason_ = reason;
    if (depth_ > 0) vm_->abort();
    if (mainWaiting_ && done_ && done_->pending()) done_->reject(killReason_);
    run_.scope().cancelAll(killReason_);
    // Tasks waiting on the cancelled promises resume and stop; those waiting on something
    // outside the scope (a channel, a promise nobody settles) are ended after those ran.
    std::weak_ptr<bool> alive = alive_;
    run_.loop().post([this, alive] {
      if (alive.expired()) return;
      auto tasks = tasks_;
      for (const auto& t : tasks)
        if (!t->onStack) finishTask(t, killReason_);
    });
  }

  bool busy() const override { return !tasks_.empty(); }

  void attachDebugger(std::shared_ptr<DebugSession> session) override {
    session_ = session;
    TengoDebugHost host;
    host.threadName = [this](int id) -> std::string {
      if (id == 1) return "main";
      auto it = taskNames_.find(id);
      return it == taskNames_.end() ? "task " + std::to_string(id) : it->second;
    };
    host.hostGlobal = [this](const std::string& name) { return hostGlobals_.count(name) != 0; };
    host.paused = [this](double secs) {
      // A paused spell's time limit is suspended while paused.
      if (deadline_ != Clock::time_point::max())
        deadline_ += std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    };
    host.terminate = [this] { stopSpell(Error(codes::kCancelled, "the debugger ended the spell")); };
    host.evaluating = [this](bool on) {
      // A native the expression called that would wait left its promise here: withdrawn.
      PromisePtr p = std::move(pending_);
      pending_.reset();
      if (p) p->cancel();
      return !on && p != nullptr;
    };
    debugger_ = std::make_unique<TengoDebugger>(session, std::move(host));
    std::weak_ptr<bool> alive = alive_;
    Loop* loop = &run_.loop();
    session->setWaker([this, alive, loop] {
      loop->post([this, alive] {
        if (!alive.expired() && debugger_ && depth_ == 0) debugger_->pauseIdle();
      });
    });
  }

  std::optional<Error> stopped() const override {
    if (!killed_) return std::nullopt;
    return killReason_;
  }

  // ---- conversions ----

  tg::Value toTengo(const Value& v, int depth = 0) {
    if (depth > 200) return tg::Value();
    switch (v.kind()) {
      case ValueKind::kNull: return tg::Value();
      case ValueKind::kBool: return tg::Value::boolean(v.asBool());
      case ValueKind::kInt: return tg::Value::integer(v.asInt());
      case ValueKind::kDouble: return tg::Value::number(v.asDouble());
      case ValueKind::kString: return tg::makeString(v.asString());
      case ValueKind::kBytes: return tg::makeBytes(v.asBytes().data);
      case ValueKind::kArray: {
        std::vector<tg::Value> items;
        items.reserve(v.asArray().size());
        for (const auto& x : v.asArray()) items.push_back(toTengo(x, depth + 1));
        return tg::makeArray(std::move(items));
      }
      case ValueKind::kObject: {
        std::map<std::string, tg::Value, std::less<>> m;
        for (const auto& [k, x] : v.asObject()) m.emplace(k, toTengo(x, depth + 1));
        return tg::makeMap(std::move(m));
      }
      case ValueKind::kError: {
        Value o = v.asError()->toObject();
        std::map<std::string, tg::Value, std::less<>> m;
        for (const auto& [k, x] : o.asObject()) m.emplace(k, toTengo(x, depth + 1));
        tg::Value r = tg::makeError(tg::makeMap(std::move(m), true));
        // Printed or passed to string(), it reads as in the other engines: "code: message (at file:line)".
        r.as<tg::ErrorObj>()->text = v.asError()->toString();
        return r;
      }
      case ValueKind::kFunction: {
        FunctionPtr fn = v.asFunction();
        tg::Value native = tg::makeNative("function", [this, fn](tg::Vm&, tg::Args args) {
          std::vector<Value> in;
          for (const auto& a : args) in.push_back(fromTengo(a));
          return await(fn->call(std::move(in)));
        });
        natives_[native.obj()] = {native, v};  // keeps the native alive: its address is the key
        return native;
      }
      case ValueKind::kPromise:
      case ValueKind::kHandle: return handleMap(v);
    }
    return tg::Value();
  }

  // `key`: the map key `v` sits under, which names a function's role in its error messages.
  Value fromTengo(const tg::Value& v, int depth = 0, std::string_view key = {}) {
    if (depth > 200) fail(codes::kInvalidArgument, "value is nested too deeply (or cyclic)");
    switch (v.type()) {
      case tg::Type::kUndefined: return Value();
      case tg::Type::kBool: return Value(v.i() != 0);
      case tg::Type::kInt: return Value(static_cast<int64_t>(v.i()));
      case tg::Type::kFloat: return Value(v.f());
      case tg::Type::kChar: {
        std::string s;
        tg::toStringValue(v, &s);
        return Value(s);
      }
      case tg::Type::kString: {
        const std::string& str = v.as<tg::StringObj>()->s;
        if (str.size() >= kHostCopyCheck) run_.memory().require(str.size(), "a string passed to the host");
        return Value(str);
      }
      case tg::Type::kBytes: {
        const auto& b = v.as<tg::BytesObj>()->b;
        if (b.size() >= kHostCopyCheck) run_.memory().require(b.size(), "bytes passed to the host");
        return Value(Bytes{b});
      }
      case tg::Type::kArray:
      case tg::Type::kImmutableArray: {
        auto* a = v.as<tg::ArrayObj>();
        std::vector<Value> items;
        items.reserve(a->len);
        for (size_t i = 0; i < a->len; ++i) items.push_back(fromTengo(a->at(i), depth + 1));
        return Value::array(std::move(items));
      }
      case tg::Type::kMap:
      case tg::Type::kImmutableMap: {
        auto& m = v.as<tg::MapObj>()->m;
        if (auto it = m.find("__handle__"); it != m.end() && it->second.type() == tg::Type::kInt) {
          auto h = handles_.find(it->second.i());
          if (h != handles_.end()) return h->second;
        }
        auto o = std::make_shared<Object>();
        for (const auto& [k, x] : m) o->set(k, fromTengo(x, depth + 1, k));
        return Value(std::move(o));
      }
      case tg::Type::kError: {
        Value payload = fromTengo(v.as<tg::ErrorObj>()->v, depth + 1);
        return Value(std::make_shared<Error>(Error::fromValue(payload)));
      }
      case tg::Type::kTime: {
        auto* t = v.as<tg::TimeObj>();
        return Value(static_cast<double>(t->sec) + t->nsec / 1e9);
      }
      case tg::Type::kFunction: return Value(FunctionPtr(std::make_shared<TengoFunction>(this, v, alive_, vmGen_, roleOf(key))));
      case tg::Type::kNative: {
        auto it = natives_.find(v.obj());
        if (it != natives_.end()) return it->second.second;
        return Value(FunctionPtr(std::make_shared<TengoFunction>(this, v, alive_, vmGen_, roleOf(key))));
      }
      default: fail(codes::kInvalidArgument, "a " + tg::typeName(v) + " cannot leave the script");
    }
  }

  // A host error as the script gets it. One without a position is placed at the script's call
  // (`where`, "file:line:col", or the code running now), as Lua and JS place theirs.
  tg::Value errorValue(Error e, const std::string* where = nullptr) {
    if (e.source.empty()) {
      std::string pos = where ? *where : vm_ ? vm_->position() : std::string();
      auto c2 = pos.rfind(':');
      auto c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : pos.rfind(':', c2 - 1);
      if (c1 != std::string::npos) {
        e.source = pos.substr(0, c1);
        e.line = std::atoi(pos.substr(c1 + 1, c2 - c1 - 1).c_str());
      }
    }
    return toTengo(Value(std::make_shared<Error>(std::move(e))));
  }

  // Turns a promise into a native result: its value, an error value, or a suspension. `where`:
  // the call's position when the caller waited (a resumed wait runs outside the call).
  tg::Result await(const PromisePtr& p, const std::string* where = nullptr) {
    if (p->fulfilled()) return toTengo(p->value());
    if (p->rejected()) {
      p->markHandled();
      if (p->error().code == codes::kLimitExceeded && killed_) return tg::Result::limit(p->error().message);
      return errorValue(p->error(), where);
    }
    if (!vm_) return errorValue(Error(codes::kCancelled, "the spell has ended"), where);
    // The code that called the native suspends: the main chunk or a task (see handle() and
    // step()), which takes pending_ and pendingWhere_.
    pending_ = p;
    pendingWhere_ = vm_->position();
    return tg::Result::pending();
  }

  tg::Result callHost(const FunctionDecl& d, int mode, tg::Args args) {
    if (killed_) return tg::Result::limit(killReason_.message);
    std::vector<Value> in;
    try {
      in.reserve(std::max(args.size(), d.params.size()));
      converting_ = &d;
      for (const auto& a : args) in.push_back(fromTengo(a));
      converting_ = nullptr;
    } catch (const Exception& e) {
      converting_ = nullptr;
      return errorValue(e.error());
    }
    return callHostValues(d, mode, std::move(in));
  }

  friend class TengoFunction;

 private:
  tg::Value native(const FunctionDecl& d, int mode, std::string name) {
    const FunctionDecl* dp = &d;
    return tg::makeNative(std::move(name),
                          [this, dp, mode](tg::Vm&, tg::Args a) { return callHost(*dp, mode, a); });
  }

  // The registry's methods of `type`, indexed once (handles are made on every async call).
  static const std::vector<const FunctionDecl*>& methodsOf(const std::string& type) {
    static const auto index = [] {
      std::unordered_map<std::string, std::vector<const FunctionDecl*>> m;
      for (const auto& d : Registry::global().functions())
        if (!d.self.empty()) m[d.self].push_back(&d);
      return m;
    }();
    static const std::vector<const FunctionDecl*> none;
    auto it = index.find(type);
    return it == index.end() ? none : it->second;
  }

  // Promises and host objects: an immutable map with their methods bound, plus a hidden id.
  tg::Value handleMap(const Value& v) {
    int64_t id = nextHandle_++;
    handles_[id] = v;
    std::string type = v.isPromise() ? "promise" : std::string(v.asHandle()->typeName());
    std::map<std::string, tg::Value, std::less<>> m;
    m.emplace("__handle__", tg::Value::integer(id));
    m.emplace("type", tg::makeString(type));
    for (const FunctionDecl* dp : methodsOf(type)) {
      const FunctionDecl& d = *dp;
      auto bind = [this, dp, v](int mode) {
        return tg::makeNative(dp->name, [this, dp, v, mode](tg::Vm&, tg::Args a) {
          std::vector<tg::Value> all;
          all.push_back(tg::Value());  // placeholder for self, replaced below
          all.insert(all.end(), a.begin(), a.end());
          std::vector<Value> in;
          in.push_back(v);
          try {
            converting_ = dp;
            for (size_t i = 1; i < all.size(); ++i) in.push_back(fromTengo(all[i]));
            converting_ = nullptr;
          } catch (const Exception& e) {
            converting_ = nullptr;
            return tg::Result(errorValue(e.error()));
          }
          return callHostValues(*dp, mode, std::move(in));
        });
      };
      m.emplace(d.name, bind(0));
      if (d.async) m.emplace(d.name + "_async", bind(1));
    }
    return tg::makeMap(std::move(m), true);
  }

  tg::Result callHostValues(const FunctionDecl& d, int mode, std::vector<Value> in) {
    traceScriptCall(d);
    if (auto err = Registry::validate(d, in)) return errorValue(*err);
    CallContext cx{run_, run_.loop(), d.qualifiedName()};
    Args span(in.data(), in.size());
    if (!d.async) {
      ErrorPtr err;
      Value r = Registry::callSync(d, cx, span, err);
      if (killed_) return tg::Result::limit(killReason_.message);  // the call hit the memory cap
      if (err) return errorValue(*err);
      return toTengo(r);
    }
    PromisePtr p = Registry::callAsync(d, cx, span);
    if (mode == 1) return toTengo(Value(p));
    return await(p);
  }

  void addModules(tg::Script& s) {
    addHostModules(s);
    // A context runs several chunks in the REPL: each one sees the globals the earlier ones
    // defined, predeclared with their values (redeclaring one with := is an error, as in
    // Tengo's own REPL). A compiled function belongs to the VM that compiled it (its code
    // indexes that program's constants), so a global holding one is replaced by a function that
    // explains this when called. `out` is each line's own value (the REPL prints it), so it is
    // not carried.
    if (vm_ && !vm_->suspended()) {
      for (const auto& name : vm_->globalNames()) {
        if (hostGlobals_.count(name) || name == "out") continue;
        tg::Value v = vm_->get(name);
        if (!holdsCompiledFunction(v)) {
          s.define(name, v);
          continue;
        }
        std::string msg = "'" + name + "' holds a function defined on an earlier line; in the Tengo REPL functions "
                          "do not carry over between lines (define and use it on one line, or run a spell file)";
        s.define(name, tg::makeNative(name, [msg](tg::Vm&, tg::Args) { return tg::Result::error(msg); }));
      }
    }
  }

  static bool holdsCompiledFunction(const tg::Value& v, int depth = 0) {
    if (depth > 100) return true;  // deep or cyclic: not worth carrying
    switch (v.type()) {
      case tg::Type::kFunction:
      case tg::Type::kCell:
      case tg::Type::kIterator: return true;
      case tg::Type::kArray:
      case tg::Type::kImmutableArray: {
        auto* a = v.as<tg::ArrayObj>();
        for (size_t i = 0; i < a->len; ++i)
          if (holdsCompiledFunction(a->at(i), depth + 1)) return true;
        return false;
      }
      case tg::Type::kMap:
      case tg::Type::kImmutableMap: {
        for (const auto& [k, x] : v.as<tg::MapObj>()->m)
          if (holdsCompiledFunction(x, depth + 1)) return true;
        return false;
      }
      case tg::Type::kError: return holdsCompiledFunction(v.as<tg::ErrorObj>()->v, depth + 1);
      default: return false;
    }
  }

  void addHostModules(tg::Script& s) {
    const Registry& reg = Registry::global();
    s.modules().addStdlib(tg::ModuleMap::allStdlibNames());
    std::map<std::string, std::map<std::string, tg::Value, std::less<>>> mods;
    for (const auto& d : reg.functions()) {
      if (!d.self.empty()) continue;
      if (d.ns.empty()) {
        if (d.property) continue;
        s.define(d.name, native(d, 0, d.name));
        hostGlobals_.insert(d.name);
        if (d.async) {
          s.define(d.name + "_async", native(d, 1, d.name + "_async"));
          hostGlobals_.insert(d.name + "_async");
        }
        continue;
      }
      auto& m = mods[d.ns];
      if (d.property) {
        ErrorPtr err;
        CallContext cx{run_, run_.loop(), d.name};
        Value v = Registry::callSync(d, cx, Args(), err);
        m[d.name] = toTengo(err ? Value() : v);
        continue;
      }
      m[d.name] = native(d, 0, d.ns + "." + d.name);
      if (d.async) m[d.name + "_async"] = native(d, 1, d.ns + "." + d.name + "_async");
    }
    for (auto& [ns, attrs] : mods) {
      // Where Tengo's stdlib has a module of the same name (json, text), the registry's
      // functions are added to it and win on a clash.
      if (const auto* e = s.modules().find(ns); e && !e->isSource && e->value.type() != tg::Type::kUndefined) {
        for (const auto& [k, x] : e->value.as<tg::MapObj>()->m)
          if (k != "__module_name__" && !attrs.count(k)) attrs.emplace(k, x);
      }
      s.modules().addBuiltinModule(ns, std::move(attrs));
    }
  }

  // The time limit, for the spell's whole life (a segment's VM deadline covers the code running;
  // this, the waits). A debugger's stops move the deadline on; the timer then waits for the rest.
  void armDeadline(double secs) {
    std::weak_ptr<bool> alive = alive_;
    timer_ = run_.loop().setTimeout(secs, [this, alive] {
      if (alive.expired()) return;
      auto left = deadline_ - Clock::now();
      if (debugger_ && left > Clock::duration::zero()) {
        armDeadline(std::chrono::duration<double>(left).count());
        return;
      }
      interrupt(Error(codes::kLimitExceeded, "time limit of " + fmtSeconds(limits_.timeoutSeconds) + " exceeded"));
    });
  }

  void setSegmentDeadline() {
    if (deadline_ == Clock::time_point::max() || !vm_) return;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
    vm_->limits().deadlineMs = std::max<int64_t>(1, left);
  }

  Error toError(const tg::Status& st) {
    Error e(st.kind == tg::Status::Kind::kLimitExceeded ? codes::kLimitExceeded : "script_error",
            st.message);
    // "Runtime Error: msg\n\tat file:line:col"
    std::string msg = st.message;
    for (const char* prefix : {"Runtime Error: ", "Parse Error: ", "Compile Error: "})
      if (msg.rfind(prefix, 0) == 0) msg = msg.substr(strlen(prefix));
    auto at = msg.find("\n\tat ");
    if (at != std::string::npos) {
      std::string pos = msg.substr(at + 5);
      pos = pos.substr(0, pos.find('\n'));
      msg = msg.substr(0, at);
      auto c2 = pos.rfind(':');
      auto c1 = c2 == std::string::npos ? std::string::npos : pos.rfind(':', c2 - 1);
      if (c1 != std::string::npos) {
        e.source = pos.substr(0, c1);
        e.line = std::atoi(pos.substr(c1 + 1, c2 - c1 - 1).c_str());
      }
    }
    e.message = msg;
    // The VM's answer to a name a module lacks (json.encdoe) has the code Lua gives it.
    if (msg.find(" does not exist; did you mean ") != std::string::npos ||
        msg.find(" has no member of that name)") != std::string::npos)
      e.code = std::string(codes::kNotFound);
    return e;
  }

  // The VM's limit messages, worded as the other engines word them (no position: a limit is
  // not a bug at a line).
  Error limitError(const tg::Status& st) {
    Error e = toError(st);
    e.source.clear();
    e.line = 0;
    if (e.message.find("deadline") != std::string::npos)
      e.message = "time limit of " + fmtSeconds(limits_.timeoutSeconds) + " exceeded";
    else if (e.message.find("instruction limit") != std::string::npos)
      e.message = "instruction limit of " + std::to_string(limits_.instructions) + " exceeded";
    else if (e.message.find("memory limit") != std::string::npos)
      e.message = "memory limit of " + std::to_string(limits_.memoryBytes >> 20) + " MiB exceeded";
    else if (isStackOverflow(st))
      e.message = "call depth limit of " + std::to_string(limits_.maxCallDepth) + " exceeded (runaway recursion?)";
    e.code = std::string(codes::kLimitExceeded);
    return e;
  }

  // The VM's "stack overflow" (past Limits::maxFrames, or the value stack) is a runtime error
  // in Tengo; here it is the call depth limit, a stop like the other engines'.
  static bool isStackOverflow(const tg::Status& st) {
    return st.kind == tg::Status::Kind::kRuntimeError && st.message.rfind("Runtime Error: stack overflow", 0) == 0;
  }

  // Handles the outcome of run()/resume(): done, failed, or suspended on pending_.
  void handle(tg::Status st) {
    if (!done_->pending()) return;
    switch (st.kind) {
      case tg::Status::Kind::kOk: {
        Value out;
        try {
          if (vm_->isDefined("out")) out = fromTengo(vm_->get("out"));
        } catch (const Exception&) {
        }
        done_->resolve(out);
        return;
      }
      case tg::Status::Kind::kSuspended: {
        PromisePtr p = std::move(pending_);
        pending_.reset();
        mainWaiting_ = true;
        std::weak_ptr<bool> alive = alive_;
        Loop* loop = &run_.loop();  // outlives this context, which may be gone by then
        p->onSettle([this, alive, p, loop, where = pendingWhere_](const Promise&) {
          if (alive.expired()) return;
          loop->post([this, alive, p, where] {
            if (alive.expired() || !done_->pending() || !mainWaiting_) return;
            mainWaiting_ = false;
            tg::Result r = await(p, &where);
            setSegmentDeadline();
            ++depth_;
            tg::Status st = r.kind() == tg::Result::Kind::kLimit ? vm_->resumeError(r.message())
                                                                  : vm_->resume(std::move(r.value()));
            --depth_;
            handle(st);
          });
        });
        return;
      }
      case tg::Status::Kind::kLimitExceeded:
        interrupt(limitError(st));  // a stop in the main chunk stops the tasks too
        done_->reject(killReason_);
        return;
      default:
        if (isStackOverflow(st)) {
          interrupt(limitError(st));
          done_->reject(killReason_);
          return;
        }
        done_->reject(toError(st));
    }
  }

  // ---- tasks: Tengo functions the host calls ----

  // Starts `fn(args)` as a task; the promise settles with its result.
  PromisePtr startTask(const tg::Value& fn, const std::string& role, const std::vector<Value>& args,
                       bool seeArgs) {
    std::vector<tg::Value> in;
    in.reserve(args.size());
    for (const auto& a : args) in.push_back(toTengo(a));
    if (fn.type() != tg::Type::kFunction) return callNative(fn, in, seeArgs);
    tg::FunctionInfo info;
    if (tg::describeFunction(fn, &info) &&
        (info.varArgs ? in.size() < static_cast<size_t>(info.params) : in.size() != static_cast<size_t>(info.params)))
      return Promise::rejected(arityError(role, info, in.size()));
    auto t = std::make_shared<TengoTask>();
    if (idle_.empty()) {
      t->co = std::make_unique<tg::Coroutine>();
    } else {
      t->co = std::move(idle_.back());
      idle_.pop_back();
    }
    t->seeArgs = seeArgs;
    t->args = std::move(in);
    t->id = nextTaskId_++;
    t->co->setDebugId(t->id);
    if (debugger_) taskNames_[t->id] = "task " + std::to_string(t->id) + " (" + fileLine(info.defined) + ")";
    t->done = Promise::create();
    t->usageScope = run_.usageScope;
    // A raw pointer is enough: while `done` is pending its task is alive (on this stack, or in
    // tasks_ once suspended), and settling drops the canceller.
    t->done->setCanceller([task = t.get()] {
      task->cancelled = true;
      if (auto p = std::move(task->waitingOn)) p->cancel();
    });
    PromisePtr done = t->done;
    if (depth_ >= kMaxDepth) {
      // Deeply nested starts (spawn inside spawn...) go through the loop to bound the C stack.
      tasks_.insert(t);
      std::weak_ptr<bool> alive = alive_;
      run_.loop().post([this, alive, t, fn] {
        if (alive.expired() || !tasks_.count(t)) return;
        if (!t->done->pending() || killed_) {
          finishTask(t, killed_ ? killReason_ : Error(codes::kCancelled, "cancelled"));
          return;
        }
        step(t, [&](tg::Value* out) {
          return vm_->start(*t->co, fn, tg::Args(t->args.data(), t->args.size()), out);
        });
      });
      return done;
    }
    step(t, [&](tg::Value* out) {
      return vm_->start(*t->co, fn, tg::Args(t->args.data(), t->args.size()), out);
    });
    return done;
  }

  // A builtin or native function the host was given (`fmt.println` as a handler): called
  // directly; when it waits, the host gets the promise it waits on.
  PromisePtr callNative(const tg::Value& fn, std::vector<tg::Value>& in, bool seeArgs) {
    pending_.reset();
    ++depth_;
    tg::Result r = vm_->call(fn, tg::Args(in.data(), in.size()));
    --depth_;
    auto withArgs = [this, seeArgs, in](Value result) -> Value {
      if (!seeArgs) return result;
      std::vector<Value> back;
      for (const auto& a : in) back.push_back(fromTengo(a));
      return Value::object({{"result", std::move(result)}, {"args", Value::array(std::move(back))}});
    };
    try {
      switch (r.kind()) {
        case tg::Result::Kind::kValue:
          if (r.value().type() == tg::Type::kError) return Promise::rejected(*fromTengo(r.value()).asError());
          return Promise::resolved(withArgs(fromTengo(r.value())));
        case tg::Result::Kind::kPending: {
          PromisePtr p = std::move(pending_);
          if (!p) break;
          if (!seeArgs) return p;
          auto out = Promise::create();
          out->setCanceller([p] { p->cancel(); });
          std::weak_ptr<bool> alive = alive_;
          p->onSettle([out, alive, withArgs](const Promise& q) {
            if (q.rejected()) {
              const_cast<Promise&>(q).markHandled();
              out->reject(q.error());
            } else if (alive.expired()) {
              out->reject(Error(codes::kCancelled, "the spell that owned this function has ended"));
            } else {
              out->resolve(withArgs(q.value()));
            }
          });
          return out;
        }
        case tg::Result::Kind::kLimit:
          interrupt(Error(codes::kLimitExceeded, r.message()));
          return Promise::rejected(killReason_);
        case tg::Result::Kind::kWrongArgs:
          return Promise::rejected(Error("script_error", "wrong number of arguments in call to '" + tg::typeName(fn) + "'"));
        default: break;
      }
    } catch (const Exception& e) {
      return Promise::rejected(e.error());
    }
    return Promise::rejected(Error("script_error", r.message().empty() ? "callback failed" : r.message()));
  }

  // Runs a segment of task `t` (its start or a resume), with its usage scope in the run.
  template <typename F>
  void step(const TaskPtr& t, F&& go) {
    tg::Value result;
    setSegmentDeadline();
    t->onStack = true;
    ++depth_;
    // Swapped rather than copied: while the task runs, its field holds the scope to put back.
    std::swap(run_.usageScope, t->usageScope);
    tg::Status st = go(&result);
    std::swap(run_.usageScope, t->usageScope);
    --depth_;
    t->onStack = false;
    switch (st.kind) {
      case tg::Status::Kind::kOk:
        // A stop the task did not reach a check for still ends it: a stop is never a success.
        if (killed_) finishTask(t, killReason_);
        else finishTask(t, std::nullopt, std::move(result));
        return;
      case tg::Status::Kind::kSuspended: wait(t); return;
      case tg::Status::Kind::kLimitExceeded:
        interrupt(limitError(st));
        finishTask(t, killReason_);
        return;
      default:
        if (isStackOverflow(st) && !killed_) interrupt(limitError(st));
        finishTask(t, killed_ ? killReason_ : toError(st));
    }
  }

  // Task `t` waits on the promise its native left in pending_; the loop resumes it.
  void wait(const TaskPtr& t) {
    PromisePtr p = std::move(pending_);
    pending_.reset();
    if (!p) {
      finishTask(t, Error(codes::kInternal, "a Tengo task suspended without a promise"));
      return;
    }
    tasks_.insert(t);
    t->waitingOn = p;
    if (t->cancelled) p->cancel();
    std::weak_ptr<bool> alive = alive_;
    Loop* loop = &run_.loop();  // outlives this context, which may be gone by then
    p->onSettle([this, t, alive, p, loop, where = pendingWhere_](const Promise&) {
      if (t->waitingOn == p) t->waitingOn = nullptr;
      if (alive.expired()) return;
      loop->post([this, t, alive, p, where] {
        if (alive.expired() || !tasks_.count(t) || !t->co->suspended()) return;
        // A stopped spell's task is not resumed: it ends with the stop.
        if (killed_) {
          finishTask(t, killReason_);
          return;
        }
        tg::Result r = await(p, &where);
        if (r.kind() != tg::Result::Kind::kValue) {
          finishTask(t, killed_ ? killReason_ : Error("script_error", r.message()));
          return;
        }
        step(t, [&](tg::Value* out) { return vm_->resume(*t->co, std::move(r.value()), out); });
      });
    });
  }

  // Settles task `t`'s promise with its error, or with `result` (an error value rejects).
  void finishTask(TaskPtr t, std::optional<Error> err, tg::Value result = {}) {
    tasks_.erase(t);
    if (debugger_) {
      debugger_->onTaskEnd(t->id);
      taskNames_.erase(t->id);
    }
    t->waitingOn.reset();
    // A coroutine whose function returned is back at its base and can run the next task: a
    // host callback per streamed chunk or emitted event would otherwise make a stack each.
    if (t->co && !t->co->suspended() && !killed_ && alive_ && idle_.size() < kMaxIdle)
      idle_.push_back(std::move(t->co));
    if (!err) {
      try {
        if (result.type() == tg::Type::kError) {
          err = *fromTengo(result).asError();
        } else {
          Value out = fromTengo(result);
          if (t->seeArgs) {
            std::vector<Value> back;
            for (const auto& a : t->args) back.push_back(fromTengo(a));
            out = Value::object({{"result", std::move(out)}, {"args", Value::array(std::move(back))}});
          }
          t->done->resolve(std::move(out));
          return;
        }
      } catch (const Exception& e) {
        err = e.error();
      }
    }
    t->done->reject(*err);
  }

  // Ends every task (their promises reject with `why`); their coroutines go before the VM.
  // The waits are withdrawn (a channel forgets the receiver): a promise nobody settles would
  // otherwise keep its callback, and the task in it, alive.
  void cancelTasks(const Error& why) {
    auto tasks = std::move(tasks_);
    tasks_.clear();
    for (const auto& t : tasks) {
      if (auto p = std::move(t->waitingOn)) p->cancel(why);
      if (t->done->pending()) t->done->reject(why);
    }
  }

  // What a function value is to the host, from the call it was given to: "the 'run' function
  // given to tools.define".
  std::string roleOf(std::string_view key) const {
    if (!converting_) return "";
    std::string r = key.empty() ? "the function" : "the '" + std::string(key) + "' function";
    return r + " given to " + converting_->qualifiedName();
  }

  Error arityError(const std::string& role, const tg::FunctionInfo& info, size_t got) {
    auto count = [](size_t n) { return std::to_string(n) + (n == 1 ? " argument" : " arguments"); };
    std::string takes = info.varArgs ? "at least " + count(static_cast<size_t>(info.params))
                                     : count(static_cast<size_t>(info.params));
    Error e("script_error",
            (role.empty() ? std::string("a function called by the host") : role) + " takes " + takes +
                " but is called with " + std::to_string(got) + ": declare it with " + std::to_string(got) +
                (got == 1 ? " parameter" : " parameters") + " (wrong number of arguments: want" +
                (info.varArgs ? ">=" : "=") + std::to_string(info.params) + ", got=" + std::to_string(got) + ")");
    // "file:line:col" of the function's body
    auto c2 = info.position.rfind(':');
    auto c1 = c2 == std::string::npos || c2 == 0 ? std::string::npos : info.position.rfind(':', c2 - 1);
    if (c1 != std::string::npos) {
      e.source = info.position.substr(0, c1);
      e.line = std::atoi(info.position.substr(c1 + 1, c2 - c1 - 1).c_str());
    }
    return e;
  }

  static constexpr int kMaxDepth = 16;   // nested task starts on the C stack
  static constexpr size_t kMaxIdle = 8;  // coroutines kept for reuse

  RunContext& run_;
  Limits limits_;
  std::shared_ptr<SpellOs> os_;
  std::unique_ptr<tg::Vm> vm_;
  PromisePtr done_, pending_;
  std::string pendingWhere_;            // where the code that took pending_ called ("file:line:col")
  std::string chunk_;
  std::set<std::string> hostGlobals_;  // names addModules predeclares (not carried between chunks)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unordered_map<int64_t, Value> handles_;
  std::unordered_map<const void*, std::pair<tg::Value, Value>> natives_;
  int64_t nextHandle_ = 1;
  std::unordered_set<TaskPtr> tasks_;  // tasks waiting on the host (or about to start)
  std::vector<std::unique_ptr<tg::Coroutine>> idle_;  // finished coroutines, reused
  int depth_ = 0;                      // VM runs on the C stack (the main chunk's, tasks')
  bool mainWaiting_ = false;           // the main chunk is suspended on a host promise
  uint64_t vmGen_ = 0;                 // counts the VMs compiled (one per REPL line)
  const FunctionDecl* converting_ = nullptr;  // the host call whose arguments are being converted
  bool killed_ = false;
  Error killReason_;
  int64_t memBase_ = tg::tlHeapBytes;  // heap count when the VM started (its growth is capped)
  Clock::time_point deadline_ = Clock::time_point::max();
  Loop::TimerHandle timer_;
  // Debugging (null unless a debugger is attached).
  std::shared_ptr<DebugSession> session_;
  std::unique_ptr<TengoDebugger> debugger_;
  int nextTaskId_ = 2;
  std::unordered_map<int, std::string> taskNames_;  // of the tasks alive, for the debugger
};

PromisePtr TengoFunction::run(std::vector<Value> args, bool seeArgs) {
  if (alive_.expired() || !ctx_->vm_)
    return Promise::rejected(Error(codes::kCancelled, "the spell that owned this function has ended"));
  if (ctx_->killed_) return Promise::rejected(ctx_->killReason_);  // a stopped spell runs no more code
  if (fn_.type() == tg::Type::kFunction && vmGen_ != ctx_->vmGen_)
    return Promise::rejected(Error(codes::kInvalidArgument,
                                   "this function was defined on an earlier REPL line; in the Tengo REPL "
                                   "functions do not carry over between lines"));
  return ctx_->startTask(fn_, role_, args, seeArgs);
}

class TengoEngine final : public Engine {
 public:
  std::string_view name() const override { return "tengo"; }
  std::vector<std::string> extensions() const override { return {".tengo"}; }
  std::unique_ptr<ScriptContext> createContext(RunContext& run, const Limits& limits) override {
    return std::make_unique<TengoContext>(run, limits);
  }
};

}  // namespace

Engine& tengoEngine() {
  static TengoEngine e;
  return e;
}

}  // namespace llmspell
