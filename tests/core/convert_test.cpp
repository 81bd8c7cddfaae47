// JSON and YAML conversions are exact: order, integer vs double, nesting, errors with positions.
#include <gtest/gtest.h>

#include <cmath>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

using namespace llmspell;

namespace {
// "k12" (appended, not "k" + ...: GCC 12 -O3 warns falsely on literal-first concatenation).
std::string numbered(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}
}  // namespace

TEST(Json, RoundTripKeepsOrderAndNumberKinds) {
  std::string text = R"({"z":1,"a":[1,2.5,"x",null,true],"m":{"k":-9223372036854775808}})";
  Value v = parseJson(text);
  EXPECT_EQ(v.asObject().entries()[0].first, "z");
  EXPECT_TRUE(v.get("a").asArray()[0].isInt());
  EXPECT_TRUE(v.get("a").asArray()[1].isDouble());
  EXPECT_EQ(v.get("m").getInt("k"), INT64_MIN);
  EXPECT_EQ(toJsonText(v), text);
}

TEST(Json, BigUnsignedBecomesDouble) {
  Value v = parseJson("18446744073709551615");
  EXPECT_TRUE(v.isDouble());
}

TEST(Json, SyntaxErrorNamesLineAndColumn) {
  try {
    parseJson("{\n  \"a\": 1,\n  oops\n}");
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
    EXPECT_NE(e.error().message.find("line 3"), std::string::npos) << e.error().message;
  }
}

TEST(Json, RefusesNaNAndFunctions) {
  EXPECT_THROW(toJsonText(Value(std::nan(""))), Exception);
  EXPECT_THROW(toJsonText(Value(Value::object({{"p", Value(PromisePtr())}}))), Exception);
}

TEST(Json, SortKeysAndPretty) {
  Value v = parseJson(R"({"b":1,"a":2})");
  EXPECT_EQ(toJsonText(v, {.sortKeys = true}), R"({"a":2,"b":1})");
  EXPECT_EQ(toJsonText(v, {.pretty = true}), "{\n  \"b\": 1,\n  \"a\": 2\n}");
}

TEST(Json, BytesEncodeAsBase64) {
  EXPECT_EQ(toJsonText(Value(Bytes{"hi"})), "\"aGk=\"");
}

TEST(Yaml, ScalarsFollowTheCoreSchema) {
  Value v = parseYaml("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: hello\ng: [1, two]\nh: 0x10\n");
  EXPECT_TRUE(v.get("a").isInt());
  EXPECT_TRUE(v.get("b").isDouble());
  EXPECT_TRUE(v.get("c").asBool());
  EXPECT_TRUE(v.get("d").isNull());
  EXPECT_TRUE(v.get("e").isString());
  EXPECT_EQ(v.get("f").asString(), "hello");
  EXPECT_EQ(v.get("g").asArray()[1].asString(), "two");
  EXPECT_EQ(v.get("h").asInt(), 16);
}

TEST(Yaml, RoundTripQuotesAmbiguousStrings) {
  Value v = Value::object({{"s", "true"}, {"n", "12"}, {"x", 3}, {"list", Value::array({1, "a"})}});
  Value back = parseYaml(toYamlText(v));
  EXPECT_EQ(back, v);
  EXPECT_TRUE(back.get("s").isString());
}

TEST(Yaml, ErrorsHaveLines) {
  try {
    parseYaml("a: [1, 2\nb: c");
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
    EXPECT_NE(e.error().message.find("line"), std::string::npos);
  }
}

TEST(Convert, JsonOutOfRangeNumbersAreInvalidArgument) {
  for (const char* text : {"1e400", "[1, -1e400]", R"({"a": {"b": 2e308}})"}) {
    try {
      parseJson(text);
      ADD_FAILURE() << text << " decoded";
    } catch (const Exception& e) {
      EXPECT_EQ(e.error().code, "invalid_argument") << text;
      EXPECT_NE(e.error().message.find("number out of range"), std::string::npos) << e.error().message;
    }
  }
  EXPECT_EQ(parseJson("1e-400"), Value(0.0));  // underflow reads as 0, as strtod gives it
  try {
    parseYaml("a: 1\nb: 1e400\n");
    ADD_FAILURE() << "1e400 decoded";
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().message, "invalid YAML at line 2, column 4: number out of range");
  }
  EXPECT_EQ(toYamlText(parseJson(R"({"s":"1e400"})")), "s: \"1e400\"\n");
}

TEST(Convert, JsonRepeatedKeyKeepsFirstPositionAndLastValue) {
  Value v = parseJson(R"({"a":1,"b":2,"a":3})");
  ASSERT_EQ(v.asObject().size(), 2u);
  EXPECT_EQ(v.asObject().entries()[0].first, "a");
  EXPECT_EQ(v.getInt("a"), 3);
}

TEST(Convert, ManyKeysRoundTrip) {
  std::string text = "{";
  for (int i = 0; i < 50000; ++i) {
    if (i) text += ',';
    text += '"';
    text += numbered("k", i);
    text += "\":";
    text += std::to_string(i);
  }
  text += '}';
  Value v = parseJson(text);
  EXPECT_EQ(v.asObject().size(), 50000u);
  EXPECT_EQ(v.getInt("k49999"), 49999);
  EXPECT_EQ(toJsonText(v), text);
}
