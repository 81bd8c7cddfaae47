// Public embedding API of llmspell's native Tengo implementation (lexer, parser, compiler, VM,
// builtins and stdlib). Standalone: depends only on the C++ standard library and nlohmann::json.
//
// Ownership and threading: a Value is a tagged immediate (int/float/bool/char/undefined) or a
// reference-counted pointer to a heap object. Reference counts are NOT atomic: every Value,
// Script and Vm belongs to one thread at a time (one VM per thread). Reference cycles between
// containers are not collected (they leak; the memory cap still bounds them). Compiled-function
// values point into their Vm's bytecode: call them only while that Vm is alive.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace llmspell::tengo {

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

enum class Type : uint8_t {
  kUndefined,
  kBool,
  kInt,
  kFloat,
  kChar,
  kBuiltin,  // one of the 32 builtin functions (immediate index)
  // heap types (reference counted) from here on
  kString,
  kBytes,
  kArray,
  kImmutableArray,  // shares the ArrayObj of the array it views
  kMap,
  kImmutableMap,  // shares the MapObj of the map it views
  kError,
  kTime,
  kFunction,  // compiled function / closure
  kNative,    // host ("user") function
  kCell,      // internal: captured variable
  kIterator,  // internal
};

// Approximate bytes held by live heap values created on this thread; the VM compares its growth
// during a run against Limits::maxMemoryBytes.
extern thread_local int64_t tlHeapBytes;

struct Object;
// Deletes an object whose count reached zero; deep chains are freed iteratively (no C++ stack
// exhaustion when a million nested arrays die at once).
void destroyObject(Object* o);

struct Object {
  int32_t refs = 0;
  int64_t charged = 0;  // bytes accounted in tlHeapBytes for this object
  void charge(int64_t n) {
    charged += n;
    tlHeapBytes += n;
  }
  virtual ~Object() { tlHeapBytes -= charged; }
};

class Value {
 public:
  Value() : type_(Type::kUndefined), i_(0) {}
  Value(const Value& o) : type_(o.type_), i_(o.i_) {
    if (isHeap()) ++o_->refs;
  }
  Value(Value&& o) noexcept : type_(o.type_), i_(o.i_) { o.type_ = Type::kUndefined; }
  Value& operator=(const Value& o) {
    if (o.isHeap()) ++o.o_->refs;
    release();
    type_ = o.type_;
    i_ = o.i_;
    return *this;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      release();
      type_ = o.type_;
      i_ = o.i_;
      o.type_ = Type::kUndefined;
    }
    return *this;
  }
  ~Value() { release(); }

  static Value integer(int64_t v) { return Value(Type::kInt, v); }
  static Value number(double v) {
    Value r;
    r.type_ = Type::kFloat;
    r.f_ = v;
    return r;
  }
  static Value boolean(bool b) { return Value(Type::kBool, b ? 1 : 0); }
  static Value character(int32_t c) { return Value(Type::kChar, c); }
  static Value builtin(int idx) { return Value(Type::kBuiltin, idx); }
  // Takes a reference on `o` (which may be freshly allocated with refs == 0).
  static Value object(Type t, Object* o) {
    Value r;
    r.type_ = t;
    r.o_ = o;
    ++o->refs;
    return r;
  }

  Type type() const { return type_; }
  bool isHeap() const { return type_ >= Type::kString; }
  bool isUndefined() const { return type_ == Type::kUndefined; }
  int64_t i() const { return i_; }
  double f() const { return f_; }
  Object* obj() const { return o_; }
  template <class T>
  T* as() const {
    return static_cast<T*>(o_);
  }
  // Raw mutation used by the VM's hot paths (no refcount traffic for immediates).
  void setInt(int64_t v) {
    release();
    type_ = Type::kInt;
    i_ = v;
  }
  // VM internals: initialise a slot that is known to hold no heap reference.
  void initFrom(const Value& o) {
    type_ = o.type_;
    i_ = o.i_;
    if (isHeap()) ++o_->refs;
  }
  void initInt(int64_t v) {
    type_ = Type::kInt;
    i_ = v;
  }
  void initBool(bool b) {
    type_ = Type::kBool;
    i_ = b ? 1 : 0;
  }
  void initUndefined() {
    type_ = Type::kUndefined;
    i_ = 0;
  }
  // Drops any heap reference and becomes undefined.
  void reset() {
    release();
    type_ = Type::kUndefined;
  }

 private:
  Value(Type t, int64_t v) : type_(t), i_(v) {}
  void release() {
    if (isHeap() && --o_->refs == 0) destroyObject(o_);
  }
  Type type_;
  union {
    int64_t i_;
    double f_;
    Object* o_;
  };
};

