// Byte-level BPE over tiktoken's rank files; see tokenizer.hpp for the regex translation.
#include "llmspell/llm/tokenizer.hpp"

#include <re2/re2.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/llm/catalog.hpp"
#include "llmspell/llm/client.hpp"

#ifndef LLMSPELL_TOKENIZER_DATA_DIR
#define LLMSPELL_TOKENIZER_DATA_DIR ""
#endif

namespace llmspell::llm {

namespace {

struct SvHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
struct SvEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool base64Decode(std::string_view in, std::string& out) {
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    int v = b64val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

// Unicode White_Space, as the members of a character class (RE2 syntax).
constexpr std::string_view kSpaceMembers = "\\t\\n\\x0B\\f\\r\\x{85}\\p{Z}";

// The pattern RE2 can run: the lookahead tail becomes a plain `\s+` and `\s` becomes Unicode
// White_Space. Throws invalid_argument when the pattern does not have the expected tail.
std::string translatePattern(const std::string& pat) {
  static const std::string kTail = "\\s+(?!\\S)|\\s+";
  auto at = pat.rfind(kTail);
  if (at == std::string::npos || at + kTail.size() != pat.size()) {
    fail(codes::kInvalidArgument, "tokenizer pattern does not end in \\s+(?!\\S)|\\s+: " + pat);
  }
  std::string head = pat.substr(0, at);
  std::string out;
  int inClass = 0;
  for (size_t i = 0; i < head.size(); ++i) {
    char c = head[i];
    if (c == '\\' && i + 1 < head.size()) {
      char n = head[i + 1];
      if (n == 's') {
        if (inClass) out += kSpaceMembers;
        else out += "[" + std::string(kSpaceMembers) + "]";
      } else if (n == 'S') {
        fail(codes::kInvalidArgument, "tokenizer pattern uses \\S outside its tail");
      } else {
        out += c;
        out += n;
      }
      ++i;
      continue;
    }
    if (c == '[') ++inClass;
    else if (c == ']' && inClass) --inClass;
    out += c;
  }
  out += "[" + std::string(kSpaceMembers) + "]+";
  return out;
}

// Decodes one UTF-8 code point at s[i] (returns its length; invalid bytes count as 1).
size_t utf8At(std::string_view s, size_t i, uint32_t& cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
  if (i + n > s.size()) n = 1;
  if (n == 1) {
    cp = c;
    return 1;
  }
  cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return n;
}

bool isWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
         cp == 0x3000;
}

bool allWhiteSpace(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    uint32_t cp;
    i += utf8At(s, i, cp);
    if (!isWhiteSpace(cp)) return false;
  }
  return true;
}

// Start of the last UTF-8 character of s (s non-empty).
size_t lastCharStart(std::string_view s) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

struct BpeTokenizer::Impl {
  std::unordered_map<std::string, uint32_t, SvHash, SvEq> ranks;
  std::unique_ptr<RE2> re;
  bool newlineBranch = false;  // the pattern has `\s*[\r\n]+` before its tail

  uint32_t rank(std::string_view s) const {
    auto it = ranks.find(s);
    return it == ranks.end() ? std::numeric_limits<uint32_t>::max() : it->second;
  }

  // Byte-pair merges of one piece (tiktoken's _byte_pair_merge).
  void mergePiece(std::string_view piece, std::vector<uint32_t>& out) const {
    if (piece.empty()) return;
    auto whole = ranks.find(piece);
    if (whole != ranks.end()) {
      out.push_back(whole->second);
      return;
    }
    constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
    // parts[i] = {start, rank of the pair starting at part i}
    std::vector<std::pair<size_t, uint32_t>> parts;
    parts.reserve(piece.size() + 1);
    for (size_t i = 0; i + 1 < piece.size(); ++i) parts.emplace_back(i, rank(piece.substr(i, 2)));
    parts.emplace_back(piece.size() - 1, kNone);
    parts.emplace_back(piece.size(), kNone);
    auto pairRank = [&](size_t i) -> uint32_t {
      if (i + 3 < parts.size()) return rank(piece.substr(parts[i].first, parts[i + 3].first - parts[i].first));
      return kNone;
    };
    while (parts.size() > 1) {
      uint32_t best = kNone;
      size_t bi = 0;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        if (parts[i].second < best) {
          best = parts[i].second;
          bi = i;
        }
      }
      if (best == kNone) break;
      parts[bi].second = pairRank(bi);
      if (bi > 0) parts[bi - 1].second = pairRank(bi - 1);
      parts.erase(parts.begin() + static_cast<std::ptrdiff_t>(bi) + 1);
    }
    for (size_t i = 0; i + 1 < parts.size(); ++i) {
      std::string_view tok = piece.substr(parts[i].first, parts[i + 1].first - parts[i].first);
      uint32_t r = rank(tok);
      if (r == kNone) {
        // Not in the vocabulary (cannot happen with a complete byte-level table): count bytes.
        for (char c : tok) out.push_back(rank(std::string_view(&c, 1)));
      } else {
        out.push_back(r);
      }
    }
  }
};

