// validateSchema: every supported keyword, the path format and the wording of messages.
#include <gtest/gtest.h>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"

namespace llmspell {
namespace {

std::vector<std::string> errs(std::string_view value, std::string_view schema) {
  return validateSchema(parseJson(value), parseJson(schema));
}
bool ok(std::string_view value, std::string_view schema) {
  return errs(value, schema).empty();
}
std::string first(std::string_view value, std::string_view schema) {
  auto e = errs(value, schema);
  return e.empty() ? "" : e.front();
}

TEST(Schema, TypeMismatchNamesPathAndValue) {
  EXPECT_EQ(first(R"({"age":"x"})", R"({"properties":{"age":{"type":"integer"}}})"),
            "$.age: expected integer, got string \"x\"");
}

TEST(Schema, IntegerAcceptsIntegralDoubles) {
  EXPECT_TRUE(ok("3", R"({"type":"integer"})"));
  EXPECT_TRUE(ok("3.0", R"({"type":"integer"})"));
  EXPECT_FALSE(ok("3.5", R"({"type":"integer"})"));
  EXPECT_TRUE(ok("3.5", R"({"type":"number"})"));
  EXPECT_TRUE(ok("3", R"({"type":"number"})"));
  EXPECT_FALSE(ok("\"3\"", R"({"type":"number"})"));
}

TEST(Schema, TypeLists) {
  EXPECT_TRUE(ok("null", R"({"type":["string","null"]})"));
  EXPECT_TRUE(ok("\"a\"", R"({"type":["string","null"]})"));
  EXPECT_EQ(first("1", R"({"type":["string","null"]})"),
            "$: expected string or null, got integer 1");
}

TEST(Schema, RuntimeKinds) {
  auto b = Value(Bytes{"abc"});
  EXPECT_TRUE(validateSchema(b, parseJson(R"({"type":"bytes"})")).empty());
  EXPECT_FALSE(validateSchema(b, parseJson(R"({"type":"string"})")).empty());
  auto e = Value(makeError(codes::kTimeout, "x"));
  EXPECT_TRUE(validateSchema(e, parseJson(R"({"type":"error"})")).empty());
  EXPECT_TRUE(validateSchema(e, parseJson(R"({"type":"any"})")).empty());
  auto p = Value(Promise::resolved(Value(1)));
  EXPECT_TRUE(validateSchema(p, parseJson(R"({"type":"promise"})")).empty());
  EXPECT_FALSE(validateSchema(p, parseJson(R"({"type":"function"})")).empty());
}

TEST(Schema, EnumAndConst) {
  EXPECT_TRUE(ok("\"b\"", R"({"enum":["a","b"]})"));
  EXPECT_EQ(first("\"c\"", R"({"enum":["a","b"]})"), "$: must be one of \"a\", \"b\"; got \"c\"");
  EXPECT_TRUE(ok("1.0", R"({"enum":[1,2]})"));
  EXPECT_TRUE(ok("{\"a\":1}", R"({"const":{"a":1}})"));
  EXPECT_FALSE(ok("{\"a\":2}", R"({"const":{"a":1}})"));
}

TEST(Schema, NumericBounds) {
  EXPECT_EQ(first("-1", R"({"minimum":0})"), "$: must be at least 0, got -1");
  EXPECT_EQ(first("11", R"({"maximum":10})"), "$: must be at most 10, got 11");
  EXPECT_TRUE(ok("10", R"({"maximum":10})"));
  EXPECT_FALSE(ok("10", R"({"exclusiveMaximum":10})"));
  EXPECT_FALSE(ok("0", R"({"exclusiveMinimum":0})"));
  EXPECT_TRUE(ok("0.1", R"({"exclusiveMinimum":0})"));
  EXPECT_FALSE(ok("0", R"({"minimum":0,"exclusiveMinimum":true})"));  // draft-4 form
  EXPECT_TRUE(ok("9", R"({"multipleOf":3})"));
  EXPECT_FALSE(ok("10", R"({"multipleOf":3})"));
  // Bounds do not apply to other types.
  EXPECT_TRUE(ok("\"x\"", R"({"minimum":5})"));
}

TEST(Schema, StringLengthCountsCodePoints) {
  EXPECT_TRUE(ok("\"héllo\"", R"({"maxLength":5})"));
  EXPECT_EQ(first("\"ab\"", R"({"minLength":3})"), "$: must be at least 3 characters long, got 2");
  EXPECT_FALSE(ok("\"abcdef\"", R"({"maxLength":5})"));
}

TEST(Schema, Pattern) {
  EXPECT_TRUE(ok("\"abc123\"", R"({"pattern":"^[a-z]+[0-9]+$"})"));
  EXPECT_TRUE(ok("\"xx123yy\"", R"({"pattern":"[0-9]+"})"));  // unanchored = search
  auto m = first("\"abc\"", R"({"pattern":"^[0-9]+$"})");
  EXPECT_NE(m.find("does not match the pattern"), std::string::npos) << m;
  auto bad = first("\"abc\"", R"({"pattern":"(unclosed"})");
  EXPECT_NE(bad.find("not a valid regular expression"), std::string::npos) << bad;
}

TEST(Schema, Formats) {
  EXPECT_TRUE(ok("\"a.b@example.com\"", R"({"format":"email"})"));
  EXPECT_FALSE(ok("\"not an email\"", R"({"format":"email"})"));
  EXPECT_FALSE(ok("\"a@b\"", R"({"format":"email"})"));
  EXPECT_TRUE(ok("\"https://example.com/x?y=1\"", R"({"format":"uri"})"));
  EXPECT_FALSE(ok("\"example com\"", R"({"format":"uri"})"));
  EXPECT_TRUE(ok("\"2024-02-29T12:30:00Z\"", R"({"format":"date-time"})"));
  EXPECT_TRUE(ok("\"2024-02-29T12:30:00.123+02:00\"", R"({"format":"date-time"})"));
  EXPECT_FALSE(ok("\"2024-13-01T00:00:00Z\"", R"({"format":"date-time"})"));
  EXPECT_FALSE(ok("\"2024-01-01\"", R"({"format":"date-time"})"));
  EXPECT_EQ(first("\"yesterday\"", R"({"format":"date-time"})"),
            "$: \"yesterday\" is not a valid date-time");
  EXPECT_TRUE(ok("\"anything\"", R"({"format":"made-up"})"));
}

TEST(Schema, ArraysItemsAndPaths) {
  EXPECT_EQ(first(R"({"tags":["a","b",3]})",
                  R"({"properties":{"tags":{"type":"array","items":{"type":"string"}}}})"),
            "$.tags[2]: expected string, got integer 3");
  EXPECT_EQ(first("[1]", R"({"minItems":2})"), "$: must have at least 2 items, got 1");
  EXPECT_EQ(first("[1,2,3]", R"({"maxItems":2})"), "$: must have at most 2 items, got 3");
  EXPECT_FALSE(ok("[1,2,1]", R"({"uniqueItems":true})"));
  EXPECT_TRUE(ok("[1,2,3]", R"({"uniqueItems":true})"));
  EXPECT_TRUE(ok("[1,\"a\"]", R"({"items":[{"type":"integer"},{"type":"string"}]})"));
  EXPECT_FALSE(ok("[\"a\",1]", R"({"items":[{"type":"integer"},{"type":"string"}]})"));
}

TEST(Schema, ObjectsRequiredAndAdditional) {
  const char* s = R"({"type":"object","properties":{"name":{"type":"string"},
      "user":{"type":"object","properties":{"age":{"type":"integer","minimum":0}}}},
      "required":["name"],"additionalProperties":false})";
  EXPECT_EQ(first(R"({})", s), "$.name: required property missing");
  EXPECT_EQ(first(R"({"name":"a","user":{"age":-2}})", s),
            "$.user.age: must be at least 0, got -2");
  auto e = errs(R"({"name":"a","extra":1})", s);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "$.extra: unknown property (allowed: name, user)");
  EXPECT_TRUE(ok(R"({"a":1,"b":2})", R"({"additionalProperties":{"type":"integer"}})"));
  EXPECT_EQ(first(R"({"a":1,"b":"x"})", R"({"additionalProperties":{"type":"integer"}})"),
            "$.b: expected integer, got string \"x\"");
  // Keys that are not identifiers are quoted.
  EXPECT_EQ(first(R"({"a b":"x"})", R"({"properties":{"a b":{"type":"integer"}}})"),
            "$[\"a b\"]: expected integer, got string \"x\"");
}