struct StringObj : Object {
  explicit StringObj(std::string v) : s(std::move(v)) { charge(static_cast<int64_t>(s.size()) + 48); }
  std::string s;
  int8_t ascii = -1;  // cached: 1 if all bytes < 0x80
};
struct BytesObj : Object {
  explicit BytesObj(std::string v) : b(std::move(v)) { charge(static_cast<int64_t>(b.size()) + 48); }
  std::string b;
};
// An array's backing storage, shared by the slices and appends that view it. The store, not
// the views, carries the heap charge for its elements: `a = append(a, x)` in a loop makes a new
// view per call and frees the old one, while the one store keeps every element. Whoever grows
// the vector calls account() afterwards.
struct ArrayStore : std::vector<Value> {
  ArrayStore() = default;
  explicit ArrayStore(std::vector<Value> v) : std::vector<Value>(std::move(v)) { account(); }
  ArrayStore(const ArrayStore&) = delete;
  ArrayStore& operator=(const ArrayStore&) = delete;
  ~ArrayStore() { tlHeapBytes -= charged; }
  // Brings the charge in line with the capacity.
  void account() {
    int64_t now = static_cast<int64_t>(capacity() * sizeof(Value));
    tlHeapBytes += now - charged;
    charged = now;
  }
  int64_t charged = 0;
};

// Arrays follow Go slice semantics: a view (off, len) on shared storage, so slices alias.
struct ArrayObj : Object {
  ArrayObj() : store(std::make_shared<ArrayStore>()) { charge(64); }
  explicit ArrayObj(std::vector<Value> v)
      : store(std::make_shared<ArrayStore>(std::move(v))), len(store->size()) {
    charge(64);
  }
  std::shared_ptr<ArrayStore> store;
  size_t off = 0, len = 0;
  Value* data() const { return store->data() + off; }
  Value& at(size_t i) const { return (*store)[off + i]; }
};
struct MapObj : Object {
  MapObj() { charge(64); }
  std::map<std::string, Value, std::less<>> m;
};
struct ErrorObj : Object {
  explicit ErrorObj(Value v) : v(std::move(v)) {}
  Value v;
  // A host's text for the error ("code: message (at file:line)"): when set, the error displays
  // as "error: " + text instead of "error: " + the payload's display.
  std::string text;
};
// A point in time: Unix seconds + nanoseconds, displayed in a zone (fixed offset; name kept).
struct TimeObj : Object {
  int64_t sec = 0;   // Unix seconds
  int32_t nsec = 0;  // [0, 1e9)
  int32_t offset = 0;  // seconds east of UTC for display
  std::string zone = "UTC";  // "UTC", "Local" or an abbreviation / IANA name
  bool local = false;        // zone follows the process local zone
  std::string loc;           // IANA zone the offset follows ("Pacific/Auckland"), or ""
};
struct CellObj : Object {
  Value v;
};

class Vm;
class CallContext;
using Args = std::span<const Value>;

