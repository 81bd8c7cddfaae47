// Event bus: pattern table, delivery order and isolation, loops and threads, wait, recording,
// replay and statistics.
#include "llmspell/events/bus.hpp"

#include <gtest/gtest.h>

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <typeindex>
#include <unordered_map>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell {
namespace {

struct Case {
  const char* pattern;
  const char* name;
  bool match;
};

TEST(EventPattern, Table) {
  const Case cases[] = {
      {"a", "a", true},
      {"a", "b", false},
      {"a", "a.b", false},
      {"a.b", "a.b", true},
      {"a.b", "a.bc", false},
      {"a.b", "a", false},
      {"*", "a", true},
      {"*", "a.b", false},
      {"a.*", "a.b", true},
      {"a.*", "a", false},
      {"a.*", "a.b.c", false},
      {"*.b", "a.b", true},
      {"*.b", "a.c", false},
      {"*.*", "a.b", true},
      {"*.*", "a.b.c", false},
      {"**", "a", true},
      {"**", "a.b.c.d", true},
      {"a.**", "a", true},  // ** matches zero segments
      {"a.**", "a.b", true},
      {"a.**", "a.b.c", true},
      {"a.**", "ab", false},
      {"a.**", "ab.c", false},
      {"a.**", "b.a", false},
      {"**.c", "c", true},
      {"**.c", "a.b.c", true},
      {"**.c", "a.b.cd", false},
      {"**.c", "a.c.d", false},
      {"a.**.c", "a.c", true},
      {"a.**.c", "a.b.c", true},
      {"a.**.c", "a.b.x.c", true},
      {"a.**.c", "a.b.x.d", false},
      {"a.**.c", "a.c.c", true},
      {"a.*.c", "a.b.c", true},
      {"a.*.c", "a.c", false},
      {"a.*.c", "a.b.b.c", false},
      {"**.*", "a", true},
      {"**.*", "a.b", true},
      {"*.**", "a", true},
      {"a.**.**.b", "a.b", true},
      {"a.**.b.*", "a.x.b.y", true},
      {"a.**.b.*", "a.x.b", false},
      {"a.**.b.**.c", "a.b.c", true},
      {"a.**.b.**.c", "a.x.b.y.z.c", true},
      {"a.**.b.**.c", "a.x.c.y.b", false},
      {"llm.*", "llm.request", true},
      {"llm.*", "llm", false},
      {"order.created", "order.created", true},
  };
  for (const auto& c : cases) {
    auto p = EventPattern::compile(c.pattern);
    EXPECT_EQ(p.matches(c.name), c.match)
        << "pattern '" << c.pattern << "' name '" << c.name << "'";
  }
}

TEST(EventPattern, LongNames) {
  std::string name;
  for (int i = 0; i < 40; ++i) name += (i ? ".s" : "s") + std::to_string(i);
  EXPECT_TRUE(EventPattern::compile("s0.**.s39").matches(name));
  EXPECT_TRUE(EventPattern::compile("**.s20.**").matches(name));
  EXPECT_FALSE(EventPattern::compile("**.s40").matches(name));
}

TEST(EventPattern, RejectsBadPatterns) {
  for (const char* bad : {"", ".", "a.", ".a", "a..b", "a*", "*a.b", "a.b**", "a b"}) {
    try {
      EventPattern::compile(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Exception& e) {
      EXPECT_EQ(e.error().code, codes::kInvalidArgument) << bad;
    }
  }
}

TEST(EventBus, RejectsBadNames) {
  EventBus bus;
  for (const char* bad : {"", "a..b", "a.*", ".a", "a b"}) {
    try {
      bus.emit(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Exception& e) {
      EXPECT_EQ(e.error().code, codes::kInvalidArgument);
    }
  }
}

TEST(EventBus, DeliversInSubscriptionOrderAndIsolatesFailures) {
  EventBus bus;
  std::vector<std::string> seen;
  bus.subscribe("order.**", [&](const Event& e) { seen.push_back("a:" + e.name); });
  bus.subscribe("order.created", [&](const Event&) { throw std::runtime_error("boom"); });
  bus.subscribe("order.created", [&](const Event& e) {
    seen.push_back("c:" + std::to_string(e.data.getInt("id")));
  });
  bus.subscribe("*.created", [&](const Event& e) { seen.push_back("d:" + e.name); });
  bus.subscribe("user.*", [&](const Event& e) { seen.push_back("x:" + e.name); });
  uint64_t seq = bus.emit("order.created", Value::object({{"id", 7}}));
  EXPECT_EQ(seq, 1u);
  std::vector<std::string> want = {"a:order.created", "c:7", "d:order.created"};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(bus.errorCount(), 1u);
}

TEST(EventBus, OnceAndOff) {
  EventBus bus;
  int once = 0, many = 0;
  bus.subscribe(
      "t", [&](const Event&) { ++once; }, nullptr, true);
  uint64_t id = bus.subscribe("t", [&](const Event&) { ++many; });
  bus.emit("t");
  bus.emit("t");
  EXPECT_EQ(once, 1);
  EXPECT_EQ(many, 2);
  EXPECT_TRUE(bus.off(id));
  EXPECT_FALSE(bus.off(id));
  bus.emit("t");
  EXPECT_EQ(many, 2);
  EXPECT_EQ(bus.subscriberCount(), 0u);
}

TEST(EventBus, UnsubscribeDuringDelivery) {
  EventBus bus;
  int second = 0;
  uint64_t id2 = 0;
  bus.subscribe("t", [&](const Event&) { bus.off(id2); });
  id2 = bus.subscribe("t", [&](const Event&) { ++second; });
  bus.emit("t");
  EXPECT_EQ(second, 0);
}

TEST(EventBus, ManySubscribers) {
  EventBus bus;
  std::vector<int> hits(500, 0);
  for (int i = 0; i < 500; ++i) {
    std::string pat = i % 3 == 0 ? "load.x" : i % 3 == 1 ? "load.*" : "**";
    bus.subscribe(pat, [&hits, i](const Event&) { ++hits[i]; });
  }
  for (int k = 0; k < 10; ++k) bus.emit("load.x");
  bus.emit("other");
  for (int i = 0; i < 500; ++i) EXPECT_EQ(hits[i], i % 3 == 2 ? 11 : 10) << i;
}

TEST(EventBus, CrossThreadDeliveryRunsOnTheSubscribersLoop) {
  EventBus bus;
  Loop loop(1);
  std::thread::id loopThread = std::this_thread::get_id();
  int got = 0;
  bool sameThread = true;
  bus.subscribe(
      "work.done",
      [&](const Event& e) {
        sameThread = sameThread && std::this_thread::get_id() == loopThread;
        got += static_cast<int>(e.data.getInt("n"));
      },
      &loop);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 250; ++i) bus.emit("work.done", Value::object({{"n", 1}}));
    });
  for (auto& t : ts) t.join();
  loop.runUntil([&] { return got == 1000; });
  EXPECT_EQ(got, 1000);
  EXPECT_TRUE(sameThread);
}

