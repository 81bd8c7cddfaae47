// The bridge registry: every script-visible function is declared here once (namespace, name,
// parameter schema, return description, doc, sync or async, permission), and every engine binds
// the whole registry generically. Argument validation happens here, so its messages are the same
// in every engine.
//
// Thread-safety: the registry is filled at start-up (registerAll) and read-only afterwards;
// reading it from several threads is safe. Host functions run on the spell's runtime thread.
#pragma once

#include <any>
#include <optional>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <typeindex>
#include <unordered_map>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/core/permissions.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/core/usage.hpp"
#include "llmspell/core/value.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell {

class RunContext;
struct SpellSource;

// What a host function receives besides its arguments.
struct CallContext {
  RunContext& run;
  Loop& loop;
  std::string_view qualifiedName;  // "json.encode", for messages
};

// Arguments after validation: missing optional parameters are null, or their schema default.
using Args = std::span<Value>;
using SyncFn = std::function<Value(CallContext&, Args)>;
// Returns a promise; it may already be settled. Must not throw for expected failures (reject
// instead); a thrown Exception is converted into a rejected promise.
using AsyncFn = std::function<PromisePtr(CallContext&, Args)>;

enum class Permission { kNone, kNet, kRead, kWrite, kEnv, kRun };
std::string_view permissionFlag(Permission p);  // "--allow-net", ...

// Parameter types: a JSON Schema subset plus the runtime kinds scripts can pass.
struct ParamDecl {
  std::string name;
  // JSON Schema subset: {"type": "string"|"integer"|"number"|"boolean"|"object"|"array"|"null"
  //  |"function"|"promise"|"bytes"|"error"|"handle"|"any" or a list of them, "enum", "minimum",
  //  "maximum", "minLength", "items", "properties", "required", "default", "description"}.
  Value schema;
  bool required = true;
  std::string doc;
  // Compiled from schema by the registry: bit per ValueKind accepted.
  uint32_t kindMask = 0;
  bool deep = false;  // schema has enum/min/max/items/properties: full validation needed
  bool integer = false;  // type is exactly "integer": integral doubles are converted
};

struct FunctionDecl {
  std::string ns;           // "json"; "" for globals (await, sleep, spawn...)
  std::string name;         // snake_case: "count_tokens"
  std::string self;         // non-empty for methods: the type name ("promise", "channel")
  std::vector<ParamDecl> params;
  bool variadic = false;    // extra arguments after params are passed through unchecked
  bool property = false;    // a value, not a function: engines bind sync() result as a field
                            // when the context is created (spell.params)
  std::string returns;      // description of the result
  std::string doc;          // one line
  bool async = false;
  Permission permission = Permission::kNone;
  SyncFn sync;
  AsyncFn asyncFn;

  // "json.encode", "sleep", "channel:send"; computed once when the declaration is added, so
  // engines can hand it to CallContext without building a string per call.
  const std::string& qualifiedName() const;
  std::string qualified;  // set by Registry::add
};

struct TypeDecl {
  std::string name;  // "promise", "channel", "agent"
  std::string doc;
};

// Fluent builder used by the host modules: reg.fn("json", "encode").param(...).doc(...).sync(f)
class Registry;
class FnBuilder {
 public:
  FnBuilder(Registry& r, FunctionDecl d) : reg_(r), d_(std::move(d)) {}
  // `schema` is JSON text for brevity: R"({"type":"string"})".
  FnBuilder& param(std::string name, std::string_view schema, std::string doc = "");
  FnBuilder& opt(std::string name, std::string_view schema, std::string doc = "");
  FnBuilder& variadic() { d_.variadic = true; return *this; }
  FnBuilder& property() { d_.property = true; return *this; }
  FnBuilder& returns(std::string r) { d_.returns = std::move(r); return *this; }
  FnBuilder& doc(std::string d) { d_.doc = std::move(d); return *this; }
  FnBuilder& permission(Permission p) { d_.permission = p; return *this; }
  void sync(SyncFn f);
  void async(AsyncFn f);

 private:
  Registry& reg_;
  FunctionDecl d_;
};

class Registry {
 public:
  // The process-wide registry with every built-in module registered (built once, thread-safe).
  static const Registry& global();
  // Lets an embedding program add its own host functions to the global registry. Call it before
  // the first script context is created (contexts bind the registry when they start); not
  // thread-safe with concurrent context creation.
  static void extend(const std::function<void(Registry&)>& add);

  FnBuilder fn(std::string ns, std::string name);
  FnBuilder method(std::string type, std::string name);
  void type(std::string name, std::string doc);
  void add(FunctionDecl d);  // compiles parameter schemas; duplicate names throw internal

  const std::vector<FunctionDecl>& functions() const { return fns_; }
  const std::vector<TypeDecl>& types() const { return types_; }
  const FunctionDecl* find(std::string_view qualifiedName) const;
  std::vector<std::string> namespaces() const;  // in registration order, "" excluded

