// errors module: error values, and try/retry/fallback driving script-like functions on a loop.
#include <gtest/gtest.h>

#include "harness.hpp"

namespace llmspell {
namespace {

using testing::asyncFnValue;
using testing::fnValue;
using testing::Harness;
using testing::J;

Value failing(std::string_view code, std::string msg, int* calls = nullptr) {
  return fnValue([code = std::string(code), msg, calls](std::vector<Value>) -> Value {
    if (calls) ++*calls;
    throw Exception(code, msg);
  });
}

TEST(ErrorsModule, NewIsWrap) {
  Harness h;
  Value e = h.call("errors.new", {Value("timeout"), Value("slow"), J(R"({"ms":5})")});
  ASSERT_TRUE(e.isError());
  EXPECT_EQ(e.asError()->code, "timeout");
  EXPECT_TRUE(e.asError()->retryable);
  EXPECT_EQ(e.asError()->details.getInt("ms"), 5);
  Value custom =
      h.call("errors.new", {Value("my_code"), Value("m"), Value(), J(R"({"retryable":true})")});
  EXPECT_TRUE(custom.asError()->retryable);
  EXPECT_FALSE(h.call("errors.new", {Value("not_found"), Value("m")}).asError()->retryable);

  Value w = h.call("errors.wrap", {e, Value("loading config")});
  EXPECT_EQ(w.asError()->message, "loading config: slow");
  EXPECT_EQ(w.asError()->code, "timeout");
  ASSERT_TRUE(w.asError()->cause);
  EXPECT_EQ(w.asError()->cause->message, "slow");
  Value w2 = h.call("errors.wrap", {w, Value("startup")});
  EXPECT_EQ(w2.asError()->message, "startup: loading config: slow");

  EXPECT_TRUE(h.call("errors.is", {w2, Value("timeout")}).asBool());
  EXPECT_FALSE(h.call("errors.is", {w2, Value("not_found")}).asBool());
  EXPECT_TRUE(h.call("errors.is", {J(R"({"code":"not_found","message":"x"})"), Value("not_found")})
                  .asBool());
  EXPECT_FALSE(h.call("errors.is", {Value(), Value("not_found")}).asBool());
  // A wrapped error with a different code still matches through its cause.
  Value other = h.call("errors.new", {Value("internal"), Value("x")});
  other.asError()->cause = e.asError();
  EXPECT_TRUE(h.call("errors.is", {other, Value("timeout")}).asBool());
}

TEST(ErrorsModule, AggregateAndCodes) {
  Harness h;
  Value a = h.call("errors.new", {Value("timeout"), Value("a")});
  Value b = h.call("errors.new", {Value("timeout"), Value("b")});
  Value agg = h.call("errors.aggregate", {Value::array({a, b})});
  EXPECT_EQ(agg.asError()->code, "timeout");
  EXPECT_EQ(agg.asError()->message, "2 errors: a; b");
  EXPECT_EQ(agg.asError()->details.get("errors").asArray().size(), 2u);
  EXPECT_EQ(h.error("errors.aggregate", {Value::array()}).code, codes::kInvalidArgument);
  Value codesList = h.call("errors.codes");
  EXPECT_EQ(codesList.asArray().size(), standardErrorCodes().size());
  EXPECT_EQ(codesList.asArray()[0].asString(), "invalid_argument");
}

TEST(ErrorsModule, TryCatchFinally) {
  Harness h;
  int finallyCalls = 0;
  Value fin = fnValue([&](std::vector<Value>) {
    ++finallyCalls;
    return Value();
  });
  Value ok = fnValue([](std::vector<Value>) { return Value(42); });
  EXPECT_EQ(h.call("errors.try", {ok, Value(), fin}).asInt(), 42);
  EXPECT_EQ(finallyCalls, 1);

  Value seen;
  Value handler = fnValue([&](std::vector<Value> a) {
    seen = a.at(0);
    return Value("recovered");
  });
  EXPECT_EQ(h.call("errors.try", {failing("not_found", "no such thing"), handler, fin}).asString(),
            "recovered");
  ASSERT_TRUE(seen.isError());
  EXPECT_EQ(seen.asError()->code, "not_found");
  EXPECT_EQ(finallyCalls, 2);

  // No catch: the error propagates after finally runs.
  Error e = h.error("errors.try", {failing("timeout", "slow"), Value(), fin});
  EXPECT_EQ(e.code, "timeout");
  EXPECT_EQ(finallyCalls, 3);

  // A failing catch replaces the error; a failing finally wins over a value.
  EXPECT_EQ(h.error("errors.try", {failing("timeout", "a"), failing("internal", "b")}).message,
            "b");
  EXPECT_EQ(h.error("errors.try", {ok, Value(), failing("internal", "fin")}).message, "fin");
}

TEST(ErrorsModule, TryWaitsForAsyncWork) {
  Harness h;
  Loop& loop = h.loop();
  Value slow = asyncFnValue([&loop](std::vector<Value>) {
    auto p = Promise::create();
    loop.setTimeout(0.01, [p] { p->resolve(Value("late")); });
    return p;
  });
  EXPECT_EQ(h.call("errors.try", {slow}).asString(), "late");
}

TEST(ErrorsModule, RetryUntilSuccess) {
  Harness h;
  std::vector<int64_t> attempts;
  Value flaky = fnValue([&](std::vector<Value> a) -> Value {
    attempts.push_back(a.at(0).asInt());
    if (attempts.size() < 3) throw Exception(codes::kRateLimited, "slow down", true);
    return Value("done");
  });
  EXPECT_EQ(h.call("errors.retry", {flaky, J(R"({"attempts":5,"backoff":0.001,"jitter":true})")})
                .asString(),
            "done");
  EXPECT_EQ(attempts, (std::vector<int64_t>{1, 2, 3}));
}

TEST(ErrorsModule, RetryGivesUpWithContext) {
  Harness h;
  int calls = 0;
  Error e = h.error("errors.retry", {failing("network_error", "connection reset", &calls),
                                     J(R"({"attempts":3,"backoff":0.001})")});
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(e.code, "network_error");
  EXPECT_EQ(e.message, "errors.retry: gave up after 3 attempts: connection reset");
  ASSERT_TRUE(e.cause);
  EXPECT_EQ(e.cause->message, "connection reset");
}

TEST(ErrorsModule, RetryOnlyListedCodes) {
  Harness h;
  int calls = 0;
  Error e = h.error("errors.retry", {failing("invalid_argument", "bad", &calls),
                                     J(R"({"attempts":5,"backoff":0.001,"on":["timeout"]})")});
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(e.message, "bad");
  calls = 0;
  h.error("errors.retry", {failing("permission_denied", "no", &calls), J(R"({"backoff":0.001})")});
  EXPECT_EQ(calls, 1);  // hard stops are never retried
}

TEST(ErrorsModule, RetryIsCancelledByTimeout) {
  Harness h;
  int calls = 0;
  // Backoff of 10s would block a long time; the call's timeout cancels the pending sleep.
  Error e = h.error("errors.retry", {failing("timeout", "x", &calls),
                                     J(R"({"attempts":5,"backoff":10,"timeout":0.05})")});
  EXPECT_EQ(e.code, codes::kTimeout);
  EXPECT_NE(e.message.find("errors.retry timed out"), std::string::npos) << e.message;
  EXPECT_EQ(calls, 1);
}

TEST(ErrorsModule, Fallback) {
  Harness h;
  int calls = 0;
  Value good = fnValue([](std::vector<Value>) { return Value("second"); });
  EXPECT_EQ(
      h.call("errors.fallback", {Value::array({failing("timeout", "a", &calls), good})}).asString(),
      "second");
  EXPECT_EQ(calls, 1);
  Error e = h.error(
      "errors.fallback",
      {Value::array({failing("timeout", "first down"), failing("not_found", "second down")})});
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.message, "errors.fallback: all 2 alternatives failed: 1) first down; 2) second down");
  EXPECT_EQ(e.details.get("errors").asArray().size(), 2u);
  EXPECT_EQ(h.error("errors.fallback", {Value::array({Value(1)})}).code, codes::kInvalidArgument);
}

}  // namespace
}  // namespace llmspell
