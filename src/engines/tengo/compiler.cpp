// Single-pass Tengo compiler: AST -> bytecode, with Tengo's symbol-table rules (globals, block
// scopes sharing a function's local slots, free variables, builtins) and module compilation.
#include <algorithm>
#include <deque>
#include <map>

#include "engines/tengo/core.hpp"

namespace llmspell::tengo::detail {

int opOperandBytes(Op op) {
  switch (op) {
    case OP_CONST: case OP_GETG: case OP_SETG: case OP_ARRAY: case OP_MAP: return 2;
    case OP_JMP: case OP_JMPF: case OP_ANDJMP: case OP_ORJMP: return 4;
    case OP_GETL: case OP_SETL: case OP_DEFL: case OP_GETF: case OP_SETF: case OP_GETLP:
    case OP_GETFP: case OP_GETB: case OP_RET: return 1;
    case OP_SETSELG: case OP_CLOSURE: return 3;
    case OP_SETSELL: case OP_SETSELF: case OP_CALL: case OP_TAILCALL: return 2;
    case OP_ADDK: case OP_SUBK: case OP_LTK: case OP_LEK: case OP_GTK: case OP_GEK: case OP_EQK:
    case OP_NEK: return 2;
    case OP_JLTK: case OP_JLEK: case OP_JGTK: case OP_JGEK: case OP_JEQK: case OP_JNEK: return 6;
    default: return 0;
  }
}

int Proto::lineAt(uint32_t pc) {
  if (lineOf.empty()) {
    lineOf.assign(code.size() + 1, 0);
    size_t k = 0;
    int line = 0;
    for (uint32_t i = 0; i < lineOf.size(); ++i) {
      while (k < srcmap.size() && srcmap[k].first <= i) line = file ? file->line(srcmap[k++].second) : 0;
      lineOf[i] = line;
    }
  }
  return pc < lineOf.size() ? lineOf[pc] : 0;
}

std::string Proto::positionAt(uint32_t ip) const {
  int pos = 0;
  for (auto& [pc, p] : srcmap) {
    if (pc > ip) break;
    pos = p;
  }
  return file ? file->position(pos) : "?";
}

namespace {

enum class Scope : uint8_t { Global, Local, Builtin, Free };

struct Symbol {
  std::string name;
  Scope scope;
  int index;
  bool localAssigned = false;
  int localName = -1;  // its entry in the function's Proto::localNames
};

struct SymTab {
  SymTab* parent = nullptr;
  bool block = false;
  bool builtinOnly = false;  // module root: only builtins, no globals
  std::map<std::string, Symbol*> store;
  int numDef = 0, maxDef = 0;
  std::vector<Symbol*> freeSyms;
};

struct CompileErr {
  std::string text;
};

struct Loop {
  std::vector<size_t> breaks, continues;
};

struct CScope {
  size_t lastOp = SIZE_MAX, prevOp = SIZE_MAX;  // starts of the last two instructions
  std::vector<uint8_t> code;
  std::vector<std::pair<uint32_t, int>> srcmap;
  std::vector<Loop> loops;
  std::vector<Proto::LocalName> locals;  // for a debugger
};

struct Shared {
  Program* prog;
  const ModuleMap* modules;
  int64_t maxStringLen;
  std::deque<Symbol> symbols;
  std::deque<SymTab> tables;
  std::map<std::string, int> moduleCache;  // name -> constant index
};

class Compiler {
 public:
  Compiler(Shared& sh, const SourceFile* file, std::string modulePath, Compiler* parent,
           SymTab* table)
      : sh_(sh), file_(file), modulePath_(std::move(modulePath)), parent_(parent), st_(table) {
    scopes_.emplace_back();
  }

  SymTab* newTable(SymTab* parent, bool block) {
    sh_.tables.emplace_back();
    SymTab* t = &sh_.tables.back();
    t->parent = parent;
    t->block = block;
    return t;
  }

  [[noreturn]] void fail(const Node* n, const std::string& msg) {
    throw CompileErr{"Compile Error: " + msg + "\n\tat " + file_->position(n ? n->pos : 0)};
  }

