// json, yaml, log, time, crypto, text and schema modules through the registry.
#include <gtest/gtest.h>

#include <set>

#include "harness.hpp"
#include "llmspell/core/log.hpp"

namespace llmspell {
namespace {

using testing::Harness;
using testing::J;

// ---- json / yaml ----

TEST(JsonModule, EncodeOptions) {
  Harness h;
  Value v = J(R"({"b":1,"a":[true,null,"x"]})");
  EXPECT_EQ(h.call("json.encode", {v}).asString(), R"({"b":1,"a":[true,null,"x"]})");
  EXPECT_EQ(h.call("json.encode", {v, J(R"({"sort_keys":true})")}).asString(),
            R"({"a":[true,null,"x"],"b":1})");
  std::string pretty = h.call("json.encode", {v, J(R"({"pretty":true})")}).asString();
  EXPECT_NE(pretty.find("\n  \"b\": 1"), std::string::npos) << pretty;
}

TEST(JsonModule, DecodeRoundTripAndSyntaxError) {
  Harness h;
  Value v = h.call("json.decode", {Value(R"({"x":[1,2.5,"é"]})")});
  EXPECT_EQ(v.get("x").asArray()[1].asDouble(), 2.5);
  Error e = h.error("json.decode", {Value("{\n  \"a\": 1,\n  oops\n}")});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("line 3"), std::string::npos) << e.message;
}

TEST(JsonModule, DeepNestingIsRefusedNotACrash) {
  Harness h;
  std::string deep(200000, '[');
  deep += std::string(200000, ']');
  Error e = h.error("json.decode", {Value(deep)});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("nested deeper than 512"), std::string::npos) << e.message;
  // Brackets inside strings do not count.
  std::string inString = "\"" + std::string(1000, '[') + "\"";
  EXPECT_EQ(h.call("json.decode", {Value(inString)}).asString().size(), 1000u);
  std::string ok = std::string(100, '[') + std::string(100, ']');
  EXPECT_TRUE(h.call("json.decode", {Value(ok)}).isArray());
}

TEST(JsonModule, FunctionsCannotBeEncoded) {
  Harness h2;
  Value fn = testing::fnValue([](std::vector<Value>) { return Value(); });
  Error e2 = h2.error("json.encode", {Value::object({{"f", fn}})});
  EXPECT_EQ(e2.code, codes::kInvalidArgument);
}

TEST(JsonModule, BadOptionTypeIsAnArgumentError) {
  Harness h;
  Error e = h.error("json.encode", {Value(1), J(R"({"pretty":"yes"})")});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("opts.pretty: expected boolean"), std::string::npos) << e.message;
}

TEST(YamlModule, RoundTrip) {
  Harness h;
  Value v = h.call("yaml.decode", {Value("name: x\nitems:\n  - 1\n  - two\nflag: true\n")});
  EXPECT_EQ(v.getString("name"), "x");
  EXPECT_EQ(v.get("items").asArray()[1].asString(), "two");
  EXPECT_TRUE(v.getBool("flag"));
  std::string text = h.call("yaml.encode", {v}).asString();
  EXPECT_EQ(h.call("yaml.decode", {Value(text)}), v);
  EXPECT_EQ(h.error("yaml.decode", {Value("a: [1, 2\nb: 3")}).code, codes::kInvalidArgument);
}

// ---- log ----

TEST(LogModule, WritesFieldsAndBoundLoggers) {
  Harness h;
  std::string prev = h.call("log.level", {Value("debug")}).asString();
  ::testing::internal::CaptureStderr();
  h.call("log.info", {Value("hello"), J(R"({"user":"ann","n":3})")});
  Value lg = h.call("log.with", {J(R"({"run":"r1"})")});
  ASSERT_TRUE(lg.isHandle());
  EXPECT_EQ(lg.asHandle()->typeName(), "logger");
  h.call("logger:warn", {lg, Value("careful"), J(R"({"step":2})")});
  Value child = h.call("logger:with", {lg, J(R"({"sub":"x"})")});
  h.call("logger:debug", {child, Value("deep")});
  h.call("log.level", {Value("error")});
  h.call("log.info", {Value("hidden")});
  std::string out = ::testing::internal::GetCapturedStderr();
  h.call("log.level", {Value(prev)});
  EXPECT_NE(out.find("hello user=ann n=3"), std::string::npos) << out;
  EXPECT_NE(out.find("careful run=r1 step=2"), std::string::npos) << out;
  EXPECT_NE(out.find("deep run=r1 sub=x"), std::string::npos) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
}

