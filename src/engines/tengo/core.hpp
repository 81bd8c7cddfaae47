// Internal structures shared by the Tengo compiler, VM, builtins and stdlib: opcodes, function
// prototypes, the compiled program and the VM state.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "engines/tengo/parser.hpp"
#include "llmspell/engines/tengo/tengo.hpp"

namespace llmspell::tengo::detail {

enum Op : uint8_t {
  OP_CONST,   // u16
  OP_NULL, OP_TRUE, OP_FALSE, OP_POP,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_REM, OP_BAND, OP_BOR, OP_BXOR, OP_SHL, OP_SHR, OP_ANDNOT,
  OP_LT, OP_LE, OP_GT, OP_GE,
  OP_EQ, OP_NE,
  OP_NEG, OP_BNOT, OP_LNOT,
  OP_JMP,     // u32
  OP_JMPF,    // u32
  OP_ANDJMP,  // u32
  OP_ORJMP,   // u32
  OP_GETG,    // u16
  OP_SETG,    // u16
  OP_GETL,    // u8
  OP_SETL,    // u8
  OP_DEFL,    // u8
  OP_GETF,    // u8
  OP_SETF,    // u8
  OP_GETLP,   // u8
  OP_GETFP,   // u8
  OP_GETB,    // u8
  OP_SETSELG,  // u16 u8
  OP_SETSELL,  // u8 u8
  OP_SETSELF,  // u8 u8
  OP_ARRAY,   // u16
  OP_MAP,     // u16 (number of stack values = 2 * pairs)
  OP_ERROR, OP_IMMUTABLE,
  OP_INDEX, OP_SLICE,
  OP_CALL,     // u8 nargs, u8 spread
  OP_RET,      // u8 hasValue
  OP_CLOSURE,  // u16 const, u8 nfree
  OP_ITINIT, OP_ITNEXT, OP_ITKEY, OP_ITVAL,
  // Fused forms (operand: u16 constant; J*K also u32 target, jumping when the test is false).
  OP_ADDK, OP_SUBK, OP_LTK, OP_LEK, OP_GTK, OP_GEK, OP_EQK, OP_NEK,
  OP_JLTK, OP_JLEK, OP_JGTK, OP_JGEK, OP_JEQK, OP_JNEK,
  OP_TAILCALL,  // OP_CALL followed by RET (or POP; RET): may reuse the frame for self calls
  OP__COUNT
};

int opOperandBytes(Op op);

struct Proto {
  std::vector<uint8_t> code;
  int numLocals = 0;
  int numParams = 0;
  bool varArgs = false;
  int maxStack = 0;
  int frameSize = 0;  // numLocals + maxStack: stack slots a call may use
  std::vector<std::pair<uint32_t, int>> srcmap;  // instruction start -> source pos
  const SourceFile* file = nullptr;
  std::string positionAt(uint32_t ip) const;  // file:line:col of the instruction at/before ip
  // For a debugger (nothing in the VM's normal path reads these).
  struct LocalName {
    std::string name;
    int slot;
    uint32_t start, end;  // the instructions [start, end) where it is in scope
    bool global = false;  // a block's name in the main function: `slot` is a global's index
  };
  std::vector<LocalName> localNames;
  std::vector<std::string> freeNames;  // by free-variable index
  std::string name;                    // the name it was assigned to, or ""
  int defPos = 0;                      // source position of its `func`
  std::vector<int> lineOf;             // source line per code byte, built on first use
  int lineAt(uint32_t pc);
};

struct FuncObj;
// Closures created by a VM, so that its destructor can break closure <-> cell cycles (a
// recursive local function captures the cell that holds itself).
struct ClosureList {
  FuncObj* head = nullptr;
};

struct FuncObj : Object {
  Proto* proto = nullptr;
  std::vector<Value> free;  // cells (Type::kCell)
  ClosureList* list = nullptr;
  FuncObj* prevLive = nullptr;
  FuncObj* nextLive = nullptr;
  void link(ClosureList* l) {
    list = l;
    nextLive = l->head;
    if (nextLive) nextLive->prevLive = this;
    l->head = this;
  }
  ~FuncObj() override {
    if (!list) return;
    if (prevLive) prevLive->nextLive = nextLive;
    else list->head = nextLive;
    if (nextLive) nextLive->prevLive = prevLive;
  }
};

struct Program {
  std::vector<std::unique_ptr<Proto>> protos;
  std::vector<std::unique_ptr<SourceFile>> files;
  std::vector<Value> constants;
  Proto* main = nullptr;
  std::unordered_map<std::string, int> globalIndex;
  int numGlobals = 0;
};

enum class IterKind : uint8_t { Array, Map, String, Bytes, Undefined };
struct IterObj : Object {
  IterKind kind = IterKind::Undefined;
  Value src;
  std::vector<std::string> keys;  // map snapshot
  size_t pos = 0;                 // next element index / byte offset
  int64_t idx = -1;               // current index (rune index for strings)
  size_t cur = 0;                 // current element position
  int32_t curRune = 0;
  size_t len = 0;
};

// A stack grows (and is charged) by these steps, up to Limits::maxStackValues / maxFrames.
constexpr int kStackSize = 2048;
constexpr int kMaxFrames = 1024;
constexpr int kStackSlack = 64;  // slots past the end that a native's pushes may use

// Frees memory mapped for a stack (no destructors run: ExecState resets the values first).
struct Unmap {
  size_t bytes = 0;
  template <class T>
  void operator()(T* p) const;
};

struct Frame {
  FuncObj* fn;
  const uint8_t* ip;
  Value* bp;
  const uint8_t* code;  // fn->proto->code.data(), cached for returns
};

// Error raised inside the VM loop.
struct VmError {
  std::string msg;
  bool limit = false;
};

}  // namespace llmspell::tengo::detail