  // ---- symbol table ----
  static SymTab* funcTable(SymTab* t) {
    while (t->block) t = t->parent;
    return t;
  }
  static int nextIndex(SymTab* t) {
    if (t->block) return nextIndex(t->parent) + t->numDef;
    return t->numDef;
  }
  static void updateMax(SymTab* t, int n) {
    if (n > t->maxDef) t->maxDef = n;
    if (t->block) updateMax(t->parent, n);
  }
  Symbol* define(const std::string& name) {
    SymTab* t = st_;
    sh_.symbols.push_back(Symbol{name, Scope::Local, nextIndex(t)});
    Symbol* s = &sh_.symbols.back();
    t->numDef++;
    SymTab* ft = funcTable(t);
    if (ft->parent == nullptr && !ft->builtinOnly) {
      s->scope = Scope::Global;
      if (t->parent) {
        SymTab* p = t->parent;
        while (p->parent) p = p->parent;
        t->numDef--;
        p->numDef++;
      }
    }
    t->store[name] = s;
    updateMax(t, s->index + 1);
    // Where a local is in scope, for a debugger: from here to the end of its block (set by
    // leaveBlock) or of its function. Hidden names (":it") stay hidden.
    // The main function's block-scoped names are globals without a name in the program's
    // table (two loops may each have an `i`): the debugger shows them as its locals.
    bool blockGlobal = s->scope == Scope::Global && t->parent;
    if ((s->scope == Scope::Local || blockGlobal) && name[0] != ':') {
      s->localName = static_cast<int>(cur().locals.size());
      cur().locals.push_back({name, s->index, static_cast<uint32_t>(here()), UINT32_MAX, blockGlobal});
    }
    return s;
  }
  Symbol* resolveIn(SymTab* t, const std::string& name, bool recur, int* depth) {
    auto it = t->store.find(name);
    if (it != t->store.end()) {
      Symbol* s = it->second;
      if (s->scope != Scope::Local || s->localAssigned || recur) {
        *depth = 0;
        return s;
      }
    }
    if (!t->parent) {
      int bi = builtinIndex(name);
      if (bi >= 0) {
        sh_.symbols.push_back(Symbol{name, Scope::Builtin, bi});
        *depth = 0;
        return &sh_.symbols.back();
      }
      return nullptr;
    }
    Symbol* s = resolveIn(t->parent, name, true, depth);
    if (!s) return nullptr;
    ++*depth;
    if (!t->block && *depth > 0 && s->scope != Scope::Global && s->scope != Scope::Builtin) {
      t->freeSyms.push_back(s);
      sh_.symbols.push_back(
          Symbol{s->name, Scope::Free, static_cast<int>(t->freeSyms.size()) - 1});
      Symbol* f = &sh_.symbols.back();
      t->store[name] = f;
      return f;
    }
    return s;
  }

  // ---- emission ----
  CScope& cur() { return scopes_.back(); }
  size_t emit(const Node* n, Op op, int a = 0, int b = 0) {
    CScope& s = cur();
    size_t at = s.code.size();
    int pos = n ? n->pos : 0;
    s.srcmap.emplace_back(static_cast<uint32_t>(at), pos);
    if (op == OP_RET) markTailCall(s);
    s.prevOp = s.lastOp;
    s.lastOp = at;
    s.code.push_back(op);
    switch (op) {
      case OP_CONST: case OP_GETG: case OP_SETG: case OP_ARRAY: case OP_MAP:
        s.code.push_back(static_cast<uint8_t>(a >> 8));
        s.code.push_back(static_cast<uint8_t>(a));
        break;
      case OP_JMP: case OP_JMPF: case OP_ANDJMP: case OP_ORJMP:
        for (int k = 3; k >= 0; --k) s.code.push_back(static_cast<uint8_t>(a >> (8 * k)));
        break;
      case OP_GETL: case OP_SETL: case OP_DEFL: case OP_GETF: case OP_SETF: case OP_GETLP:
      case OP_GETFP: case OP_GETB: case OP_RET:
        s.code.push_back(static_cast<uint8_t>(a));
        break;
      case OP_SETSELG: case OP_CLOSURE:
        s.code.push_back(static_cast<uint8_t>(a >> 8));
        s.code.push_back(static_cast<uint8_t>(a));
        s.code.push_back(static_cast<uint8_t>(b));
        break;
      case OP_SETSELL: case OP_SETSELF: case OP_CALL:
        s.code.push_back(static_cast<uint8_t>(a));
        s.code.push_back(static_cast<uint8_t>(b));
        break;
      case OP_ADDK: case OP_SUBK: case OP_LTK: case OP_LEK: case OP_GTK: case OP_GEK:
      case OP_EQK: case OP_NEK:
        s.code.push_back(static_cast<uint8_t>(a >> 8));
        s.code.push_back(static_cast<uint8_t>(a));
        break;
      case OP_JLTK: case OP_JLEK: case OP_JGTK: case OP_JGEK: case OP_JEQK: case OP_JNEK:
        s.code.push_back(static_cast<uint8_t>(a >> 8));
        s.code.push_back(static_cast<uint8_t>(a));
        for (int k = 3; k >= 0; --k) s.code.push_back(static_cast<uint8_t>(b >> (8 * k)));
        break;
      default: break;
    }
    return at;
  }
  void patchJump(size_t at, size_t target) {
    auto& c = cur().code;
    size_t o = (c[at] >= OP_JLTK && c[at] <= OP_JNEK) ? at + 3 : at + 1;
    for (int k = 0; k < 4; ++k) c[o + k] = static_cast<uint8_t>(target >> (8 * (3 - k)));
  }
  // A numeric literal usable as the constant operand of a fused op.
  int literalConst(const Node* n) {
    if (n->kind == NK::IntLit) return addConst(Value::integer(n->ival));
    if (n->kind == NK::FloatLit) return addConst(Value::number(n->fval));
    if (n->kind == NK::CharLit) return addConst(Value::character(static_cast<int32_t>(n->ival)));
    return -1;
  }
  static bool isNumLit(const Node* n) {
    return n->kind == NK::IntLit || n->kind == NK::FloatLit || n->kind == NK::CharLit;
  }
  static Op kOp(Tok t, bool jump) {
    switch (t) {
      case Tok::Add: return jump ? OP__COUNT : OP_ADDK;
      case Tok::Sub: return jump ? OP__COUNT : OP_SUBK;
      case Tok::Less: return jump ? OP_JLTK : OP_LTK;
      case Tok::LessEq: return jump ? OP_JLEK : OP_LEK;
      case Tok::Greater: return jump ? OP_JGTK : OP_GTK;
      case Tok::GreaterEq: return jump ? OP_JGEK : OP_GEK;
      case Tok::Equal: return jump ? OP_JEQK : OP_EQK;
      case Tok::NotEqual: return jump ? OP_JNEK : OP_NEK;
      default: return OP__COUNT;
    }
  }
  // Compiles a condition and a "jump if falsy" to be patched; fuses `x <op> literal`.
  size_t compileCondJump(const Node* cond, const Node* jumpNode) {
    if (cond->kind == NK::Binary && isNumLit(cond->b.get()) && kOp(cond->tok, true) != OP__COUNT) {
      compile(cond->a.get());
      int k = literalConst(cond->b.get());
      return emit(cond, kOp(cond->tok, true), k, 0);
    }
    compile(cond);
    return emit(jumpNode, OP_JMPF, 0);
  }
  size_t here() { return cur().code.size(); }
  int addConst(Value v) {
    sh_.prog->constants.push_back(std::move(v));
    int idx = static_cast<int>(sh_.prog->constants.size()) - 1;
    if (idx > 65535) fail(nullptr, "exceeding constant objects limit: 65536");
    return idx;
  }
  Loop* curLoop() { return cur().loops.empty() ? nullptr : &cur().loops.back(); }

