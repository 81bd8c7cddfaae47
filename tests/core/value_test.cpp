// Value semantics: kinds, equality, object order and lookups, deep copies.
#include <gtest/gtest.h>

#include "llmspell/core/error.hpp"
#include "llmspell/core/value.hpp"

using namespace llmspell;

namespace {
// "k12" (appended, not "k" + ...: GCC 12 -O3 warns falsely on literal-first concatenation).
std::string numbered(const char* prefix, int i) {
  std::string s = prefix;
  s += std::to_string(i);
  return s;
}
}  // namespace

TEST(Value, KindsAndAccessors) {
  EXPECT_TRUE(Value().isNull());
  EXPECT_EQ(Value(int64_t{5}).asInt(), 5);
  EXPECT_EQ(Value(2.5).asDouble(), 2.5);
  EXPECT_EQ(Value("x").asString(), "x");
  EXPECT_TRUE(Value(Bytes{"\x01"}).isBytes());
  EXPECT_EQ(Value(true).kindName(), "boolean");
  EXPECT_FALSE(Value(false).truthy());
  EXPECT_FALSE(Value().truthy());
  EXPECT_TRUE(Value(0).truthy());
}

TEST(Value, EqualityIsStructuralAndNumeric) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_NE(Value(1), Value("1"));
  Value a = Value::object({{"x", Value::array({1, 2})}});
  Value b = Value::object({{"x", Value::array({1, 2})}});
  EXPECT_EQ(a, b);
  b.get("x").asArray().push(3);
  EXPECT_NE(a, b);
}

TEST(Value, ObjectKeepsInsertionOrderAndIndexesLargeObjects) {
  auto o = std::make_shared<Object>();
  for (int i = 0; i < 100; ++i) {
    std::string key = "k";  // (appended, not "k" + ...: GCC 12 -O3 warns falsely on that)
    key += std::to_string(99 - i);
    o->set(key, Value(i));
  }
  EXPECT_EQ(o->entries().front().first, "k99");
  ASSERT_NE(o->find("k5"), nullptr);
  EXPECT_EQ(o->find("k5")->asInt(), 94);
  o->set("k5", Value("replaced"));
  EXPECT_EQ(o->find("k5")->asString(), "replaced");
  EXPECT_EQ(o->size(), 100u);
  EXPECT_TRUE(o->erase("k5"));
  EXPECT_EQ(o->find("k5"), nullptr);
  EXPECT_EQ(o->find("k6")->asInt(), 93);
}

// The index is kept up to date on append, rebuilt after erase and after entries() is replaced.
TEST(Value, ObjectIndexSurvivesGrowthEraseAndReplacement) {
  Object o;
  for (int i = 0; i < 5000; ++i) o.set(numbered("k", i), Value(i));
  for (int i = 0; i < 5000; i += 7) ASSERT_EQ(o.find(numbered("k", i))->asInt(), i);
  EXPECT_EQ(o.find("k5000"), nullptr);
  EXPECT_TRUE(o.erase("k10"));
  EXPECT_EQ(o.find("k10"), nullptr);
  EXPECT_EQ(o.find("k11")->asInt(), 11);
  o["k10"] = Value("back");
  EXPECT_EQ(o.entries().back().first, "k10");
  EXPECT_EQ(o.find("k10")->asString(), "back");
  std::vector<Object::Entry> fresh;
  for (int i = 0; i < 20; ++i) fresh.emplace_back(numbered("n", i), Value(i));
  o.entries() = std::move(fresh);
  EXPECT_EQ(o.find("k1"), nullptr);
  EXPECT_EQ(o.find("n19")->asInt(), 19);
  o.set("n19", Value(-1));
  EXPECT_EQ(o.size(), 20u);
  EXPECT_EQ(o.find("n19")->asInt(), -1);
}

TEST(Value, SharedContainersAndDeepCopy) {
  Value a = Value::array({Value::object({{"n", 1}})});
  Value alias = a;
  Value copy = a.deepCopy();
  a.asArray()[0].asObject().set("n", Value(2));
  EXPECT_EQ(alias.asArray()[0].getInt("n"), 2);
  EXPECT_EQ(copy.asArray()[0].getInt("n"), 1);
}

TEST(Error, ObjectRoundTrip) {
  Error e(codes::kRateLimited, "slow down", true);
  e.details = Value::object({{"retry_after", 2}});
  e.source = "main.lua";
  e.line = 3;
  Error back = Error::fromValue(e.toObject());
  EXPECT_EQ(back.code, "rate_limited");
  EXPECT_EQ(back.message, "slow down");
  EXPECT_TRUE(back.retryable);
  EXPECT_EQ(back.line, 3);
  EXPECT_EQ(back.details.getInt("retry_after"), 2);
  EXPECT_EQ(e.toString(), "rate_limited: slow down (at main.lua:3)");
  EXPECT_EQ(standardErrorCodes().size(), 14u);
}