namespace llmspell::tengo {

// What runs on one stack: the main function's, or a coroutine's (Coroutine::State). The Vm
// runs whichever is in its Impl; Vm::start swaps a coroutine's in and back out.
struct ExecState {
  // Mapped for the limits' whole size (pages nobody touched cost nothing; zeroed memory is
  // undefined Values), charged to tlHeapBytes up to valuesCap slots and framesCap frames.
  std::unique_ptr<Value[], detail::Unmap> stack;
  std::unique_ptr<detail::Frame[], detail::Unmap> frames;
  size_t valuesCap = 0, valuesMax = 0;
  int framesCap = 0, framesMax = 0;
  int64_t stackCharged = 0;
  ExecState() = default;
  ExecState(const ExecState&) = delete;
  ExecState& operator=(const ExecState&) = delete;
  ~ExecState();
  // Maps the stack for `limits` (once); false if the memory cannot be mapped.
  bool reserveStack(const Limits& limits);
  // Makes room for `values` slots and `frames` frames, charging what the stack grows by;
  // false past the limits (a stack overflow).
  bool fit(size_t values, int frames);
  Value* sp = nullptr;
  int fp = 0;  // number of active frames
  bool suspended = false;
  int nested = 0;
  int64_t budget = 0;
  int64_t budgetLeft = 0;
  std::chrono::steady_clock::time_point deadline;
  bool hasDeadline = false;
  // Debugging: which task's stack this is (the host's thread id, travelling with the stack
  // when a coroutine swaps in), and per frame the line it runs and the instructions it has run
  // there since it came to that line (from `start` on, the last at `pc`).
  int debugId = 0;
  struct DebugMark {
    const detail::Proto* proto = nullptr;
    int line = 0;
    uint32_t start = 0, pc = 0;
  };
  std::vector<DebugMark> debugMarks;
  void swap(ExecState& o) noexcept {
    std::swap(stack, o.stack);
    std::swap(frames, o.frames);
    std::swap(valuesCap, o.valuesCap);
    std::swap(valuesMax, o.valuesMax);
    std::swap(framesCap, o.framesCap);
    std::swap(framesMax, o.framesMax);
    std::swap(stackCharged, o.stackCharged);
    std::swap(sp, o.sp);
    std::swap(fp, o.fp);
    std::swap(suspended, o.suspended);
    std::swap(nested, o.nested);
    std::swap(budget, o.budget);
    std::swap(budgetLeft, o.budgetLeft);
    std::swap(deadline, o.deadline);
    std::swap(hasDeadline, o.hasDeadline);
    std::swap(debugId, o.debugId);
    std::swap(debugMarks, o.debugMarks);
  }
};

// A coroutine's state knows the Vm that ran it, so that a debugger can find every stack.
struct Coroutine::State : ExecState {
  Vm::Impl* owner = nullptr;
  ~State();
};

struct Vm::Impl : ExecState {
  Vm* self = nullptr;
  std::shared_ptr<detail::Program> prog;
  std::vector<Value> globals;
  Limits limits;
  std::shared_ptr<OsHost> osHost;
  std::function<void(std::string_view)> output;
  // From ExecState: the stack, frames, sp, fp, suspended, nested (depth of Vm::call), budget
  // (instructions before the next slow check), budgetLeft (remaining instruction budget, -1 =
  // unlimited) and the deadline of the code running now.
  Value mainFn;
  bool running = false;
  bool countAllocs = false;
  int64_t allocsLeft = 0;
  std::atomic<bool> abortFlag{false};
  int64_t memBase = 0;                // tlHeapBytes at run start
  int64_t memCap = INT64_MAX;         // allowed growth
  detail::ClosureList closures;
  // Debugging (see Vm::setDebugHook): the hook, line events on, the instruction about to run
  // while a hook runs (null otherwise), and the coroutine states that exist.
  DebugHook* debug = nullptr;
  bool lineMode = false;
  const uint8_t* debugIp = nullptr;
  std::vector<Coroutine::State*> coStates;