// What a native function returns: a value, a runtime error (aborts the script unless the host
// later resumes), or "pending" (the VM suspends with all frames kept; see Vm::resume).
class Result {
 public:
  enum class Kind : uint8_t { kValue, kError, kPending, kWrongArgs, kBadArg, kLimit };
  Result(Value v) : kind_(Kind::kValue), value_(std::move(v)) {}  // NOLINT: implicit by design
  static Result error(std::string msg) { return Result(Kind::kError, std::move(msg)); }
  // Suspends the VM (see Vm). Copy any argument Values you need before returning: the argument
  // span is invalid after the call.
  static Result pending() { return Result(Kind::kPending, {}); }
  static Result wrongArgs() { return Result(Kind::kWrongArgs, {}); }
  // "invalid type for argument 'first' in call to '...': expected int, found string"
  static Result badArg(std::string name, std::string expected, std::string found) {
    Result r(Kind::kBadArg, std::move(name));
    r.expected_ = std::move(expected);
    r.found_ = std::move(found);
    return r;
  }
  static Result limit(std::string msg) { return Result(Kind::kLimit, std::move(msg)); }
  Kind kind() const { return kind_; }
  Value& value() { return value_; }
  const std::string& message() const { return msg_; }
  const std::string& expected() const { return expected_; }
  const std::string& found() const { return found_; }

 private:
  Result(Kind k, std::string m) : kind_(k), msg_(std::move(m)) {}
  Kind kind_;
  Value value_;
  std::string msg_, expected_, found_;
};

// A host function callable from scripts (type_name "user-function:<name>"). Must not throw:
// exceptions are caught by the VM and turned into runtime errors anyway.
using NativeFn = std::function<Result(Vm& vm, Args args)>;
struct NativeObj : Object {
  NativeObj(std::string n, NativeFn f) : name(std::move(n)), fn(std::move(f)) {}
  std::string name;
  NativeFn fn;
};

// Constructors for heap values. Strings/bytes are not length-checked here (the VM checks).
Value makeString(std::string s);
Value makeBytes(std::string b);
Value makeArray(std::vector<Value> items, bool immutable = false);
Value makeMap(std::map<std::string, Value, std::less<>> items = {}, bool immutable = false);
Value makeError(Value payload);
Value makeNative(std::string name, NativeFn fn);

// Tengo semantics helpers.
std::string typeName(const Value& v);        // e.g. "int", "immutable-map", "user-function:x"
std::string toDisplay(const Value& v);       // Tengo String(): strings quoted
bool toStringValue(const Value& v, std::string* out);  // ToString: raw strings; false if undefined
bool isFalsy(const Value& v);
bool valuesEqual(const Value& a, const Value& b);
Value deepCopy(const Value& v);

// Neutral conversion for hosts: JSON null <-> undefined, numbers (integral -> int), strings,
// arrays, objects <-> maps. toJson maps bytes to their raw bytes as a string, errors to
// {"error": payload}, chars to numbers, times to their String() form, functions to null.
Value fromJson(const nlohmann::json& j);
nlohmann::json toJson(const Value& v);

// ---------------------------------------------------------------------------------------------
// Modules, limits, permissions
// ---------------------------------------------------------------------------------------------

// The host side of the restricted `os` module. The Tengo library never touches the file system,
// the environment or process identity itself: every `os` function that would calls one of these
// methods, and each returns the script-visible result (a value, or an error value made with
// makeError). The defaults deny, as does a script with no host: the call returns
// `error("permission denied: <op>")`. Called on the VM's thread, from inside the running script.
class OsHost {
 public:
  virtual ~OsHost() = default;
  // Environment: what the script sees, which a host may filter and overlay.
  // getenv: string ("" when unset). lookupEnv: string, or false when unset.
  virtual Value getenv(const std::string& name);
  virtual Value lookupEnv(const std::string& name);
  virtual Value setenv(const std::string& name, const std::string& value);  // true
  virtual Value unsetenv(const std::string& name);                          // true
  virtual Value environment();  // os.environ: array of "NAME=value"
  // Process and machine facts: "hostname", "getpid", "getppid", "getuid", "geteuid", "getgid",
  // "getegid", "temp_dir" (string or int).
  virtual Value info(const std::string& what);
  virtual Value execLookPath(const std::string& file);  // the executable's path
  // Files. Relative paths are the host's to resolve (its own working directory: chdir must not
  // change the process's). Each returns true, or the bytes read / the directory.
  virtual Value getwd();
  virtual Value chdir(const std::string& dir);
  virtual Value readFile(const std::string& path);  // bytes
  virtual Value remove(const std::string& path, bool all);
  virtual Value mkdir(const std::string& path, int64_t mode, bool all);
  virtual Value rename(const std::string& from, const std::string& to);
  // The functions the module never offers (exit, exec, open, ...): the error value to return.
  virtual Value refused(const std::string& op);
};