  void enterBlock() { st_ = newTable(st_, true); }
  void leaveBlock() {
    for (auto& [name, sym] : st_->store)
      if (sym->localName >= 0) cur().locals[sym->localName].end = static_cast<uint32_t>(here());
    st_ = st_->parent;
  }

  // ---- statements ----
  void compileStmts(const std::vector<NodeP>& stmts) {
    for (auto& s : stmts) compile(s.get());
  }

  void compile(const Node* n) {
    switch (n->kind) {
      case NK::ExprStmt:
        compile(n->a.get());
        emit(n, OP_POP);
        break;
      case NK::Empty: break;
      case NK::Bad: case NK::BadStmt: fail(n, "invalid AST");
      case NK::Assign:
        compileAssign(n, n->list, n->list2, n->tok);
        break;
      case NK::IncDec: {
        std::vector<const Node*> l{n->a.get()};
        Node one;
        one.kind = NK::IntLit;
        one.ival = 1;
        one.pos = n->pos;
        std::vector<const Node*> r{&one};
        assignImpl(n, l, r, n->tok == Tok::Inc ? Tok::AddAssign : Tok::SubAssign);
        break;
      }
      case NK::Block:
        if (n->list.empty()) break;
        enterBlock();
        compileStmts(n->list);
        leaveBlock();
        break;
      case NK::If: {
        enterBlock();
        if (n->a) compile(n->a.get());
        size_t j1 = compileCondJump(n->b.get(), n);
        compile(n->c.get());
        if (n->d) {
          size_t j2 = emit(n, OP_JMP, 0);
          patchJump(j1, here());
          compile(n->d.get());
          patchJump(j2, here());
        } else {
          patchJump(j1, here());
        }
        leaveBlock();
        break;
      }
      case NK::For: compileFor(n); break;
      case NK::ForIn: compileForIn(n); break;
      case NK::Branch: {
        Loop* l = curLoop();
        bool isBreak = n->tok == Tok::Break;
        if (!l) fail(n, isBreak ? "break not allowed outside loop"
                                : "continue not allowed outside loop");
        size_t at = emit(n, OP_JMP, 0);
        (isBreak ? l->breaks : l->continues).push_back(at);
        break;
      }
      case NK::Return: {
        if (funcTable(st_)->parent == nullptr) fail(n, "return not allowed outside function");
        if (!n->a) {
          emit(n, OP_RET, 0);
        } else {
          compile(n->a.get());
          emit(n, OP_RET, 1);
        }
        break;
      }
      case NK::Export: {
        if (scopes_.size() != 1) fail(n, "export not allowed inside function");
        if (!parent_) break;
        compile(n->a.get());
        emit(n, OP_IMMUTABLE);
        emit(n, OP_RET, 1);
        break;
      }
      // ---- expressions ----
      case NK::IntLit: emit(n, OP_CONST, addConst(Value::integer(n->ival))); break;
      case NK::FloatLit: emit(n, OP_CONST, addConst(Value::number(n->fval))); break;
      case NK::CharLit:
        emit(n, OP_CONST, addConst(Value::character(static_cast<int32_t>(n->ival))));
        break;
      case NK::StringLit:
        if (static_cast<int64_t>(n->sval.size()) > sh_.maxStringLen)
          fail(n, "exceeding string size limit");
        emit(n, OP_CONST, addConst(makeString(n->sval)));
        break;
      case NK::BoolLit: emit(n, n->flag ? OP_TRUE : OP_FALSE); break;
      case NK::UndefinedLit: emit(n, OP_NULL); break;
      case NK::Ident: {
        int depth;
        Symbol* s = resolveIn(st_, n->lit, false, &depth);
        if (!s) fail(n, "unresolved reference '" + n->lit + "'");
        emitGet(n, s);
        break;
      }
      case NK::Paren: compile(n->a.get()); break;
      case NK::Binary: {
        if (n->tok == Tok::LAnd || n->tok == Tok::LOr) {
          compile(n->a.get());
          size_t j = emit(n, n->tok == Tok::LAnd ? OP_ANDJMP : OP_ORJMP, 0);
          compile(n->b.get());
          patchJump(j, here());
          break;
        }
        compile(n->a.get());
        if (isNumLit(n->b.get()) && kOp(n->tok, false) != OP__COUNT) {
          emit(n, kOp(n->tok, false), literalConst(n->b.get()));
          break;
        }
        compile(n->b.get());
        emit(n, binOp(n->tok));
        break;
      }
      case NK::Unary:
        compile(n->a.get());
        switch (n->tok) {
          case Tok::Not: emit(n, OP_LNOT); break;
          case Tok::Sub: emit(n, OP_NEG); break;
          case Tok::Xor: emit(n, OP_BNOT); break;
          case Tok::Add: break;
          default: fail(n, std::string("invalid unary operator: ") + tokString(n->tok));
        }
        break;
      case NK::Cond: {
        size_t j1 = compileCondJump(n->a.get(), n);
        compile(n->b.get());
        size_t j2 = emit(n, OP_JMP, 0);
        patchJump(j1, here());
        compile(n->c.get());
        patchJump(j2, here());
        break;
      }
      case NK::ArrayLit:
        for (auto& e : n->list) compile(e.get());
        emit(n, OP_ARRAY, static_cast<int>(n->list.size()));
        break;
      case NK::MapLit:
        for (auto& e : n->list) {
          emit(e.get(), OP_CONST, addConst(makeString(e->lit)));
          compile(e->a.get());
        }
        emit(n, OP_MAP, static_cast<int>(n->list.size() * 2));
        break;
      case NK::Selector:
        compile(n->a.get());
        emit(n->b.get(), OP_CONST, addConst(makeString(n->lit)));
        emit(n, OP_INDEX);
        break;
      case NK::Index:
        compile(n->a.get());
        compile(n->b.get());
        emit(n, OP_INDEX);
        break;
      case NK::Slice:
        compile(n->a.get());
        if (n->b) compile(n->b.get()); else emit(n, OP_NULL);
        if (n->c) compile(n->c.get()); else emit(n, OP_NULL);
        emit(n, OP_SLICE);
        break;
      case NK::Call:
        compile(n->a.get());
        for (auto& e : n->list) compile(e.get());
        if (n->list.size() > 255) fail(n, "too many arguments");
        emit(n, OP_CALL, static_cast<int>(n->list.size()), n->flag ? 1 : 0);
        break;
      case NK::ErrorExpr:
        compile(n->a.get());
        emit(n, OP_ERROR);
        break;
      case NK::ImmutableExpr:
        compile(n->a.get());
        emit(n, OP_IMMUTABLE);
        break;
      case NK::FuncLit: compileFunc(n); break;
      case NK::Import: compileImport(n); break;
      default: fail(n, "unsupported node");
    }
  }