TEST(LogModule, UnknownLevel) {
  Harness h;
  EXPECT_EQ(h.error("log.level", {Value("loud")}).code, codes::kInvalidArgument);
}

// ---- time ----

TEST(TimeModule, FormatAndParseKnownInstant) {
  Harness h;
  EXPECT_EQ(h.call("time.format", {Value(0)}).asString(), "1970-01-01T00:00:00Z");
  EXPECT_EQ(h.call("time.format", {Value(1714564800.25), Value("%Y/%m/%d %H:%M:%S.%f")}).asString(),
            "2024/05/01 12:00:00.250");
  EXPECT_DOUBLE_EQ(h.call("time.parse", {Value("2024-05-01T12:00:00Z")}).asNumber(), 1714564800);
  EXPECT_DOUBLE_EQ(h.call("time.parse", {Value("2024-05-01T14:00:00+02:00")}).asNumber(),
                   1714564800);
  EXPECT_DOUBLE_EQ(h.call("time.parse", {Value("2024-05-01")}).asNumber(), 1714521600);
  EXPECT_DOUBLE_EQ(h.call("time.parse", {Value("2024-05-01T12:00:00.5Z")}).asNumber(),
                   1714564800.5);
  EXPECT_DOUBLE_EQ(
      h.call("time.parse", {Value("01/05/2024 12:00"), Value("%d/%m/%Y %H:%M")}).asNumber(),
      1714564800);
}

TEST(TimeModule, ParseErrors) {
  Harness h;
  Error e = h.error("time.parse", {Value("yesterday")});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("ISO 8601"), std::string::npos);
  EXPECT_EQ(h.error("time.parse", {Value("2023-02-29")}).code, codes::kInvalidArgument);
  EXPECT_EQ(h.error("time.parse", {Value("2024-05-01"), Value("%H:%M")}).code,
            codes::kInvalidArgument);
  EXPECT_EQ(h.error("time.format", {Value(0), Value("%Y"), J(R"({"tz":"mars"})")}).code,
            codes::kInvalidArgument);
}

TEST(TimeModule, OutOfRangeTimes) {
  Harness h;
  EXPECT_EQ(h.error("time.format", {Value(1e300)}).code, codes::kInvalidArgument);
  EXPECT_EQ(h.error("time.format", {Value(-1e300)}).code, codes::kInvalidArgument);
  EXPECT_EQ(h.call("time.format", {Value(-86400)}).asString(), "1969-12-31T00:00:00Z");
}

TEST(TimeModule, NowAndSince) {
  Harness h;
  double now = h.call("time.now").asNumber();
  EXPECT_GT(now, 1.7e9);
  double since = h.call("time.since", {Value(now - 10)}).asNumber();
  EXPECT_GE(since, 10);
  double m1 = h.call("time.monotonic").asNumber();
  double m2 = h.call("time.monotonic").asNumber();
  EXPECT_GE(m2, m1);
}

// ---- crypto ----

TEST(CryptoModule, KnownDigests) {
  Harness h;
  EXPECT_EQ(h.call("crypto.hash", {Value("abc")}).asString(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(h.call("crypto.hash", {Value("abc"), Value("sha1")}).asString(),
            "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(h.call("crypto.hash", {Value("abc"), Value("md5")}).asString(),
            "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(h.call("crypto.hash", {Value(""), Value("sha512")}).asString().substr(0, 16),
            "cf83e1357eefb8bd");
  EXPECT_EQ(h.call("crypto.hash", {Value("abc"), Value("blake2b")}).asString().size(), 128u);
  EXPECT_EQ(
      h.call("crypto.hash", {Value(Bytes{"abc"}), Value("sha256"), J(R"({"encoding":"base64"})")})
          .asString(),
      "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
  EXPECT_EQ(h.error("crypto.hash", {Value("abc"), Value("crc32")}).code, codes::kInvalidArgument);
}

TEST(CryptoModule, HmacRfc4231Case2) {
  Harness h;
  EXPECT_EQ(
      h.call("crypto.hmac", {Value("Jefe"), Value("what do ya want for nothing?")}).asString(),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoModule, UuidAndRandomness) {
  Harness h;
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    std::string u = h.call("crypto.uuid").asString();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4');
    EXPECT_NE(std::string("89ab").find(u[19]), std::string::npos) << u;
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 50u);
  Value b = h.call("crypto.random_bytes", {Value(32)});
  ASSERT_TRUE(b.isBytes());
  EXPECT_EQ(b.asBytes().data.size(), 32u);
  std::string s = h.call("crypto.random_string", {Value(40)}).asString();
  EXPECT_EQ(s.size(), 40u);
  for (char c : s) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)));
  EXPECT_EQ(h.call("crypto.random_string", {Value(10), Value("x")}).asString(), "xxxxxxxxxx");
  EXPECT_EQ(h.error("crypto.random_bytes", {Value(-1)}).code, codes::kInvalidArgument);
}

