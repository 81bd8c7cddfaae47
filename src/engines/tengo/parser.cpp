// Tengo scanner and recursive-descent parser; error recovery and messages follow d5/tengo so
// that positions and "(and N more errors)" counts match the reference.
#include "engines/tengo/parser.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <stdexcept>

namespace llmspell::tengo::detail {

const char* tokString(Tok t) {
  static const char* names[] = {
      "ILLEGAL", "EOF", "COMMENT", "IDENT", "INT", "FLOAT", "CHAR", "STRING", "+", "-", "*", "/",
      "%", "&", "|", "^", "<<", ">>", "&^", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=",
      ">>=", "&^=", "&&", "||", "++", "--", "==", "<", ">", "=", "!", "!=", "<=", ">=", ":=", "...",
      "(", "[", "{", ",", ".", ")", "]", "}", ";", ":", "?", "break", "continue", "else", "for",
      "func", "error", "immutable", "if", "return", "export", "true", "false", "in", "undefined",
      "import"};
  return names[static_cast<int>(t)];
}

int tokPrecedence(Tok t) {
  switch (t) {
    case Tok::LOr: return 1;
    case Tok::LAnd: return 2;
    case Tok::Equal: case Tok::NotEqual: case Tok::Less: case Tok::LessEq: case Tok::Greater:
    case Tok::GreaterEq: return 3;
    case Tok::Add: case Tok::Sub: case Tok::Or: case Tok::Xor: return 4;
    case Tok::Mul: case Tok::Quo: case Tok::Rem: case Tok::Shl: case Tok::Shr: case Tok::And:
    case Tok::AndNot: return 5;
    default: return 0;
  }
}

int SourceFile::line(int pos) const {
  if (pos <= 0) return 0;
  return static_cast<int>(std::upper_bound(lines.begin(), lines.end(), pos - 1) - lines.begin());
}

std::string SourceFile::position(int pos) const {
  if (pos <= 0) return name;
  int off = pos - 1;
  auto it = std::upper_bound(lines.begin(), lines.end(), off);
  int line = static_cast<int>(it - lines.begin());
  int col = off - lines[line - 1] + 1;
  return name + ":" + std::to_string(line) + ":" + std::to_string(col);
}

// ---------------------------------------------------------------------------------------------
// UTF-8 and strconv helpers
// ---------------------------------------------------------------------------------------------

int decodeRune(const std::string& s, size_t i, int32_t* r) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = s.size() - i;
  if (c < 0x80) {
    *r = c;
    return 1;
  }
  auto cont = [&](size_t k) { return k < n && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF && cont(1)) {
    *r = ((c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF && cont(1) && cont(2)) {
    int32_t v = ((c & 0x0F) << 12) | ((s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    if (v >= 0x800 && !(v >= 0xD800 && v <= 0xDFFF)) {
      *r = v;
      return 3;
    }
  }
  if (c >= 0xF0 && c <= 0xF4 && cont(1) && cont(2) && cont(3)) {
    int32_t v = ((c & 0x07) << 18) | ((s[i + 1] & 0x3F) << 12) | ((s[i + 2] & 0x3F) << 6) |
                (s[i + 3] & 0x3F);
    if (v >= 0x10000 && v <= 0x10FFFF) {
      *r = v;
      return 4;
    }
  }
  *r = 0xFFFD;
  return 1;
}

static int digitVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// strconv.ParseInt(s, base, 64) for base 0 (prefixes + underscores) or 2..36.
bool goParseInt(const std::string& in, int base, int64_t* out, bool* range) {
  *range = false;
  std::string s = in;
  if (s.empty()) return false;
  bool neg = false;
  size_t i = 0;
  if (s[0] == '+' || s[0] == '-') {
    neg = s[0] == '-';
    i = 1;
  }
  bool allowUnderscore = false;
  if (base == 0) {
    base = 10;
    allowUnderscore = true;
    if (i < s.size() && s[i] == '0') {
      if (i + 1 < s.size() && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
      } else if (i + 1 < s.size() && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        base = 8;
        i += 2;
      } else if (i + 1 < s.size() && (s[i + 1] == 'b' || s[i + 1] == 'B')) {
        base = 2;
        i += 2;
      } else {
        base = 8;
        i += 1;
        if (i == s.size()) {
          *out = 0;
          return true;
        }
      }
    }
  }
  if (i >= s.size()) return false;
  uint64_t v = 0;
  bool any = false, lastUnderscore = false;
  bool prefixed = allowUnderscore && (i > (neg || s[0] == '+' ? 1u : 0u));
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c == '_') {
      if (!allowUnderscore || lastUnderscore || (!any && !prefixed)) return false;
      lastUnderscore = true;
      continue;
    }
    lastUnderscore = false;
    int d = digitVal(c);
    if (d >= base) return false;
    any = true;
    if (v > (UINT64_MAX - static_cast<uint64_t>(d)) / static_cast<uint64_t>(base)) {
      *range = true;
      v = UINT64_MAX;
    } else {
      v = v * static_cast<uint64_t>(base) + static_cast<uint64_t>(d);
    }
  }
  if (!any || lastUnderscore) return false;
  uint64_t lim = neg ? (uint64_t(1) << 63) : (uint64_t(1) << 63) - 1;
  if (*range || v > lim) {
    *range = true;
    return false;
  }
  *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return true;
}

bool goParseFloat(const std::string& in, double* out) {
  // '_' must separate two digits (or follow a base prefix), as in Go literals.
  bool hexLit = in.size() > 1 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X');
  for (size_t k = 0; k < in.size(); ++k) {
    if (in[k] != '_') continue;
    auto isD = [&](char c) {
      return hexLit ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : (c >= '0' && c <= '9');
    };
    bool prevOk = k > 0 && (isD(in[k - 1]) || (k == 2 && hexLit));
    bool nextOk = k + 1 < in.size() && isD(in[k + 1]);
    if (!prevOk || !nextOk) return false;
  }
  std::string s;
  for (char c : in)
    if (c != '_') s += c;
  if (s.empty()) return false;
  std::string low;
  for (char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t k = (low[0] == '+' || low[0] == '-') ? 1 : 0;
  std::string body = low.substr(k);
  if (body == "inf" || body == "infinity") {
    *out = low[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    return true;
  }
  if (body == "nan") {
    *out = std::nan("");
    return true;
  }
  for (char c : body) {
    if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'p' ||
          c == 'x' || c == '+' || c == '-'))
      return false;
  }
  if (body.size() > 1 && body[0] == '0' && body[1] == 'x' && body.find('p') == std::string::npos)
    return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  *out = v;
  if (errno == ERANGE && std::isinf(v)) return false;
  return true;
}

static bool unquoteChar(const std::string& s, size_t& i, char quote, std::string& out) {
  char c = s[i];
  if (c == quote && (quote == '\'' || quote == '"')) return false;
  if (c != '\\') {
    int32_t r;
    int n = decodeRune(s, i, &r);
    out.append(s, i, n);
    i += n;
    return true;
  }
  if (i + 1 >= s.size()) return false;
  c = s[i + 1];
  i += 2;
  switch (c) {
    case 'a': out += '\a'; return true;
    case 'b': out += '\b'; return true;
    case 'f': out += '\f'; return true;
    case 'n': out += '\n'; return true;
    case 'r': out += '\r'; return true;
    case 't': out += '\t'; return true;
    case 'v': out += '\v'; return true;
    case '\\': out += '\\'; return true;
    case '\'': case '"':
      if (c != quote) return false;
      out += c;
      return true;
    case 'x': case 'u': case 'U': {
      int n = c == 'x' ? 2 : c == 'u' ? 4 : 8;
      if (i + n > s.size()) return false;
      uint32_t v = 0;
      for (int k = 0; k < n; ++k) {
        int d = digitVal(s[i + k]);
        if (d >= 16) return false;
        v = v * 16 + d;
      }
      i += n;
      if (c == 'x') {
        out += static_cast<char>(v);
        return true;
      }
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
      appendUtf8(out, v);
      return true;
    }
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
      if (i + 2 > s.size()) return false;
      uint32_t v = c - '0';
      for (int k = 0; k < 2; ++k) {
        int d = digitVal(s[i + k]);
        if (d >= 8) return false;
        v = v * 8 + d;
      }
      if (v > 255) return false;
      i += 2;
      out += static_cast<char>(v);
      return true;
    }
    default: return false;
  }
}

bool goUnquote(const std::string& lit, std::string* out) {
  if (lit.size() < 2) return false;
  char q = lit[0];
  if (q != lit.back()) return false;
  std::string body = lit.substr(1, lit.size() - 2);
  out->clear();
  if (q == '`') {
    if (body.find('`') != std::string::npos) return false;
    for (char c : body)
      if (c != '\r') *out += c;
    return true;
  }
  if (q != '"' && q != '\'') return false;
  size_t i = 0;
  while (i < body.size()) {
    if (body[i] == '\n') return false;
    if (!unquoteChar(body, i, q, *out)) return false;
  }
  return true;
}

std::string goQuote(const std::string& s) {
  std::string out = "\"";
  static const char* hex = "0123456789abcdef";
  size_t i = 0;
  while (i < s.size()) {
    int32_t r;
    int n = decodeRune(s, i, &r);
    if (r == 0xFFFD && n == 1 && static_cast<unsigned char>(s[i]) >= 0x80) {
      out += "\\x";
      out += hex[static_cast<unsigned char>(s[i]) >> 4];
      out += hex[s[i] & 0xF];
      i += 1;
      continue;
    }
    i += n;
    switch (r) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\a': out += "\\a"; continue;
      case '\b': out += "\\b"; continue;
      case '\f': out += "\\f"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      case '\v': out += "\\v"; continue;
      default: break;
    }
    if (r < 0x20 || r == 0x7F) {
      out += "\\x";
      out += hex[r >> 4];
      out += hex[r & 0xF];
    } else if ((r >= 0x80 && r < 0xA0) || r == 0xAD) {
      char buf[16];
      snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(r));
      out += buf;
    } else {
      appendUtf8(out, static_cast<uint32_t>(r));
    }
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------------------------

namespace {

struct Bailout {};

class Scanner {
 public:
  Scanner(const std::string& src, SourceFile& file,
          std::function<void(int, const std::string&)> err)
      : src_(src), file_(file), err_(std::move(err)) {
    file_.lines.clear();
    file_.lines.push_back(0);
    next();
    if (ch_ == 0xFEFF) next();
  }

