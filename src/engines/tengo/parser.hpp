// Tengo scanner, AST and parser (mirrors d5/tengo's parser package: Go-style automatic
// semicolons, error recovery, canonical String() forms).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "llmspell/core/utf8.hpp"

namespace llmspell::tengo::detail {

enum class Tok : uint8_t {
  Illegal, Eof, Comment,
  Ident, Int, Float, Char, String,
  Add, Sub, Mul, Quo, Rem, And, Or, Xor, Shl, Shr, AndNot,
  AddAssign, SubAssign, MulAssign, QuoAssign, RemAssign, AndAssign, OrAssign, XorAssign,
  ShlAssign, ShrAssign, AndNotAssign,
  LAnd, LOr, Inc, Dec, Equal, Less, Greater, Assign, Not, NotEqual, LessEq, GreaterEq, Define,
  Ellipsis, LParen, LBrack, LBrace, Comma, Period, RParen, RBrack, RBrace, Semicolon, Colon,
  Question,
  Break, Continue, Else, For, Func, Error, Immutable, If, Return, Export, True, False, In,
  Undefined, Import,
};

const char* tokString(Tok t);
int tokPrecedence(Tok t);
inline bool tokIsLiteral(Tok t) { return t >= Tok::Ident && t <= Tok::String; }

// Source file: name + line start offsets. Positions are 1-based byte offsets (0 = none).
struct SourceFile {
  std::string name;
  std::vector<int> lines;  // offsets (0-based) of each line start
  std::string position(int pos) const;  // "name:line:col"
  int line(int pos) const;               // 1-based; 0 for no position
};

enum class NK : uint8_t {
  Bad, Ident, IntLit, FloatLit, CharLit, StringLit, BoolLit, UndefinedLit, ArrayLit, MapLit,
  MapElem, FuncLit, Binary, Unary, Paren, Selector, Index, Slice, Call, Cond, Import, ErrorExpr,
  ImmutableExpr,
  // statements
  ExprStmt, Assign, IncDec, Return, Export, If, For, ForIn, Branch, Block, Empty, BadStmt,
};

struct Node;
using NodeP = std::unique_ptr<Node>;
struct Node {
  NK kind = NK::Bad;
  int pos = 0;      // Pos() of the node, as in Go
  Tok tok = Tok::Illegal;
  std::string lit;  // literal text / identifier name / module name / map key / label
  int64_t ival = 0;
  double fval = 0;
  std::string sval;  // unquoted string value
  bool flag = false;  // call ellipsis, variadic func, bool value
  NodeP a, b, c, d;   // children (meaning depends on kind)
  std::vector<NodeP> list, list2;
  std::vector<std::string> params;
  std::vector<int> paramPos;
  std::string str() const;
};

struct ParseResult {
  std::vector<NodeP> stmts;
  std::string error;  // empty if OK; else "Parse Error: msg\n\tat file:l:c[ (and N more errors)]"
};

ParseResult parse(const std::string& src, SourceFile& file);
std::string fileString(const std::vector<NodeP>& stmts);

// Go's strconv helpers used by the parser and builtins.
bool goParseInt(const std::string& s, int base, int64_t* out, bool* range);
bool goParseFloat(const std::string& s, double* out);
bool goUnquote(const std::string& lit, std::string* out);
std::string goQuote(const std::string& s);
using llmspell::appendUtf8;  // core/utf8.hpp
// Decodes one rune at s[i]; returns its length (>=1); *r = 0xFFFD on invalid.
int decodeRune(const std::string& s, size_t i, int32_t* r);

}  // namespace llmspell::tengo::detail
