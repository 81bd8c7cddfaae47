// `text` namespace: templates, slugs, UTF-8-safe truncation, and chunking for retrieval.
#include <cmath>
#include <cstdio>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {

namespace {

// Byte length of the UTF-8 sequence starting with `c` (1 for stray continuation bytes).
size_t seqLen(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c >> 5) == 6) return 2;
  if ((c >> 4) == 14) return 3;
  if ((c >> 3) == 30) return 4;
  return 1;
}

// Byte offsets of each code point start, plus the end.
std::vector<size_t> codePoints(const std::string& s) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size();) {
    out.push_back(i);
    i += seqLen(static_cast<unsigned char>(s[i]));
    if (i > s.size()) i = s.size();
  }
  out.push_back(s.size());
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string valueAsText(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString: return v.asString();
    case ValueKind::kBool: return v.asBool() ? "true" : "false";
    case ValueKind::kInt: return std::to_string(v.asInt());
    case ValueKind::kDouble: {
      char buf[64];
      snprintf(buf, sizeof buf, "%.14g", v.asDouble());
      return buf;
    }
    case ValueKind::kBytes: return v.asBytes().data;
    case ValueKind::kError: return v.asError()->message;
    case ValueKind::kArray:
    case ValueKind::kObject: return toJsonText(v);
    default: return v.describe();
  }
}