  Tok scan(std::string& lit, int& pos) {
  again:
    while (ch_ == ' ' || ch_ == '\t' || (ch_ == '\n' && !insertSemi_) || ch_ == '\r') next();
    pos = offset_ + 1;
    bool insertSemi = false;
    Tok tok = Tok::Illegal;
    lit.clear();
    int32_t ch = ch_;
    if (isLetter(ch)) {
      lit = scanIdentifier();
      tok = keyword(lit);
      if (tok == Tok::Ident || tok == Tok::Break || tok == Tok::Continue || tok == Tok::Return ||
          tok == Tok::Export || tok == Tok::True || tok == Tok::False || tok == Tok::Undefined)
        insertSemi = true;
    } else if (isDigit(ch) || (ch == '.' && isDigit(peek()))) {
      insertSemi = true;
      tok = scanNumber(lit);
    } else {
      next();
      switch (ch) {
        case -1:
          if (insertSemi_) {
            insertSemi_ = false;
            lit = "\n";
            return Tok::Semicolon;
          }
          tok = Tok::Eof;
          break;
        case '\n':
          insertSemi_ = false;
          lit = "\n";
          return Tok::Semicolon;
        case '"':
          insertSemi = true;
          tok = Tok::String;
          lit = scanString(pos);
          break;
        case '\'':
          insertSemi = true;
          tok = Tok::Char;
          lit = scanRune(pos);
          break;
        case '`':
          insertSemi = true;
          tok = Tok::String;
          lit = scanRawString(pos);
          break;
        case ':': tok = sw2(Tok::Colon, Tok::Define); break;
        case '.':
          tok = Tok::Period;
          if (ch_ == '.' && peek() == '.') {
            next();
            next();
            tok = Tok::Ellipsis;
          }
          break;
        case ',': tok = Tok::Comma; break;
        case '?': tok = Tok::Question; break;
        case ';': tok = Tok::Semicolon; lit = ";"; break;
        case '(': tok = Tok::LParen; break;
        case ')': insertSemi = true; tok = Tok::RParen; break;
        case '[': tok = Tok::LBrack; break;
        case ']': insertSemi = true; tok = Tok::RBrack; break;
        case '{': tok = Tok::LBrace; break;
        case '}': insertSemi = true; tok = Tok::RBrace; break;
        case '+':
          tok = sw3(Tok::Add, Tok::AddAssign, '+', Tok::Inc);
          if (tok == Tok::Inc) insertSemi = true;
          break;
        case '-':
          tok = sw3(Tok::Sub, Tok::SubAssign, '-', Tok::Dec);
          if (tok == Tok::Dec) insertSemi = true;
          break;
        case '*': tok = sw2(Tok::Mul, Tok::MulAssign); break;
        case '/':
          if (ch_ == '/' || ch_ == '*') {
            int cpos = pos;
            if (insertSemi_ && findLineEnd()) {
              insertSemi_ = false;
              lit = "\n";
              pos = cpos;
              skipComment(cpos);
              return Tok::Semicolon;
            }
            skipComment(cpos);
            goto again;
          }
          tok = sw2(Tok::Quo, Tok::QuoAssign);
          break;
        case '%': tok = sw2(Tok::Rem, Tok::RemAssign); break;
        case '^': tok = sw2(Tok::Xor, Tok::XorAssign); break;
        case '<': tok = sw4(Tok::Less, Tok::LessEq, '<', Tok::Shl, Tok::ShlAssign); break;
        case '>': tok = sw4(Tok::Greater, Tok::GreaterEq, '>', Tok::Shr, Tok::ShrAssign); break;
        case '=': tok = sw2(Tok::Assign, Tok::Equal); break;
        case '!': tok = sw2(Tok::Not, Tok::NotEqual); break;
        case '&':
          if (ch_ == '^') {
            next();
            tok = sw2(Tok::AndNot, Tok::AndNotAssign);
          } else {
            tok = sw3(Tok::And, Tok::AndAssign, '&', Tok::LAnd);
          }
          break;
        case '|': tok = sw3(Tok::Or, Tok::OrAssign, '|', Tok::LOr); break;
        default: {
          char buf[64];
          if (ch >= 0x20 && ch != 0x7F) {
            std::string c;
            appendUtf8(c, static_cast<uint32_t>(ch));
            snprintf(buf, sizeof buf, "illegal character U+%04X '%s'", ch, c.c_str());
          } else {
            snprintf(buf, sizeof buf, "illegal character U+%04X", ch);
          }
          err_(pos, buf);
          insertSemi = insertSemi_;
          tok = Tok::Illegal;
          appendUtf8(lit, static_cast<uint32_t>(ch < 0 ? 0xFFFD : ch));
          break;
        }
      }
    }
    insertSemi_ = insertSemi;
    return tok;
  }