// The importable modules of one compilation. A "builtin module" is a map of native functions
// and values (imports as an immutable map with `__module_name__`); a source module is Tengo
// code compiled on import.
class ModuleMap {
 public:
  void addBuiltinModule(const std::string& name, std::map<std::string, Value, std::less<>> attrs);
  void addSourceModule(const std::string& name, std::string source);
  // Adds stdlib modules by name ("fmt", "math", "text", "times", "rand", "json", "base64",
  // "hex", "enum", "os"). Returns false if a name is unknown.
  bool addStdlib(const std::vector<std::string>& names);
  static std::vector<std::string> allStdlibNames();
  void remove(const std::string& name);

  struct Entry {
    bool isSource = false;
    std::string source;
    Value value;  // immutable map for builtin modules
  };
  const Entry* find(const std::string& name) const;

 private:
  std::map<std::string, Entry> entries_;
};

struct Limits {
  int64_t maxAllocs = -1;                  // Tengo's SetMaxAllocs (-1 unlimited)
  int64_t maxStringLen = 2147483647;       // "exceeding string size limit"
  int64_t maxBytesLen = 2147483647;        // "exceeding bytes size limit"
  int64_t maxInstructions = -1;            // budget consumed by backward jumps and calls
  int64_t deadlineMs = -1;                 // wall-clock budget from run()/resume() start
  int64_t maxMemoryBytes = -1;  // growth of approximate live heap bytes during a run (-1 = off)
  // Call depth and value-stack size of each stack (the main function's and each coroutine's);
  // past either, the call is a runtime error "stack overflow". Go Tengo's MaxFrames and
  // StackSize by default. Memory is reserved for the whole size but charged to tlHeapBytes
  // (and so to maxMemoryBytes) only as far as a stack has grown.
  int maxFrames = 1024;
  int64_t maxStackValues = 2048;
};

// Outcome of compile/run/resume.
struct Status {
  enum class Kind : uint8_t {
    kOk,
    kParseError,
    kCompileError,
    kRuntimeError,
    kLimitExceeded,  // uncatchable: allocs, instructions, deadline, memory, sizes... see message
    kSuspended,      // a native function returned Result::pending()
  };
  Kind kind = Kind::kOk;
  std::string message;  // full text, e.g. "Runtime Error: ...\n\tat test:1:5"
  bool ok() const { return kind == Kind::kOk; }
};

// A coroutine of a Vm: one call of a Tengo function with its own value stack and frames, so
// that it can suspend (a native returning Result::pending()) while the Vm's main function and
// its other coroutines run or wait; they share the globals. The host owns it (see Vm::start)
// and destroys it before the Vm. While it exists its stack (about 66 KB) is charged to
// tlHeapBytes, so the memory limit bounds how many wait at once.
class Coroutine {
 public:
  Coroutine();
  ~Coroutine();
  Coroutine(const Coroutine&) = delete;
  Coroutine& operator=(const Coroutine&) = delete;
  bool suspended() const;
  // The debug id its stack runs under (DebugStackInfo::id); set before Vm::start.
  void setDebugId(int id);

  struct State;
  std::unique_ptr<State> state;
};

// What a host may show about a function value before calling it (a compiled function's
// parameter count and where it is defined).
struct FunctionInfo {
  int params = 0;         // for a variadic function, the parameters before the `...` one
  bool varArgs = false;
  std::string position;   // "file:line:col" of its body
  std::string defined;    // "file:line:col" of its `func`
};
// False for builtins and natives (they take any number of arguments as far as the host knows).
bool describeFunction(const Value& fn, FunctionInfo* out);

// ---------------------------------------------------------------------------------------------
// Debugging: what a host's debugger uses (the script never sees any of it)
// ---------------------------------------------------------------------------------------------