TEST(CryptoModule, Base64AndHex) {
  Harness h;
  EXPECT_EQ(h.call("crypto.base64_encode", {Value("hello?")}).asString(), "aGVsbG8/");
  EXPECT_EQ(h.call("crypto.base64_encode", {Value("hello?"), J(R"({"url":true})")}).asString(),
            "aGVsbG8_");
  EXPECT_EQ(h.call("crypto.base64_decode", {Value("aGVsbG8/")}).asString(), "hello?");
  EXPECT_EQ(h.call("crypto.base64_decode", {Value("aGk")}).asString(), "hi");  // no padding
  EXPECT_EQ(h.call("crypto.base64_decode", {Value("aG\nk=")}).asString(), "hi");
  Value bin = h.call("crypto.base64_decode", {Value("/w==")});
  ASSERT_TRUE(bin.isBytes());  // 0xFF is not UTF-8 text
  EXPECT_EQ(bin.asBytes().data, "\xff");
  Error e = h.error("crypto.base64_decode", {Value("ab$d")});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("position 3"), std::string::npos) << e.message;
  EXPECT_EQ(h.call("crypto.hex_encode", {Value(Bytes{std::string("\x00\xab", 2)})}).asString(),
            "00ab");
  EXPECT_EQ(h.call("crypto.hex_decode", {Value("6869")}).asString(), "hi");
  EXPECT_EQ(h.call("crypto.hex_decode", {Value("6869"), J(R"({"binary":true})")}).asBytes().data,
            "hi");
  EXPECT_EQ(h.error("crypto.hex_decode", {Value("abc")}).code, codes::kInvalidArgument);
  Error hx = h.error("crypto.hex_decode", {Value("zz")});
  EXPECT_NE(hx.message.find("position 1"), std::string::npos) << hx.message;
}

// ---- text ----

TEST(TextModule, Template) {
  Harness h;
  Value vars = J(R"({"name":"Ann","user":{"age":41,"tags":["a","b"]},"pi":3.5})");
  EXPECT_EQ(
      h.call("text.template", {Value("Hi {{ name }}, {{user.age}} {{pi}} {{user.tags.2}}"), vars})
          .asString(),
      "Hi Ann, 41 3.5 b");
  Error e = h.error("text.template", {Value("a\n{{missing.x}}"), vars});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("'missing.x' (line 2)"), std::string::npos) << e.message;
  EXPECT_EQ(
      h.call("text.template", {Value("[{{x}}]"), vars, J(R"({"missing":"blank"})")}).asString(),
      "[]");
  EXPECT_EQ(
      h.call("text.template", {Value("[{{x}}]"), vars, J(R"({"missing":"keep"})")}).asString(),
      "[{{x}}]");
  EXPECT_EQ(h.error("text.template", {Value("{{name"), vars}).code, codes::kInvalidArgument);
}

TEST(TextModule, Slugify) {
  Harness h;
  EXPECT_EQ(h.call("text.slugify", {Value("  Héllo, Wörld!  Ça va? ")}).asString(),
            "hello-world-ca-va");
  EXPECT_EQ(h.call("text.slugify", {Value("a b c"), J(R"({"separator":"_"})")}).asString(),
            "a_b_c");
  EXPECT_EQ(
      h.call("text.slugify", {Value("hello world again"), J(R"({"max_length":11})")}).asString(),
      "hello-world");
  EXPECT_EQ(h.call("text.slugify", {Value("日本語")}).asString(), "");
}

TEST(TextModule, TruncateIsUtf8Safe) {
  Harness h;
  EXPECT_EQ(h.call("text.truncate", {Value("hello"), Value(10)}).asString(), "hello");
  EXPECT_EQ(h.call("text.truncate", {Value("hello world"), Value(8)}).asString(), "hello...");
  EXPECT_EQ(h.call("text.truncate", {Value("ééééé"), Value(4), J(R"({"suffix":"…"})")}).asString(),
            "ééé…");
  EXPECT_EQ(h.call("text.truncate", {Value("ééééé"), Value(2)}).asString(), "éé");
  EXPECT_EQ(
      h.call("text.truncate", {Value("hello wonderful world"), Value(14), J(R"({"words":true})")})
          .asString(),
      "hello...");
}