BpeTokenizer::~BpeTokenizer() = default;

std::shared_ptr<const BpeTokenizer> BpeTokenizer::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(codes::kNotFound, "tokenizer data not found: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const std::exception& e) {
    fail(codes::kInvalidArgument, "tokenizer data " + path + " is not JSON: " + e.what());
  }
  if (!j.is_object() || !j["pat_str"].is_string() || !j["bpe_ranks"].is_string()) {
    fail(codes::kInvalidArgument, "tokenizer data " + path + " has no pat_str / bpe_ranks");
  }
  std::shared_ptr<BpeTokenizer> t(new BpeTokenizer());
  t->impl_ = std::make_unique<Impl>();
  auto slash = path.find_last_of('/');
  std::string base = path.substr(slash == std::string::npos ? 0 : slash + 1);
  t->name_ = base.substr(0, base.rfind('.'));
  RE2::Options ro;
  ro.set_encoding(RE2::Options::EncodingUTF8);
  ro.set_log_errors(false);
  // The Unicode classes make a large DFA; with the default 8 MB budget RE2 falls back to its
  // (much slower) NFA on longer texts.
  ro.set_max_mem(int64_t{64} << 20);
  const std::string pat = j["pat_str"].get<std::string>();
  t->impl_->newlineBranch = pat.find("\\s*[\\r\\n]+") != std::string::npos;
  t->impl_->re = std::make_unique<RE2>(translatePattern(pat), ro);
  if (!t->impl_->re->ok()) fail(codes::kInvalidArgument, "tokenizer pattern does not compile: " + t->impl_->re->error());
  // bpe_ranks: lines "<first token> <first rank> <base64 token> <base64 token> ...", ranks
  // consecutive from <first rank>.
  const std::string& br = j["bpe_ranks"].get_ref<const std::string&>();
  auto& ranks = t->impl_->ranks;
  ranks.reserve(210000);
  std::string tok;
  size_t pos = 0;
  while (pos < br.size()) {
    size_t eol = br.find('\n', pos);
    if (eol == std::string::npos) eol = br.size();
    std::string_view line(br.data() + pos, eol - pos);
    pos = eol + 1;
    if (line.empty()) continue;
    size_t a = line.find(' ');
    size_t b = a == std::string_view::npos ? a : line.find(' ', a + 1);
    if (b == std::string_view::npos) fail(codes::kInvalidArgument, "tokenizer data " + path + ": bad rank line");
    uint32_t r = static_cast<uint32_t>(std::strtoul(std::string(line.substr(a + 1, b - a - 1)).c_str(), nullptr, 10));
    size_t p = b + 1;
    while (p <= line.size()) {
      size_t e = line.find(' ', p);
      if (e == std::string_view::npos) e = line.size();
      if (e > p) {
        if (!base64Decode(line.substr(p, e - p), tok)) fail(codes::kInvalidArgument, "tokenizer data " + path + ": bad base64");
        ranks.emplace(tok, r++);
      }
      p = e + 1;
    }
  }
  if (ranks.size() < 256) fail(codes::kInvalidArgument, "tokenizer data " + path + " has too few ranks");
  return t;
}

size_t BpeTokenizer::vocabularySize() const { return impl_->ranks.size(); }

std::vector<uint32_t> BpeTokenizer::encode(std::string_view text) const {
  std::vector<uint32_t> out;
  out.reserve(text.size() / 3 + 1);
  const RE2& re = *impl_->re;
  size_t pos = 0;
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece m[1];
  while (pos < text.size()) {
    // Every byte belongs to some branch of these patterns, so pieces are contiguous: an
    // anchored match at `pos` (a byte no branch takes, e.g. invalid UTF-8, is a piece of its own).
    if (!re.Match(input, pos, text.size(), RE2::ANCHOR_START, m, 1)) {
      impl_->mergePiece(text.substr(pos, 1), out);
      ++pos;
      continue;
    }
    size_t start = static_cast<size_t>(m[0].data() - text.data());
    size_t len = m[0].size();
    if (start > pos) impl_->mergePiece(text.substr(pos, start - pos), out);  // bytes no branch took
    if (len == 0) {  // cannot happen with these patterns; never loop
      impl_->mergePiece(text.substr(start, 1), out);
      pos = start + 1;
      continue;
    }
    std::string_view piece = text.substr(start, len);
    bool lineBreakEnd = impl_->newlineBranch && (piece.back() == '\n' || piece.back() == '\r');
    if (start + len < text.size() && !lineBreakEnd && allWhiteSpace(piece)) {
      // Only the tail `\s+` yields a whitespace-only piece, except one ending in a line break
      // when the pattern has `\s*[\r\n]+` (cl100k, o200k), which comes first; every other
      // branch needs a non-space.
      // `\s+(?!\S)`: a whitespace run followed by a non-space leaves its last character.
      uint32_t cp;
      utf8At(text, start + len, cp);
      if (!isWhiteSpace(cp)) {
        size_t last = lastCharStart(piece);
        if (last > 0) piece = piece.substr(0, last);
      }
    }
    impl_->mergePiece(piece, out);
    pos = start + piece.size();
  }
  return out;
}