 private:
  void next() {
    if (rd_ < src_.size()) {
      offset_ = static_cast<int>(rd_);
      if (ch_ == '\n') file_.lines.push_back(offset_);
      auto c = static_cast<unsigned char>(src_[rd_]);
      int w = 1;
      int32_t r = c;
      if (c == 0) {
        err_(offset_ + 1, "illegal character NUL");
      } else if (c >= 0x80) {
        w = decodeRune(src_, rd_, &r);
        if (r == 0xFFFD && w == 1) err_(offset_ + 1, "illegal UTF-8 encoding");
        else if (r == 0xFEFF && offset_ > 0) err_(offset_ + 1, "illegal byte order mark");
      }
      rd_ += w;
      ch_ = r;
    } else {
      // A newline at the very end starts no line: Go's token.File.AddLine ignores an offset at
      // the file's size, so an error at the end of "a := 1 +\n" is at 1:10, not 2:1.
      offset_ = static_cast<int>(src_.size());
      ch_ = -1;
    }
  }
  int32_t peek() const {
    return rd_ < src_.size() ? static_cast<unsigned char>(src_[rd_]) : -1;
  }
  static bool isLetter(int32_t c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (c >= 0x80 && c != 0xFEFF && c != 0xFFFD && !(c >= 0x2000 && c <= 0x206F) &&
            !(c >= 0x3000 && c <= 0x303F) && !(c >= 0xFF00 && c <= 0xFF0F));
  }
  static bool isDigit(int32_t c) {
    return c >= '0' && c <= '9';
  }
  std::string scanIdentifier() {
    int start = offset_;
    while (isLetter(ch_) || isDigit(ch_)) next();
    return src_.substr(start, offset_ - start);
  }
  static Tok keyword(const std::string& s) {
    static const std::pair<const char*, Tok> kws[] = {
        {"break", Tok::Break}, {"continue", Tok::Continue}, {"else", Tok::Else},
        {"for", Tok::For}, {"func", Tok::Func}, {"error", Tok::Error},
        {"immutable", Tok::Immutable}, {"if", Tok::If}, {"return", Tok::Return},
        {"export", Tok::Export}, {"true", Tok::True}, {"false", Tok::False}, {"in", Tok::In},
        {"undefined", Tok::Undefined}, {"import", Tok::Import}};
    for (auto& [k, t] : kws)
      if (s == k) return t;
    return Tok::Ident;
  }
  static bool isHex(int32_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }
  Tok scanNumber(std::string& lit) {
    int start = offset_;
    Tok tok = Tok::Int;
    int base = 10;
    if (ch_ != '.') {
      if (ch_ == '0') {
        next();
        int lc = ch_ | 0x20;
        if (lc == 'x') {
          next();
          base = 16;
        } else if (lc == 'o') {
          next();
          base = 8;
        } else if (lc == 'b') {
          next();
          base = 2;
        }
      }
      while ((base == 16 ? isHex(ch_) : (ch_ >= '0' && ch_ <= '9')) || ch_ == '_') next();
    }
    if (ch_ == '.') {
      tok = Tok::Float;
      next();
      while ((base == 16 ? isHex(ch_) : (ch_ >= '0' && ch_ <= '9')) || ch_ == '_') next();
    }
    int lc = ch_ | 0x20;
    if ((lc == 'e' && base != 16) || lc == 'p') {
      tok = Tok::Float;
      next();
      if (ch_ == '+' || ch_ == '-') next();
      while ((ch_ >= '0' && ch_ <= '9') || ch_ == '_') next();
    }
    lit = src_.substr(start, offset_ - start);
    return tok;
  }
  bool scanEscape(char quote) {
    int off = offset_;
    int n = 0;
    uint32_t base = 0, max = 0;
    switch (ch_) {
      case 'a': case 'b': case 'f': case 'n': case 'r': case 't': case 'v': case '\\':
        next();
        return true;
      case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        n = 3; base = 8; max = 255; break;
      case 'x': next(); n = 2; base = 16; max = 255; break;
      case 'u': next(); n = 4; base = 16; max = 0x10FFFF; break;
      case 'U': next(); n = 8; base = 16; max = 0x10FFFF; break;
      default:
        if (ch_ == quote) {
          next();
          return true;
        }
        err_(off + 1, ch_ < 0 ? "escape sequence not terminated" : "unknown escape sequence");
        return false;
    }
    uint32_t x = 0;
    for (; n > 0; --n) {
      int d = ch_ < 0 ? 99 : digitVal(static_cast<char>(ch_ < 128 ? ch_ : 0));
      if (ch_ >= 128 || static_cast<uint32_t>(d) >= base) {
        err_(offset_ + 1, ch_ < 0 ? "escape sequence not terminated"
                                   : "illegal character in escape sequence");
        return false;
      }
      x = x * base + d;
      next();
    }
    if (x > max || (x >= 0xD800 && x < 0xE000)) {
      err_(off + 1, "escape sequence is invalid Unicode code point");
      return false;
    }
    return true;
  }
  std::string scanRune(int pos) {
    int start = offset_ - 1;
    bool valid = true;
    int n = 0;
    for (;;) {
      int32_t ch = ch_;
      if (ch == '\n' || ch < 0) {
        if (valid) {
          err_(pos, "rune literal not terminated");
          valid = false;
        }
        break;
      }
      next();
      if (ch == '\'') break;
      ++n;
      if (ch == '\\' && !scanEscape('\'')) valid = false;
    }
    if (valid && n != 1) err_(pos, "illegal rune literal");
    return src_.substr(start, offset_ - start);
  }
  std::string scanString(int pos) {
    int start = offset_ - 1;
    for (;;) {
      int32_t ch = ch_;
      if (ch == '\n' || ch < 0) {
        err_(pos, "string literal not terminated");
        break;
      }
      next();
      if (ch == '"') break;
      if (ch == '\\') scanEscape('"');
    }
    return src_.substr(start, offset_ - start);
  }
  std::string scanRawString(int pos) {
    int start = offset_ - 1;
    for (;;) {
      int32_t ch = ch_;
      if (ch < 0) {
        err_(pos, "raw string literal not terminated");
        break;
      }
      next();
      if (ch == '`') break;
    }
    std::string s = src_.substr(start, offset_ - start);
    s.erase(std::remove(s.begin(), s.end(), '\r'), s.end());
    return s;
  }
  // After "/" with ch_ at '/' or '*': is the comment followed only by a line end?
  bool findLineEnd() {
    // Save state; scan comments ahead.
    size_t saveRd = rd_;
    int saveOff = offset_;
    int32_t saveCh = ch_;
    size_t saveLines = file_.lines.size();
    bool result = false;
    // we are just after '/', ch_ is '/' or '*'
    for (;;) {
      if (ch_ == '/') {  // line comment
        result = true;
        break;
      }
      // block comment
      next();
      bool closed = false;
      while (ch_ >= 0) {
        int32_t c = ch_;
        if (c == '\n') {
          result = true;
          break;
        }
        next();
        if (c == '*' && ch_ == '/') {
          next();
          closed = true;
          break;
        }
      }
      if (result || !closed) {
        if (!closed && ch_ < 0) result = true;
        break;
      }
      while (ch_ == ' ' || ch_ == '\t' || ch_ == '\r') next();
      if (ch_ < 0 || ch_ == '\n') {
        result = true;
        break;
      }
      if (ch_ != '/') break;
      next();
      if (ch_ != '/' && ch_ != '*') break;
    }
    rd_ = saveRd;
    offset_ = saveOff;
    ch_ = saveCh;
    file_.lines.resize(saveLines);
    return result;
  }
  void skipComment(int pos) {
    if (ch_ == '/') {
      while (ch_ != '\n' && ch_ >= 0) next();
      return;
    }
    next();  // skip '*'
    while (ch_ >= 0) {
      int32_t c = ch_;
      next();
      if (c == '*' && ch_ == '/') {
        next();
        return;
      }
    }
    err_(pos, "comment not terminated");
  }
  Tok sw2(Tok t0, Tok t1) {
    if (ch_ == '=') {
      next();
      return t1;
    }
    return t0;
  }
  Tok sw3(Tok t0, Tok t1, int32_t c2, Tok t2) {
    if (ch_ == '=') {
      next();
      return t1;
    }
    if (ch_ == c2) {
      next();
      return t2;
    }
    return t0;
  }
  Tok sw4(Tok t0, Tok t1, int32_t c2, Tok t2, Tok t3) {
    if (ch_ == '=') {
      next();
      return t1;
    }
    if (ch_ == c2) {
      next();
      if (ch_ == '=') {
        next();
        return t3;
      }
      return t2;
    }
    return t0;
  }