TEST(Schema, ReportsEveryError) {
  auto e =
      errs(R"({"a":"x","b":"y"})",
           R"({"properties":{"a":{"type":"integer"},"b":{"type":"integer"}},"required":["c"]})");
  EXPECT_EQ(e.size(), 3u);
}

TEST(Schema, NullPropertyCountsAsAbsent) {
  EXPECT_TRUE(ok(R"({"a":null})", R"({"properties":{"a":{"type":"integer"}}})"));
  EXPECT_FALSE(ok(R"({"a":null})", R"({"properties":{"a":{"type":"integer"}},"required":["a"]})"));
}

TEST(Schema, EmptyTableIsBothArrayAndObject) {
  EXPECT_TRUE(ok("{}", R"({"type":"array"})"));
  EXPECT_TRUE(ok("[]", R"({"type":"object"})"));
  EXPECT_FALSE(ok("{}", R"({"type":"array","minItems":1})"));
  EXPECT_FALSE(ok("[]", R"({"type":"object","required":["a"]})"));
  EXPECT_FALSE(ok(R"({"a":1})", R"({"type":"array"})"));
}

TEST(Schema, Combinators) {
  const char* any = R"({"anyOf":[{"type":"string"},{"type":"integer","minimum":10}]})";
  EXPECT_TRUE(ok("\"x\"", any));
  EXPECT_TRUE(ok("12", any));
  auto m = first("5", any);
  EXPECT_NE(m.find("$: does not match any allowed schema"), std::string::npos) << m;
  EXPECT_NE(m.find("option 2: $: must be at least 10, got 5"), std::string::npos) << m;

  const char* one = R"({"oneOf":[{"type":"integer"},{"type":"number"}]})";
  EXPECT_TRUE(ok("1.5", one));
  EXPECT_NE(first("1", one).find("must match exactly one"), std::string::npos);
  EXPECT_FALSE(ok("\"s\"", one));

  EXPECT_FALSE(ok("5", R"({"allOf":[{"type":"integer"},{"maximum":3}]})"));
  EXPECT_TRUE(ok("2", R"({"allOf":[{"type":"integer"},{"maximum":3}]})"));
  EXPECT_FALSE(ok("\"a\"", R"({"not":{"type":"string"}})"));
  EXPECT_TRUE(ok("1", R"({"not":{"type":"string"}})"));
}