  // Validates and normalizes `args` in place (fills defaults, resizes to params.size()).
  // Returns the error for the first bad argument, e.g.
  // "json.encode: argument 2 'opts': expected object, got string \"x\"".
  static std::optional<Error> validate(const FunctionDecl& d, std::vector<Value>& args);
  // Fast path on a fixed buffer: `args` holds `n` values, capacity >= params.size().
  static std::optional<Error> validate(const FunctionDecl& d, Value* args, size_t& n);

  // Invokes a sync declaration: checks permission placeholder, calls, converts exceptions into
  // an Error. Never throws. Exactly one of the results is set.
  static Value callSync(const FunctionDecl& d, CallContext& cx, Args args, ErrorPtr& err) noexcept;
  // Invokes an async declaration; never throws; applies `timeout` from a trailing options object.
  static PromisePtr callAsync(const FunctionDecl& d, CallContext& cx, Args args) noexcept;
  // Calls any declaration of the global registry by qualified name ("state.get", "agent:run")
  // the way a script would: validates, then runs it sync or async. Never throws; a sync result
  // comes back as a settled promise. How one module uses another without linking to it.
  static PromisePtr invoke(std::string_view qualifiedName, CallContext& cx, std::vector<Value> args) noexcept;

 private:
  std::vector<FunctionDecl> fns_;
  std::vector<TypeDecl> types_;
  std::unordered_map<std::string, size_t> byName_;
};


// The spell's memory cap (Limits::memoryBytes) applied to the memory host functions allocate
// for it: response bodies, decoded documents, strings and containers they build. There is one
// count per spell, the engine's: the engine attaches its VM counter, and bytes the host holds
// for the spell outside the VM (an HTTP body while it arrives) are added to that counter while
// they are held, so the VM's own check sees them too. Host functions ask before allocating:
//  - require(n, what): about to build n bytes that the spell then receives (they become VM
//    memory when the engine converts the result, and are counted there);
//  - MemoryHold::grow(n): bytes kept outside the VM until the hold is dropped.
// A request past the cap stops the spell with limit_exceeded (uncatchable, like the VM's own
// memory limit) and throws that error, so the allocation never happens. Without an attached
// engine (unit tests, `llmspell check`) there is no cap.
class MemoryBudget {
 public:
  struct Meter {
    size_t limit = 0;                        // bytes; 0 = no cap
    std::function<size_t()> used;            // bytes the VM holds, held host bytes included
    std::function<void(int64_t)> charge;     // adds (or with a negative count, removes) held bytes
    std::function<void(const Error&)> stop;  // ends the spell with this limit_exceeded error
  };
  // Set by the engine context when it is created, cleared when it is destroyed.
  void attach(Meter m) { meter_ = std::move(m); }
  void detach() { meter_ = Meter{}; }
  size_t limit() const { return meter_.limit; }
  // Bytes that may still be allocated for the spell (SIZE_MAX without a cap).
  size_t available() const;
  // Throws limit_exceeded (and stops the spell) unless `bytes` more fit under the cap.
  // `what` names the allocation for the message: "yaml.decode result".
  void require(size_t bytes, std::string_view what);
  // Stops the spell and throws: "memory limit of 16 MiB exceeded: <what>".
  [[noreturn]] void exceeded(std::string_view what);
  // Runs a decoder that bounds its result by a node count (parseJson, parseYaml: a node is
  // about kNodeBytes of memory), with the bound what is left allows, or `otherBound` when that
  // is smaller (0 = none). When the budget was the bound the decoder hit, the spell stops.
  static constexpr size_t kNodeBytes = 64;
  Value decodeBounded(std::string_view what, size_t otherBound,
                      const std::function<Value(size_t maxNodes)>& decode);

 private:
  friend class MemoryHold;
  void charge(int64_t bytes) {
    if (meter_.charge) meter_.charge(bytes);
  }
  Meter meter_;
};
using MemoryBudgetPtr = std::shared_ptr<MemoryBudget>;

// Host bytes held for the spell outside its VM, counted against the cap until destroyed. Holds
// the budget by shared pointer: a transfer may end after its run.
class MemoryHold {
 public:
  MemoryHold(MemoryBudgetPtr budget, std::string what)
      : budget_(std::move(budget)), what_(std::move(what)) {}
  MemoryHold(const MemoryHold&) = delete;
  MemoryHold& operator=(const MemoryHold&) = delete;
  ~MemoryHold() { release(); }
  // require(bytes), then counts them as held.
  void grow(size_t bytes);
  void release();
  size_t bytes() const { return bytes_; }

 private:
  MemoryBudgetPtr budget_;
  std::string what_;
  size_t bytes_ = 0;
};

// Per-spell-run state shared by host functions: permissions, params, the cancel scope, and
// services that higher layers attach (the state store, the event bus, the LLM client...).
class RunContext {
 public:
  explicit RunContext(Loop& loop) : loop_(loop) {}
  Loop& loop() { return loop_; }
  Permissions& permissions() { return perms_; }
  const Permissions& permissions() const { return perms_; }
  CancelScope& scope() { return scope_; }
  // The memory cap for host allocations (see MemoryBudget).
  MemoryBudget& memory() { return *memory_; }
  const MemoryBudgetPtr& memoryPtr() { return memory_; }

