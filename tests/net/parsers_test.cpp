// SSE and NDJSON parsers: the WHATWG rules, and the same events for every split of the input.
#include <gtest/gtest.h>

#include <random>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/net/ndjson.hpp"
#include "llmspell/net/sse.hpp"

using llmspell::Value;
using llmspell::net::NdjsonParser;
using llmspell::net::SseEvent;
using llmspell::net::SseParser;
using namespace std::string_literals;

namespace {

std::vector<SseEvent> sseAll(const std::vector<std::string_view>& pieces, bool finish = true) {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  for (auto s : pieces) p.feed(s);
  if (finish) p.finish();
  return out;
}

std::vector<SseEvent> sseWhole(std::string_view s) {
  return sseAll({s});
}

std::vector<std::string> ndAll(const std::vector<std::string_view>& pieces) {
  std::vector<std::string> out;
  NdjsonParser p([&](std::string_view l) { out.emplace_back(l); });
  for (auto s : pieces) p.feed(s);
  p.finish();
  return out;
}

// A stream that exercises every rule: CRLF, CR, LF, comments, multi-line data, ids, retry,
// unknown fields, a 2-, 3- and 4-byte UTF-8 character, a no-space value, a trailing event
// without a blank line.
const std::string kSseCorpus =
    "\xEF\xBB\xBF"
    ": OPENROUTER PROCESSING\r\n"
    "\r\n"
    "data: {\"a\":1}\r\n\r\n"
    "event: message_start\n"
    "data: {\"type\":\"message_start\"}\n\n"
    "id: 42\r"
    "data:no space\r"
    "data:  two spaces\r\r"
    "data: line1\n"
    "data: line2\n"
    "data\n"
    "\n"
    "event: ping\n\n"  // no data: not dispatched
    "retry: 1500\n"
    "data: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n\n"
    "retry: 15x\n"
    "error: {\"x\":1}\n"
    "id: a\0b\n"s  // NUL in id: ignored
    "data: [DONE]\r\n\r\n"
    "data: trailing without blank line";

}  // namespace

TEST(Sse, WhatwgFieldRules) {
  auto ev = sseWhole(kSseCorpus);
  ASSERT_EQ(ev.size(), 7u);
  EXPECT_EQ(ev[0].event, "message");
  EXPECT_EQ(ev[0].data, "{\"a\":1}");
  EXPECT_EQ(ev[0].id, "");
  EXPECT_EQ(ev[1].event, "message_start");
  EXPECT_EQ(ev[1].data, "{\"type\":\"message_start\"}");
  EXPECT_EQ(ev[2].data, "no space\n two spaces");
  EXPECT_EQ(ev[2].id, "42");
  EXPECT_EQ(ev[2].event, "message");
  EXPECT_EQ(ev[3].data, "line1\nline2\n");  // a bare "data" line is an empty data line
  EXPECT_EQ(ev[3].id, "42");                // the id persists
  EXPECT_EQ(ev[4].data, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(ev[4].retry, 1500);
  EXPECT_EQ(ev[4].event, "message");  // "ping" had no data and was reset
  EXPECT_EQ(ev[5].data, "[DONE]");
  EXPECT_EQ(ev[5].id, "42");
  EXPECT_FALSE(ev[5].retry.has_value());  // "15x" is not a valid retry
  EXPECT_EQ(ev[6].data, "trailing without blank line");
}

TEST(Sse, NoDispatchWithoutBlankLineUntilFinish) {
  std::vector<SseEvent> out;
  SseParser p([&](const SseEvent& e) { out.push_back(e); });
  p.feed("data: x\n");
  EXPECT_TRUE(out.empty());
  p.feed("\n");
  ASSERT_EQ(out.size(), 1u);
  p.feed("data: y");
  EXPECT_EQ(out.size(), 1u);
  p.finish();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1].data, "y");
  p.finish();  // idempotent
  EXPECT_EQ(out.size(), 2u);
}