  static Op binOp(Tok t) {
    switch (t) {
      case Tok::Add: return OP_ADD;
      case Tok::Sub: return OP_SUB;
      case Tok::Mul: return OP_MUL;
      case Tok::Quo: return OP_DIV;
      case Tok::Rem: return OP_REM;
      case Tok::And: return OP_BAND;
      case Tok::Or: return OP_BOR;
      case Tok::Xor: return OP_BXOR;
      case Tok::Shl: return OP_SHL;
      case Tok::Shr: return OP_SHR;
      case Tok::AndNot: return OP_ANDNOT;
      case Tok::Less: return OP_LT;
      case Tok::LessEq: return OP_LE;
      case Tok::Greater: return OP_GT;
      case Tok::GreaterEq: return OP_GE;
      case Tok::Equal: return OP_EQ;
      case Tok::NotEqual: return OP_NE;
      default: return OP_ADD;
    }
  }

  void emitGet(const Node* n, Symbol* s) {
    switch (s->scope) {
      case Scope::Global: emit(n, OP_GETG, s->index); break;
      case Scope::Local: emit(n, OP_GETL, s->index); break;
      case Scope::Builtin: emit(n, OP_GETB, s->index); break;
      case Scope::Free: emit(n, OP_GETF, s->index); break;
    }
  }