  const std::string& src_;
  SourceFile& file_;
  std::function<void(int, const std::string&)> err_;
  int32_t ch_ = ' ';
  int offset_ = 0;
  size_t rd_ = 0;
  bool insertSemi_ = false;
};

struct PError {
  int line, col, pos;
  std::string msg;
};

class Parser {
 public:
  Parser(const std::string& src, SourceFile& file)
      : file_(file), scanner_(src, file, [this](int pos, const std::string& m) { addError(pos, m); }) {
    next();
  }

  ParseResult parseFile() {
    ParseResult res;
    try {
      res.stmts = parseStmtList();
      expect(Tok::Eof);
    } catch (Bailout&) {
    }
    if (!errors_.empty()) {
      std::stable_sort(errors_.begin(), errors_.end(), [](const PError& a, const PError& b) {
        return a.line != b.line ? a.line < b.line : a.col < b.col;
      });
      const PError& e = errors_[0];
      res.error = "Parse Error: " + e.msg + "\n\tat " + file_.name + ":" + std::to_string(e.line) +
                  ":" + std::to_string(e.col);
      if (errors_.size() > 1)
        res.error += " (and " + std::to_string(errors_.size() - 1) + " more errors)";
    }
    return res;
  }

 private:
  void lineCol(int pos, int* line, int* col) {
    int off = pos - 1;
    auto it = std::upper_bound(file_.lines.begin(), file_.lines.end(), off);
    *line = static_cast<int>(it - file_.lines.begin());
    *col = off - file_.lines[*line - 1] + 1;
  }
  void addError(int pos, const std::string& msg) {
    int line, col;
    lineCol(pos, &line, &col);
    errors_.push_back({line, col, pos, msg});
  }
  void error(int pos, const std::string& msg) {
    int line, col;
    lineCol(pos, &line, &col);
    size_t n = errors_.size();
    if (n > 0 && errors_.back().line == line) return;
    if (n > 10) throw Bailout{};
    errors_.push_back({line, col, pos, msg});
  }
  void errorExpected(int pos, const std::string& what) {
    std::string msg = "expected " + what;
    if (pos == pos_) {
      if (tok_ == Tok::Semicolon && lit_ == "\n") msg += ", found newline";
      else if (tokIsLiteral(tok_)) msg += ", found " + lit_;
      else msg += std::string(", found '") + tokString(tok_) + "'";
    }
    error(pos, msg);
  }
  void next() {
    tok_ = scanner_.scan(lit_, pos_);
  }
  int expect(Tok t) {
    int pos = pos_;
    if (tok_ != t) errorExpected(pos, std::string("'") + tokString(t) + "'");
    next();
    return pos;
  }
  void expectSemi() {
    switch (tok_) {
      case Tok::RParen: case Tok::RBrace: return;
      case Tok::Comma:
        errorExpected(pos_, "';'");
        next();
        return;
      case Tok::Semicolon: next(); return;
      default:
        errorExpected(pos_, "';'");
        advanceStmt();
    }
  }
  bool expectComma(Tok closing, const char* want) {
    if (tok_ == Tok::Comma) {
      next();
      if (tok_ == closing) {
        errorExpected(pos_, want);
        return false;
      }
      return true;
    }
    if (tok_ == Tok::Semicolon && lit_ == "\n") next();
    return false;
  }
  void advanceStmt() {
    for (; tok_ != Tok::Eof; next()) {
      if (tok_ == Tok::Break || tok_ == Tok::Continue || tok_ == Tok::For || tok_ == Tok::If ||
          tok_ == Tok::Return || tok_ == Tok::Export) {
        if (pos_ == syncPos_ && syncCount_ < 10) {
          ++syncCount_;
          return;
        }
        if (pos_ > syncPos_) {
          syncPos_ = pos_;
          syncCount_ = 0;
          return;
        }
      }
    }
  }
  static NodeP mk(NK k, int pos) {
    auto n = std::make_unique<Node>();
    n->kind = k;
    n->pos = pos;
    return n;
  }

