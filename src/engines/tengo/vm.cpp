// The Tengo bytecode interpreter: computed-goto dispatch over a fixed value stack, int fast
// paths for arithmetic/comparison, self tail calls reusing the frame, cheap limit checks on
// backward jumps and calls, and a suspend/resume seam for pending host calls.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include "engines/tengo/core.hpp"

#pragma GCC diagnostic ignored "-Wpedantic"

namespace llmspell::tengo {

using namespace detail;

namespace {
constexpr int64_t kCheckChunk = 1 << 14;
inline uint16_t rd16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
inline uint32_t rd32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
}
}  // namespace

// ---------------------------------------------------------------------------------------------
// Stacks
// ---------------------------------------------------------------------------------------------

template <class T>
void detail::Unmap::operator()(T* p) const {
  if (p) munmap(p, bytes);
}

namespace {
// Anonymous memory, zeroed: a zeroed Value is undefined and a zeroed Frame is unused.
template <class T>
std::unique_ptr<T[], detail::Unmap> mapArray(size_t n) {
  static_assert(static_cast<int>(Type::kUndefined) == 0);
  size_t bytes = n * sizeof(T);
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return std::unique_ptr<T[], detail::Unmap>(nullptr, detail::Unmap{0});
  return std::unique_ptr<T[], detail::Unmap>(static_cast<T*>(p), detail::Unmap{bytes});
}
}  // namespace

ExecState::~ExecState() {
  // The values that may hold references: those a charged stack has used (the rest were
  // never written).
  if (stack)
    for (Value* q = stack.get(); q < stack.get() + valuesCap + kStackSlack; ++q) q->reset();
  tlHeapBytes -= stackCharged;
}

bool ExecState::reserveStack(const Limits& limits) {
  if (stack) return true;
  size_t values = static_cast<size_t>(std::max<int64_t>(limits.maxStackValues, 16));
  int nframes = std::max(limits.maxFrames, 1);
  auto s = mapArray<Value>(values + kStackSlack);
  auto f = mapArray<Frame>(static_cast<size_t>(nframes));
  if (!s || !f) return false;
  stack = std::move(s);
  frames = std::move(f);
  valuesMax = values;
  framesMax = nframes;
  sp = stack.get();
  return fit(std::min<size_t>(kStackSize, values), std::min(kMaxFrames, nframes));
}

bool ExecState::fit(size_t values, int nframes) {
  if (values > valuesMax || nframes > framesMax) return false;
  size_t nv = valuesCap;
  while (nv < values) nv += kStackSize;
  nv = std::min(nv, valuesMax);
  int nf = framesCap;
  while (nf < nframes) nf += kMaxFrames;
  nf = std::min(nf, framesMax);
  int64_t add = static_cast<int64_t>((nv - valuesCap) * sizeof(Value) +
                                     static_cast<size_t>(nf - framesCap) * sizeof(Frame));
  tlHeapBytes += add;
  stackCharged += add;
  valuesCap = nv;
  framesCap = nf;
  return true;
}

std::string Vm::Impl::trace(const uint8_t* ip, int stopFp) {
  std::string s;
  for (int k = fp - 1; k >= 0; --k) {
    Frame& f = frames[k];
    const uint8_t* at = (k == fp - 1) ? ip : f.ip - 1;
    Proto* p = f.fn->proto;
    s += "\n\tat " + p->positionAt(static_cast<uint32_t>(at - p->code.data()));
    if (k == stopFp - 1 && stopFp > 1) break;
  }
  return s;
}

Status Vm::Impl::fail(const std::string& msg, bool limit, const uint8_t* ip) {
  Status st;
  st.kind = limit ? Status::Kind::kLimitExceeded : Status::Kind::kRuntimeError;
  st.message = "Runtime Error: " + msg + trace(ip, 1);
  return st;
}

void Vm::Impl::resetBudget() {
  budget = kCheckChunk;
  budgetLeft = -1;
  if (limits.maxInstructions >= 0) {
    budget = limits.maxInstructions < kCheckChunk ? limits.maxInstructions : kCheckChunk;
    budgetLeft = limits.maxInstructions - budget;
    if (budget == 0) budget = 1;  // the first tick reports the limit
  }
  hasDeadline = limits.deadlineMs >= 0;
  memCap = limits.maxMemoryBytes >= 0 ? limits.maxMemoryBytes : INT64_MAX;
  if (hasDeadline)
    deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limits.deadlineMs);
}

Status Vm::Impl::runMain() {
  if (!reserveStack(limits)) return fail("cannot map the VM stack", true, prog->main->code.data());
  for (Value* q = stack.get(); q < stack.get() + valuesCap + kStackSlack; ++q) q->reset();
  sp = stack.get();
  (sp++)->initFrom(mainFn);
  fp = 0;
  Proto* p = prog->main;
  frames[0] = Frame{mainFn.as<FuncObj>(), p->code.data(), sp, p->code.data()};
  fp = 1;
  for (int i = 0; i < p->numLocals; ++i) (sp++)->initUndefined();
  countAllocs = limits.maxAllocs >= 0;
  allocsLeft = limits.maxAllocs + 1;
  abortFlag = false;
  memBase = tlHeapBytes;  // growth is measured from the start of run(), across resumes
  resetBudget();
  if (!fit(static_cast<size_t>(p->maxStack + p->numLocals + 1), 1))
    return fail("stack overflow", false, p->code.data());
  return execute(1, nullptr);
}