TEST(EventBus, WaitResolvesWithTheNextMatchingEvent) {
  EventBus bus;
  Loop loop(1);
  auto p = bus.wait(loop, "job.*", 5);
  std::thread t([&] {
    bus.emit("other.thing");
    bus.emit("job.finished", Value::object({{"ok", true}}));
  });
  loop.runUntil([&] { return !p->pending(); });
  t.join();
  ASSERT_TRUE(p->fulfilled());
  EXPECT_EQ(p->value().getString("name"), "job.finished");
  EXPECT_TRUE(p->value().get("data").getBool("ok"));
  EXPECT_EQ(bus.subscriberCount(), 0u);
}

TEST(EventBus, WaitTimesOut) {
  EventBus bus;
  Loop loop(1);
  auto p = bus.wait(loop, "never", 0.02);
  loop.runUntil([&] { return !p->pending(); });
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, codes::kTimeout);
  EXPECT_EQ(bus.subscriberCount(), 0u);
}

TEST(EventBus, WaitCancelRemovesSubscription) {
  EventBus bus;
  Loop loop(1);
  auto p = bus.wait(loop, "x");
  EXPECT_EQ(bus.subscriberCount(), 1u);
  p->cancel();
  EXPECT_EQ(p->error().code, codes::kCancelled);
  EXPECT_EQ(bus.subscriberCount(), 0u);
}