  std::vector<NodeP> parseStmtList() {
    std::vector<NodeP> list;
    while (tok_ != Tok::RBrace && tok_ != Tok::Eof) list.push_back(parseStmt());
    return list;
  }

  // Bounds recursion so hostile input cannot exhaust the C++ stack.
  struct Depth {
    explicit Depth(Parser* p) : p_(p) {
      if (++p_->depth_ > kMaxDepth) {
        p_->error(p_->pos_, "exceeded max nesting depth");
        throw Bailout{};
      }
    }
    ~Depth() { --p_->depth_; }
    Parser* p_;
  };
  static constexpr int kMaxDepth = 500;

  NodeP parseStmt() {
    Depth d(this);
    switch (tok_) {
      case Tok::Int: case Tok::Float: case Tok::Char: case Tok::String: case Tok::Ident:
      case Tok::Func: case Tok::LParen: case Tok::LBrack: case Tok::LBrace: case Tok::Add:
      case Tok::Sub: case Tok::Mul: case Tok::And: case Tok::Xor: case Tok::Not:
      case Tok::Import: case Tok::Error: case Tok::Immutable: case Tok::True: case Tok::False:
      case Tok::Undefined: {
        NodeP s = parseSimpleStmt(false);
        expectSemi();
        return s;
      }
      case Tok::Return: {
        NodeP s = mk(NK::Return, pos_);
        next();
        if (tok_ != Tok::Semicolon && tok_ != Tok::RBrace) s->a = parseExpr();
        expectSemi();
        return s;
      }
      case Tok::Export: {
        NodeP s = mk(NK::Export, pos_);
        next();
        s->a = parseExpr();
        expectSemi();
        return s;
      }
      case Tok::If: return parseIfStmt();
      case Tok::For: return parseForStmt();
      case Tok::Break: case Tok::Continue: {
        NodeP s = mk(NK::Branch, pos_);
        s->tok = tok_;
        next();
        if (tok_ == Tok::Ident) {
          s->lit = lit_;
          next();
        }
        expectSemi();
        return s;
      }
      case Tok::Semicolon: {
        NodeP s = mk(NK::Empty, pos_);
        s->flag = lit_ == "\n";
        next();
        return s;
      }
      case Tok::RBrace: {
        NodeP s = mk(NK::Empty, pos_);
        s->flag = true;
        return s;
      }
      default: {
        int pos = pos_;
        errorExpected(pos, "statement");
        advanceStmt();
        return mk(NK::BadStmt, pos);
      }
    }
  }