  void compileAssign(const Node* n, const std::vector<NodeP>& lhs, const std::vector<NodeP>& rhs,
                     Tok op) {
    std::vector<const Node*> l, r;
    for (auto& x : lhs) l.push_back(x.get());
    for (auto& x : rhs) r.push_back(x.get());
    assignImpl(n, l, r, op);
  }

  static void resolveLHS(const Node* e, std::string* name, std::vector<const Node*>* sels) {
    if (e->kind == NK::Selector) {
      resolveLHS(e->a.get(), name, sels);
      sels->push_back(e->b.get());
    } else if (e->kind == NK::Index) {
      resolveLHS(e->a.get(), name, sels);
      sels->push_back(e->b.get());
    } else if (e->kind == NK::Ident) {
      *name = e->lit;
    }
  }

  void assignImpl(const Node* n, const std::vector<const Node*>& lhs,
                  const std::vector<const Node*>& rhs, Tok op) {
    if (lhs.size() > 1 || rhs.size() > 1) fail(n, "tuple assignment not allowed");
    std::string ident;
    std::vector<const Node*> sels;
    resolveLHS(lhs[0], &ident, &sels);
    size_t numSel = sels.size();
    if (op == Tok::Define && numSel > 0) fail(n, "operator ':=' not allowed with selector");
    bool isFunc = rhs[0]->kind == NK::FuncLit;
    if (isFunc && numSel == 0) funcName_ = ident;  // the name a debugger shows for its frames
    int depth = 0;
    Symbol* sym = resolveIn(st_, ident, false, &depth);
    if (op == Tok::Define) {
      if (sym && depth == 0 && sym->scope != Scope::Builtin)
        fail(n, "'" + ident + "' redeclared in this block");
      if (isFunc) sym = define(ident);
    } else if (!sym) {
      fail(n, "unresolved reference '" + ident + "'");
    }
    if (op != Tok::Assign && op != Tok::Define) compile(lhs[0]);
    compile(rhs[0]);
    if (op == Tok::Define && !isFunc) sym = define(ident);
    switch (op) {
      case Tok::AddAssign: emit(n, OP_ADD); break;
      case Tok::SubAssign: emit(n, OP_SUB); break;
      case Tok::MulAssign: emit(n, OP_MUL); break;
      case Tok::QuoAssign: emit(n, OP_DIV); break;
      case Tok::RemAssign: emit(n, OP_REM); break;
      case Tok::AndAssign: emit(n, OP_BAND); break;
      case Tok::OrAssign: emit(n, OP_BOR); break;
      case Tok::XorAssign: emit(n, OP_BXOR); break;
      case Tok::AndNotAssign: emit(n, OP_ANDNOT); break;
      case Tok::ShlAssign: emit(n, OP_SHL); break;
      case Tok::ShrAssign: emit(n, OP_SHR); break;
      default: break;
    }
    for (size_t i = numSel; i-- > 0;) compile(sels[i]);
    if (numSel > 255) fail(n, "too many selectors");
    int ns = static_cast<int>(numSel);
    switch (sym->scope) {
      case Scope::Global:
        if (ns > 0) emit(n, OP_SETSELG, sym->index, ns);
        else emit(n, OP_SETG, sym->index);
        break;
      case Scope::Local:
        if (ns > 0) emit(n, OP_SETSELL, sym->index, ns);
        else if (op == Tok::Define && !sym->localAssigned) emit(n, OP_DEFL, sym->index);
        else emit(n, OP_SETL, sym->index);
        sym->localAssigned = true;
        break;
      case Scope::Free:
        if (ns > 0) emit(n, OP_SETSELF, sym->index, ns);
        else emit(n, OP_SETF, sym->index);
        break;
      case Scope::Builtin:
        fail(n, "cannot assign to builtin function '" + ident + "'");
    }
  }