std::string tempPath(const std::string& leaf) {
  auto dir =
      std::filesystem::temp_directory_path() / ("llmspell_events_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / leaf;
  std::filesystem::remove(p);
  return p.string();
}

TEST(EventBus, RecordAndReplayRoundTrip) {
  double now = 1000.0;
  EventBus bus([&] { return now; });
  std::string path = tempPath("rec.jsonl");
  uint64_t rec = bus.startRecording(path, "app.**");
  bus.emit("app.start", Value::object({{"v", 1}}));
  now += 0.05;
  bus.emit("noise");
  bus.emit("app.step", Value::array({Value(1), Value("two")}));
  now += 0.01;
  bus.emit("app.finish");
  EXPECT_TRUE(bus.stopRecording(rec));
  EXPECT_FALSE(bus.stopRecording(rec));
  bus.emit("app.late");  // not recorded

  std::ifstream in(path);
  std::string line;
  std::vector<Value> lines;
  while (std::getline(in, line)) lines.push_back(parseJson(line));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].getString("name"), "app.start");
  EXPECT_DOUBLE_EQ(lines[1].getNumber("ts"), 1000.05);

  EventBus other;
  Loop loop(1);
  std::vector<Value> got;
  other.subscribe("**", [&](const Event& e) { got.push_back(e.toValue()); });
  auto p = other.replay(loop, path, 10.0, "**");
  loop.runUntil([&] { return !p->pending(); });
  ASSERT_TRUE(p->fulfilled()) << p->error().toString();
  EXPECT_EQ(p->value().asInt(), 3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].getString("name"), "app.start");
  EXPECT_EQ(got[0].get("data"), Value::object({{"v", 1}}));
  EXPECT_EQ(got[1].get("data"), Value::array({Value(1), Value("two")}));
  EXPECT_EQ(got[2].getString("name"), "app.finish");
  // Relative spacing kept (scaled by speed 10): 50ms -> 5ms between first and second.
  EXPECT_GE(got[1].getNumber("ts") - got[0].getNumber("ts"), 0.004);

  // Filtered replay, as fast as possible.
  got.clear();
  auto q = other.replay(loop, path, 0, "app.finish");
  loop.runUntil([&] { return !q->pending(); });
  ASSERT_TRUE(q->fulfilled());
  EXPECT_EQ(q->value().asInt(), 1);
  ASSERT_EQ(got.size(), 1u);
}

TEST(EventBus, ReplayReportsBadFiles) {
  EventBus bus;
  Loop loop(1);
  auto p = bus.replay(loop, tempPath("missing.jsonl"));
  loop.runUntil([&] { return !p->pending(); });
  ASSERT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, codes::kInvalidArgument);

  std::string path = tempPath("bad.jsonl");
  {
    std::ofstream out(path);
    out << R"({"ts":1,"name":"a"})"
        << "\n"
        << "not json\n";
  }
  auto q = bus.replay(loop, path);
  loop.runUntil([&] { return !q->pending(); });
  ASSERT_TRUE(q->rejected());
  EXPECT_NE(q->error().message.find(":2:"), std::string::npos) << q->error().message;
}

TEST(EventBus, RecordingUnserializableData) {
  EventBus bus;
  std::string path = tempPath("fn.jsonl");
  uint64_t rec = bus.startRecording(path);
  bus.emit("a", Value(PromisePtr(Promise::create())));
  bus.stopRecording(rec);
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  Value v = parseJson(line);
  EXPECT_TRUE(v.get("data").isNull());
  EXPECT_TRUE(v.getBool("unserializable"));
}

TEST(EventBus, Stats) {
  double now = 500.0;
  EventBus bus([&] { return now; });
  for (int i = 0; i < 10; ++i) bus.emit("llm.request");
  now += 100;
  for (int i = 0; i < 4; ++i) bus.emit("llm.response");
  bus.emit("tool.call");
  Value s = bus.stats("llm.*", 10);
  EXPECT_EQ(s.getInt("count"), 14);
  EXPECT_EQ(s.getInt("window_count"), 4);
  EXPECT_DOUBLE_EQ(s.getNumber("rate"), 0.4);
  EXPECT_EQ(s.get("names").get("llm.request").getInt("count"), 10);
  EXPECT_EQ(s.get("names").get("llm.request").getInt("window_count"), 0);
  EXPECT_TRUE(s.get("names").get("tool.call").isNull());
  EXPECT_EQ(bus.stats("**", 1000).getInt("window_count"), 15);
}

struct FakeRun {
  std::unordered_map<std::type_index, std::shared_ptr<void>> s;
  template <typename T>
  T& service(const std::function<std::shared_ptr<T>()>& make) {
    auto it = s.find(typeid(T));
    if (it == s.end()) it = s.emplace(typeid(T), std::shared_ptr<void>(make())).first;
    return *static_cast<T*>(it->second.get());
  }
};

TEST(EventBus, BusForUsesAttachedOrGlobal) {
  FakeRun run;
  EXPECT_EQ(&busFor(run), &EventBus::global());
  FakeRun own;
  auto mine = std::make_shared<EventBus>();
  own.s[typeid(EventBus)] = mine;
  EXPECT_EQ(&busFor(own), mine.get());
}

}  // namespace
}  // namespace llmspell