// Called by the VM on its thread from inside a run; a hook may look at the Vm (debugStacks,
// debugVariables, debugEvaluate) and block: the script waits meanwhile.
class DebugHook {
 public:
  virtual ~DebugHook() = default;
  // In line mode only (Vm::setDebugLineMode): the instruction about to run starts a line of
  // `file`: another line than the frame ran last, or the same line again through a jump back
  // (a loop) or a new call.
  virtual void onLine(Vm& vm, const std::string& file, int line) = 0;
  // At the VM's periodic limit checks (every 16K backward jumps and calls): a hook may turn
  // line mode on here (a pause request) to stop at the next line.
  virtual void onCheck(Vm& vm) = 0;
  // A runtime error is about to end the code running (outside a nested Vm::call); its frames
  // are still there to look at.
  virtual void onError(Vm& vm, const std::string& message) = 0;
};

struct DebugFrameInfo {
  std::string function;  // "worker", "main", "function at file:line"
  std::string file;
  int line = 0;
};
struct DebugStackInfo {
  int id = 0;            // the debug id the stack runs under (Vm::setDebugId, Coroutine::setDebugId)
  bool running = false;  // the stack running now (the one a hook was called on)
  std::vector<DebugFrameInfo> frames;  // innermost first
};
using DebugVars = std::vector<std::pair<std::string, Value>>;

// A compiled script plus its globals and value stack. Create with Script::compile; run, read
// globals, re-run (globals persist across runs, as in Tengo). Not thread-safe: use a Vm from one
// thread at a time; only abort() may be called from another thread.
//
// Suspend/resume seam: a native function that cannot answer synchronously returns
// Result::pending(). The VM then stops with Status::Kind::kSuspended, keeping every frame and
// the value stack; the pending call's arguments have already been consumed. The host later
// calls resume(value) (the value becomes the native call's result and execution continues) or
// resumeError(msg) (a runtime error at the call site ends the run). Limits budgets restart on
// each resume. A pending result inside a nested Vm::call is a runtime error. Functions the
// host calls back can suspend too when run as coroutines (start() below).
class Vm {
 public:
  ~Vm();
  Vm(const Vm&) = delete;
  Vm& operator=(const Vm&) = delete;

  // Runs the main function from the start. Returns kSuspended if a native function returned
  // Result::pending(); the VM keeps its frames until resume()/resumeError()/abort().
  Status run();
  // Resumes a suspended VM: `v` becomes the return value of the pending native call.
  Status resume(Value v);
  // Resumes a suspended VM by raising a runtime error at the pending call site.
  Status resumeError(const std::string& message);
  bool suspended() const;
  // Thread- and signal-safe request to stop: the current run ends at its next budget check
  // (backward jump or call) with kLimitExceeded "execution aborted".
  void abort();

  // Globals by name (those the script defines or the host predeclared). Undefined if unknown.
  Value get(const std::string& name) const;
  bool isDefined(const std::string& name) const;
  // Sets a known global; returns false if the name is not a global of this script.
  bool set(const std::string& name, Value v);
  std::vector<std::string> globalNames() const;
  // Where the code running now is ("file:line:col" of the innermost frame's instruction; inside
  // a native, its call), or "" when nothing runs.
  std::string position() const;

  Limits& limits();
  // Where fmt.print/println/printf write (default: stdout).
  void setOutput(std::function<void(std::string_view)> out);
  void write(std::string_view text);
  // The `os` module's host (nullptr: every `os` call that needs one is denied). Shared, so a
  // host outlives the Vms that use it.
  void setOsHost(std::shared_ptr<OsHost> host);
  OsHost* osHost() const;
  // For natives: enforce the string/bytes limits ("exceeding string size limit"). Also false
  // when n more bytes would not fit under maxMemoryBytes: checked before building the result.
  bool checkStringLen(size_t n) const;
  bool checkBytesLen(size_t n) const;
  // Calls a Tengo callable (compiled function, builtin, native) from inside a native function
  // (re-enters the interpreter on the same stack). Returns the callee's value, or a kError /
  // kLimit result whose message the native may return as its own result. Must not suspend.
  Result call(const Value& fn, Args args);