Status Vm::Impl::execute(int stopFp, Value* result) {
  static void* dispatch[] = {
      &&L_CONST, &&L_NULL, &&L_TRUE, &&L_FALSE, &&L_POP, &&L_ADD, &&L_SUB, &&L_MUL, &&L_DIV,
      &&L_REM, &&L_BAND, &&L_BOR, &&L_BXOR, &&L_SHL, &&L_SHR, &&L_ANDNOT, &&L_LT, &&L_LE,
      &&L_GT, &&L_GE, &&L_EQ, &&L_NE, &&L_NEG, &&L_BNOT, &&L_LNOT, &&L_JMP, &&L_JMPF,
      &&L_ANDJMP, &&L_ORJMP, &&L_GETG, &&L_SETG, &&L_GETL, &&L_SETL, &&L_DEFL, &&L_GETF,
      &&L_SETF, &&L_GETLP, &&L_GETFP, &&L_GETB, &&L_SETSELG, &&L_SETSELL, &&L_SETSELF,
      &&L_ARRAY, &&L_MAP, &&L_ERROR, &&L_IMMUTABLE, &&L_INDEX, &&L_SLICE, &&L_CALL, &&L_RET,
      &&L_CLOSURE, &&L_ITINIT, &&L_ITNEXT, &&L_ITKEY, &&L_ITVAL, &&L_ADDK, &&L_SUBK, &&L_LTK,
      &&L_LEK, &&L_GTK, &&L_GEK, &&L_EQK, &&L_NEK, &&L_JLTK, &&L_JLEK, &&L_JGTK, &&L_JGEK,
      &&L_JEQK, &&L_JNEK, &&L_TAILCALL};
  static_assert(sizeof(dispatch) / sizeof(dispatch[0]) == OP__COUNT);
  // A debugger's line mode sends every instruction through L_debug first (a table whose every
  // entry is it); otherwise instructions dispatch as always.
  void* debugTable[OP__COUNT];
  void* const* table = dispatch;
  if (__builtin_expect(debug != nullptr, 0)) {
    for (auto& e : debugTable) e = &&L_debug;
    if (lineMode) table = debugTable;
  }

  running = true;
  Frame* f = &frames[fp - 1];
  const uint8_t* ip = f->ip;
  const uint8_t* op = ip;
  const uint8_t* code = f->code;  // current function's bytecode
  Value* bp = f->bp;
  Value* sp = this->sp;
  // The stack's charged ends, in registers; they move when it grows (fit). Stale after a
  // nested call grew it, they only send the next call through fit again.
  Value* stackEnd = stack.get() + valuesCap;
  int frameEnd = framesCap;
  const Value* consts = prog->constants.data();
  Value* gl = globals.data();
  VmError err;
  Status st;
  bool tailOp = false;
  const bool counting = countAllocs;  // register copy: fixed for the whole run

#define DISPATCH()         \
  do {                     \
    op = ip;               \
    goto* table[*ip];      \
  } while (0)
#define ALLOC()                                                           \
  do {                                                                    \
    if (__builtin_expect(counting, 0) && --allocsLeft == 0) {          \
      err.msg = "object allocation limit exceeded";                       \
      err.limit = true;                                                   \
      goto L_error;                                                       \
    }                                                                     \
  } while (0)
#define MEMCHECK()                                                  \
  do {                                                             \
    if (__builtin_expect(tlHeapBytes - memBase > memCap, 0)) {     \
      err.msg = "memory limit exceeded";                           \
      err.limit = true;                                            \
      goto L_error;                                                \
    }                                                              \
  } while (0)
#define TICK()                                                 \
  do {                                                         \
    if (__builtin_expect(--budget <= 0, 0)) {                  \
      if (!slowCheck(&err)) goto L_error;                      \
      if (debug) {                                             \
        debug->onCheck(*self);                                 \
        table = lineMode ? debugTable : dispatch;              \
      }                                                        \
    }                                                          \
  } while (0)

  auto slowCheck = [this](VmError* e) -> bool {
    if (abortFlag.load(std::memory_order_relaxed)) {
      e->msg = "execution aborted";
      e->limit = true;
      return false;
    }
    if (budgetLeft == 0) {
      e->msg = "instruction limit exceeded";
      e->limit = true;
      return false;
    }
    if (tlHeapBytes - memBase > memCap) {
      e->msg = "memory limit exceeded";
      e->limit = true;
      return false;
    }
    if (hasDeadline && std::chrono::steady_clock::now() > deadline) {
      e->msg = "execution deadline exceeded";
      e->limit = true;
      return false;
    }
    budget = kCheckChunk;
    if (budgetLeft > 0) {
      if (budgetLeft < budget) budget = budgetLeft;
      budgetLeft -= budget;
    }
    return true;
  };

L_dispatch:
  // Handlers with non-trivial locals jump here with a plain goto so that their destructors run
  // (a computed goto out of a scope skips them).
  DISPATCH();

L_debug : {
  // Line mode: a line event when the frame's instruction is on another line than the one it
  // ran last, or on the same line again through a jump back to an instruction it has run there
  // (a loop on one line) or a new call. A jump back to the condition of a `for` from its post
  // statement, both on the `for` line, is not a second event.
  if (!lineMode || !debug) {
    table = dispatch;
    goto* dispatch[*ip];
  }
  Proto* p = f->fn->proto;
  uint32_t pc = static_cast<uint32_t>(ip - code);
  int line = p->lineAt(pc);
  size_t k = static_cast<size_t>(fp - 1);
  if (debugMarks.size() <= k) debugMarks.resize(k + 1);
  ExecState::DebugMark& m = debugMarks[k];
  bool fresh = m.proto != p || m.line != line || (pc >= m.start && pc <= m.pc);
  if (fresh) {
    m = {p, line, pc, pc};
  } else {
    if (pc < m.start) m.start = pc;
    m.pc = pc;
  }
  if (!fresh || line <= 0) goto* dispatch[*ip];
  f->ip = ip;
  this->sp = sp;
  debugIp = ip;
  debug->onLine(*self, p->file ? p->file->name : std::string(), line);
  debugIp = nullptr;
  // An evaluation may have grown the stack.
  sp = this->sp;
  stackEnd = stack.get() + valuesCap;
  frameEnd = framesCap;
  table = lineMode ? debugTable : dispatch;
  if (abortFlag.load(std::memory_order_relaxed)) {
    err.msg = "execution aborted";
    err.limit = true;
    goto L_error;
  }
  goto* dispatch[*ip];
}

L_CONST:
  (sp++)->initFrom(consts[rd16(ip + 1)]);
  ip += 3;
  DISPATCH();
L_NULL:
  (sp++)->initUndefined();
  ip += 1;
  DISPATCH();
L_TRUE:
  (sp++)->initBool(true);
  ip += 1;
  DISPATCH();
L_FALSE:
  (sp++)->initBool(false);
  ip += 1;
  DISPATCH();
L_POP:
  (--sp)->reset();
  ip += 1;
  DISPATCH();

#define INT_BINOP(LABEL, EXPR)                                                   \
  LABEL : {                                                                      \
    Value* a = sp - 2;                                                           \
    Value* b = sp - 1;                                                           \
    if (__builtin_expect(a->type() == Type::kInt && b->type() == Type::kInt, 1)) { \
      uint64_t x = static_cast<uint64_t>(a->i()), y = static_cast<uint64_t>(b->i()); \
      (void)x; (void)y;                                                          \
      a->initInt(static_cast<int64_t>(EXPR));                                    \
      --sp;                                                                      \
      ip += 1;                                                                   \
      ALLOC();                                                                   \
      DISPATCH();                                                                \
    }                                                                            \
    goto L_binop_slow;                                                           \
  }
  INT_BINOP(L_ADD, x + y)
  INT_BINOP(L_SUB, x - y)
  INT_BINOP(L_MUL, x * y)
  INT_BINOP(L_BAND, x & y)
  INT_BINOP(L_BOR, x | y)
  INT_BINOP(L_BXOR, x ^ y)
  INT_BINOP(L_ANDNOT, x & ~y)
#undef INT_BINOP

L_DIV:
L_REM:
L_SHL:
L_SHR:
  goto L_binop_slow;

#define CMP_BINOP(LABEL, OPR)                                                      \
  LABEL : {                                                                        \
    Value* a = sp - 2;                                                             \
    Value* b = sp - 1;                                                             \
    if (__builtin_expect(a->type() == Type::kInt && b->type() == Type::kInt, 1)) { \
      a->initBool(a->i() OPR b->i());                                              \
      --sp;                                                                        \
      ip += 1;                                                                     \
      ALLOC();                                                                     \
      DISPATCH();                                                                  \
    }                                                                              \
    goto L_binop_slow;                                                             \
  }
  CMP_BINOP(L_LT, <)
  CMP_BINOP(L_LE, <=)
  CMP_BINOP(L_GT, >)
  CMP_BINOP(L_GE, >=)
#undef CMP_BINOP

L_binop_slow : {
  Value r;
  if (!binaryOp(*this, static_cast<Op>(*ip), sp[-2], sp[-1], &r, &err)) goto L_error;
  (--sp)->reset();
  sp[-1] = std::move(r);
  ip += 1;
  ALLOC();
  MEMCHECK();
  goto L_dispatch;
}

L_EQ : {
  bool r = valuesEqual(sp[-2], sp[-1]);
  (--sp)->reset();
  sp[-1] = Value::boolean(r);
  ip += 1;
  DISPATCH();
}
L_NE : {
  bool r = !valuesEqual(sp[-2], sp[-1]);
  (--sp)->reset();
  sp[-1] = Value::boolean(r);
  ip += 1;
  DISPATCH();
}
L_NEG : {
  Value& a = sp[-1];
  if (a.type() == Type::kInt) a.setInt(static_cast<int64_t>(0 - static_cast<uint64_t>(a.i())));
  else if (a.type() == Type::kFloat) a = Value::number(-a.f());
  else {
    err.msg = "invalid operation: -" + typeName(a);
    goto L_error;
  }
  ip += 1;
  ALLOC();
  DISPATCH();
}
L_BNOT : {
  Value& a = sp[-1];
  if (a.type() == Type::kInt) a.setInt(~a.i());
  else {
    err.msg = "invalid operation: ^" + typeName(a);
    goto L_error;
  }
  ip += 1;
  ALLOC();
  DISPATCH();
}
L_LNOT:
  sp[-1] = Value::boolean(isFalsy(sp[-1]));
  ip += 1;
  DISPATCH();
L_JMP : {
  const uint8_t* target = code + rd32(ip + 1);
  if (target <= ip) TICK();
  ip = target;
  DISPATCH();
}
L_JMPF : {
  --sp;
  bool falsy;
  switch (sp->type()) {
    case Type::kBool: falsy = sp->i() == 0; break;
    case Type::kInt: falsy = sp->i() == 0; break;
    default: falsy = isFalsy(*sp); sp->reset();
  }
  if (falsy) ip = code + rd32(ip + 1);
  else ip += 5;
  DISPATCH();
}
L_ANDJMP:
  if (isFalsy(sp[-1])) {
    ip = code + rd32(ip + 1);
  } else {
    (--sp)->reset();
    ip += 5;
  }
  DISPATCH();
L_ORJMP:
  if (isFalsy(sp[-1])) {
    (--sp)->reset();
    ip += 5;
  } else {
    ip = code + rd32(ip + 1);
  }
  DISPATCH();
L_GETG:
  (sp++)->initFrom(gl[rd16(ip + 1)]);
  ip += 3;
  DISPATCH();
L_SETG:
  gl[rd16(ip + 1)] = std::move(*--sp);
  ip += 3;
  DISPATCH();
L_GETL : {
  Value& v = bp[ip[1]];
  if (__builtin_expect(v.type() == Type::kCell, 0)) (sp++)->initFrom(v.as<CellObj>()->v);
  else (sp++)->initFrom(v);
  ip += 2;
  DISPATCH();
}
L_SETL : {
  Value& v = bp[ip[1]];
  --sp;
  if (v.type() == Type::kCell) v.as<CellObj>()->v = std::move(*sp);
  else v = std::move(*sp);
  ip += 2;
  DISPATCH();
}
L_DEFL:
  bp[ip[1]] = std::move(*--sp);
  ip += 2;
  DISPATCH();
L_GETF:
  (sp++)->initFrom(f->fn->free[ip[1]].as<CellObj>()->v);
  ip += 2;
  DISPATCH();
L_SETF:
  f->fn->free[ip[1]].as<CellObj>()->v = std::move(*--sp);
  ip += 2;
  DISPATCH();
L_GETLP : {
  Value& v = bp[ip[1]];
  if (v.type() != Type::kCell) {
    auto* c = new CellObj();
    c->v = std::move(v);
    v = Value::object(Type::kCell, c);
  }
  (sp++)->initFrom(v);
  ip += 2;
  DISPATCH();
}
L_GETFP:
  (sp++)->initFrom(f->fn->free[ip[1]]);
  ip += 2;
  DISPATCH();
L_GETB:
  (sp++)->initFrom(Value::builtin(ip[1]));
  ip += 2;
  DISPATCH();

L_SETSELG:
L_SETSELL:
L_SETSELF : {
  int n;
  Value target;
  if (*ip == OP_SETSELG) {
    n = ip[3];
    target = gl[rd16(ip + 1)];
  } else if (*ip == OP_SETSELL) {
    n = ip[2];
    target = bp[ip[1]];
    if (target.type() == Type::kCell) target = Value(target.as<CellObj>()->v);
  } else {
    n = ip[2];
    target = f->fn->free[ip[1]].as<CellObj>()->v;
  }
  Value* sels = sp - n;
  Value& val = sp[-n - 1];
  for (int k = n - 1; k > 0; --k) {
    Value next;
    if (!indexGet(*this, target, sels[k], &next, &err)) {
      if (err.msg.rfind("not indexable", 0) == 0) err.msg = "not indexable: " + typeName(target);
      goto L_error;
    }
    target = std::move(next);
  }
  if (!indexSet(*this, target, sels[0], val, &err)) goto L_error;
  for (int k = 0; k <= n; ++k) (--sp)->reset();
  ip += 1 + opOperandBytes(static_cast<Op>(*ip));
  MEMCHECK();
  goto L_dispatch;
}

L_ARRAY : {
  int n = rd16(ip + 1);
  std::vector<Value> items;
  items.reserve(n);
  for (Value* p = sp - n; p < sp; ++p) items.push_back(std::move(*p));
  sp -= n;
  *sp++ = makeArray(std::move(items));
  ip += 3;
  ALLOC();
  MEMCHECK();
  goto L_dispatch;
}
L_MAP : {
  int n = rd16(ip + 1);
  auto* m = new MapObj();
  for (Value* p = sp - n; p < sp; p += 2) {
    m->m[p->as<StringObj>()->s] = std::move(p[1]);
    p->reset();
  }
  sp -= n;
  m->charge(static_cast<int64_t>(m->m.size()) * 96);
  *sp++ = Value::object(Type::kMap, m);
  ip += 3;
  ALLOC();
  MEMCHECK();
  DISPATCH();
}
L_ERROR:
  sp[-1] = makeError(std::move(sp[-1]));
  ip += 1;
  ALLOC();
  DISPATCH();
L_IMMUTABLE:
  if (sp[-1].type() == Type::kArray || sp[-1].type() == Type::kMap) {
    sp[-1] = immutableOf(sp[-1]);
    ip += 1;
    ALLOC();
  } else {
    ip += 1;
  }
  DISPATCH();
L_INDEX : {
  Value r;
  if (!indexGet(*this, sp[-2], sp[-1], &r, &err)) goto L_error;
  (--sp)->reset();
  sp[-1] = std::move(r);
  ip += 1;
  goto L_dispatch;
}
L_SLICE : {
  Value r;
  if (!sliceOp(*this, sp[-3], sp[-2], sp[-1], &r, &err)) goto L_error;
  (--sp)->reset();
  (--sp)->reset();
  sp[-1] = std::move(r);
  ip += 1;
  ALLOC();
  goto L_dispatch;
}

L_TAILCALL:
  tailOp = true;
  goto L_call_body;
L_CALL:
  tailOp = false;
L_call_body : {
  int nargs = ip[1];
  bool spread = ip[2] != 0;
  Value* callee = sp - nargs - 1;
  Type ct = callee->type();
  if (ct != Type::kFunction && ct != Type::kBuiltin && ct != Type::kNative) {
    err.msg = "not callable: " + typeName(*callee);
    goto L_error;
  }
  if (spread) {
    Value last = std::move(sp[-1]);
    --sp;
    if (last.type() != Type::kArray && last.type() != Type::kImmutableArray) {
      err.msg = "not an array: " + typeName(last);
      goto L_error;
    }
    auto* a = last.as<ArrayObj>();
    if (sp + a->len >= stackEnd) {
      if (!fit(static_cast<size_t>(sp - stack.get()) + a->len + 1, fp)) {
        err.msg = "stack overflow";
        goto L_error;
      }
      stackEnd = stack.get() + valuesCap;
      MEMCHECK();
    }
    for (size_t i = 0; i < a->len; ++i) *sp++ = a->at(i);
    nargs = nargs - 1 + static_cast<int>(a->len);
  }
  TICK();
  if (ct == Type::kFunction) {
    FuncObj* fn = callee->as<FuncObj>();
    Proto* p = fn->proto;
    if (p->varArgs) {
      int real = p->numParams - 1;
      if (nargs < real) {
        err.msg = "wrong number of arguments: want>=" + std::to_string(real) +
                  ", got=" + std::to_string(nargs);
        goto L_error;
      }
      std::vector<Value> rest;
      for (Value* q = callee + 1 + real; q < sp; ++q) rest.push_back(std::move(*q));
      sp = callee + 1 + real;
      *sp++ = makeArray(std::move(rest));
      nargs = p->numParams;
    } else if (nargs != p->numParams) {
      err.msg = "wrong number of arguments: want=" + std::to_string(p->numParams) +
                ", got=" + std::to_string(nargs);
      goto L_error;
    }
    if (tailOp && fn == f->fn) {
      // Self tail call: reuse the frame.
      for (int k = 0; k < nargs; ++k) bp[k] = std::move(callee[1 + k]);
      Value* oldSp = sp;
      sp = bp + nargs;
      for (Value* q = sp; q < oldSp; ++q) q->reset();
      for (int k = nargs; k < p->numLocals; ++k) (sp++)->initUndefined();
      ip = code;
      DISPATCH();
    }
    if (fp >= frameEnd || callee + 1 + p->frameSize > stackEnd) {
      if (!fit(static_cast<size_t>(callee + 1 + p->frameSize - stack.get()), fp + 1)) {
        err.msg = "stack overflow";
        goto L_error;
      }
      stackEnd = stack.get() + valuesCap;
      frameEnd = framesCap;
      MEMCHECK();
    }
    f->ip = ip + 3;
    f = &frames[fp++];
    f->fn = fn;
    bp = callee + 1;
    f->bp = bp;
    for (int k = nargs; k < p->numLocals; ++k) (sp++)->initUndefined();
    code = p->code.data();
    f->code = code;
    ip = code;
    DISPATCH();
  }
  // Builtin or native ("non-compiled callable").
  {
    f->ip = ip + 3;
    this->sp = sp;
    Args args(callee + 1, static_cast<size_t>(nargs));
    Result r = Value();
    try {
      if (ct == Type::kBuiltin) {
        r = kBuiltins[callee->i()].fn(*this, args);
      } else {
        r = callee->as<NativeObj>()->fn(*self, args);
      }
    } catch (std::exception& e) {
      r = Result::error(e.what());
    } catch (...) {
      r = Result::error("native function threw an exception");
    }
    sp = this->sp;
    for (Value* q = callee + 1; q < sp; ++q) q->reset();
    // A debugger may have changed line mode while the native ran (a coroutine it started hit a
    // breakpoint and stepped).
    if (__builtin_expect(debug != nullptr, 0)) table = lineMode ? debugTable : dispatch;
    ALLOC();
    switch (r.kind()) {
      case Result::Kind::kValue:
        *callee = std::move(r.value());
        sp = callee + 1;
        ip += 3;
        MEMCHECK();
        goto L_dispatch;
      case Result::Kind::kPending:
        if (nested > 0) {
          err.msg = "cannot suspend inside a nested call";
          goto L_error;
        }
        callee->reset();
        sp = callee;
        ip += 3;
        f->ip = ip;
        this->sp = sp;
        suspended = true;
        running = false;
        st.kind = Status::Kind::kSuspended;
        return st;
      case Result::Kind::kWrongArgs:
        err.msg = "wrong number of arguments in call to '" + typeName(*callee) + "'";
        goto L_error;
      case Result::Kind::kBadArg:
        err.msg = "invalid type for argument '" + r.message() + "' in call to '" +
                  typeName(*callee) + "': expected " + r.expected() + ", found " + r.found();
        goto L_error;
      case Result::Kind::kLimit:
        err.msg = r.message();
        err.limit = true;
        goto L_error;
      case Result::Kind::kError:
        err.msg = r.message();
        goto L_error;
    }
  }
  goto L_error;
}

L_RET : {
  Value* callee = bp - 1;
  if (ip[1]) *callee = std::move(sp[-1]);
  else callee->reset();
  for (Value* q = bp; q < sp; ++q) q->reset();
  --fp;
  sp = callee + 1;
  if (fp < stopFp) {
    if (result) *result = std::move(*callee);
    callee->reset();
    sp = callee;
    this->sp = sp;
    running = false;
    return st;
  }
  f = &frames[fp - 1];
  ip = f->ip;
  bp = f->bp;
  code = f->code;
  DISPATCH();
}

L_CLOSURE : {
  int ci = rd16(ip + 1);
  int nfree = ip[3];
  auto* fo = new FuncObj();
  fo->proto = consts[ci].as<FuncObj>()->proto;
  fo->free.reserve(nfree);
  for (Value* p = sp - nfree; p < sp; ++p) fo->free.push_back(std::move(*p));
  fo->link(&closures);
  sp -= nfree;
  *sp++ = Value::object(Type::kFunction, fo);
  ip += 4;
  ALLOC();
  DISPATCH();
}

L_ITINIT : {
  Value& src = sp[-1];
  auto* it = new IterObj();
  Value itv = Value::object(Type::kIterator, it);
  switch (src.type()) {
    case Type::kArray: case Type::kImmutableArray:
      it->kind = IterKind::Array;
      it->len = src.as<ArrayObj>()->len;
      break;
    case Type::kMap: case Type::kImmutableMap:
      it->kind = IterKind::Map;
      for (auto& kv : src.as<MapObj>()->m) it->keys.push_back(kv.first);
      break;
    case Type::kString: it->kind = IterKind::String; break;
    case Type::kBytes: it->kind = IterKind::Bytes; break;
    case Type::kUndefined: it->kind = IterKind::Undefined; break;
    default:
      err.msg = "not iterable: " + typeName(src);
      goto L_error;
  }
  it->src = std::move(src);
  sp[-1] = std::move(itv);
  ip += 1;
  ALLOC();
  goto L_dispatch;
}
L_ITNEXT : {
  auto* it = sp[-1].as<IterObj>();
  bool more = false;
  switch (it->kind) {
    case IterKind::Array:
      if (it->pos < it->len && it->pos < it->src.as<ArrayObj>()->len) {
        it->cur = it->pos++;
        more = true;
      }
      break;
    case IterKind::Map: {
      auto& m = it->src.as<MapObj>()->m;
      while (it->pos < it->keys.size()) {
        size_t k = it->pos++;
        if (m.find(it->keys[k]) != m.end()) {
          it->cur = k;
          more = true;
          break;
        }
      }
      break;
    }
    case IterKind::String: {
      const std::string& s = it->src.as<StringObj>()->s;
      if (it->pos < s.size()) {
        it->pos += decodeRune(s, it->pos, &it->curRune);
        ++it->idx;
        more = true;
      }
      break;
    }
    case IterKind::Bytes:
      if (it->pos < it->src.as<BytesObj>()->b.size()) {
        it->cur = it->pos++;
        more = true;
      }
      break;
    case IterKind::Undefined: break;
  }
  sp[-1] = Value::boolean(more);
  ip += 1;
  DISPATCH();
}
L_ITKEY : {
  auto* it = sp[-1].as<IterObj>();
  Value k;
  switch (it->kind) {
    case IterKind::Array: case IterKind::Bytes: k = Value::integer(static_cast<int64_t>(it->cur)); break;
    case IterKind::Map: k = makeString(it->keys[it->cur]); break;
    case IterKind::String: k = Value::integer(it->idx); break;
    default: break;
  }
  sp[-1] = std::move(k);
  ip += 1;
  goto L_dispatch;
}
L_ITVAL : {
  auto* it = sp[-1].as<IterObj>();
  Value v;
  switch (it->kind) {
    case IterKind::Array: v = it->src.as<ArrayObj>()->at(it->cur); break;
    case IterKind::Bytes:
      v = Value::integer(static_cast<unsigned char>(it->src.as<BytesObj>()->b[it->cur]));
      break;
    case IterKind::Map: {
      auto& m = it->src.as<MapObj>()->m;
      auto found = m.find(it->keys[it->cur]);
      if (found != m.end()) v = found->second;
      break;
    }
    case IterKind::String: v = Value::character(it->curRune); break;
    default: break;
  }
  sp[-1] = std::move(v);
  ip += 1;
  goto L_dispatch;
}

#define K_ARITH(LABEL, BASEOP, EXPR)                                              \
  LABEL : {                                                                       \
    Value* a = sp - 1;                                                            \
    const Value& b = consts[rd16(ip + 1)];                                        \
    if (__builtin_expect(a->type() == Type::kInt && b.type() == Type::kInt, 1)) { \
      uint64_t x = static_cast<uint64_t>(a->i()), y = static_cast<uint64_t>(b.i()); \
      a->initInt(static_cast<int64_t>(EXPR));                                     \
    } else {                                                                      \
      Value r;                                                                    \
      if (!binaryOp(*this, BASEOP, *a, b, &r, &err)) goto L_error;                \
      *a = std::move(r);                                                          \
    }                                                                             \
    ip += 3;                                                                      \
    ALLOC();                                                                      \
    DISPATCH();                                                                   \
  }
  K_ARITH(L_ADDK, OP_ADD, x + y)
  K_ARITH(L_SUBK, OP_SUB, x - y)
#undef K_ARITH

#define K_CMP(LABEL, BASEOP, OPR)                                                 \
  LABEL : {                                                                       \
    Value* a = sp - 1;                                                            \
    const Value& b = consts[rd16(ip + 1)];                                        \
    if (__builtin_expect(a->type() == Type::kInt && b.type() == Type::kInt, 1)) { \
      a->initBool(a->i() OPR b.i());                                              \
    } else {                                                                      \
      Value r;                                                                    \
      if (!binaryOp(*this, BASEOP, *a, b, &r, &err)) goto L_error;                \
      *a = std::move(r);                                                          \
    }                                                                             \
    ip += 3;                                                                      \
    ALLOC();                                                                      \
    DISPATCH();                                                                   \
  }
  K_CMP(L_LTK, OP_LT, <)
  K_CMP(L_LEK, OP_LE, <=)
  K_CMP(L_GTK, OP_GT, >)
  K_CMP(L_GEK, OP_GE, >=)
#undef K_CMP

L_EQK : {
  bool r = valuesEqual(sp[-1], consts[rd16(ip + 1)]);
  sp[-1] = Value::boolean(r);
  ip += 3;
  DISPATCH();
}
L_NEK : {
  bool r = !valuesEqual(sp[-1], consts[rd16(ip + 1)]);
  sp[-1] = Value::boolean(r);
  ip += 3;
  DISPATCH();
}

#define J_CMP(LABEL, BASEOP, OPR)                                                 \
  LABEL : {                                                                       \
    Value* a = sp - 1;                                                            \
    const Value& b = consts[rd16(ip + 1)];                                        \
    bool truth;                                                                   \
    if (__builtin_expect(a->type() == Type::kInt && b.type() == Type::kInt, 1)) { \
      truth = a->i() OPR b.i();                                                   \
      --sp;                                                                       \
    } else {                                                                      \
      Value r;                                                                    \
      if (!binaryOp(*this, BASEOP, *a, b, &r, &err)) goto L_error;                \
      truth = !isFalsy(r);                                                        \
      (--sp)->reset();                                                            \
    }                                                                             \
    if (__builtin_expect(counting, 0) && --allocsLeft == 0) {                  \
      err.msg = "object allocation limit exceeded";                               \
      err.limit = true;                                                           \
      goto L_error;                                                               \
    }                                                                             \
    if (truth) ip += 7;                                                           \
    else ip = code + rd32(ip + 3);                           \
    DISPATCH();                                                                   \
  }
  J_CMP(L_JLTK, OP_LT, <)
  J_CMP(L_JLEK, OP_LE, <=)
  J_CMP(L_JGTK, OP_GT, >)
  J_CMP(L_JGEK, OP_GE, >=)
#undef J_CMP

#define J_EQ(LABEL, NEG)                                                          \
  LABEL : {                                                                       \
    bool truth = NEG valuesEqual(sp[-1], consts[rd16(ip + 1)]);                   \
    (--sp)->reset();                                                              \
    if (truth) ip += 7;                                                           \
    else ip = code + rd32(ip + 3);                           \
    DISPATCH();                                                                   \
  }
  J_EQ(L_JEQK, )
  J_EQ(L_JNEK, !)
#undef J_EQ

L_error : {
  f->ip = ip;
  if (__builtin_expect(debug != nullptr, 0) && nested == 0 && !err.limit) {
    // The frames are still there for a debugger to look at.
    this->sp = sp;
    debugIp = op;
    debug->onError(*self, err.msg);
    debugIp = nullptr;
    sp = this->sp;
  }
  st.kind = err.limit ? Status::Kind::kLimitExceeded : Status::Kind::kRuntimeError;
  st.message = "Runtime Error: " + err.msg + trace(op, stopFp);
  // Unwind the frames belonging to this execution.
  {
    Value* base = stopFp == 1 ? stack.get() : frames[stopFp - 1].bp - 1;
    for (Value* q = base; q < sp; ++q) q->reset();
    this->sp = base;
  }
  fp = stopFp - 1;
  if (fp < 0) fp = 0;
  suspended = false;
  running = false;
  return st;
}
#undef DISPATCH
#undef ALLOC
#undef TICK
}