size_t BpeTokenizer::count(std::string_view text) const { return encode(text).size(); }

std::string encodingForModel(std::string_view modelId) {
  std::string_view id = modelId;
  bool openai = false;
  if (id.rfind("openai/", 0) == 0) {
    openai = true;
    id.remove_prefix(7);
  } else {
    auto slash = id.find('/');
    if (slash != std::string_view::npos && id.substr(slash + 1).rfind("openai/", 0) == 0) {
      openai = true;
      id.remove_prefix(slash + 8);
    } else if (slash == std::string_view::npos) {
      openai = providerOfBareModel(id) == "openai";
    }
  }
  if (!openai) return "";
  for (std::string_view p : {"gpt-4o", "chatgpt-4o", "gpt-4.1", "gpt-4.5", "gpt-5", "o1", "o3", "o4", "gpt-oss", "codex"}) {
    if (id.rfind(p, 0) == 0) return "o200k_base";
  }
  for (std::string_view p : {"gpt-4", "gpt-3.5", "gpt-35", "text-embedding-3", "text-embedding-ada-002"}) {
    if (id.rfind(p, 0) == 0) return "cl100k_base";
  }
  return "";
}

std::vector<std::string> tokenizerSearchPath(const std::string& dataDir) {
  std::vector<std::string> dirs;
  const char* e = std::getenv("LLMSPELL_TOKENIZER_DIR");
  if (e && std::string_view(e) == "off") return dirs;  // estimates only
  if (e && *e) dirs.emplace_back(e);
  if (!dataDir.empty()) dirs.push_back(dataDir + "/tokenizers");
  if (*LLMSPELL_TOKENIZER_DATA_DIR) dirs.emplace_back(LLMSPELL_TOKENIZER_DATA_DIR);
  dirs.emplace_back("/usr/local/lib/node_modules/tiktoken/encoders");
  dirs.emplace_back("/usr/lib/node_modules/tiktoken/encoders");
  return dirs;
}

std::shared_ptr<const BpeTokenizer> tokenizerFor(const std::string& encoding, const std::string& dataDir) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const BpeTokenizer>> cache;  // null = not found
  if (encoding.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(mu);
  auto key = encoding + "\n" + dataDir;
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const BpeTokenizer> t;
  for (const auto& d : tokenizerSearchPath(dataDir)) {
    std::string path = d + "/" + encoding + ".json";
    if (!std::ifstream(path)) continue;
    try {
      t = BpeTokenizer::load(path);
    } catch (const Exception&) {
      t = nullptr;
    }
    if (t) break;
  }
  cache[key] = t;
  return t;
}

TokenCount countTokens(std::string_view modelId, std::string_view text, const std::string& dataDir) {
  if (auto t = tokenizerFor(encodingForModel(modelId), dataDir)) {
    return {static_cast<int64_t>(t->count(text)), true, t->name()};
  }
  return {estimateTokens(text), false, "estimate"};
}

TokenCount countMessageTokens(std::string_view modelId, const std::vector<Message>& messages, const std::string& dataDir) {
  auto t = tokenizerFor(encodingForModel(modelId), dataDir);
  TokenCount c;
  c.exact = t != nullptr;
  c.method = t ? t->name() : "estimate";
  auto n = [&](std::string_view s) -> int64_t { return t ? static_cast<int64_t>(t->count(s)) : estimateTokens(s); };
  for (const auto& m : messages) {
    c.tokens += 3 + n(roleName(m.role));
    for (const auto& p : m.parts) {
      switch (p.kind) {
        case ContentPart::Kind::kText: c.tokens += n(p.text); break;
        case ContentPart::Kind::kToolResult: c.tokens += n(p.text); c.exact = false; break;
        case ContentPart::Kind::kToolCall:
          c.tokens += n(p.call.name) + n(toJsonText(p.call.arguments));
          c.exact = false;
          break;
        case ContentPart::Kind::kImage: c.tokens += 85; c.exact = false; break;  // low-detail image
        case ContentPart::Kind::kReasoning: break;  // not sent back as prompt text
      }
    }
  }
  c.tokens += 3;
  if (!c.exact && t) c.method = t->name() + "+estimate";
  return c;
}

}  // namespace llmspell::llm
