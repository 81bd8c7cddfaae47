// The pure parts of the built-in tools: the calculator's evaluator, the JSONPath subset, the
// {{name}} template renderer, the CSV reader, HTML-to-text and command-line splitting.
//
// Why these are written here rather than taken from a library: none of the libraries in the
// build (nlohmann_json, RE2, OpenSSL, libsodium, libcurl, Boost headers, yaml-cpp) evaluates
// arithmetic expressions, implements JSONPath (nlohmann has JSON Pointer only, which has no
// wildcards, recursion or filters), parses CSV or HTML. Lua's `load` is not an option for the
// calculator: it runs arbitrary code. Each parser below is small, bounded (length and depth
// limits) and reports the position of the problem.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <string>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/utf8.hpp"
#include "tools/builtins.hpp"

namespace llmspell::tools {

namespace {

constexpr size_t kMaxExpression = 10000;
constexpr int kMaxDepth = 300;  // about 100 levels of parentheses

[[noreturn]] void calcFail(const std::string& msg, size_t pos) {
  Error e(codes::kInvalidArgument,
          "calculator: " + msg + " at position " + std::to_string(pos + 1));
  e.details = Value::object({{"position", static_cast<int64_t>(pos + 1)}});
  throw Exception(std::move(e));
}

// A recursive-descent evaluator. Grammar:
//   cmp   := add (('=='|'!='|'<'|'<='|'>'|'>=') add)?
//   add   := mul (('+'|'-') mul)*
//   mul   := unary (('*'|'/'|'%') unary)*
//   unary := ('-'|'+') unary | pow
//   pow   := primary ('^' unary)?            (right-associative; -2^2 = -4)
//   primary := number | name | name '(' cmp (',' cmp)* ')' | '(' cmp ')'
class Calc {
 public:
  Calc(std::string_view s, const Value& vars) : s_(s), vars_(vars) {}

  Value run() {
    if (s_.size() > kMaxExpression)
      fail(codes::kInvalidArgument,
           "calculator: expression longer than " + std::to_string(kMaxExpression) + " characters");
    skip();
    if (pos_ >= s_.size()) calcFail("empty expression", pos_);
    bool isBool = false;
    double v = cmp(isBool);
    skip();
    if (pos_ < s_.size()) calcFail(std::string("unexpected '") + s_[pos_] + "'", pos_);
    if (isBool) return Value(v != 0);
    if (!std::isfinite(v)) calcFail("the result is not a finite number", 0);
    if (v == std::floor(v) && std::fabs(v) < 9007199254740992.0)
      return Value(static_cast<int64_t>(v));
    return Value(v);
  }

 private:
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool eat(std::string_view tok) {
    skip();
    if (s_.substr(pos_, tok.size()) == tok) {
      pos_ += tok.size();
      return true;
    }
    return false;
  }
  struct Depth {
    explicit Depth(Calc& c) : c_(c) {
      if (++c_.depth_ > kMaxDepth)
        calcFail("expression nested too deeply (about 100 levels of parentheses at most)", c_.pos_);
    }
    ~Depth() { --c_.depth_; }
    Calc& c_;
  };
  static double finite(double v, size_t at) {
    if (std::isnan(v)) calcFail("the result is not a number (NaN)", at);
    if (std::isinf(v)) calcFail("number too large", at);
    return v;
  }