  NodeP parseBlock() {
    NodeP b = mk(NK::Block, pos_);
    expect(Tok::LBrace);
    b->list = parseStmtList();
    expect(Tok::RBrace);
    return b;
  }

  NodeP parseIfStmt() {
    Depth d(this);
    NodeP s = mk(NK::If, pos_);
    expect(Tok::If);
    // header
    if (tok_ == Tok::LBrace) {
      error(pos_, "missing condition in if statement");
      s->b = mk(NK::Bad, pos_);
    } else {
      NodeP init;
      if (tok_ != Tok::Semicolon) init = parseSimpleStmt(false);
      else if (lit_ == ";") error(pos_, "missing init in if statement");
      NodeP condStmt;
      int semiPos = 0;
      std::string semiLit;
      if (tok_ != Tok::LBrace) {
        if (tok_ == Tok::Semicolon) {
          semiPos = pos_;
          semiLit = lit_;
          next();
        } else {
          expect(Tok::Semicolon);
        }
        if (tok_ != Tok::LBrace) condStmt = parseSimpleStmt(false);
      } else {
        condStmt = std::move(init);
      }
      s->a = std::move(init);
      if (condStmt) {
        s->b = makeExpr(std::move(condStmt), "boolean expression");
      } else if (semiPos) {
        error(semiPos, semiLit == "\n" ? "unexpected newline, expecting { after if clause"
                                       : "missing condition in if statement");
      }
      if (!s->b) s->b = mk(NK::Bad, pos_);
    }
    s->c = parseBlock();
    if (tok_ == Tok::Else) {
      next();
      if (tok_ == Tok::If) {
        s->d = parseIfStmt();
      } else if (tok_ == Tok::LBrace) {
        s->d = parseBlock();
        expectSemi();
      } else {
        errorExpected(pos_, "if or {");
        s->d = mk(NK::BadStmt, pos_);
      }
    } else {
      expectSemi();
    }
    return s;
  }

  NodeP makeExpr(NodeP s, const char* want) {
    if (!s) return nullptr;
    if (s->kind == NK::ExprStmt) return std::move(s->a);
    std::string found = s->kind == NK::Assign ? "assignment" : "simple statement";
    error(s->pos, std::string("expected ") + want + ", found " + found);
    return mk(NK::Bad, s->pos);
  }

  NodeP parseForStmt() {
    int pos = pos_;
    expect(Tok::For);
    if (tok_ == Tok::LBrace) {
      NodeP f = mk(NK::For, pos);
      f->d = parseBlock();
      expectSemi();
      return f;
    }
    NodeP s1;
    if (tok_ != Tok::Semicolon) s1 = parseSimpleStmt(true);
    if (s1 && s1->kind == NK::ForIn) {
      s1->pos = pos;
      s1->d = parseBlock();
      expectSemi();
      return s1;
    }
    NodeP s2, s3;
    if (tok_ == Tok::Semicolon) {
      next();
      if (tok_ != Tok::Semicolon) s2 = parseSimpleStmt(false);
      expect(Tok::Semicolon);
      if (tok_ != Tok::LBrace) s3 = parseSimpleStmt(false);
    } else {
      s2 = std::move(s1);
    }
    NodeP f = mk(NK::For, pos);
    f->d = parseBlock();
    expectSemi();
    f->a = std::move(s1);
    f->b = makeExpr(std::move(s2), "condition expression");
    f->c = std::move(s3);
    return f;
  }

  std::vector<NodeP> parseExprList() {
    std::vector<NodeP> list;
    list.push_back(parseExpr());
    while (tok_ == Tok::Comma) {
      next();
      list.push_back(parseExpr());
    }
    return list;
  }

  NodeP identFrom(Node* x, bool* ok) {
    NodeP id = mk(NK::Ident, x->pos);
    if (x->kind == NK::Ident) {
      id->lit = x->lit;
      *ok = true;
    } else {
      id->lit = "_";
      *ok = false;
    }
    return id;
  }

  NodeP parseSimpleStmt(bool forIn) {
    std::vector<NodeP> x = parseExprList();
    if (tok_ == Tok::Assign || tok_ == Tok::Define) {
      NodeP s = mk(NK::Assign, x[0]->pos);
      s->tok = tok_;
      next();
      s->list = std::move(x);
      s->list2 = parseExprList();
      return s;
    }
    if (tok_ == Tok::In && forIn) {
      next();
      NodeP s = mk(NK::ForIn, x[0]->pos);
      s->c = parseExpr();
      bool ok;
      if (x.size() == 1) {
        s->a = mk(NK::Ident, x[0]->pos);
        s->a->lit = "_";
        s->b = identFrom(x[0].get(), &ok);
        if (!ok) errorExpected(x[0]->pos, "identifier");
      } else {
        s->a = identFrom(x[0].get(), &ok);
        if (!ok) errorExpected(x[0]->pos, "identifier");
        s->b = identFrom(x[1].get(), &ok);
        if (!ok) errorExpected(x[1]->pos, "identifier");
      }
      return s;
    }
    if (x.size() > 1) errorExpected(x[0]->pos, "1 expression");
    switch (tok_) {
      case Tok::Define: case Tok::AddAssign: case Tok::SubAssign: case Tok::MulAssign:
      case Tok::QuoAssign: case Tok::RemAssign: case Tok::AndAssign: case Tok::OrAssign:
      case Tok::XorAssign: case Tok::ShlAssign: case Tok::ShrAssign: case Tok::AndNotAssign: {
        NodeP s = mk(NK::Assign, x[0]->pos);
        s->tok = tok_;
        next();
        s->list.push_back(std::move(x[0]));
        s->list2.push_back(parseExpr());
        return s;
      }
      case Tok::Inc: case Tok::Dec: {
        NodeP s = mk(NK::IncDec, x[0]->pos);
        s->tok = tok_;
        next();
        s->a = std::move(x[0]);
        return s;
      }
      default: break;
    }
    NodeP s = mk(NK::ExprStmt, x[0]->pos);
    s->a = std::move(x[0]);
    return s;
  }