// ---------------------------------------------------------------------------------------------
// Vm public API
// ---------------------------------------------------------------------------------------------

Vm::Vm() : impl_(std::make_unique<Impl>()) {
  impl_->self = this;  // the stack is mapped by the first run, for the limits then set
}
Vm::~Vm() {
  for (Coroutine::State* st : impl_->coStates) st->owner = nullptr;
  // Break closure <-> cell cycles so that recursive local functions are freed with the VM.
  std::vector<Value> drop;
  for (FuncObj* f = impl_->closures.head; f != nullptr;) {
    FuncObj* next = f->nextLive;
    f->list = nullptr;
    f->prevLive = f->nextLive = nullptr;
    for (auto& v : f->free) drop.push_back(std::move(v));
    f->free.clear();
    f = next;
  }
  impl_->closures.head = nullptr;
}

Status Vm::run() {
  impl_->suspended = false;
  return impl_->runMain();
}

Status Vm::resume(Value v) {
  if (!impl_->suspended) return Status{Status::Kind::kRuntimeError, "Runtime Error: not suspended"};
  impl_->suspended = false;
  (impl_->sp++)->initFrom(v);
  impl_->resetBudget();
  return impl_->execute(1, nullptr);
}

Status Vm::resumeError(const std::string& message) {
  if (!impl_->suspended) return Status{Status::Kind::kRuntimeError, "Runtime Error: not suspended"};
  impl_->suspended = false;
  Frame& f = impl_->frames[impl_->fp - 1];
  const uint8_t* at = f.ip - 1;
  Status st{Status::Kind::kRuntimeError, "Runtime Error: " + message + impl_->trace(at, 1)};
  impl_->fp = 0;
  for (Value* q = impl_->stack.get(); q < impl_->sp; ++q) q->reset();
  impl_->sp = impl_->stack.get();
  return st;
}

