// The lint's tokenizers: one loop, with what differs between Lua, JavaScript and Tengo (comments,
// string forms, operators, regular expression literals) switched on the language.
#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "cli/lint.hpp"

namespace llmspell::cli {

namespace {

bool identStart(char c, Lang lang) {
  auto u = static_cast<unsigned char>(c);
  return std::isalpha(u) || c == '_' || (lang == Lang::kJs && c == '$') || u >= 0x80;
}
bool identChar(char c, Lang lang) {
  return identStart(c, lang) || std::isdigit(static_cast<unsigned char>(c));
}

// Lua's long bracket at `i` ("[[", "[==["): its level, or -1.
int longBracket(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return -1;
  size_t j = i + 1;
  while (j < s.size() && s[j] == '=') ++j;
  return j < s.size() && s[j] == '[' ? static_cast<int>(j - i - 1) : -1;
}

const std::vector<std::string_view>& operators(Lang lang) {
  // Longest first, so the first match is the token.
  static const std::vector<std::string_view> lua{"...", "..", "::", "==", "~=", "<=", ">=", "//", "<<", ">>"};
  static const std::vector<std::string_view> js{
      ">>>=", "...", "===", "!==", "**=", "<<=", ">>=", ">>>", "&&=", "||=", "?\?=", "=>", "==", "!=", "<=", ">=", "&&",
      "||",   "?\?", "?.",  "++",  "--",  "+=",  "-=",  "*=",  "/=",  "%=",  "&=",   "|=", "^=", "**", "<<", ">>"};
  static const std::vector<std::string_view> tengo{"...", ":=", "==", "!=", "<=", ">=", "&&", "||", "++", "--",
                                                   "+=",  "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "&^"};
  return lang == Lang::kLua ? lua : lang == Lang::kJs ? js : tengo;
}

// After this token a '/' starts a regular expression, not a division.
bool regexMayFollow(const std::vector<Token>& out) {
  if (out.empty()) return true;
  const Token& p = out.back();
  if (p.kind == Token::kPunct) return p.text != ")" && p.text != "]" && p.text != "}";
  if (p.kind == Token::kIdent) {
    static const std::set<std::string, std::less<>> kw{"return", "typeof", "instanceof", "in",   "of",    "new", "delete",
                                                       "void",   "throw",  "case",       "do",   "else",  "yield", "await"};
    return kw.count(p.text) > 0;
  }
  return false;
}

}  // namespace

std::vector<Token> tokenize(std::string_view s, Lang lang) {
  std::vector<Token> out;
  size_t i = 0, lineStart = 0;
  int line = 1;
  auto col = [&](size_t p) { return static_cast<int>(p - lineStart) + 1; };
  // Moves to `end`, counting the lines passed.
  auto skipTo = [&](size_t end) {
    end = std::min(end, s.size());
    for (; i < end; ++i)
      if (s[i] == '\n') {
        ++line;
        lineStart = i + 1;
      }
  };
  auto push = [&](Token::Kind k, std::string text, int l, int c) { out.push_back({k, std::move(text), l, c}); };
  while (i < s.size()) {
    char c = s[i];
    if (c == '\n' || std::isspace(static_cast<unsigned char>(c))) {
      skipTo(i + 1);
      continue;
    }
    int tl = line, tc = col(i);
    // Comments.
    if (lang == Lang::kLua && s.compare(i, 2, "--") == 0) {
      int lvl = longBracket(s, i + 2);
      if (lvl >= 0) {
        std::string close = "]" + std::string(static_cast<size_t>(lvl), '=') + "]";
        size_t e = s.find(close, i + 4 + static_cast<size_t>(lvl));
        skipTo(e == std::string_view::npos ? s.size() : e + close.size());
      } else {
        size_t e = s.find('\n', i);
        skipTo(e == std::string_view::npos ? s.size() : e);
      }
      continue;
    }
    if (lang != Lang::kLua && s.compare(i, 2, "//") == 0) {
      size_t e = s.find('\n', i);
      skipTo(e == std::string_view::npos ? s.size() : e);
      continue;
    }
    if (lang != Lang::kLua && s.compare(i, 2, "/*") == 0) {
      size_t e = s.find("*/", i + 2);
      skipTo(e == std::string_view::npos ? s.size() : e + 2);
      continue;
    }
    if (lang == Lang::kJs && i == 0 && s.compare(0, 2, "#!") == 0) {
      size_t e = s.find('\n');
      skipTo(e == std::string_view::npos ? s.size() : e);
      continue;
    }
    // Lua long strings.
    if (lang == Lang::kLua && c == '[') {
      int lvl = longBracket(s, i);
      if (lvl >= 0) {
        std::string close = "]" + std::string(static_cast<size_t>(lvl), '=') + "]";
        size_t start = i + 2 + static_cast<size_t>(lvl);
        size_t e = s.find(close, start);
        if (e == std::string_view::npos) e = s.size();
        std::string text(s.substr(start, e - start));
        skipTo(e + close.size());
        push(Token::kString, std::move(text), tl, tc);
        continue;
      }
    }
    // Quoted strings; a JS template literal is one string (its ${} parts are not looked into).
    if (c == '"' || c == '\'' || (c == '`' && lang != Lang::kLua)) {
      std::string text;
      size_t j = i + 1;
      int depth = 0;
      while (j < s.size()) {
        char d = s[j];
        if (c == '`' && lang == Lang::kTengo) {  // Go's raw string: no escapes
          if (d == '`') break;
        } else if (d == '\\' && j + 1 < s.size()) {
          char e = s[j + 1];
          text += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
          continue;
        } else if (c == '`') {
          if (d == '$' && j + 1 < s.size() && s[j + 1] == '{') ++depth;
          else if (d == '}' && depth > 0) --depth;
          else if (d == '`' && depth == 0) break;
        } else if (d == c || d == '\n') {
          break;
        }
        text += d;
        ++j;
      }
      skipTo(j + 1);
      push(Token::kString, std::move(text), tl, tc);
      continue;
    }
    if (lang == Lang::kJs && c == '/' && regexMayFollow(out)) {
      size_t j = i + 1;
      bool cls = false;
      while (j < s.size() && s[j] != '\n') {
        if (s[j] == '\\') ++j;
        else if (s[j] == '[') cls = true;
        else if (s[j] == ']') cls = false;
        else if (s[j] == '/' && !cls) break;
        ++j;
      }
      ++j;
      while (j < s.size() && identChar(s[j], lang)) ++j;
      skipTo(j);
      push(Token::kNumber, "/regex/", tl, tc);  // an opaque literal
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i + 1;
      while (j < s.size()) {
        char d = s[j];
        bool exp = (d == '+' || d == '-') && (std::tolower(static_cast<unsigned char>(s[j - 1])) == 'e' ||
                                              std::tolower(static_cast<unsigned char>(s[j - 1])) == 'p');
        if (!(std::isalnum(static_cast<unsigned char>(d)) || d == '.' || d == '_' || exp)) break;
        if (d == '.' && j + 1 < s.size() && s[j + 1] == '.') break;  // Lua's 1..x
        ++j;
      }
      push(Token::kNumber, std::string(s.substr(i, j - i)), tl, tc);
      skipTo(j);
      continue;
    }
    if (identStart(c, lang)) {
      size_t j = i + 1;
      while (j < s.size() && identChar(s[j], lang)) ++j;
      push(Token::kIdent, std::string(s.substr(i, j - i)), tl, tc);
      skipTo(j);
      continue;
    }
    std::string_view op = s.substr(i, 1);
    for (std::string_view o : operators(lang))
      if (s.compare(i, o.size(), o) == 0) {
        op = o;
        break;
      }
    push(Token::kPunct, std::string(op), tl, tc);
    skipTo(i + op.size());
  }
  push(Token::kEnd, "", line, col(i));
  return out;
}

}  // namespace llmspell::cli