  void compileFor(const Node* n) {
    enterBlock();
    if (n->a) compile(n->a.get());
    size_t preCond = here();
    size_t postCondJ = SIZE_MAX;
    if (n->b) postCondJ = compileCondJump(n->b.get(), n);
    cur().loops.emplace_back();
    compile(n->d.get());
    Loop loop = std::move(cur().loops.back());
    cur().loops.pop_back();
    size_t postBody = here();
    if (n->c) compile(n->c.get());
    emit(n, OP_JMP, static_cast<int>(preCond));
    size_t postStmt = here();
    if (postCondJ != SIZE_MAX) patchJump(postCondJ, postStmt);
    for (size_t p : loop.breaks) patchJump(p, postStmt);
    for (size_t p : loop.continues) patchJump(p, postBody);
    leaveBlock();
  }

  void emitGetSym(const Node* n, Symbol* s) {
    emit(n, s->scope == Scope::Global ? OP_GETG : OP_GETL, s->index);
  }
  void emitDefSym(const Node* n, Symbol* s) {
    if (s->scope == Scope::Global) {
      emit(n, OP_SETG, s->index);
    } else {
      s->localAssigned = true;
      emit(n, OP_DEFL, s->index);
    }
  }

  void compileForIn(const Node* n) {
    enterBlock();
    Symbol* it = define(":it");
    compile(n->c.get());
    emit(n, OP_ITINIT);
    emitDefSym(n, it);
    size_t preCond = here();
    emitGetSym(n, it);
    emit(n, OP_ITNEXT);
    size_t postCondJ = emit(n, OP_JMPF, 0);
    cur().loops.emplace_back();
    if (n->a->lit != "_") {
      Symbol* k = define(n->a->lit);
      emitGetSym(n, it);
      emit(n, OP_ITKEY);
      emitDefSym(n, k);
    }
    if (n->b->lit != "_") {
      Symbol* v = define(n->b->lit);
      emitGetSym(n, it);
      emit(n, OP_ITVAL);
      emitDefSym(n, v);
    }
    compile(n->d.get());
    Loop loop = std::move(cur().loops.back());
    cur().loops.pop_back();
    size_t postBody = here();
    emit(n, OP_JMP, static_cast<int>(preCond));
    size_t postStmt = here();
    patchJump(postCondJ, postStmt);
    for (size_t p : loop.breaks) patchJump(p, postStmt);
    for (size_t p : loop.continues) patchJump(p, postBody);
    leaveBlock();
  }

  // A call whose result is returned directly (CALL; RET or CALL; POP; RET) becomes TAILCALL.
  static void markTailCall(CScope& s) {
    if (s.lastOp == SIZE_MAX) return;
    if (s.code[s.lastOp] == OP_CALL) {
      s.code[s.lastOp] = OP_TAILCALL;
    } else if (s.code[s.lastOp] == OP_POP && s.prevOp != SIZE_MAX && s.code[s.prevOp] == OP_CALL &&
               s.prevOp + 3 == s.lastOp) {
      s.code[s.prevOp] = OP_TAILCALL;
    }
  }

  Proto* finishProto(CScope&& sc, int numLocals, int numParams, bool varArgs) {
    markTailCall(sc);
    auto p = std::make_unique<Proto>();
    p->code = std::move(sc.code);
    p->srcmap = std::move(sc.srcmap);
    p->localNames = std::move(sc.locals);
    // Every function ends with an implicit "return undefined".
    p->srcmap.emplace_back(static_cast<uint32_t>(p->code.size()),
                           p->srcmap.empty() ? 0 : p->srcmap.back().second);
    p->code.push_back(OP_RET);
    p->code.push_back(0);
    p->numLocals = numLocals;
    p->numParams = numParams;
    p->varArgs = varArgs;
    p->file = file_;
    p->maxStack = computeMaxStack(p->code);
    p->frameSize = p->numLocals + p->maxStack;
    Proto* raw = p.get();
    sh_.prog->protos.push_back(std::move(p));
    return raw;
  }