TEST(TextModule, ChunkRespectsBoundsAndParagraphs) {
  Harness h;
  std::string para1 = "First paragraph is here. It has two sentences.";
  std::string para2 = "Second paragraph. Short.";
  Value chunks = h.call("text.chunk", {Value(para1 + "\n\n" + para2), J(R"({"max_tokens":15})")});
  ASSERT_EQ(chunks.asArray().size(), 2u);
  EXPECT_EQ(chunks.asArray()[0].asString(), para1);
  EXPECT_EQ(chunks.asArray()[1].asString(), para2);

  std::string longText;
  for (int i = 0; i < 200; ++i)
    longText += "Sentence number " + std::to_string(i) + " has some words. ";
  Value c2 = h.call("text.chunk", {Value(longText), J(R"({"max_tokens":50,"overlap":10})")});
  ASSERT_GT(c2.asArray().size(), 5u);
  for (const auto& c : c2.asArray()) EXPECT_LE(c.asString().size(), 200u) << c.asString();
  // Overlap: each chunk after the first starts with text from the end of the previous one.
  std::string prev = c2.asArray()[0].asString();
  std::string next = c2.asArray()[1].asString();
  EXPECT_NE(prev.find(next.substr(0, 15)), std::string::npos) << prev << " | " << next;

  // A single enormous word is hard-split without breaking UTF-8.
  std::string word;
  for (int i = 0; i < 100; ++i) word += "é";
  Value c3 = h.call("text.chunk", {Value(word), J(R"({"max_tokens":5})")});
  size_t total = 0;
  for (const auto& c : c3.asArray()) {
    EXPECT_LE(c.asString().size(), 20u);
    EXPECT_EQ(c.asString().size() % 2, 0u);
    total += c.asString().size();
  }
  EXPECT_EQ(total, word.size());
  EXPECT_EQ(h.error("text.chunk", {Value("x"), J(R"({"max_tokens":5,"overlap":5})")}).code,
            codes::kInvalidArgument);
  EXPECT_EQ(h.call("text.chunk", {Value("")}).asArray().size(), 0u);
}

// ---- schema module ----

TEST(SchemaModule, ValidateReturnsPathAndMessage) {
  Harness h;
  Value r = h.call("schema.validate",
                   {J(R"({"user":{"age":"x"},"tags":["a",1]})"),
                    J(R"({"properties":{"user":{"properties":{"age":{"type":"integer"}}},
                          "tags":{"items":{"type":"string"}}},"required":["id"]})")});
  EXPECT_FALSE(r.getBool("ok"));
  const auto& errs = r.get("errors").asArray();
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].getString("path"), "$.id");
  EXPECT_EQ(errs[0].getString("message"), "required property missing");
  EXPECT_EQ(errs[1].getString("path"), "$.user.age");
  EXPECT_EQ(errs[2].getString("path"), "$.tags[1]");
  EXPECT_EQ(errs[2].getString("message"), "expected string, got integer 1");
  Value ok =
      h.call("schema.validate", {Value(5), Value(R"({"type":"integer"})")});  // JSON text schema
  EXPECT_TRUE(ok.getBool("ok"));
  Value quoted = h.call("schema.validate",
                        {J(R"({"a: b":1})"), J(R"({"properties":{"a: b":{"type":"string"}}})")});
  EXPECT_EQ(quoted.get("errors").asArray()[0].getString("path"), "$[\"a: b\"]");
}

TEST(SchemaModule, CheckRaisesValidationFailed) {
  Harness h;
  Error e = h.error("schema.check", {Value("x"), J(R"({"type":"integer"})")});
  EXPECT_EQ(e.code, codes::kValidationFailed);
  EXPECT_EQ(e.details.get("errors").asArray().size(), 1u);
  EXPECT_EQ(h.call("schema.check", {Value(3), J(R"({"type":"integer"})")}).asInt(), 3);
}

TEST(SchemaModule, InferredSchemaAcceptsTheExample) {
  Harness h;
  Value example = J(R"({"name":"x","n":1,"items":[{"id":1,"v":2.5},{"id":2}],"mixed":[1,"a"]})");
  Value s = h.call("schema.infer", {example});
  EXPECT_EQ(s.getString("type"), "object");
  EXPECT_EQ(s.get("properties").get("n").getString("type"), "integer");
  const Value& item = s.get("properties").get("items").get("items");
  EXPECT_EQ(item.get("required").asArray().size(), 1u);  // only "id" is in every item
  EXPECT_TRUE(h.call("schema.validate", {example, s}).getBool("ok"));
  EXPECT_FALSE(h.call("schema.validate", {J(R"({"name":1})"), s}).getBool("ok"));
}

}  // namespace
}  // namespace llmspell