bool Vm::suspended() const { return impl_->suspended; }
void Vm::abort() { impl_->abortFlag.store(true); }

Value Vm::get(const std::string& name) const {
  auto it = impl_->prog->globalIndex.find(name);
  if (it == impl_->prog->globalIndex.end()) return Value();
  return impl_->globals[it->second];
}
bool Vm::isDefined(const std::string& name) const {
  return impl_->prog->globalIndex.count(name) != 0;
}
bool Vm::set(const std::string& name, Value v) {
  auto it = impl_->prog->globalIndex.find(name);
  if (it == impl_->prog->globalIndex.end()) return false;
  impl_->globals[it->second] = std::move(v);
  return true;
}
std::vector<std::string> Vm::globalNames() const {
  std::vector<std::string> out;
  for (auto& [k, v] : impl_->prog->globalIndex) out.push_back(k);
  return out;
}
Limits& Vm::limits() { return impl_->limits; }
void Vm::setOutput(std::function<void(std::string_view)> out) { impl_->output = std::move(out); }
void Vm::write(std::string_view text) {
  if (impl_->output) impl_->output(text);
  else fwrite(text.data(), 1, text.size(), stdout);
}
void Vm::setOsHost(std::shared_ptr<OsHost> host) { impl_->osHost = std::move(host); }
OsHost* Vm::osHost() const { return impl_->osHost.get(); }

