// redactSecrets: registered secrets masked by value in every form they take in text.
#include <gtest/gtest.h>

#include "llmspell/core/log.hpp"

using namespace llmspell;

TEST(Redact, RegisteredSecretsAreMaskedRawPercentEncodedAndJsonEscaped) {
  addSecret("q9+Zt/Kw=secretvalue");
  EXPECT_EQ(redactSecrets("key q9+Zt/Kw=secretvalue."), "key [REDACTED].");
  EXPECT_EQ(redactSecrets("?key=q9%2BZt%2FKw%3Dsecretvalue&x=1"), "?key=[REDACTED]&x=1");
  EXPECT_EQ(redactSecrets("?key=q9%2bZt%2fKw%3dsecretvalue"), "?key=[REDACTED]");
  EXPECT_EQ(redactSecrets(R"({"k":"q9+Zt\/Kw=secretvalue"})"), R"({"k":"[REDACTED]"})");
  // A key with no known shape (64 hex digits), twice in one text.
  std::string hex(64, 'a');
  for (size_t i = 0; i < hex.size(); i += 3) hex[i] = '7';
  addSecret(hex);
  EXPECT_EQ(redactSecrets(hex + " and " + hex), "[REDACTED] and [REDACTED]");
}

TEST(Redact, ShortValuesAreNotMaskedAndKnownShapesStillAre) {
  addSecret("k");
  addSecret("");
  EXPECT_EQ(redactSecrets("a key k"), "a key k");
  EXPECT_EQ(redactSecrets("Bearer abcdefghij1234"), "[REDACTED]");
  EXPECT_EQ(redactSecrets("sk-proj-0123456789abc"), "[REDACTED]");
}

TEST(Redact, ValuesAreWalked) {
  addSecret("walked-secret-0123");
  Value v = Value::object({{"a", "x walked-secret-0123"}, {"b", Value::array({"walked-secret-0123", 3})}});
  Value r = redactValue(v);
  EXPECT_EQ(r.getString("a"), "x [REDACTED]");
  EXPECT_EQ(r.get("b").asArray()[0].asString(), "[REDACTED]");
  EXPECT_EQ(r.get("b").asArray()[1].asInt(), 3);
}