  NodeP parseExpr() {
    NodeP e = parseBinaryExpr(1);
    if (tok_ == Tok::Question) {
      NodeP c = mk(NK::Cond, e->pos);
      c->a = std::move(e);
      expect(Tok::Question);
      c->b = parseExpr();
      expect(Tok::Colon);
      c->c = parseExpr();
      return c;
    }
    return e;
  }

  void chainCheck(int* links) {
    // Left-deep chains (a + b + c ..., a.b.c ..., f()()...) recurse in the compiler.
    if (++*links > kMaxChain) {
      error(pos_, "expression too long");
      throw Bailout{};
    }
  }
  static constexpr int kMaxChain = 2000;

  NodeP parseBinaryExpr(int prec1) {
    NodeP x = parseUnaryExpr();
    int links = 0;
    for (;;) {
      chainCheck(&links);
      Tok op = tok_;
      int prec = tokPrecedence(op);
      if (prec < prec1 || prec == 0) return x;
      expect(op);
      NodeP y = parseBinaryExpr(prec + 1);
      NodeP b = mk(NK::Binary, x->pos);
      b->tok = op;
      b->a = std::move(x);
      b->b = std::move(y);
      x = std::move(b);
    }
  }

  NodeP parseUnaryExpr() {
    Depth d(this);
    if (tok_ == Tok::Add || tok_ == Tok::Sub || tok_ == Tok::Not || tok_ == Tok::Xor) {
      NodeP u = mk(NK::Unary, pos_);
      u->tok = tok_;
      next();
      u->a = parseUnaryExpr();
      return u;
    }
    return parsePrimaryExpr();
  }

  NodeP parsePrimaryExpr() {
    NodeP x = parseOperand();
    int links = 0;
    for (;;) {
      chainCheck(&links);
      switch (tok_) {
        case Tok::Period: {
          next();
          if (tok_ != Tok::Ident) {
            int pos = pos_;
            errorExpected(pos, "selector");
            advanceStmt();
            return mk(NK::Bad, pos);
          }
          NodeP s = mk(NK::Selector, x->pos);
          s->a = std::move(x);
          s->b = mk(NK::StringLit, pos_);
          s->b->sval = lit_;
          s->b->lit = lit_;
          s->lit = lit_;
          next();
          x = std::move(s);
          break;
        }
        case Tok::LBrack: {
          expect(Tok::LBrack);
          NodeP idx0, idx1;
          if (tok_ != Tok::Colon) idx0 = parseExpr();
          bool slice = false;
          if (tok_ == Tok::Colon) {
            slice = true;
            next();
            if (tok_ != Tok::RBrack && tok_ != Tok::Eof) idx1 = parseExpr();
          }
          expect(Tok::RBrack);
          NodeP n = mk(slice ? NK::Slice : NK::Index, x->pos);
          n->a = std::move(x);
          n->b = std::move(idx0);
          n->c = std::move(idx1);
          if (!slice && !n->b) n->b = mk(NK::Bad, n->pos);
          x = std::move(n);
          break;
        }
        case Tok::LParen: {
          NodeP c = mk(NK::Call, x->pos);
          c->a = std::move(x);
          expect(Tok::LParen);
          while (tok_ != Tok::RParen && tok_ != Tok::Eof && !c->flag) {
            c->list.push_back(parseExpr());
            if (tok_ == Tok::Ellipsis) {
              c->flag = true;
              next();
            }
            if (!expectComma(Tok::RParen, "call argument")) break;
          }
          expect(Tok::RParen);
          x = std::move(c);
          break;
        }
        default: return x;
      }
    }
  }

  NodeP parseOperand() {
    switch (tok_) {
      case Tok::Ident: {
        NodeP n = mk(NK::Ident, pos_);
        n->lit = lit_;
        next();
        return n;
      }
      case Tok::Int: {
        NodeP n = mk(NK::IntLit, pos_);
        n->lit = lit_;
        bool range;
        if (!goParseInt(lit_, 0, &n->ival, &range)) error(pos_, "invalid integer");
        next();
        return n;
      }
      case Tok::Float: {
        NodeP n = mk(NK::FloatLit, pos_);
        n->lit = lit_;
        if (!goParseFloat(lit_, &n->fval)) error(pos_, "invalid float");
        next();
        return n;
      }
      case Tok::Char: {
        int pos = pos_;
        if (lit_.size() >= 3) {
          std::string v;
          std::string body = lit_.substr(1, lit_.size() - 2);
          size_t i = 0;
          if (unquoteChar(body, i, '\'', v) && i == body.size()) {
            NodeP n = mk(NK::CharLit, pos);
            n->lit = lit_;
            int32_t r;
            if (body[0] == '\\' && (body[1] == 'x' || (body[1] >= '0' && body[1] <= '7'))) {
              r = static_cast<unsigned char>(v[0]);
            } else {
              decodeRune(v, 0, &r);
            }
            n->ival = r;
            next();
            return n;
          }
        }
        error(pos, "illegal char literal");
        next();
        return mk(NK::Bad, pos);
      }
      case Tok::String: {
        NodeP n = mk(NK::StringLit, pos_);
        n->lit = lit_;
        goUnquote(lit_, &n->sval);
        next();
        return n;
      }
      case Tok::True: case Tok::False: {
        NodeP n = mk(NK::BoolLit, pos_);
        n->flag = tok_ == Tok::True;
        n->lit = lit_;
        next();
        return n;
      }
      case Tok::Undefined: {
        NodeP n = mk(NK::UndefinedLit, pos_);
        next();
        return n;
      }
      case Tok::Import: {
        int pos = pos_;
        next();
        expect(Tok::LParen);
        if (tok_ != Tok::String) {
          errorExpected(pos_, "module name");
          advanceStmt();
          return mk(NK::Bad, pos);
        }
        NodeP n = mk(NK::Import, pos);
        goUnquote(lit_, &n->lit);
        next();
        expect(Tok::RParen);
        return n;
      }
      case Tok::LParen: {
        NodeP n = mk(NK::Paren, pos_);
        next();
        n->a = parseExpr();
        expect(Tok::RParen);
        return n;
      }
      case Tok::LBrack: {
        NodeP n = mk(NK::ArrayLit, pos_);
        expect(Tok::LBrack);
        while (tok_ != Tok::RBrack && tok_ != Tok::Eof) {
          n->list.push_back(parseExpr());
          if (!expectComma(Tok::RBrack, "array element")) break;
        }
        expect(Tok::RBrack);
        return n;
      }
      case Tok::LBrace: {
        NodeP n = mk(NK::MapLit, pos_);
        expect(Tok::LBrace);
        while (tok_ != Tok::RBrace && tok_ != Tok::Eof) {
          NodeP e = mk(NK::MapElem, pos_);
          if (tok_ == Tok::Ident) e->lit = lit_;
          else if (tok_ == Tok::String) goUnquote(lit_, &e->lit);
          else {
            errorExpected(pos_, "map key");
            e->lit = "_";
          }
          next();
          expect(Tok::Colon);
          e->a = parseExpr();
          n->list.push_back(std::move(e));
          if (!expectComma(Tok::RBrace, "map element")) break;
        }
        expect(Tok::RBrace);
        return n;
      }
      case Tok::Func: {
        NodeP n = mk(NK::FuncLit, pos_);
        expect(Tok::Func);
        expect(Tok::LParen);
        if (tok_ != Tok::RParen) {
          if (tok_ == Tok::Ellipsis) {
            n->flag = true;
            next();
          }
          parseParam(n.get());
          while (!n->flag && tok_ == Tok::Comma) {
            next();
            if (tok_ == Tok::Ellipsis) {
              n->flag = true;
              next();
            }
            parseParam(n.get());
          }
        }
        expect(Tok::RParen);
        n->a = parseBlock();
        return n;
      }
      case Tok::Error: case Tok::Immutable: {
        NodeP n = mk(tok_ == Tok::Error ? NK::ErrorExpr : NK::ImmutableExpr, pos_);
        next();
        expect(Tok::LParen);
        n->a = parseExpr();
        expect(Tok::RParen);
        return n;
      }
      default: break;
    }
    int pos = pos_;
    errorExpected(pos, "operand");
    advanceStmt();
    return mk(NK::Bad, pos);
  }