// Looks up "a.b.2" in vars: object keys, and 1-based indexes into arrays (as in Lua).
const Value* lookup(const Value& vars, const std::string& path) {
  const Value* cur = &vars;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string key = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (cur->isObject()) {
      cur = cur->asObject().find(key);
    } else if (cur->isArray() && !key.empty() &&
               key.find_first_not_of("0123456789") == std::string::npos && key.size() < 10) {
      size_t i = std::stoul(key);
      cur = (i >= 1 && i <= cur->asArray().size()) ? &cur->asArray()[i - 1] : nullptr;
    } else {
      cur = nullptr;
    }
    if (!cur || cur->isNull()) return nullptr;
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// A template can repeat a large variable many times, so the result is checked against the
// spell's memory cap as it grows, before each piece is added.
std::string renderTemplate(const std::string& tpl, const Value& vars, const std::string& missing,
                           MemoryBudget& mem) {
  std::string out;
  out.reserve(tpl.size());
  size_t i = 0;
  int line = 1;
  while (i < tpl.size()) {
    size_t open = tpl.find("{{", i);
    if (open == std::string::npos) {
      out.append(tpl, i, std::string::npos);
      break;
    }
    for (size_t k = i; k < open; ++k) line += tpl[k] == '\n';
    out.append(tpl, i, open - i);
    size_t close = tpl.find("}}", open + 2);
    if (close == std::string::npos)
      fail(codes::kInvalidArgument, "text.template: \"{{\" on line " + std::to_string(line) +
                                        " is never closed with \"}}\"");
    std::string name = trim(std::string_view(tpl).substr(open + 2, close - open - 2));
    if (name.empty())
      fail(codes::kInvalidArgument,
           "text.template: empty placeholder \"{{}}\" on line " + std::to_string(line));
    const Value* v = lookup(vars, name);
    if (v) {
      std::string piece = valueAsText(*v);
      mem.require(out.size() + piece.size(), "text.template result");
      out += piece;
    } else if (missing == "keep") {
      out.append(tpl, open, close + 2 - open);
    } else if (missing != "blank") {
      fail(codes::kInvalidArgument,
           "text.template: variable '" + name + "' (line " + std::to_string(line) +
               ") is missing from vars; pass it, or use opts.missing = \"blank\" or \"keep\"");
    }
    i = close + 2;
  }
  return out;
}

// Latin-1 supplement letters (U+00C0..U+00FF) to ASCII for slugs.
const char* latinFold(unsigned cp) {
  static const char* kMap[64] = {
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y"};
  return (cp >= 0xC0 && cp <= 0xFF) ? kMap[cp - 0xC0] : "";
}

std::string slugify(const std::string& s, const std::string& sep, size_t maxLen) {
  std::string out;
  bool pendingSep = false;
  auto put = [&](std::string_view piece) {
    if (pendingSep && !out.empty()) out += sep;
    pendingSep = false;
    out += piece;
  };
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = seqLen(c);
    if (len == 1) {
      if (std::isalnum(c)) {
        char lc = static_cast<char>(std::tolower(c));
        put(std::string_view(&lc, 1));
      } else {
        pendingSep = true;
      }
    } else if (len == 2 && i + 1 < s.size()) {
      unsigned cp = ((c & 0x1Fu) << 6) | (static_cast<unsigned char>(s[i + 1]) & 0x3Fu);
      const char* f = latinFold(cp);
      if (*f)
        put(f);
      else
        pendingSep = true;
    } else {
      pendingSep = true;
    }
    i += len;
  }
  if (maxLen > 0 && out.size() > maxLen) {
    out.resize(maxLen);
    while (!out.empty() && out.size() >= sep.size() && !sep.empty() &&
           out.compare(out.size() - sep.size(), sep.size(), sep) == 0)
      out.resize(out.size() - sep.size());
  }
  return out;
}

std::string truncate(const std::string& s, size_t n, const std::string& suffix, bool words) {
  auto cps = codePoints(s);
  size_t len = cps.size() - 1;
  if (len <= n) return s;
  size_t suffixLen = codePoints(suffix).size() - 1;
  if (suffixLen >= n) return s.substr(0, cps[n]);  // no room for the suffix
  size_t keep = cps[n - suffixLen];
  if (words) {
    // Back up to the last whitespace so no word is cut, unless that leaves nothing.
    size_t ws = s.find_last_of(" \t\n", keep);
    if (ws != std::string::npos && ws > 0 && ws <= keep) {
      if (keep < s.size() && !std::isspace(static_cast<unsigned char>(s[keep]))) keep = ws;
    }
    while (keep > 0 && std::isspace(static_cast<unsigned char>(s[keep - 1]))) --keep;
  }
  return s.substr(0, keep) + suffix;
}

// ---- chunking ----

// Splits text into pieces no longer than maxChars, preferring paragraph, then sentence, then
// word boundaries; never splits inside a UTF-8 sequence.
void splitPiece(const std::string& text, size_t maxChars, int level,
                std::vector<std::string>& out) {
  if (text.size() <= maxChars) {
    std::string t = trim(text);
    if (!t.empty()) out.push_back(std::move(t));
    return;
  }
  std::vector<std::string> parts;
  if (level == 0) {  // paragraphs
    size_t i = 0;
    while (i < text.size()) {
      size_t b = text.find("\n\n", i);
      if (b == std::string::npos) {
        parts.push_back(text.substr(i));
        break;
      }
      parts.push_back(text.substr(i, b - i));
      i = b + 2;
    }
  } else if (level == 1) {  // sentences: after . ! ? followed by whitespace, or a newline
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      char c = text[i];
      bool end = c == '\n' || ((c == '.' || c == '!' || c == '?') && i + 1 < text.size() &&
                               std::isspace(static_cast<unsigned char>(text[i + 1])));
      if (end) {
        parts.push_back(text.substr(start, i + 1 - start));
        start = i + 1;
      }
    }
    if (start < text.size()) parts.push_back(text.substr(start));
  } else if (level == 2) {  // words
    size_t start = 0;
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == ' ' || text[i] == '\t') {
        parts.push_back(text.substr(start, i + 1 - start));
        start = i + 1;
      }
    }
    if (start < text.size()) parts.push_back(text.substr(start));
  } else {  // hard split at code point boundaries
    auto cps = codePoints(text);
    size_t from = 0;
    for (size_t k = 1; k < cps.size(); ++k) {
      if (cps[k] - cps[from] > maxChars) {
        out.push_back(text.substr(cps[from], cps[k - 1] - cps[from]));
        from = k - 1;
      }
    }
    if (cps.back() > cps[from]) out.push_back(text.substr(cps[from]));
    return;
  }
  if (parts.size() <= 1) return splitPiece(text, maxChars, level + 1, out);
  // Pack consecutive parts while they fit; recurse into parts that are too big alone.
  const char* joiner = level == 0 ? "\n\n" : "";
  std::string cur;
  auto flush = [&] {
    std::string t = trim(cur);
    if (!t.empty()) out.push_back(std::move(t));
    cur.clear();
  };
  for (auto& p : parts) {
    if (p.size() > maxChars) {
      flush();
      splitPiece(p, maxChars, level + 1, out);
      continue;
    }
    size_t extra = cur.empty() ? 0 : std::string_view(joiner).size();
    if (cur.size() + extra + p.size() > maxChars) flush();
    if (!cur.empty()) cur += joiner;
    cur += p;
  }
  flush();
}