std::string Vm::position() const {
  const Impl& im = *impl_;
  if (im.fp <= 0) return "";
  const Frame& f = im.frames[im.fp - 1];
  Proto* p = f.fn->proto;
  // f.ip is past the instruction running now (a native call saves it before calling).
  return p->positionAt(static_cast<uint32_t>(f.ip - 1 - p->code.data()));
}
bool Vm::checkStringLen(size_t n) const { return impl_->strFits(n); }
bool Vm::checkBytesLen(size_t n) const { return impl_->bytesFits(n); }

// ---------------------------------------------------------------------------------------------
// Coroutines
// ---------------------------------------------------------------------------------------------


Coroutine::Coroutine() : state(std::make_unique<State>()) {}
Coroutine::~Coroutine() = default;
bool Coroutine::suspended() const { return state->suspended; }
void Coroutine::setDebugId(int id) { state->debugId = id; }
Coroutine::State::~State() {
  if (owner) std::erase(owner->coStates, this);
}

bool describeFunction(const Value& fn, FunctionInfo* out) {
  if (fn.type() != Type::kFunction) return false;
  Proto* p = fn.as<FuncObj>()->proto;
  out->varArgs = p->varArgs;
  out->params = p->varArgs ? p->numParams - 1 : p->numParams;
  out->position = p->positionAt(0);
  out->defined = p->file ? p->file->position(p->defPos) : out->position;
  return true;
}