TEST(Sse, CrlfSplitAcrossChunksIsOneLineEnd) {
  // Gemini ends events with \r\n\r\n; a split between \r and \n must not make an extra blank
  // line (which would dispatch early) nor lose one.
  auto ev = sseAll({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a\nb");
}

TEST(Sse, Utf8SplitAcrossChunksPreserved) {
  std::string s = "data: \xF0\x9F\x98\x80!\n\n";
  for (size_t i = 0; i <= s.size(); ++i) {
    auto ev = sseAll({std::string_view(s).substr(0, i), std::string_view(s).substr(i)});
    ASSERT_EQ(ev.size(), 1u) << i;
    EXPECT_EQ(ev[0].data, "\xF0\x9F\x98\x80!") << i;
  }
}

TEST(Sse, BomOnlyAtStart) {
  auto ev = sseWhole(
      "\xEF\xBB\xBF"
      "data: x\n\n\xEF\xBB\xBF"
      "data: y\n\n");
  // A second BOM is part of the field name, so "\xEF\xBB\xBFdata" is an unknown field.
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "x");
  auto ev2 = sseWhole("\xEF\xBB");  // a lone BOM prefix is not an event
  EXPECT_TRUE(ev2.empty());
}

TEST(Sse, CallbackExceptionPropagatesAndParserStaysUsable) {
  int n = 0;
  SseParser p([&](const SseEvent& e) {
    ++n;
    if (e.data == "bad") throw llmspell::Exception(llmspell::codes::kValidationFailed, "bad event");
  });
  EXPECT_THROW(p.feed("data: bad\n\n"), llmspell::Exception);
  p.feed("data: good\n\n");
  EXPECT_EQ(n, 2);
}

// Property: every split point (and random multi-splits) gives the unsplit result.
TEST(SseProperty, EverySplitPositionMatchesWhole) {
  const auto whole = sseWhole(kSseCorpus);
  std::string_view s = kSseCorpus;
  for (size_t i = 0; i <= s.size(); ++i) {
    for (size_t j = i; j <= s.size(); j += 7) {
      auto got = sseAll({s.substr(0, i), s.substr(i, j - i), s.substr(j)});
      ASSERT_EQ(got, whole) << "split at " << i << "," << j;
    }
  }
}

TEST(SseProperty, ByteByByteAndRandomSplitsMatchWhole) {
  const auto whole = sseWhole(kSseCorpus);
  std::vector<std::string_view> bytes;
  std::string_view s = kSseCorpus;
  for (size_t i = 0; i < s.size(); ++i) bytes.push_back(s.substr(i, 1));
  EXPECT_EQ(sseAll(bytes), whole);

  std::mt19937 rng(12345);
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string_view> pieces;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t n = std::uniform_int_distribution<size_t>(0, 9)(rng);
      n = std::min(n, s.size() - pos);
      pieces.push_back(s.substr(pos, n));  // zero-length pieces included
      pos += n;
    }
    ASSERT_EQ(sseAll(pieces), whole) << "round " << round;
  }
}

TEST(SseProperty, GeneratedStreamsAnySplit) {
  // Random streams built from the grammar's pieces, each checked under random splits.
  const std::vector<std::string> parts = {"data: x",
                                          "data:y",
                                          "data",
                                          "event: e",
                                          "id: 7",
                                          "retry: 30",
                                          ": c",
                                          "foo: bar",
                                          "data: \xC3\xA9\xE2\x82\xAC",
                                          "",
                                          "data: {\"k\": [1, 2]}   "};
  const std::vector<std::string> eols = {"\n", "\r", "\r\n"};
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string stream;
    int lines = std::uniform_int_distribution<int>(1, 30)(rng);
    for (int l = 0; l < lines; ++l) {
      stream += parts[std::uniform_int_distribution<size_t>(0, parts.size() - 1)(rng)];
      stream += eols[std::uniform_int_distribution<size_t>(0, eols.size() - 1)(rng)];
    }
    auto whole = sseWhole(stream);
    std::string_view s = stream;
    for (size_t i = 0; i <= s.size(); ++i)
      ASSERT_EQ(sseAll({s.substr(0, i), s.substr(i)}), whole)
          << "round " << round << " split " << i;
  }
}

// --- NDJSON ----------------------------------------------------------------------------------

const std::string kNdCorpus =
    "{\"model\":\"llama3.2\",\"message\":{\"content\":\"caf\xC3\xA9\"},\"done\":false}\n"
    "\n"
    "   \n"
    "{\"a\":1}\r\n"
    "{\"error\":\"boom\"}\n"
    "{\"done\":true}";  // no trailing newline

TEST(Ndjson, LinesBlankSkippedCrStrippedLastFlushed) {
  auto lines = ndAll({kNdCorpus});
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "{\"a\":1}");
  EXPECT_EQ(lines[2], "{\"error\":\"boom\"}");
  EXPECT_EQ(lines[3], "{\"done\":true}");
}

TEST(Ndjson, PartialLineBufferedUntilNewline) {
  std::vector<std::string> out;
  NdjsonParser p([&](std::string_view l) { out.emplace_back(l); });
  p.feed("{\"a\":");
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(p.buffered(), 5u);
  p.feed("1}\n{");
  ASSERT_EQ(out.size(), 1u);
  p.finish();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1], "{");
}

TEST(Ndjson, ValuesParsesJsonAndReportsBadLines) {
  std::vector<Value> vals;
  auto p = NdjsonParser::values([&](Value v) { vals.push_back(std::move(v)); });
  p.feed("{\"done\":false,\"n\":1}\n");
  ASSERT_EQ(vals.size(), 1u);
  EXPECT_EQ(vals[0].getInt("n"), 1);
  try {
    p.feed("{not json}\n");
    FAIL() << "expected invalid_argument";
  } catch (const llmspell::Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
  }
  p.feed("{\"done\":true}\n");
  ASSERT_EQ(vals.size(), 2u);
  EXPECT_TRUE(vals[1].getBool("done"));
}

TEST(NdjsonProperty, EverySplitMatchesWhole) {
  const auto whole = ndAll({kNdCorpus});
  std::string_view s = kNdCorpus;
  for (size_t i = 0; i <= s.size(); ++i)
    for (size_t j = i; j <= s.size(); ++j)
      ASSERT_EQ(ndAll({s.substr(0, i), s.substr(i, j - i), s.substr(j)}), whole) << i << "," << j;
  std::mt19937 rng(99);
  for (int round = 0; round < 1000; ++round) {
    std::vector<std::string_view> pieces;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t n = std::min<size_t>(std::uniform_int_distribution<size_t>(0, 6)(rng), s.size() - pos);
      pieces.push_back(s.substr(pos, n));
      pos += n;
    }
    ASSERT_EQ(ndAll(pieces), whole);
  }
}
