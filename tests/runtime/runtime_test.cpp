// The loop, timers, the blocking pool, promises and their combinators, cancellation.
#include <gtest/gtest.h>

#include <atomic>

#include "llmspell/runtime/loop.hpp"

using namespace llmspell;

TEST(Promise, SettlesOnceAndRunsCallbacksInOrder) {
  auto p = Promise::create();
  std::vector<int> seen;
  p->onSettle([&](const Promise&) { seen.push_back(1); });
  p->onSettle([&](const Promise&) { seen.push_back(2); });
  p->resolve(Value(5));
  p->reject(Error(codes::kInternal, "ignored"));
  EXPECT_TRUE(p->fulfilled());
  EXPECT_EQ(p->value().asInt(), 5);
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  p->onSettle([&](const Promise&) { seen.push_back(3); });
  EXPECT_EQ(seen.size(), 3u);
}

TEST(Promise, AdoptsAnInnerPromise) {
  auto inner = Promise::create();
  auto outer = Promise::create();
  outer->resolve(Value(inner));
  EXPECT_TRUE(outer->pending());
  inner->resolve(Value("x"));
  EXPECT_EQ(outer->value().asString(), "x");
}

TEST(Promise, CancelRunsTheCanceller) {
  auto p = Promise::create();
  bool aborted = false;
  p->setCanceller([&] { aborted = true; });
  p->cancel(Error(codes::kTimeout, "t"));
  EXPECT_TRUE(aborted);
  EXPECT_EQ(p->error().code, "timeout");
}

TEST(Loop, ConcurrentSleepsTakeTheLongest) {
  Loop loop;
  std::vector<PromisePtr> ps;
  for (int i = 0; i < 200; ++i) ps.push_back(loop.sleep(0.05));
  auto all = promiseAll(ps);
  auto start = std::chrono::steady_clock::now();
  loop.runUntil([&] { return !all->pending(); });
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_TRUE(all->fulfilled());
  EXPECT_EQ(all->value().asArray().size(), 200u);
  EXPECT_GE(secs, 0.045);  // a lower bound only: no timing thresholds on the fast side
}

TEST(Loop, RunBlockingSettlesOnTheLoopThread) {
  Loop loop;
  std::thread::id loopThread = std::this_thread::get_id(), settledOn;
  auto p = loop.runBlocking([] { return Value(42); });
  p->onSettle([&](const Promise&) { settledOn = std::this_thread::get_id(); });
  auto bad = loop.runBlocking([]() -> Value { fail(codes::kNotFound, "missing"); });
  loop.runUntil([&] { return !p->pending() && !bad->pending(); });
  EXPECT_EQ(p->value().asInt(), 42);
  EXPECT_EQ(settledOn, loopThread);
  EXPECT_EQ(bad->error().code, "not_found");
}

TEST(Loop, RunUntilReturnsWhenNothingCanHappen) {
  Loop loop;
  auto never = Promise::create();
  EXPECT_FALSE(loop.runUntil([&] { return !never->pending(); }));
}

TEST(Combinators, AllRejectsAndCancelsTheRest) {
  Loop loop;
  auto slow = loop.sleep(10);
  auto failing = Promise::rejected(Error(codes::kNotFound, "x"));
  auto all = promiseAll({slow, failing});
  EXPECT_TRUE(all->rejected());
  EXPECT_TRUE(slow->rejected());  // cancelled: its timer no longer keeps the loop busy
  loop.run();
}

TEST(Combinators, RaceAnyAllSettled) {
  Loop loop;
  auto fast = loop.sleep(0.01);
  auto slow = loop.sleep(5);
  auto race = promiseRace({slow, fast});
  loop.runUntil([&] { return !race->pending(); });
  EXPECT_TRUE(race->fulfilled());
  auto any = promiseAny({Promise::rejected(Error(codes::kTimeout, "a")), Promise::resolved(Value(2))});
  EXPECT_EQ(any->value().asInt(), 2);
  auto none = promiseAny({Promise::rejected(Error(codes::kTimeout, "a"))});
  EXPECT_TRUE(none->rejected());
  auto settled = promiseAllSettled({Promise::resolved(Value(1)), Promise::rejected(Error(codes::kTimeout, "b"))});
  EXPECT_EQ(settled->value().asArray()[1].getString("status"), "rejected");
}

TEST(CancelScope, CancelsEverythingInFlight) {
  Loop loop;
  CancelScope scope;
  auto a = loop.sleep(10), b = loop.sleep(10);
  scope.add(a);
  scope.add(b);
  scope.cancelAll(Error(codes::kLimitExceeded, "stop"));
  EXPECT_EQ(a->error().code, "limit_exceeded");
  EXPECT_EQ(b->error().code, "limit_exceeded");
  auto late = loop.sleep(10);
  scope.add(late);
  EXPECT_TRUE(late->rejected());
  loop.run();
}