// The last ~overlapChars of `s`, starting at a word boundary when one is near.
std::string tailOf(const std::string& s, size_t overlapChars) {
  if (overlapChars == 0) return "";
  if (s.size() <= overlapChars) return s;
  size_t from = s.size() - overlapChars;
  while (from < s.size() && (static_cast<unsigned char>(s[from]) & 0xC0) == 0x80) ++from;
  size_t ws = s.find_first_of(" \n\t", from);
  if (ws != std::string::npos && ws + 1 < s.size()) from = ws + 1;
  return s.substr(from);
}

}  // namespace

void llmspell_register_text(Registry& r) {
  r.fn("text", "template")
      .param("template", R"({"type":"string"})", "text with {{name}} / {{a.b}} placeholders")
      .param("vars", R"({"type":"object"})", "values for the placeholders")
      .opt("opts",
           R"({"type":"object","properties":{"missing":{"enum":["error","blank","keep"]}}})",
           "{missing = \"error\" (default) | \"blank\" | \"keep\"}")
      .returns("string")
      .doc("Fills {{placeholders}} from vars; a missing variable raises invalid_argument naming it")
      .sync([](CallContext& cx, Args a) -> Value {
        return Value(renderTemplate(a[0].asString(), a[1], a[2].getString("missing", "error"),
                                    cx.run.memory()));
      });
  r.fn("text", "slugify")
      .param("text", R"({"type":"string"})")
      .opt("opts", R"({"type":"object","properties":{"separator":{"type":"string","maxLength":8},
              "max_length":{"type":"integer","minimum":0}}})",
           "{separator = \"-\", max_length}")
      .returns("string: lowercase ASCII letters, digits and separators")
      .doc("A URL/file-name-safe slug: \"Héllo, World!\" -> \"hello-world\"")
      .sync([](CallContext&, Args a) -> Value {
        return Value(slugify(a[0].asString(), a[1].getString("separator", "-"),
                             static_cast<size_t>(a[1].getInt("max_length", 0))));
      });
  r.fn("text", "truncate")
      .param("text", R"({"type":"string"})")
      .param("max", R"({"type":"integer","minimum":0})",
             "maximum length in characters, suffix included")
      .opt(
          "opts",
          R"({"type":"object","properties":{"suffix":{"type":"string"},"words":{"type":"boolean"}}})",
          "{suffix = \"...\", words = true to avoid cutting a word}")
      .returns("string")
      .doc("Shortens text to at most max characters (UTF-8 safe), ending with a suffix when cut")
      .sync([](CallContext&, Args a) -> Value {
        return Value(truncate(a[0].asString(), static_cast<size_t>(a[1].asInt()),
                              a[2].getString("suffix", "..."), a[2].getBool("words")));
      });
  r.fn("text", "chunk")
      .param("text", R"({"type":"string"})")
      .opt("opts", R"({"type":"object","properties":{
              "max_tokens":{"type":"integer","minimum":1,"default":500},
              "overlap":{"type":"integer","minimum":0}}})",
           "{max_tokens = 500, overlap = 0} (tokens estimated as 4 characters)")
      .returns("array of strings")
      .doc(
          "Splits text into chunks of about max_tokens, on paragraph, then sentence, then word "
          "boundaries")
      .sync([](CallContext&, Args a) -> Value {
        int64_t maxTokens = a[1].getInt("max_tokens", 500);
        int64_t overlap = a[1].getInt("overlap", 0);
        if (maxTokens < 1)
          fail(codes::kInvalidArgument, "text.chunk: max_tokens must be at least 1");
        if (overlap >= maxTokens)
          fail(codes::kInvalidArgument, "text.chunk: overlap (" + std::to_string(overlap) +
                                            ") must be smaller than max_tokens (" +
                                            std::to_string(maxTokens) + ")");
        size_t maxChars = static_cast<size_t>(maxTokens) * 4;
        size_t overlapChars = static_cast<size_t>(overlap) * 4;
        std::vector<std::string> pieces;
        // Leave room for the overlap carried into each chunk.
        splitPiece(a[0].asString(), maxChars - overlapChars - (overlapChars ? 1 : 0), 0, pieces);
        std::vector<Value> out;
        std::string prev;
        for (auto& p : pieces) {
          std::string tail = tailOf(prev, overlapChars);
          prev = p;
          out.emplace_back(tail.empty() ? p : tail + " " + p);
        }
        return Value::array(std::move(out));
      });
  r.fn("text", "estimate_tokens")
      .param("text", R"({"type":"string"})")
      .returns("integer")
      .doc("A rough token count (about 4 characters per token); llm.count_tokens is exact")
      .sync([](CallContext&, Args a) -> Value {
        return Value(static_cast<int64_t>((a[0].asString().size() + 3) / 4));
      });
}

}  // namespace llmspell