  // Calls the compiled function `fn` with `args` as coroutine `co` (new, or one whose last call
  // has ended). Returns kOk with the function's value in *result, kSuspended when a native
  // returned Result::pending() (continue with the resume below), or a runtime error / limit
  // stop (Tengo's message with the coroutine's trace). May be called from inside a native
  // while the main function or another coroutine runs: that one's stack is set aside and put
  // back when this returns. Budgets (instructions, deadline) start afresh for each segment.
  Status start(Coroutine& co, const Value& fn, Args args, Value* result);
  // Continues a suspended coroutine: `v` becomes the pending native call's result.
  Status resume(Coroutine& co, Value v, Value* result);
  // Ends a suspended coroutine with a runtime error at the pending call site.
  Status resumeError(Coroutine& co, const std::string& message);

  // ---- debugging (see DebugHook) ----
  // With no hook the VM runs as fast as without one; with a hook and line mode off it costs
  // a check at each periodic limit check. Setting a hook reserves the constant table's full
  // size (evaluated expressions compile into the running program).
  void setDebugHook(DebugHook* hook);
  void setDebugLineMode(bool on);
  bool debugLineMode() const;
  // The debug id of the main function's stack (a coroutine's: Coroutine::setDebugId).
  void setDebugId(int id);
  int debugId() const;     // of the stack running now
  int debugDepth() const;  // frames on the stack running now
  std::vector<std::string> debugFiles() const;  // the source files compiled into the program
  // Every stack with frames: the main function's and the coroutines'.
  std::vector<DebugStackInfo> debugStacks() const;
  // The locals in scope at frame `level` (0: innermost) of stack `id`, and its function's free
  // variables. False if there is no such frame.
  bool debugVariables(int id, int level, DebugVars* locals, DebugVars* free) const;
  DebugVars debugGlobals() const;
  // Evaluates the expression `expr` in frame `level` of stack `id` (its locals and free
  // variables, then the globals), on the running stack, under the limits. A native that would
  // wait makes it a runtime error. With no such frame, over the globals only.
  Status debugEvaluate(const std::string& expr, int id, int level, Value* out);
  // A stop lasted `seconds`: the deadline of the code running moves on by as much.
  void debugPaused(double seconds);

  struct Impl;
  Impl* impl() { return impl_.get(); }

 private:
  friend class Script;
  Vm();
  std::unique_ptr<Impl> impl_;
};

// Compiles Tengo source. Typical use:
//   Script s(src, "main.tengo");
//   s.modules().addStdlib({"fmt", "text"});
//   s.modules().addBuiltinModule("llm", {{"ask", makeNative("ask", askFn)}});
//   s.define("input", makeString("hi"));
//   std::unique_ptr<Vm> vm; Status st = s.compile(&vm); if (st.ok()) st = vm->run();
class Script {
 public:
  explicit Script(std::string source, std::string fileName = "(main)");
  // Predeclares a global (visible to the script, readable after the run).
  void define(const std::string& name, Value v);
  ModuleMap& modules() { return modules_; }
  Limits& limits() { return limits_; }
  void setOsHost(std::shared_ptr<OsHost> host) { osHost_ = std::move(host); }
  // Parses and compiles. On success stores a ready-to-run Vm in *out (the Vm copies the
  // predeclared globals, limits and os host; the Script may then be destroyed).
  // On failure returns kParseError / kCompileError with Tengo's message and position.
  Status compile(std::unique_ptr<Vm>* out) const;

  // Parser access for tooling/tests: canonical AST string (Tengo's String() forms).
  static Status parseToString(const std::string& source, const std::string& fileName,
                              std::string* ast);

 private:
  std::string source_, file_;
  std::vector<std::pair<std::string, Value>> globals_;
  ModuleMap modules_;
  Limits limits_;
  std::shared_ptr<OsHost> osHost_;
};

}  // namespace llmspell::tengo