  Value params = Value::object();   // typed spell params
  Value config = Value::object();   // spell.config values (manifest `config:` + defaults)
  Value manifest;                   // the parsed spell.yaml, or null
  std::string spellName = "spell";
  std::string spellPath;            // entry file path ("" for exec)
  std::string spellDir;             // directory that require/include may read
  std::string runId;
  std::string engine;               // "lua", "js", "tengo"
  std::string dataDir;              // $LLMSPELL_HOME
  // spell.output(value, format) sink: the CLI prints or collects it.
  std::function<void(const Value& v, std::string_view format)> output;
  // Runs another source file of the spell (spell.include), read by readSpellSource; set by the
  // engine, with the extensions of its source files (".lua"), which a spell may include or
  // require from its own directory tree without a read grant.
  std::function<PromisePtr(const SpellSource& src)> include;
  std::vector<std::string> sourceExtensions;
  // The usage scope of the code running now (core/usage.hpp); null: none. Set only through
  // UsageScopeGuard, which puts the previous one back.
  UsageScopePtr usageScope;

  // Services: one instance per type, created on first use by `make`.
  template <typename T>
  T& service(const std::function<std::shared_ptr<T>()>& make) {
    auto it = services_.find(std::type_index(typeid(T)));
    if (it == services_.end()) {
      auto p = make();
      it = services_.emplace(std::type_index(typeid(T)), std::shared_ptr<void>(p)).first;
    }
    return *static_cast<T*>(it->second.get());
  }
  template <typename T>
  T* findService() {
    auto it = services_.find(std::type_index(typeid(T)));
    return it == services_.end() ? nullptr : static_cast<T*>(it->second.get());
  }
  template <typename T>
  void setService(std::shared_ptr<T> p) { services_[std::type_index(typeid(T))] = std::move(p); }

 private:
  Loop& loop_;
  Permissions perms_;
  CancelScope scope_;
  MemoryBudgetPtr memory_ = std::make_shared<MemoryBudget>();
  std::unordered_map<std::type_index, std::shared_ptr<void>> services_;
};

// Makes `scope` the run's current usage scope until destroyed.
class UsageScopeGuard {
 public:
  UsageScopeGuard(RunContext& run, UsageScopePtr scope) : run_(run), prev_(std::move(run.usageScope)) {
    run.usageScope = std::move(scope);
  }
  ~UsageScopeGuard() { run_.usageScope = std::move(prev_); }
  UsageScopeGuard(const UsageScopeGuard&) = delete;
  UsageScopeGuard& operator=(const UsageScopeGuard&) = delete;

 private:
  RunContext& run_;
  UsageScopePtr prev_;
};

// The most a spell's source file (its entry, an included or required file) may hold.
inline constexpr size_t kMaxSourceBytes = 16u << 20;

// A source file a spell asked to run (spell.include, require), as read by readSpellSource.
struct SpellSource {
  std::string text;
  std::string chunkName;  // the path as the spell wrote it: tracebacks and messages
  std::string path;       // that path made absolute against the spell's directory (not resolved)
  std::string caller;     // "spell.include('lib.lua')", "require('lib')"
  bool readable = false;  // the spell holds a read grant for it: messages may quote its text
};

// Reads `path` (relative to the spell's directory) for `caller`. A source file of the spell's
// engine (by extension) inside the spell's directory tree, symlinks resolved, needs no grant;
// anything else needs --allow-read, and its denial does not tell whether it exists. The file
// must be a regular file of at most kMaxSourceBytes and is opened without following a link
// swapped in after the check. Throws Exception (permission_denied, not_found, invalid_argument,
// limit_exceeded).
SpellSource readSpellSource(RunContext& run, std::string_view path, std::string caller);

// The error for `src` failing to compile (`compilerError`: a syntax error with its position).
// The compiler quotes the text near the error, so without a read grant only the position is
// given: running a file must not become a way to read it.
Error sourceSyntaxError(const SpellSource& src, Error compilerError);

// A host function as a Value (async(fn), log.with(...) closures, tool run functions).
class HostFunction : public Function {
 public:
  using Impl = std::function<PromisePtr(std::vector<Value>)>;
  explicit HostFunction(Impl f, std::string name = "host function")
      : f_(std::move(f)), name_(std::move(name)) {}
  PromisePtr call(std::vector<Value> args) override;
  std::string describe() const override { return name_; }

 private:
  Impl f_;
  std::string name_;
};

// Module registration entry points, one per namespace file in src/bridge/modules/.
// Each adds its declarations to `r`. Called once by Registry::global().
void registerAllModules(Registry& r);

// "1.5s" for messages.
std::string fmtSeconds(double s);

}  // namespace llmspell