  static int computeMaxStack(const std::vector<uint8_t>& codeIn) {
    std::vector<uint8_t> code = codeIn;
    code.resize(codeIn.size() + 8, 0);  // operand reads past the end stay in bounds
    const size_t codeSize = codeIn.size();
    std::vector<int> height(codeSize + 1, -1);
    std::vector<size_t> work{0};
    height[0] = 0;
    int maxH = 0;
    auto push = [&](size_t pc, int h) {
      if (pc <= codeSize && height[pc] < 0) {
        height[pc] = h;
        work.push_back(pc);
      }
    };
    while (!work.empty()) {
      size_t pc = work.back();
      work.pop_back();
      int h = height[pc];
      while (pc < codeSize) {
        Op op = static_cast<Op>(code[pc]);
        const uint8_t* o = &code[pc + 1];
        int u16 = (o[0] << 8) | o[1];
        uint32_t u32 = (uint32_t(o[0]) << 24) | (uint32_t(o[1]) << 16) | (uint32_t(o[2]) << 8) | o[3];
        size_t nextPc = pc + 1 + opOperandBytes(op);
        bool stop = false;
        switch (op) {
          case OP_CONST: case OP_NULL: case OP_TRUE: case OP_FALSE: case OP_GETG: case OP_GETL:
          case OP_GETF: case OP_GETLP: case OP_GETFP: case OP_GETB: h += 1; break;
          case OP_POP: case OP_SETG: case OP_SETL: case OP_DEFL: case OP_SETF: case OP_INDEX:
          case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_REM: case OP_BAND:
          case OP_BOR: case OP_BXOR: case OP_SHL: case OP_SHR: case OP_ANDNOT: case OP_LT:
          case OP_LE: case OP_GT: case OP_GE: case OP_EQ: case OP_NE: h -= 1; break;
          case OP_SLICE: h -= 2; break;
          case OP_SETSELG: h -= o[2] + 1; break;
          case OP_SETSELL: case OP_SETSELF: h -= o[1] + 1; break;
          case OP_ARRAY: case OP_MAP: h += 1 - u16; break;
          case OP_CALL: case OP_TAILCALL: h -= o[0]; break;
          case OP_CLOSURE: h += 1 - o[2]; break;
          case OP_JMP: push(u32, h); stop = true; break;
          case OP_JMPF: h -= 1; push(u32, h); break;
          case OP_JLTK: case OP_JLEK: case OP_JGTK: case OP_JGEK: case OP_JEQK: case OP_JNEK: {
            uint32_t t = (uint32_t(o[2]) << 24) | (uint32_t(o[3]) << 16) | (uint32_t(o[4]) << 8) | o[5];
            h -= 1;
            push(t, h);
            break;
          }
          case OP_ANDJMP: case OP_ORJMP: push(u32, h); h -= 1; break;
          case OP_RET: stop = true; break;
          default: break;
        }
        if (h > maxH) maxH = h;
        if (stop) break;
        pc = nextPc;
        if (pc < height.size()) {
          if (height[pc] >= 0) break;
          height[pc] = h;
        }
      }
    }
    return maxH + 2;
  }

  void compileFunc(const Node* n) {
    std::string name = std::exchange(funcName_, std::string());
    scopes_.emplace_back();
    SymTab* saved = st_;
    st_ = newTable(st_, false);
    for (auto& p : n->params) {
      Symbol* s = define(p);
      s->localAssigned = true;
    }
    compileStmts(n->a->list);
    SymTab* ft = st_;
    std::vector<Symbol*> freeSyms = ft->freeSyms;
    int numLocals = ft->maxDef;
    CScope sc = std::move(scopes_.back());
    scopes_.pop_back();
    st_ = saved;
    if (numLocals > 255) fail(n, "too many local variables");
    Proto* proto = finishProto(std::move(sc), numLocals, static_cast<int>(n->params.size()),
                               n->flag);
    proto->name = std::move(name);
    proto->defPos = n->pos;
    for (Symbol* s : freeSyms) proto->freeNames.push_back(s->name);
    for (Symbol* s : freeSyms) {
      if (s->scope == Scope::Local) {
        if (!s->localAssigned) {
          s->localAssigned = true;
          emit(n, OP_NULL);
          emit(n, OP_DEFL, s->index);
        }
        emit(n, OP_GETLP, s->index);
      } else {
        emit(n, OP_GETFP, s->index);
      }
    }
    auto* fo = new FuncObj();
    fo->proto = proto;
    int ci = addConst(Value::object(Type::kFunction, fo));
    if (!freeSyms.empty()) {
      if (freeSyms.size() > 255) fail(n, "too many free variables");
      emit(n, OP_CLOSURE, ci, static_cast<int>(freeSyms.size()));
    } else {
      emit(n, OP_CONST, ci);
    }
  }

  bool isCyclic(const std::string& path) const {
    if (modulePath_ == path) return true;
    return parent_ && parent_->isCyclic(path);
  }

