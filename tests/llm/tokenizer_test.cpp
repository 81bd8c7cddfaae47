// Exact BPE token counts against numbers produced by the npm `tiktoken` package itself
// (node, encode_ordinary, tiktoken 1.0.22) when these tests were written. Skipped when
// scripts/setup.sh has not installed the rank files.
#include <gtest/gtest.h>

#include "llmspell/core/error.hpp"
#include "llmspell/llm/tokenizer.hpp"

namespace {

using namespace llmspell::llm;

std::shared_ptr<const BpeTokenizer> enc(const char* name) {
  auto t = tokenizerFor(name);
  return t;
}

#define NEED(t)                                                                      \
  if (!(t)) GTEST_SKIP() << "tokenizer data not installed (run scripts/setup.sh); " \
                            "counts fall back to estimates";

struct Case {
  const char* text;
  size_t cl100k, o200k;
};

const Case kCases[] = {
    {"hello world", 2, 2},
    {"Hello, world! How are you today?", 9, 9},
    {"  leading spaces and trailing   ", 6, 6},
    {"tab\tand\nnewlines\r\n\n  x", 8, 8},
    {"numbers 1234567 and 3.14159", 11, 11},
    {"I'm sure they'll've done it, DON'T you?", 13, 10},
    {"\xC3\x9Cn\xC3\xAF" "c\xC3\xB6" "d\xC3\xA9 fa\xC3\xA7" "ade \xE2\x80\x94 na\xC3\xAFve caf\xC3\xA9 "
     "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88 "
     "\xF0\x9F\x8E\x89\xF0\x9F\x8E\x89", 27, 20},
    {"def f(x):\n    return x ** 2\n\n\nprint(f(3))", 16, 16},
    {"a   1", 4, 4},
    {"x\xC2\xA0\xC2\xA0y\xE3\x80\x80z", 6, 6},
    {"HTTPServerError CamelCase getHTTPResponseCode", 8, 9},
};

TEST(Tokenizer, Cl100kCountsMatchTiktoken) {
  auto t = enc("cl100k_base");
  NEED(t);
  EXPECT_EQ(t->encode("hello world"), (std::vector<uint32_t>{15339, 1917}));
  EXPECT_EQ(t->encode("I'm sure they'll've done it, DON'T you? \xF0\x9F\x8E\x89 a   1"),
            (std::vector<uint32_t>{40, 2846, 2771, 814, 3358, 3077, 2884, 433, 11, 45373, 17773, 499, 30, 11410, 236,
                                   231, 264, 256, 220, 16}));
  for (const auto& c : kCases) EXPECT_EQ(t->count(c.text), c.cl100k) << c.text;
}

TEST(Tokenizer, O200kCountsMatchTiktoken) {
  auto t = enc("o200k_base");
  NEED(t);
  EXPECT_EQ(t->encode("hello world"), (std::vector<uint32_t>{24912, 2375}));
  EXPECT_EQ(t->encode("I'm sure they'll've done it, DON'T you? \xF0\x9F\x8E\x89 a   1"),
            (std::vector<uint32_t>{15390, 3239, 57956, 7341, 4167, 480, 11, 153384, 481, 30, 139786, 231, 261, 256,
                                   220, 16}));
  for (const auto& c : kCases) EXPECT_EQ(t->count(c.text), c.o200k) << c.text;
}

TEST(Tokenizer, LongTextMatchesTiktoken) {
  auto a = enc("cl100k_base");
  auto b = enc("o200k_base");
  NEED(a && b);
  std::string s;
  for (int i = 0; i < 200; ++i) {
    s += "Line " + std::to_string(i) +
         ":\tThe quick brown fox \xE2\x80\x94 jumps over 12,345 lazy dogs;  na\xC3\xAFve caf\xC3\xA9 "
         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E!   \n";
  }
  ASSERT_EQ(s.size(), 18090u);
  EXPECT_EQ(a->count(s), 5600u);
  EXPECT_EQ(b->count(s), 5200u);
}

// Whitespace runs around line breaks, where the hand-applied lookahead matters; r50k_base has no
// `\s*[\r\n]+` branch, so there a run ending in a line break gives back its last character too.
TEST(Tokenizer, WhitespaceAndLineBreaksMatchTiktoken) {
  auto r50 = enc("r50k_base");
  auto cl = enc("cl100k_base");
  auto o200 = enc("o200k_base");
  NEED(r50 && cl && o200);
  const char* texts[] = {"a \n\nb", "x  \n  y\n\n\nz   \t w", "def f():\n    return 1\n"};
  using V = std::vector<uint32_t>;
  EXPECT_EQ(r50->encode(texts[0]), (V{64, 220, 198, 198, 65}));
  EXPECT_EQ(r50->encode(texts[1]), (V{87, 220, 220, 198, 220, 331, 628, 198, 89, 220, 220, 220, 197, 266}));
  EXPECT_EQ(r50->encode(texts[2]), (V{4299, 277, 33529, 198, 220, 220, 220, 1441, 352, 198}));
  EXPECT_EQ(cl->encode(texts[0]), (V{64, 4815, 65}));
  EXPECT_EQ(cl->encode(texts[1]), (V{87, 2355, 220, 379, 1432, 89, 40867, 289}));
  EXPECT_EQ(cl->encode(texts[2]), (V{755, 282, 4019, 262, 471, 220, 16, 198}));
  EXPECT_EQ(o200->encode(texts[0]), (V{64, 1202, 65}));
  EXPECT_EQ(o200->encode(texts[1]), (V{87, 4066, 220, 342, 2499, 89, 94359, 286}));
  EXPECT_EQ(o200->encode(texts[2]), (V{1314, 285, 8595, 271, 622, 220, 16, 198}));
}

TEST(Tokenizer, ModelsMapToTheirEncodings) {
  EXPECT_EQ(encodingForModel("openai/gpt-4o-mini"), "o200k_base");
  EXPECT_EQ(encodingForModel("openai/gpt-4.1"), "o200k_base");
  EXPECT_EQ(encodingForModel("openai/o3-mini"), "o200k_base");
  EXPECT_EQ(encodingForModel("openai/gpt-5"), "o200k_base");
  EXPECT_EQ(encodingForModel("openai/gpt-4-turbo"), "cl100k_base");
  EXPECT_EQ(encodingForModel("openai/gpt-3.5-turbo"), "cl100k_base");
  EXPECT_EQ(encodingForModel("openrouter/openai/gpt-4o"), "o200k_base");
  EXPECT_EQ(encodingForModel("gpt-4o"), "o200k_base");
  EXPECT_EQ(encodingForModel("anthropic/claude-sonnet-4-5"), "");
  EXPECT_EQ(encodingForModel("mock/echo"), "");
}

TEST(Tokenizer, CountsAreExactOnlyWithData) {
  auto c = countTokens("anthropic/claude-sonnet-4-5", "hello world");
  EXPECT_FALSE(c.exact);
  EXPECT_EQ(c.method, "estimate");
  auto o = countTokens("openai/gpt-4o", "hello world");
  if (!enc("o200k_base")) GTEST_SKIP() << "tokenizer data not installed";
  EXPECT_TRUE(o.exact);
  EXPECT_EQ(o.tokens, 2);
  EXPECT_EQ(o.method, "o200k_base");
  // Chat prompt: 3 per message + role + content, + 3 ("system"=1, "user"=1 token).
  auto m = countMessageTokens("openai/gpt-4o", {Message::system("Be brief."), Message::user("hello world")});
  EXPECT_TRUE(m.exact);
  EXPECT_EQ(m.tokens, (3 + 1 + 3) + (3 + 1 + 2) + 3);
}

TEST(Tokenizer, BadDataFilesAreRejected) {
  EXPECT_THROW(BpeTokenizer::load("/nonexistent/o200k_base.json"), llmspell::Exception);
}

}  // namespace
