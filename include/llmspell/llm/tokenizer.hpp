// Exact token counts for OpenAI's byte-level BPE encodings (cl100k_base, o200k_base, and the
// older r50k/p50k), read at run time from the rank files that the npm package `tiktoken` ships
// (encoders/<name>.json: {pat_str, special_tokens, bpe_ranks}); scripts/setup.sh installs it
// into third_party_data/. Without the data, counts fall back to estimateTokens and say so.
//
// The pre-tokenizer is the encoding's own pat_str compiled with RE2. RE2 has no lookahead, and
// every OpenAI pattern ends in `\s+(?!\S)|\s+`; that tail becomes `\s+` and the lookahead is
// applied by hand: a whitespace-only piece not ending in a line break can only come from the
// tail, and when a non-space follows it gives back its last character, which then starts the
// next piece — the same pieces the lookahead regex yields. Pieces are matched anchored, one
// after another, without submatches (RE2's DFA alone).
// RE2's `\s` is ASCII-only, so `\s` is rewritten to Unicode White_Space as tiktoken's regex has it.
//
// Thread-safety: a loaded BpeTokenizer is immutable and safe to share; tokenizerFor caches one
// per encoding per process (loading o200k_base costs about 170 ms and 19 MB once, cl100k_base
// about 70 ms and 10 MB: the first exact count in a run pays it).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/llm/types.hpp"

namespace llmspell::llm {

class BpeTokenizer {
 public:
  // Loads a tiktoken encoder JSON file. Throws Exception(not_found) when the file is missing,
  // Exception(invalid_argument) when it is not a rank file this code understands.
  static std::shared_ptr<const BpeTokenizer> load(const std::string& path);
  ~BpeTokenizer();

  // Token ids of `text` (special-token text is encoded as ordinary text).
  std::vector<uint32_t> encode(std::string_view text) const;
  size_t count(std::string_view text) const;
  const std::string& name() const { return name_; }
  size_t vocabularySize() const;

  struct Impl;

 private:
  BpeTokenizer() = default;
  std::string name_;
  std::unique_ptr<Impl> impl_;
};

// "o200k_base" for gpt-4o / gpt-4.1 / gpt-4.5 / gpt-5 / o1 / o3 / o4 / gpt-oss, "cl100k_base" for
// gpt-4 / gpt-3.5 / text-embedding-3 / ada-002 — for the openai provider (or an "openai/..."
// model behind a router); "" for every other model.
std::string encodingForModel(std::string_view modelId);

// Directories searched for <encoding>.json, in order: $LLMSPELL_TOKENIZER_DIR,
// <dataDir>/tokenizers, the checkout's third_party_data/node_modules/tiktoken/encoders (compiled
// in), /usr/local/lib/node_modules/tiktoken/encoders, /usr/lib/node_modules/tiktoken/encoders.
// LLMSPELL_TOKENIZER_DIR=off: none (every count is an estimate).
std::vector<std::string> tokenizerSearchPath(const std::string& dataDir = "");
// The encoding, loaded once per process; nullptr when no data file is found or it fails to load.
std::shared_ptr<const BpeTokenizer> tokenizerFor(const std::string& encoding, const std::string& dataDir = "");

struct TokenCount {
  int64_t tokens = 0;
  bool exact = false;
  std::string method;  // "o200k_base", "cl100k_base" or "estimate"
};
// Tokens of `text` for `modelId`.
TokenCount countTokens(std::string_view modelId, std::string_view text, const std::string& dataDir = "");
// Tokens of a chat prompt, counted as OpenAI does (3 per message + role + content, + 3 to prime
// the reply). Exact only for an exact encoding and messages of plain text (tool calls and images
// are estimated).
TokenCount countMessageTokens(std::string_view modelId, const std::vector<Message>& messages,
                              const std::string& dataDir = "");

}  // namespace llmspell::llm