namespace {
// Runs `body` with coroutine `co`'s stack in the Vm, then puts back the stack that was there.
// The instructions the coroutine ran count in the budget of the code it was started or resumed
// from (a native of the main function, say), as a nested Vm::call's do.
template <typename F>
Status onCoroutine(Vm::Impl& im, Coroutine& co, F&& body) {
  im.swap(*co.state);
  bool wasRunning = im.running;
  Status st = body();
  im.running = wasRunning;
  int64_t used = im.budgetLeft < 0 ? 0 : im.limits.maxInstructions - (im.budget + im.budgetLeft);
  im.swap(*co.state);
  if (im.running && im.budgetLeft >= 0 && used > 0) {
    im.budgetLeft -= used;
    if (im.budgetLeft < 0) {
      im.budget += im.budgetLeft;  // at or below 0: the next check reports the limit
      im.budgetLeft = 0;
    }
  }
  return st;
}
}  // namespace

Status Vm::start(Coroutine& co, const Value& fn, Args args, Value* result) {
  Impl& im = *impl_;
  // A debugger finds every stack through these (kept only while one is attached: a spell with
  // thousands of waiting tasks would pay for the bookkeeping).
  if (im.debug && !co.state->owner) {
    co.state->owner = &im;
    im.coStates.push_back(co.state.get());
  }
  if (fn.type() != Type::kFunction)
    return Status{Status::Kind::kRuntimeError, "Runtime Error: not a compiled function: " + typeName(fn)};
  if (co.state->suspended || co.state->fp != 0)
    return Status{Status::Kind::kRuntimeError, "Runtime Error: coroutine is busy"};
  Proto* p = fn.as<FuncObj>()->proto;
  // Its stack is mapped on its first call, for the Vm's limits.
  if (!co.state->reserveStack(im.limits))
    return Status{Status::Kind::kLimitExceeded, "Runtime Error: cannot map a coroutine stack"};
  return onCoroutine(im, co, [&]() -> Status {
    Value* sp = im.stack.get();
    if (!im.fit(2 + args.size() + static_cast<size_t>(p->frameSize), 1))
      return im.fail("stack overflow", false, p->code.data());
    size_t nargs = args.size();
    size_t real = static_cast<size_t>(p->varArgs ? p->numParams - 1 : p->numParams);
    if (p->varArgs ? nargs < real : nargs != real)
      return Status{Status::Kind::kRuntimeError,
                    "Runtime Error: wrong number of arguments: want" + std::string(p->varArgs ? ">=" : "=") +
                        std::to_string(real) + ", got=" + std::to_string(nargs) + "\n\tat " + p->positionAt(0)};
    Value* callee = sp;
    (sp++)->initFrom(fn);
    for (size_t i = 0; i < real; ++i) (sp++)->initFrom(args[i]);
    if (p->varArgs) (sp++)->initFrom(makeArray(std::vector<Value>(args.begin() + static_cast<long>(real), args.end())));
    for (int k = p->numParams; k < p->numLocals; ++k) (sp++)->initUndefined();
    im.frames[0] = Frame{fn.as<FuncObj>(), p->code.data(), callee + 1, p->code.data()};
    im.fp = 1;
    im.sp = sp;
    im.suspended = false;
    im.nested = 0;
    im.resetBudget();
    return im.execute(1, result);
  });
}