  // True when `bytes` more heap bytes stay under the memory cap. Checked before an allocation
  // whose size the script picks (bytes(n), text.repeat, an append that grows its store, a
  // concatenation), so that it is refused instead of made and then noticed by MEMCHECK.
  int64_t memLeft() const {
    return memCap == INT64_MAX ? INT64_MAX : std::max<int64_t>(0, memCap - (tlHeapBytes - memBase));
  }
  bool memFits(int64_t bytes) const { return bytes >= 0 && bytes <= memLeft(); }
  bool strFits(size_t n) const {
    return static_cast<int64_t>(n) <= limits.maxStringLen && memFits(static_cast<int64_t>(n));
  }
  bool bytesFits(size_t n) const {
    return static_cast<int64_t>(n) <= limits.maxBytesLen && memFits(static_cast<int64_t>(n));
  }
  Status execute(int stopFp, Value* result);
  Status runMain();
  Status fail(const std::string& msg, bool limit, const uint8_t* ip);
  std::string trace(const uint8_t* ip, int stopFp);
  void resetBudget();
};

namespace detail {

// Shared semantics (values.cpp).
bool binaryOp(Vm::Impl& vm, Op op, const Value& a, const Value& b, Value* out, VmError* err);
bool indexGet(Vm::Impl& vm, const Value& x, const Value& idx, Value* out, VmError* err);
bool indexSet(Vm::Impl& vm, const Value& x, const Value& idx, const Value& val, VmError* err);
bool sliceOp(Vm::Impl& vm, const Value& x, const Value& lo, const Value& hi, Value* out,
             VmError* err);
std::string formatFloat(double f);  // strconv.FormatFloat(f, 'f', -1, 64)
bool toInt64(const Value& v, int64_t* out);
bool toFloat64(const Value& v, double* out);
bool toBool(const Value& v) ;
int64_t runeCount(const std::string& s);
Value immutableOf(const Value& v);

// Builtins (builtins.cpp).
using BuiltinFn = Result (*)(Vm::Impl& vm, Args args);
struct BuiltinDef {
  const char* name;
  BuiltinFn fn;
};
extern const BuiltinDef kBuiltins[];
extern const int kNumBuiltins;
int builtinIndex(const std::string& name);

// format (format.cpp)
bool tengoFormat(Vm::Impl& vm, Args args, std::string* out, std::string* err);

// Time helpers (stdlib_times.cpp)
std::string timeString(const TimeObj& t);
Value makeTime(int64_t sec, int32_t nsec, bool local);
// Recomputes offset and abbreviation for t->sec when t follows a zone (local or IANA), as Go
// does lazily for a Time's Location; fixed-offset times are left alone.
void refreshZone(TimeObj* t);

// Stdlib (stdlib.cpp): returns attrs of a builtin module, or source of a source module.
bool stdlibModule(const std::string& name, std::map<std::string, Value, std::less<>>* attrs,
                  std::string* source);

// Compiler (compiler.cpp)
struct CompileInput {
  const std::string* source;
  std::string fileName;
  const std::vector<std::pair<std::string, Value>>* globals;
  const ModuleMap* modules;
  int64_t maxStringLen;
};
// Returns empty string on success, else full "Parse Error: ..." / "Compile Error: ..." text.
std::string compileProgram(const CompileInput& in, Program* out, bool* isParseError);
// For a debugger: compiles `expr` into `prog` as a function of `params` (the variables of a
// frame) that returns its value, over the program's globals. Returns empty on success (the
// function in *fn), else the error's text.
std::string compileDebugExpr(Program* prog, const std::string& expr, const std::vector<std::string>& params,
                             Value* fn);

}  // namespace detail
}  // namespace llmspell::tengo