  void compileImport(const Node* n) {
    const std::string& name = n->lit;
    if (name.empty()) fail(n, "empty module name");
    const ModuleMap::Entry* e = sh_.modules ? sh_.modules->find(name) : nullptr;
    if (!e) fail(n, "module '" + name + "' not found");
    if (!e->isSource) {
      emit(n, OP_CONST, addConst(e->value));
      return;
    }
    if (isCyclic(name)) fail(n, "cyclic module import: " + name);
    int ci;
    auto it = sh_.moduleCache.find(name);
    if (it != sh_.moduleCache.end()) {
      ci = it->second;
    } else {
      auto file = std::make_unique<SourceFile>();
      file->name = name;
      SourceFile* fp = file.get();
      sh_.prog->files.push_back(std::move(file));
      ParseResult pr = parse(e->source, *fp);
      if (!pr.error.empty()) throw CompileErr{pr.error};
      SymTab* root = newTable(nullptr, false);
      root->builtinOnly = true;
      SymTab* modTable = newTable(root, false);
      Compiler mc(sh_, fp, name, this, modTable);
      mc.compileStmts(pr.stmts);
      CScope sc = std::move(mc.scopes_.back());
      Proto* proto = mc.finishProto(std::move(sc), modTable->maxDef, 0, false);
      proto->name = "module " + name;
      auto* fo = new FuncObj();
      fo->proto = proto;
      ci = addConst(Value::object(Type::kFunction, fo));
      sh_.moduleCache[name] = ci;
    }
    emit(n, OP_CONST, ci);
    emit(n, OP_CALL, 0, 0);
  }

  Proto* compileMain(const std::vector<NodeP>& stmts) {
    compileStmts(stmts);
    CScope sc = std::move(scopes_.back());
    Proto* p = finishProto(std::move(sc), 0, 0, false);
    p->name = "main";
    return p;
  }

  Shared& sh_;
  const SourceFile* file_;
  std::string modulePath_;
  Compiler* parent_;
  SymTab* st_;
  std::vector<CScope> scopes_;
  std::string funcName_;  // the variable the function literal compiled next is assigned to
  friend std::string llmspell::tengo::detail::compileProgram(const CompileInput&, Program*,
                                                              bool*);
  friend std::string llmspell::tengo::detail::compileDebugExpr(Program*, const std::string&,
                                                               const std::vector<std::string>&, Value*);
};

}  // namespace

std::string compileProgram(const CompileInput& in, Program* prog, bool* isParseError) {
  *isParseError = false;
  auto file = std::make_unique<SourceFile>();
  file->name = in.fileName;
  SourceFile* fp = file.get();
  prog->files.push_back(std::move(file));
  ParseResult pr = parse(*in.source, *fp);
  if (!pr.error.empty()) {
    *isParseError = true;
    return pr.error;
  }
  Shared sh;
  sh.prog = prog;
  sh.modules = in.modules;
  sh.maxStringLen = in.maxStringLen;
  sh.tables.emplace_back();
  SymTab* root = &sh.tables.back();
  Compiler c(sh, fp, "", nullptr, root);
  try {
    if (in.globals) {
      for (auto& [name, v] : *in.globals) {
        if (root->store.count(name)) continue;
        c.define(name);
      }
    }
    prog->main = c.compileMain(pr.stmts);
  } catch (CompileErr& e) {
    if (e.text.rfind("Parse Error", 0) == 0) *isParseError = true;
    return e.text;
  }
  for (auto& [name, s] : root->store)
    if (s->scope == Scope::Global) prog->globalIndex[name] = s->index;
  prog->numGlobals = root->maxDef;
  return {};
}

std::string compileDebugExpr(Program* prog, const std::string& expr, const std::vector<std::string>& params,
                             Value* fn) {
  // The running code caches the constants' address: they must not move. Vm::setDebugHook
  // reserved room for them; an expression has at most about one constant per character.
  if (prog->constants.size() + expr.size() + 16 > prog->constants.capacity())
    return "too many evaluations in this debug session (the program's constant table is full)";
  auto file = std::make_unique<SourceFile>();
  file->name = "(debugger)";
  SourceFile* fp = file.get();
  prog->files.push_back(std::move(file));
  std::string src = "func(";
  for (size_t i = 0; i < params.size(); ++i) src += (i ? ", " : "") + params[i];
  src += ") { return (" + expr + ") }";
  ParseResult pr = parse(src, *fp);
  if (!pr.error.empty()) return pr.error;
  if (pr.stmts.size() != 1 || pr.stmts[0]->kind != NK::ExprStmt || pr.stmts[0]->a->kind != NK::FuncLit)
    return "Parse Error: not an expression";
  Shared sh;
  sh.prog = prog;
  sh.modules = nullptr;
  sh.maxStringLen = 2147483647;
  sh.tables.emplace_back();
  SymTab* root = &sh.tables.back();
  for (const auto& [name, index] : prog->globalIndex) {
    sh.symbols.push_back(Symbol{name, Scope::Global, index});
    root->store[name] = &sh.symbols.back();
  }
  Compiler c(sh, fp, "", nullptr, root);
  try {
    c.compile(pr.stmts[0]->a.get());
  } catch (CompileErr& e) {
    return e.text;
  }
  *fn = prog->constants.back();  // compileFunc adds the function last
  return {};
}

}  // namespace llmspell::tengo::detail