Status Vm::resume(Coroutine& co, Value v, Value* result) {
  if (!co.state->suspended) return Status{Status::Kind::kRuntimeError, "Runtime Error: not suspended"};
  Impl& im = *impl_;
  return onCoroutine(im, co, [&]() -> Status {
    im.suspended = false;
    (im.sp++)->initFrom(v);
    im.resetBudget();
    return im.execute(1, result);
  });
}

Status Vm::resumeError(Coroutine& co, const std::string& message) {
  if (!co.state->suspended) return Status{Status::Kind::kRuntimeError, "Runtime Error: not suspended"};
  Impl& im = *impl_;
  return onCoroutine(im, co, [&]() -> Status {
    im.suspended = false;
    Frame& f = im.frames[im.fp - 1];
    Status st{Status::Kind::kRuntimeError, "Runtime Error: " + message + im.trace(f.ip - 1, 1)};
    im.fp = 0;
    for (Value* q = im.stack.get(); q < im.sp; ++q) q->reset();
    im.sp = im.stack.get();
    return st;
  });
}

Result Vm::call(const Value& fn, Args args) {
  Impl& im = *impl_;
  if (fn.type() == Type::kBuiltin) return kBuiltins[fn.i()].fn(im, args);
  if (fn.type() == Type::kNative) return fn.as<NativeObj>()->fn(*this, args);
  if (fn.type() != Type::kFunction) return Result::error("not callable: " + typeName(fn));
  Proto* p = fn.as<FuncObj>()->proto;
  Value* sp = im.sp;
  if (!im.fit(static_cast<size_t>(sp - im.stack.get()) + 2 + args.size() + p->numLocals + p->maxStack,
              im.fp + 1))
    return Result::error("stack overflow");
  Value* callee = sp;
  (sp++)->initFrom(fn);
  std::vector<Value> argv(args.begin(), args.end());
  size_t nargs = argv.size();
  if (p->varArgs) {
    size_t real = static_cast<size_t>(p->numParams - 1);
    if (nargs < real) {
      callee->reset();
      im.sp = callee;
      return Result::error("wrong number of arguments: want>=" + std::to_string(real) +
                           ", got=" + std::to_string(nargs));
    }
    std::vector<Value> rest(argv.begin() + static_cast<long>(real), argv.end());
    argv.resize(real);
    argv.push_back(makeArray(std::move(rest)));
    nargs = argv.size();
  } else if (nargs != static_cast<size_t>(p->numParams)) {
    callee->reset();
    im.sp = callee;
    return Result::error("wrong number of arguments: want=" + std::to_string(p->numParams) +
                         ", got=" + std::to_string(nargs));
  }
  for (auto& a : argv) (sp++)->initFrom(a);
  for (int k = static_cast<int>(nargs); k < p->numLocals; ++k) (sp++)->initUndefined();
  im.frames[im.fp] = Frame{fn.as<FuncObj>(), p->code.data(), callee + 1, p->code.data()};
  ++im.fp;
  im.sp = sp;
  ++im.nested;
  Value result;
  Status st = im.execute(im.fp, &result);
  --im.nested;
  im.sp = callee;
  if (!st.ok()) {
    std::string msg = st.message;
    if (msg.rfind("Runtime Error: ", 0) == 0) msg = msg.substr(15);
    auto nl = msg.find('\n');
    if (nl != std::string::npos) msg = msg.substr(0, nl);
    if (st.kind == Status::Kind::kLimitExceeded) return Result::limit(msg);
    return Result::error(msg);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// Debugging
// ---------------------------------------------------------------------------------------------

namespace {
// The instruction frame k of stack `s` is at: the one about to run for the frame a hook was
// called in, else the call it waits in (its saved ip is past the call).
uint32_t framePc(const Vm::Impl& im, const ExecState& s, int k) {
  const Frame& f = s.frames[k];
  const uint8_t* at = (&s == &im && k == s.fp - 1 && im.debugIp) ? im.debugIp : f.ip - 1;
  return static_cast<uint32_t>(at - f.fn->proto->code.data());
}

const ExecState* findStack(const Vm::Impl& im, int id) {
  if (im.fp > 0 && im.debugId == id) return &im;
  for (const Coroutine::State* st : im.coStates)
    if (st->fp > 0 && st->debugId == id) return st;
  return nullptr;
}

Value cellValue(const Value& v) { return v.type() == Type::kCell ? v.as<CellObj>()->v : v; }
}  // namespace

void Vm::setDebugHook(DebugHook* hook) {
  impl_->debug = hook;
  // Expressions evaluated while stopped compile into this program, whose constants running
  // code reads through a cached pointer: reserve the most there can be (65536) now.
  if (hook && impl_->prog) impl_->prog->constants.reserve(65536 + 64);
}
void Vm::setDebugLineMode(bool on) { impl_->lineMode = on; }
bool Vm::debugLineMode() const { return impl_->lineMode; }
void Vm::setDebugId(int id) { impl_->debugId = id; }
int Vm::debugId() const { return impl_->debugId; }
int Vm::debugDepth() const { return impl_->fp; }

std::vector<std::string> Vm::debugFiles() const {
  std::vector<std::string> out;
  for (const auto& f : impl_->prog->files) out.push_back(f->name);
  return out;
}

std::vector<DebugStackInfo> Vm::debugStacks() const {
  const Impl& im = *impl_;
  std::vector<DebugStackInfo> out;
  auto add = [&](const ExecState& s, bool running) {
    if (s.fp <= 0) return;
    DebugStackInfo info;
    info.id = s.debugId;
    info.running = running;
    for (int k = s.fp - 1; k >= 0; --k) {
      Proto* p = s.frames[k].fn->proto;
      DebugFrameInfo fi;
      fi.file = p->file ? p->file->name : "";
      fi.line = p->lineAt(framePc(im, s, k));
      fi.function = p->name;
      if (fi.function.empty()) {
        std::string pos = p->file ? p->file->position(p->defPos) : p->positionAt(0);
        fi.function = "function at " + pos.substr(0, pos.rfind(':'));
      }
      info.frames.push_back(std::move(fi));
    }
    out.push_back(std::move(info));
  };
  add(im, im.running);
  for (const Coroutine::State* st : im.coStates) add(*st, false);
  return out;
}

bool Vm::debugVariables(int id, int level, DebugVars* locals, DebugVars* free) const {
  const Impl& im = *impl_;
  const ExecState* s = findStack(im, id);
  if (!s || level < 0 || level >= s->fp) return false;
  int k = s->fp - 1 - level;
  const Frame& f = s->frames[k];
  Proto* p = f.fn->proto;
  uint32_t pc = framePc(im, *s, k);
  if (locals) {
    // In scope here; an inner block's name hides an outer one's.
    for (const auto& ln : p->localNames) {
      if (pc < ln.start || pc >= ln.end) continue;
      std::erase_if(*locals, [&](const auto& kv) { return kv.first == ln.name; });
      if (ln.global && static_cast<size_t>(ln.slot) >= im.globals.size()) continue;
      locals->emplace_back(ln.name, cellValue(ln.global ? im.globals[ln.slot] : f.bp[ln.slot]));
    }
  }
  if (free)
    for (size_t i = 0; i < p->freeNames.size() && i < f.fn->free.size(); ++i)
      free->emplace_back(p->freeNames[i], cellValue(f.fn->free[i]));
  return true;
}

DebugVars Vm::debugGlobals() const {
  const Impl& im = *impl_;
  DebugVars out;
  for (const auto& [name, index] : im.prog->globalIndex)
    if (index >= 0 && static_cast<size_t>(index) < im.globals.size()) out.emplace_back(name, im.globals[index]);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

Status Vm::debugEvaluate(const std::string& expr, int id, int level, Value* out) {
  Impl& im = *impl_;
  DebugVars locals, free;
  debugVariables(id, level, &locals, &free);
  // The frame's locals over its free variables, passed as the parameters of the expression's
  // function: reads see them, assignments would not reach the frame (and are not expressions).
  std::map<std::string, Value> vars;
  for (auto& [n, v] : free) vars[n] = v;
  for (auto& [n, v] : locals) vars[n] = v;
  std::vector<std::string> names;
  std::vector<Value> args;
  for (auto& [n, v] : vars) {
    names.push_back(n);
    args.push_back(v);
  }
  Value fn;
  std::string err = compileDebugExpr(im.prog.get(), expr, names, &fn);
  if (!err.empty())
    return Status{err.rfind("Parse Error", 0) == 0 ? Status::Kind::kParseError : Status::Kind::kCompileError, err};
  if (!im.stack) return Status{Status::Kind::kRuntimeError, "Runtime Error: nothing has run yet"};
  // On the running stack, as a native's nested call: a native that would wait fails there.
  bool wasLine = im.lineMode, wasSuspended = im.suspended, wasRunning = im.running;
  const uint8_t* wasIp = im.debugIp;
  im.lineMode = false;
  Result r = call(fn, Args(args.data(), args.size()));
  im.lineMode = wasLine;
  im.suspended = wasSuspended;
  im.running = wasRunning;
  im.debugIp = wasIp;
  switch (r.kind()) {
    case Result::Kind::kValue: *out = std::move(r.value()); return Status{};
    case Result::Kind::kLimit: return Status{Status::Kind::kLimitExceeded, "Runtime Error: " + r.message()};
    default: return Status{Status::Kind::kRuntimeError, "Runtime Error: " + r.message()};
  }
}

void Vm::debugPaused(double seconds) {
  auto d = std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(seconds));
  Impl& im = *impl_;
  if (im.hasDeadline) im.deadline += d;
  for (Coroutine::State* st : im.coStates)
    if (st->hasDeadline) st->deadline += d;
}

}  // namespace llmspell::tengo