  double cmp(bool& isBool) {
    Depth d(*this);
    double a = add();
    skip();
    static const char* ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    for (const char* op : ops) {
      size_t at = pos_;
      if (eat(op)) {
        double b = add();
        isBool = true;
        std::string o = op;
        (void)at;
        if (o == "==") return a == b;
        if (o == "!=") return a != b;
        if (o == "<=") return a <= b;
        if (o == ">=") return a >= b;
        if (o == "<") return a < b;
        return a > b;
      }
    }
    return a;
  }
  double add() {
    double a = mul();
    while (true) {
      skip();
      size_t at = pos_;
      if (eat("+"))
        a = finite(a + mul(), at);
      else if (eat("-"))
        a = finite(a - mul(), at);
      else
        return a;
    }
  }
  double mul() {
    double a = unary();
    while (true) {
      skip();
      size_t at = pos_;
      if (pos_ < s_.size() && s_[pos_] == '*' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*')
        calcFail("'**' is not an operator; use '^' for powers", at);
      if (eat("*")) {
        a = finite(a * unary(), at);
      } else if (eat("/")) {
        double b = unary();
        if (b == 0) calcFail("division by zero", at);
        a = finite(a / b, at);
      } else if (eat("%")) {
        double b = unary();
        if (b == 0) calcFail("modulo by zero", at);
        a = finite(a - b * std::floor(a / b), at);  // sign of the divisor, as in Lua
      } else {
        return a;
      }
    }
  }
  double unary() {
    Depth d(*this);
    if (eat("-")) return -unary();
    if (eat("+")) return unary();
    return pow();
  }
  double pow() {
    double a = primary();
    skip();
    size_t at = pos_;
    if (eat("^")) return finite(std::pow(a, unary()), at);
    return a;
  }
  double primary() {
    Depth d(*this);
    skip();
    if (pos_ >= s_.size()) calcFail("unexpected end of expression", pos_);
    char c = s_[pos_];
    if (c == '(') {
      size_t open = pos_++;
      bool b = false;
      double v = cmp(b);
      if (!eat(")")) calcFail("unclosed '('", open);
      return v;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') return number();
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < s_.size() &&
             (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_'))
        ++pos_;
      std::string name(s_.substr(start, pos_ - start));
      skip();
      if (pos_ < s_.size() && s_[pos_] == '(') return call(name, start);
      if (vars_.isObject()) {
        const Value* v = vars_.asObject().find(name);
        if (v) {
          if (!v->isNumber())
            calcFail("variable '" + name + "' is " + v->describe() + ", not a number", start);
          return v->asNumber();
        }
      }
      if (name == "pi") return M_PI;
      if (name == "e") return M_E;
      calcFail("unknown name '" + name + "'", start);
    }
    calcFail(std::string("unexpected '") + c + "'", pos_);
  }
  double number() {
    size_t start = pos_;
    while (pos_ < s_.size() &&
           (std::isdigit(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.'))
      ++pos_;
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      size_t save = pos_++;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) {
        while (pos_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[pos_]))) ++pos_;
      } else {
        pos_ = save;  // "2e" is 2 followed by the name e: reject below as unexpected
      }
    }
    std::string text(s_.substr(start, pos_ - start));
    if (std::count(text.begin(), text.end(), '.') > 1 || text == ".")
      calcFail("malformed number '" + text + "'", start);
    char* end = nullptr;
    errno = 0;
    double v = std::strtod(text.c_str(), &end);
    if (end != text.c_str() + text.size()) calcFail("malformed number '" + text + "'", start);
    if (std::isinf(v) || (errno == ERANGE && std::fabs(v) > 1)) calcFail("number too large", start);
    return v;
  }
  double call(const std::string& name, size_t at) {
    ++pos_;  // '('
    std::vector<double> args;
    skip();
    if (!eat(")")) {
      while (true) {
        bool b = false;
        args.push_back(cmp(b));
        if (eat(")")) break;
        if (!eat(",")) calcFail("expected ',' or ')' in the arguments of " + name + "()", pos_);
      }
    }
    auto need = [&](size_t n) {
      if (args.size() != n)
        calcFail(name + "() takes " + std::to_string(n) + " argument" + (n == 1 ? "" : "s") +
                     ", got " + std::to_string(args.size()),
                 at);
    };
    using F = double (*)(double);
    static const std::pair<const char*, F> unaryFns[] = {
        {"sqrt", [](double x) { return std::sqrt(x); }},
        {"abs", [](double x) { return std::fabs(x); }},
        {"floor", [](double x) { return std::floor(x); }},
        {"ceil", [](double x) { return std::ceil(x); }},
        {"round", [](double x) { return std::round(x); }},
        {"exp", [](double x) { return std::exp(x); }},
        {"sin", [](double x) { return std::sin(x); }},
        {"cos", [](double x) { return std::cos(x); }},
        {"tan", [](double x) { return std::tan(x); }},
        {"log10", [](double x) { return std::log10(x); }},
        {"log2", [](double x) { return std::log2(x); }},
    };
    if (name == "sqrt") {
      need(1);
      if (args[0] < 0) calcFail("sqrt() of a negative number", at);
    }
    if (name == "log") {
      if (args.size() == 2) {
        if (args[0] <= 0 || args[1] <= 0 || args[1] == 1)
          calcFail("log() needs positive arguments and a base other than 1", at);
        return finite(std::log(args[0]) / std::log(args[1]), at);
      }
      need(1);
      if (args[0] <= 0) calcFail("log() of a number <= 0", at);
      return finite(std::log(args[0]), at);
    }
    if (name == "min" || name == "max") {
      if (args.empty()) calcFail(name + "() needs at least one argument", at);
      double r = args[0];
      for (double a : args) r = name == "min" ? std::min(r, a) : std::max(r, a);
      return r;
    }
    for (const auto& [n, f] : unaryFns) {
      if (name == n) {
        need(1);
        if ((name == "log10" || name == "log2") && args[0] <= 0)
          calcFail(name + "() of a number <= 0", at);
        return finite(f(args[0]), at);
      }
    }
    calcFail("unknown function '" + name +
                 "' (known: sqrt abs min max floor ceil round log log10 log2 exp sin cos tan)",
             at);
  }

  std::string_view s_;
  const Value& vars_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Value evalExpression(std::string_view expr, const Value& vars) {
  return Calc(expr, vars).run();
}

// ---------------------------------------------------------------------------------------------
// JSONPath

namespace {

[[noreturn]] void pathFail(std::string_view path, size_t pos, const std::string& msg) {
  Error e(codes::kInvalidArgument, "json_query: " + msg + " at position " +
                                       std::to_string(pos + 1) + " of '" + std::string(path) + "'");
  e.details = Value::object({{"position", static_cast<int64_t>(pos + 1)}});
  throw Exception(std::move(e));
}

// A filter expression: comparisons of @-paths and literals joined by && / || with ! and parens.
struct FilterExpr;
using FilterPtr = std::shared_ptr<FilterExpr>;
struct Segment {
  enum Kind { kKey, kIndex, kWildcard, kSlice, kUnion, kFilter } kind = kKey;
  bool recursive = false;  // ..
  std::string key;
  int64_t index = 0;
  std::optional<int64_t> from, to;
  std::vector<Segment> alts;  // union members (keys or indexes)
  FilterPtr filter;
};
struct FilterExpr {
  enum Kind { kOr, kAnd, kNot, kCmp, kExists, kLiteral } kind = kLiteral;
  FilterPtr a, b;
  std::string op;
  std::vector<Segment> lhsPath, rhsPath;  // relative to @
  bool lhsIsPath = false, rhsIsPath = false;
  Value lhs, rhs;
};

class PathParser {
 public:
  explicit PathParser(std::string_view p) : p_(p) {}

  std::vector<Segment> parseRoot() {
    skip();
    if (!eat('$')) pathFail(p_, pos_, "a path starts with '$'");
    auto segs = segments(false);
    skip();
    if (pos_ < p_.size()) pathFail(p_, pos_, std::string("unexpected '") + p_[pos_] + "'");
    return segs;
  }

 private:
  void skip() {
    while (pos_ < p_.size() && p_[pos_] == ' ') ++pos_;
  }
  bool eat(char c) {
    if (pos_ < p_.size() && p_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool peek(std::string_view s) const { return p_.substr(pos_, s.size()) == s; }

  std::string ident() {
    size_t start = pos_;
    while (pos_ < p_.size() &&
           (std::isalnum(static_cast<unsigned char>(p_[pos_])) || p_[pos_] == '_' ||
            p_[pos_] == '-' || static_cast<unsigned char>(p_[pos_]) >= 0x80))
      ++pos_;
    if (start == pos_) pathFail(p_, pos_, "expected a name");
    return std::string(p_.substr(start, pos_ - start));
  }
  std::string quoted() {
    char q = p_[pos_++];
    std::string out;
    while (pos_ < p_.size() && p_[pos_] != q) {
      if (p_[pos_] == '\\' && pos_ + 1 < p_.size()) ++pos_;
      out += p_[pos_++];
    }
    if (!eat(q)) pathFail(p_, pos_, "unterminated string");
    return out;
  }
  int64_t integer() {
    size_t start = pos_;
    if (pos_ < p_.size() && p_[pos_] == '-') ++pos_;
    while (pos_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[pos_]))) ++pos_;
    std::string t(p_.substr(start, pos_ - start));
    if (t.empty() || t == "-") pathFail(p_, start, "expected an index");
    if (t.size() > 18) pathFail(p_, start, "index too large");
    return std::stoll(t);
  }

  // Segments after $ or @. `inFilter` stops at characters that end an operand.
  std::vector<Segment> segments(bool inFilter) {
    std::vector<Segment> out;
    while (pos_ < p_.size()) {
      if (++count_ > 256) pathFail(p_, pos_, "path too long");
      Segment s;
      if (peek("..")) {
        pos_ += 2;
        s.recursive = true;
        if (pos_ < p_.size() && p_[pos_] == '[') {
          bracket(s);
        } else if (eat('*')) {
          s.kind = Segment::kWildcard;
        } else {
          s.key = ident();
        }
      } else if (eat('.')) {
        if (eat('*'))
          s.kind = Segment::kWildcard;
        else
          s.key = ident();
      } else if (pos_ < p_.size() && p_[pos_] == '[') {
        bracket(s);
      } else {
        (void)inFilter;
        break;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  void bracket(Segment& s) {
    ++pos_;  // '['
    skip();
    if (eat('*')) {
      s.kind = Segment::kWildcard;
    } else if (eat('?')) {
      s.kind = Segment::kFilter;
      skip();
      bool paren = eat('(');
      s.filter = orExpr();
      skip();
      if (paren && !eat(')')) pathFail(p_, pos_, "missing ')' after the filter");
    } else {
      std::vector<Segment> items;
      while (true) {
        skip();
        Segment it;
        if (pos_ < p_.size() && (p_[pos_] == '\'' || p_[pos_] == '"')) {
          it.kind = Segment::kKey;
          it.key = quoted();
        } else if (pos_ < p_.size() && p_[pos_] == ':') {
          it.kind = Segment::kSlice;
        } else {
          it.kind = Segment::kIndex;
          it.index = integer();
        }
        skip();
        if (pos_ < p_.size() && p_[pos_] == ':') {  // a slice [a:b]
          if (it.kind == Segment::kKey) pathFail(p_, pos_, "a slice needs numbers");
          if (it.kind == Segment::kIndex) it.from = it.index;
          it.kind = Segment::kSlice;
          ++pos_;
          skip();
          if (pos_ < p_.size() && p_[pos_] != ']' && p_[pos_] != ',') it.to = integer();
          skip();
        }
        items.push_back(std::move(it));
        if (eat(',')) continue;
        break;
      }
      if (items.size() == 1) {
        bool rec = s.recursive;
        s = std::move(items[0]);
        s.recursive = rec;
      } else {
        s.kind = Segment::kUnion;
        s.alts = std::move(items);
      }
    }
    skip();
    if (!eat(']')) pathFail(p_, pos_, "missing ']'");
  }

  FilterPtr orExpr() {
    if (++depth_ > 64) pathFail(p_, pos_, "filter nested too deeply");
    FilterPtr a = andExpr();
    while (true) {
      skip();
      if (!peek("||")) break;
      pos_ += 2;
      auto f = std::make_shared<FilterExpr>();
      f->kind = FilterExpr::kOr;
      f->a = a;
      f->b = andExpr();
      a = f;
    }
    --depth_;
    return a;
  }
  FilterPtr andExpr() {
    FilterPtr a = notExpr();
    while (true) {
      skip();
      if (!peek("&&")) break;
      pos_ += 2;
      auto f = std::make_shared<FilterExpr>();
      f->kind = FilterExpr::kAnd;
      f->a = a;
      f->b = notExpr();
      a = f;
    }
    return a;
  }
  FilterPtr notExpr() {
    skip();
    if (pos_ < p_.size() && p_[pos_] == '!' && !peek("!=")) {
      ++pos_;
      auto f = std::make_shared<FilterExpr>();
      f->kind = FilterExpr::kNot;
      f->a = notExpr();
      return f;
    }
    if (eat('(')) {
      FilterPtr f = orExpr();
      skip();
      if (!eat(')')) pathFail(p_, pos_, "missing ')'");
      return f;
    }
    auto f = std::make_shared<FilterExpr>();
    operand(f->lhsIsPath, f->lhsPath, f->lhs);
    skip();
    static const char* ops[] = {"==", "!=", "<=", ">=", "<", ">"};
    for (const char* op : ops) {
      if (peek(op)) {
        pos_ += std::strlen(op);
        f->kind = FilterExpr::kCmp;
        f->op = op;
        skip();
        operand(f->rhsIsPath, f->rhsPath, f->rhs);
        return f;
      }
    }
    f->kind = f->lhsIsPath ? FilterExpr::kExists : FilterExpr::kLiteral;
    return f;
  }
  void operand(bool& isPath, std::vector<Segment>& path, Value& lit) {
    skip();
    if (pos_ >= p_.size()) pathFail(p_, pos_, "unexpected end of the filter");
    char c = p_[pos_];
    if (c == '@') {
      ++pos_;
      isPath = true;
      path = segments(true);
      return;
    }
    if (c == '\'' || c == '"') {
      lit = Value(quoted());
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-') {
      size_t start = pos_;
      ++pos_;
      while (pos_ < p_.size() && (std::isdigit(static_cast<unsigned char>(p_[pos_])) ||
                                  p_[pos_] == '.' || p_[pos_] == 'e' || p_[pos_] == 'E'))
        ++pos_;
      std::string t(p_.substr(start, pos_ - start));
      char* end = nullptr;
      double d = std::strtod(t.c_str(), &end);
      if (end != t.c_str() + t.size()) pathFail(p_, start, "malformed number '" + t + "'");
      lit = Value(d);
      return;
    }
    for (auto [word, v] : {std::pair<const char*, Value>{"true", Value(true)},
                           {"false", Value(false)},
                           {"null", Value()}}) {
      if (peek(word)) {
        pos_ += std::strlen(word);
        lit = v;
        return;
      }
    }
    pathFail(p_, pos_, std::string("unexpected '") + c + "' in the filter");
  }

  std::string_view p_;
  size_t pos_ = 0;
  int count_ = 0;
  int depth_ = 0;
};

void apply(const Segment& s, const Value& node, std::vector<Value>& out, int depth);

bool cmpValues(const Value& a, const Value& b, const std::string& op) {
  if (op == "==") return a == b;
  if (op == "!=") return a != b;
  if (a.isNumber() && b.isNumber()) {
    double x = a.asNumber(), y = b.asNumber();
    if (op == "<") return x < y;
    if (op == "<=") return x <= y;
    if (op == ">") return x > y;
    return x >= y;
  }
  if (a.isString() && b.isString()) {
    int c = a.asString().compare(b.asString());
    if (op == "<") return c < 0;
    if (op == "<=") return c <= 0;
    if (op == ">") return c > 0;
    return c >= 0;
  }
  return false;
}

std::vector<Value> select(const std::vector<Segment>& segs, const Value& root) {
  std::vector<Value> cur{root};
  for (const auto& s : segs) {
    std::vector<Value> next;
    for (const auto& n : cur) apply(s, n, next, 0);
    cur = std::move(next);
  }
  return cur;
}

bool evalFilter(const FilterExpr& f, const Value& node) {
  switch (f.kind) {
    case FilterExpr::kOr: return evalFilter(*f.a, node) || evalFilter(*f.b, node);
    case FilterExpr::kAnd: return evalFilter(*f.a, node) && evalFilter(*f.b, node);
    case FilterExpr::kNot: return !evalFilter(*f.a, node);
    case FilterExpr::kExists: return !select(f.lhsPath, node).empty();
    case FilterExpr::kLiteral: return f.lhs.truthy();
    case FilterExpr::kCmp: {
      Value a = f.lhs, b = f.rhs;
      if (f.lhsIsPath) {
        auto m = select(f.lhsPath, node);
        if (m.size() != 1) return false;
        a = m[0];
      }
      if (f.rhsIsPath) {
        auto m = select(f.rhsPath, node);
        if (m.size() != 1) return false;
        b = m[0];
      }
      return cmpValues(a, b, f.op);
    }
  }
  return false;
}

void applyHere(const Segment& s, const Value& node, std::vector<Value>& out) {
  switch (s.kind) {
    case Segment::kKey:
      if (node.isObject())
        if (const Value* v = node.asObject().find(s.key)) out.push_back(*v);
      return;
    case Segment::kIndex:
      if (node.isArray()) {
        auto n = static_cast<int64_t>(node.asArray().size());
        int64_t i = s.index < 0 ? n + s.index : s.index;
        if (i >= 0 && i < n) out.push_back(node.asArray()[static_cast<size_t>(i)]);
      }
      return;
    case Segment::kWildcard:
      if (node.isArray())
        for (const auto& v : node.asArray()) out.push_back(v);
      else if (node.isObject())
        for (const auto& [k, v] : node.asObject()) out.push_back(v);
      return;
    case Segment::kSlice:
      if (node.isArray()) {
        auto n = static_cast<int64_t>(node.asArray().size());
        int64_t a = s.from.value_or(0), b = s.to.value_or(n);
        if (a < 0) a = std::max<int64_t>(0, n + a);
        if (b < 0) b = std::max<int64_t>(0, n + b);
        a = std::min(a, n);
        b = std::min(b, n);
        for (int64_t i = a; i < b; ++i) out.push_back(node.asArray()[static_cast<size_t>(i)]);
      }
      return;
    case Segment::kUnion:
      for (const auto& alt : s.alts) applyHere(alt, node, out);
      return;
    case Segment::kFilter:
      if (node.isArray()) {
        for (const auto& v : node.asArray())
          if (evalFilter(*s.filter, v)) out.push_back(v);
      } else if (node.isObject()) {
        for (const auto& [k, v] : node.asObject())
          if (evalFilter(*s.filter, v)) out.push_back(v);
      }
      return;
  }
}

void apply(const Segment& s, const Value& node, std::vector<Value>& out, int depth) {
  if (depth > 200) fail(codes::kInvalidArgument, "json_query: data nested deeper than 200 levels");
  applyHere(s, node, out);
  if (!s.recursive) return;
  if (out.size() > 1000000) fail(codes::kLimitExceeded, "json_query: more than 1,000,000 matches");
  if (node.isArray())
    for (const auto& v : node.asArray()) apply(s, v, out, depth + 1);
  else if (node.isObject())
    for (const auto& [k, v] : node.asObject()) apply(s, v, out, depth + 1);
}

}  // namespace

std::vector<Value> jsonQuery(const Value& data, std::string_view path) {
  if (path.size() > 4096)
    fail(codes::kInvalidArgument, "json_query: path longer than 4096 characters");
  auto segs = PathParser(path).parseRoot();
  return select(segs, data);
}

// ---------------------------------------------------------------------------------------------
// text_template

namespace {

std::string scalarText(const Value& v) {
  if (v.isString()) return v.asString();
  if (v.isInt()) return std::to_string(v.asInt());
  if (v.isDouble()) {
    double d = v.asDouble();
    if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<int64_t>(d));
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.14g", d);
    return buf;
  }
  if (v.isBool()) return v.asBool() ? "true" : "false";
  if (v.isNull()) return "";
  try {
    return toJsonText(v);
  } catch (const Exception&) {
    return v.describe();
  }
}

}  // namespace

std::string renderTemplate(std::string_view tpl, const Value& vars, std::string_view missing) {
  if (missing != "error" && missing != "empty" && missing != "keep")
    fail(codes::kInvalidArgument,
         "text_template: missing must be \"error\", \"empty\" or \"keep\"");
  std::string out;
  size_t i = 0;
  while (i < tpl.size()) {
    if (tpl[i] == '\\' && tpl.substr(i + 1, 2) == "{{") {
      out += "{{";
      i += 3;
      continue;
    }
    if (tpl.substr(i, 2) != "{{") {
      out += tpl[i++];
      continue;
    }
    size_t close = tpl.find("}}", i + 2);
    if (close == std::string_view::npos)
      fail(codes::kInvalidArgument,
           "text_template: '{{' at position " + std::to_string(i + 1) + " has no closing '}}'");
    std::string_view inner = tpl.substr(i + 2, close - i - 2);
    while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.front())))
      inner.remove_prefix(1);
    while (!inner.empty() && std::isspace(static_cast<unsigned char>(inner.back())))
      inner.remove_suffix(1);
    if (inner.empty())
      fail(codes::kInvalidArgument,
           "text_template: empty placeholder at position " + std::to_string(i + 1));
    // Walk the dotted path: object keys; on arrays a number is a 1-based index (as in Lua).
    const Value* cur = &vars;
    std::string name(inner);
    size_t start = 0;
    bool found = true;
    while (found) {
      size_t dot = name.find('.', start);
      std::string part =
          name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (part.empty())
        fail(codes::kInvalidArgument, "text_template: malformed placeholder '{{" + name + "}}'");
      if (cur->isObject()) {
        cur = cur->asObject().find(part);
        found = cur != nullptr;
      } else if (cur->isArray() && !part.empty() &&
                 std::all_of(part.begin(), part.end(), ::isdigit) && part.size() < 10) {
        size_t k = std::stoul(part);
        found = k >= 1 && k <= cur->asArray().size();
        if (found) cur = &cur->asArray()[k - 1];
      } else {
        found = false;
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    if (found && cur->isNull()) found = false;
    if (!found) {
      if (missing == "error") {
        Error e(codes::kInvalidArgument, "text_template: no value for '{{" + name + "}}'");
        e.details = Value::object({{"name", name}});
        throw Exception(std::move(e));
      }
      if (missing == "keep") out += std::string(tpl.substr(i, close + 2 - i));
    } else {
      out += scalarText(*cur);
    }
    i = close + 2;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// csv_parse

std::vector<std::vector<std::string>> parseCsv(std::string_view text, char delim) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  size_t i = 0, line = 1;
  bool quotedField = false, any = false;
  auto endField = [&] {
    row.push_back(std::move(field));
    field.clear();
    quotedField = false;
  };
  auto endRow = [&] {
    endField();
    rows.push_back(std::move(row));
    row.clear();
    any = false;
  };
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // byte order mark
  while (i < text.size()) {
    char c = text[i];
    if (c == '"' && field.empty() && !quotedField) {
      quotedField = true;
      any = true;
      size_t openLine = line;
      ++i;
      while (true) {
        if (i >= text.size())
          fail(codes::kInvalidArgument, "csv_parse: the quoted field opened on line " +
                                            std::to_string(openLine) + " is never closed");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        if (text[i] == '\n') ++line;
        field += text[i++];
      }
      if (i < text.size() && text[i] != delim && text[i] != '\n' && text[i] != '\r')
        fail(codes::kInvalidArgument, "csv_parse: unexpected '" + std::string(1, text[i]) +
                                          "' after a closing quote on line " +
                                          std::to_string(line));
      continue;
    }
    if (c == '"')
      fail(codes::kInvalidArgument,
           "csv_parse: a quote inside an unquoted field on line " + std::to_string(line) +
               " (quote the whole field and double the quote: \"a \"\"b\"\"\")");
    if (c == delim) {
      endField();
      any = true;
      ++i;
      continue;
    }
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      ++i;
      ++line;
      if (any || !field.empty() || !row.empty()) endRow();
      continue;
    }
    field += c;
    any = true;
    ++i;
  }
  if (any || !field.empty() || !row.empty()) endRow();
  return rows;
}

// ---------------------------------------------------------------------------------------------
// HTML to text

namespace {

// A numeric character reference as HTML decodes it: &#0; becomes U+FFFD too.
void appendEntity(std::string& out, uint32_t cp) { appendUtf8(out, cp == 0 ? 0xFFFD : cp); }

std::string decodeEntities(std::string_view s) {
  static const std::pair<const char*, uint32_t> named[] = {
      {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},
      {"apos", '\''},    {"nbsp", 0xA0},    {"copy", 0xA9},     {"reg", 0xAE},
      {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018},
      {"rsquo", 0x2019}, {"ldquo", 0x201C}, {"rdquo", 0x201D},  {"euro", 0x20AC},
      {"trade", 0x2122}, {"middot", 0xB7},  {"laquo", 0xAB},    {"raquo", 0xBB},
  };
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] != '&') {
      out += s[i++];
      continue;
    }
    size_t semi = s.find(';', i);
    if (semi == std::string_view::npos || semi - i > 10) {
      out += s[i++];
      continue;
    }
    std::string_view ent = s.substr(i + 1, semi - i - 1);
    bool done = false;
    if (!ent.empty() && ent[0] == '#') {
      bool hex = ent.size() > 1 && (ent[1] == 'x' || ent[1] == 'X');
      std::string digits(ent.substr(hex ? 2 : 1));
      if (!digits.empty() && digits.size() <= 7 &&
          std::all_of(digits.begin(), digits.end(), [&](char c) {
            return hex ? std::isxdigit(static_cast<unsigned char>(c))
                       : std::isdigit(static_cast<unsigned char>(c));
          })) {
        appendEntity(out, static_cast<uint32_t>(std::stoul(digits, nullptr, hex ? 16 : 10)));
        done = true;
      }
    } else {
      for (const auto& [n, cp] : named)
        if (ent == n) {
          appendEntity(out, cp);
          done = true;
          break;
        }
    }
    if (done) {
      i = semi + 1;
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

size_t ifind(std::string_view hay, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= hay.size(); ++i)
    if (ieq(hay.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

}  // namespace

std::string htmlToText(std::string_view html, std::string* title) {
  static const char* blocks[] = {
      "p",  "div",   "br",  "li",   "ul",      "ol",      "tr",     "table",  "h1",         "h2",
      "h3", "h4",    "h5",  "h6",   "section", "article", "header", "footer", "blockquote", "pre",
      "hr", "title", "nav", "main", "aside",   "dd",      "dt",     "form"};
  std::string raw;
  size_t i = 0;
  while (i < html.size()) {
    if (html[i] != '<') {
      char c = html[i++];
      raw += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;  // source line breaks are spaces
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      size_t e = html.find("-->", i + 4);
      i = e == std::string_view::npos ? html.size() : e + 3;
      continue;
    }
    size_t close = html.find('>', i);
    if (close == std::string_view::npos) break;
    std::string_view tag = html.substr(i + 1, close - i - 1);
    bool end = !tag.empty() && tag[0] == '/';
    if (end) tag.remove_prefix(1);
    size_t n = 0;
    while (n < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[n])))) ++n;
    std::string_view name = tag.substr(0, n);
    i = close + 1;
    if (!end && (ieq(name, "script") || ieq(name, "style") || ieq(name, "noscript") ||
                 ieq(name, "template") || ieq(name, "svg") || ieq(name, "title"))) {
      std::string endTag = "</" + std::string(name);
      size_t e = ifind(html, endTag, i);
      if (ieq(name, "title") && title) {
        std::string t = decodeEntities(html.substr(i, e == std::string_view::npos ? 0 : e - i));
        std::string norm;
        for (char c : t) {
          if (std::isspace(static_cast<unsigned char>(c))) {
            if (!norm.empty() && norm.back() != ' ') norm += ' ';
          } else {
            norm += c;
          }
        }
        while (!norm.empty() && norm.back() == ' ') norm.pop_back();
        *title = norm;
      }
      if (e == std::string_view::npos) break;
      size_t gt = html.find('>', e);
      i = gt == std::string_view::npos ? html.size() : gt + 1;
      continue;
    }
    for (const char* b : blocks)
      if (ieq(name, b)) {
        raw += '\n';
        break;
      }
    if (ieq(name, "td") || ieq(name, "th")) raw += ' ';
  }
  std::string text = decodeEntities(raw);
  // Collapse whitespace: runs of spaces become one, lines are trimmed, blank lines dropped.
  std::string out, lineBuf;
  auto flush = [&] {
    while (!lineBuf.empty() && lineBuf.back() == ' ') lineBuf.pop_back();
    if (!lineBuf.empty()) {
      if (!out.empty()) out += '\n';  // blank lines are dropped: one block per line
      out += lineBuf;
    }
    lineBuf.clear();
  };
  for (size_t k = 0; k < text.size(); ++k) {
    char c = text[k];
    if (c == '\n') {
      flush();
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      if (!lineBuf.empty() && lineBuf.back() != ' ') lineBuf += ' ';
    } else if (static_cast<unsigned char>(c) == 0xC2 && k + 1 < text.size() &&
               static_cast<unsigned char>(text[k + 1]) == 0xA0) {  // no-break space
      if (!lineBuf.empty() && lineBuf.back() != ' ') lineBuf += ' ';
      ++k;
    } else {
      lineBuf += c;
    }
  }
  flush();
  return out;
}

std::vector<std::string> splitCommand(std::string_view cmd) {
  std::vector<std::string> out;
  std::string cur;
  bool inWord = false;
  for (size_t i = 0; i < cmd.size(); ++i) {
    char c = cmd[i];
    if (c == '\'') {
      size_t e = cmd.find('\'', i + 1);
      if (e == std::string_view::npos)
        fail(codes::kInvalidArgument, "shell: unterminated ' in the command");
      cur.append(cmd.substr(i + 1, e - i - 1));
      i = e;
      inWord = true;
    } else if (c == '"') {
      ++i;
      while (i < cmd.size() && cmd[i] != '"') {
        if (cmd[i] == '\\' && i + 1 < cmd.size() && (cmd[i + 1] == '"' || cmd[i + 1] == '\\')) ++i;
        cur += cmd[i++];
      }
      if (i >= cmd.size()) fail(codes::kInvalidArgument, "shell: unterminated \" in the command");
      inWord = true;
    } else if (c == '\\' && i + 1 < cmd.size()) {
      cur += cmd[++i];
      inWord = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (inWord) out.push_back(std::move(cur));
      cur.clear();
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push_back(std::move(cur));
  return out;
}

}  // namespace llmspell::tools