TEST(Schema, BooleanSchemasAndIfThen) {
  EXPECT_TRUE(ok("1", "true"));
  EXPECT_FALSE(ok("1", "false"));
  const char* s = R"({"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"]},
                      "else":{"required":["y"]}})";
  EXPECT_FALSE(ok(R"({"kind":"a"})", s));
  EXPECT_TRUE(ok(R"({"kind":"a","x":1})", s));
  EXPECT_TRUE(ok(R"({"kind":"b","y":1})", s));
}

TEST(Schema, LocalRefs) {
  const char* s = R"({"$defs":{"pos":{"type":"integer","minimum":1}},
      "properties":{"n":{"$ref":"#/$defs/pos"},"list":{"type":"array","items":{"$ref":"#"}}}})";
  EXPECT_TRUE(ok(R"({"n":3})", s));
  EXPECT_EQ(first(R"({"n":0})", s), "$.n: must be at least 1, got 0");
  EXPECT_EQ(first(R"({"list":[{"n":-1}]})", s), "$.list[0].n: must be at least 1, got -1");
  EXPECT_NE(first("1", R"({"$ref":"#/nope"})").find("cannot be resolved"), std::string::npos);
}

// JSON pointer escapes in a $ref: ~1 is '/', ~0 is '~', and ~01 is "~1" (not '/').
TEST(Schema, RefPointerEscapes) {
  const char* s = R"({"$defs":{"a/b":{"type":"integer"},"m~n":{"type":"string"},"~1":{"type":"boolean"}},
      "properties":{"x":{"$ref":"#/$defs/a~1b"},"y":{"$ref":"#/$defs/m~0n"},"z":{"$ref":"#/$defs/~01"}}})";
  EXPECT_TRUE(ok(R"({"x":1,"y":"s","z":true})", s));
  EXPECT_EQ(first(R"({"x":"s"})", s), "$.x: expected integer, got string \"s\"");
  EXPECT_EQ(first(R"({"y":1})", s), "$.y: expected string, got integer 1");
  EXPECT_EQ(first(R"({"z":1})", s), "$.z: expected boolean, got integer 1");
}

TEST(Schema, CustomRootPath) {
  auto e = validateSchema(parseJson(R"({"pretty":"yes"})"),
                          parseJson(R"({"properties":{"pretty":{"type":"boolean"}}})"), "opts");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "opts.pretty: expected boolean, got string \"yes\"");
}

TEST(Schema, DeepNestingDoesNotCrash) {
  // A self-referencing schema over a deeply nested value stops at the depth limit.
  Value v = Value::array();
  Value cur = v;
  for (int i = 0; i < 1000; ++i) {
    Value next = Value::array();
    cur.asArray().push(next);
    cur = next;
  }
  auto e = validateSchema(v, parseJson(R"({"type":"array","items":{"$ref":"#"}})"));
  ASSERT_FALSE(e.empty());
  EXPECT_NE(e[0].find("nested too deeply"), std::string::npos);
}

TEST(Schema, UnknownKeywordsAreIgnored) {
  EXPECT_TRUE(ok("1", R"({"type":"integer","description":"n","default":3,"x-custom":true})"));
}

}  // namespace
}  // namespace llmspell