  void parseParam(Node* n) {
    n->paramPos.push_back(pos_);
    if (tok_ == Tok::Ident) {
      n->params.push_back(lit_);
      next();
    } else {
      n->params.push_back("_");
      expect(Tok::Ident);
    }
  }

  SourceFile& file_;
  std::vector<PError> errors_;  // before scanner_: the scanner reports errors while constructed
  Scanner scanner_;
  Tok tok_ = Tok::Illegal;
  std::string lit_;
  int pos_ = 0;
  int syncPos_ = 0, syncCount_ = 0;
  int depth_ = 0;
};

std::string joinNodes(const std::vector<NodeP>& v, const char* sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += sep;
    s += v[i] ? v[i]->str() : "";
  }
  return s;
}

}  // namespace

std::string Node::str() const {
  switch (kind) {
    case NK::Bad: return "<bad>";
    case NK::BadStmt: return "<bad statement>";
    case NK::Ident: return lit;
    case NK::IntLit: case NK::FloatLit: case NK::CharLit: case NK::StringLit: return lit;
    case NK::BoolLit: return flag ? "true" : "false";
    case NK::UndefinedLit: return "undefined";
    case NK::ArrayLit: return "[" + joinNodes(list, ", ") + "]";
    case NK::MapLit: return "{" + joinNodes(list, ", ") + "}";
    case NK::MapElem: return lit + ": " + a->str();
    case NK::FuncLit: {
      std::string p = "(";
      for (size_t i = 0; i < params.size(); ++i) {
        if (i) p += ", ";
        if (flag && i + 1 == params.size()) p += "...";
        p += params[i];
      }
      return "func" + p + ") " + a->str();
    }
    case NK::Binary: return "(" + a->str() + " " + tokString(tok) + " " + b->str() + ")";
    case NK::Unary: return "(" + std::string(tokString(tok)) + a->str() + ")";
    case NK::Paren: return "(" + a->str() + ")";
    case NK::Selector: return a->str() + "." + lit;
    case NK::Index: return a->str() + "[" + (b ? b->str() : "") + "]";
    case NK::Slice:
      return a->str() + "[" + (b ? b->str() : "") + ":" + (c ? c->str() : "") + "]";
    case NK::Call: return a->str() + "(" + joinNodes(list, ", ") + (flag ? "..." : "") + ")";
    case NK::Cond: return "(" + a->str() + " ? " + b->str() + " : " + c->str() + ")";
    case NK::Import: return "import(\"" + lit + "\")";
    case NK::ErrorExpr: return "error(" + a->str() + ")";
    case NK::ImmutableExpr: return "immutable(" + a->str() + ")";
    case NK::ExprStmt: return a->str();
    case NK::Assign:
      return joinNodes(list, ", ") + " " + tokString(tok) + " " + joinNodes(list2, ", ");
    case NK::IncDec: return a->str() + tokString(tok);
    case NK::Return: return a ? "return " + a->str() : "return";
    case NK::Export: return "export " + a->str();
    case NK::If: {
      std::string s = "if ";
      if (a) s += a->str() + "; ";
      s += b->str() + " " + c->str();
      if (d) s += " else " + d->str();
      return s;
    }
    case NK::For: {
      std::string init = a ? a->str() : "", cond = b ? b->str() + " " : "",
                  post = c ? c->str() : "";
      if (!init.empty() || !post.empty())
        return "for " + init + " ; " + cond + " ; " + post + d->str();
      return "for " + cond + d->str();
    }
    case NK::ForIn:
      return "for " + a->str() + ", " + b->str() + " in " + c->str() + " " + d->str();
    case NK::Branch: return std::string(tokString(tok)) + (lit.empty() ? "" : " " + lit);
    case NK::Block: return "{" + joinNodes(list, "; ") + "}";
    case NK::Empty: return ";";
  }
  return "";
}

std::string fileString(const std::vector<NodeP>& stmts) { return joinNodes(stmts, "; "); }

ParseResult parse(const std::string& src, SourceFile& file) {
  Parser p(src, file);
  return p.parseFile();
}

}  // namespace llmspell::tengo::detail
