// State store: get/set/delete/keys, scopes, TTL with an injected clock, versions, CAS, update,
// merge, snapshots, events, errors — the same cases on every backend: memory, SQLite file (WAL),
// PostgreSQL and Redis (real servers from support/servers.hpp; skipped when not installed).
#include "llmspell/state/store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "llmspell/core/error.hpp"
#include "llmspell/events/bus.hpp"
#include "support/servers.hpp"

namespace llmspell {
namespace {

std::string freshDb(const std::string& leaf) {
  auto dir =
      std::filesystem::temp_directory_path() / ("llmspell_state_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / leaf;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(p.string() + suffix);
  return p.string();
}

std::string sanitize(std::string s) {
  for (auto& c : s)
    if (c == '/') c = '_';
  return s;
}

enum class Backend { kMemory, kSqlite, kPostgres, kRedis };

// Runs every test against each backend. A server backend gets its own database (PostgreSQL) or
// key prefix (Redis) per test, on the server shared by this process.
class StoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      auto* pg = test::PgCluster::shared();
      if (!pg) GTEST_SKIP() << test::PgCluster::missing();
      path_ = pg->freshDatabase();
    } else if (GetParam() == Backend::kRedis) {
      auto* redis = test::RedisServer::shared();
      if (!redis) GTEST_SKIP() << test::RedisServer::missing();
      path_ = redis->url() + "?prefix=" + redis->freshPrefix();
    } else if (GetParam() == Backend::kSqlite) {
      path_ = freshDb(sanitize(::testing::UnitTest::GetInstance()->current_test_info()->name()) + ".db");
    }
    store_ = open();
  }
  std::unique_ptr<StateStore> open() {
    StateOptions o;
    o.clock = [this] { return now_; };
    o.bus = &bus_;
    if (GetParam() == Backend::kMemory) return StateStore::memory(o);
    o.path = path_;
    return std::make_unique<StateStore>(o);
  }
  double now_ = 1000;
  EventBus bus_{[this] { return now_; }};
  std::string path_;
  std::unique_ptr<StateStore> store_;
};

TEST_P(StoreTest, GetSetDeleteKeys) {
  auto& s = *store_;
  EXPECT_FALSE(s.get("global", "a").has_value());
  EXPECT_EQ(s.set("global", "a", Value(1)), 1);
  EXPECT_EQ(s.set("global", "a", Value::object({{"x", Value::array({Value(1), Value("two")})}})),
            2);
  EXPECT_EQ(*s.get("global", "a"), Value::object({{"x", Value::array({Value(1), Value("two")})}}));
  s.set("global", "user.1", Value("ann"));
  s.set("global", "user.2", Value("bob"));
  s.set("global", "userx", Value(true));
  s.set("spell:other", "user.3", Value(3.5));
  std::vector<std::string> want = {"user.1", "user.2"};
  EXPECT_EQ(s.keys("global", "user."), want);
  EXPECT_EQ(s.keys("global").size(), 4u);
  EXPECT_EQ(s.keys("spell:other", "user"), std::vector<std::string>{"user.3"});
  EXPECT_EQ(s.entries("global", "user.")[1].second, Value("bob"));
  EXPECT_TRUE(s.del("global", "user.1"));
  EXPECT_FALSE(s.del("global", "user.1"));
  EXPECT_FALSE(s.get("global", "user.1"));
  EXPECT_EQ(*s.get("spell:other", "user.3"), Value(3.5));
  // Null is a value, distinct from absent.
  s.set("global", "nothing", Value());
  ASSERT_TRUE(s.get("global", "nothing").has_value());
  EXPECT_TRUE(s.get("global", "nothing")->isNull());
}

TEST_P(StoreTest, PersistsAcrossReopen) {
  if (GetParam() == Backend::kMemory) GTEST_SKIP() << "memory store";
  store_->set("global", "k", Value("v"));
  store_.reset();
  store_ = open();
  EXPECT_EQ(*store_->get("global", "k"), Value("v"));
}

TEST_P(StoreTest, TtlHidesAndPurges) {
  auto& s = *store_;
  s.set("global", "session", Value("tok"), 10.0);
  s.set("global", "forever", Value(1));
  now_ += 9;
  EXPECT_TRUE(s.get("global", "session"));
  now_ += 2;
  EXPECT_FALSE(s.get("global", "session"));
  EXPECT_EQ(s.keys("global"), std::vector<std::string>{"forever"});
  EXPECT_EQ(s.getVersioned("global", "session").version, 0);
  EXPECT_EQ(s.purgeExpired(), 1);
  // expire() on a live key, and set() clears an expiry.
  EXPECT_TRUE(s.expire("global", "forever", 5));
  EXPECT_FALSE(s.expire("global", "missing", 5));
  now_ += 6;
  EXPECT_FALSE(s.get("global", "forever"));
  s.set("global", "x", Value(1), 1.0);
  s.set("global", "x", Value(2));
  now_ += 100;
  EXPECT_EQ(*s.get("global", "x"), Value(2));
}

TEST_P(StoreTest, VersionsAreBounded) {
  auto& s = *store_;
  for (int i = 1; i <= 15; ++i) s.set("global", "v", Value(i));
  auto vs = s.versions("global", "v");
  ASSERT_EQ(vs.size(), 10u);
  EXPECT_EQ(vs.front().version, 15);
  EXPECT_EQ(*vs.front().value, Value(15));
  EXPECT_EQ(vs.back().version, 6);
  EXPECT_EQ(*s.getVersion("global", "v", 7), Value(7));
  EXPECT_FALSE(s.getVersion("global", "v", 5));
  // A delete is a version too; the next write continues the numbering.
  s.del("global", "v");
  EXPECT_FALSE(s.versions("global", "v").front().value);
  EXPECT_EQ(s.set("global", "v", Value("again")), 17);
}

TEST_P(StoreTest, CompareAndSet) {
  auto& s = *store_;
  EXPECT_EQ(s.compareAndSet("global", "c", 0, Value(1)), std::optional<int64_t>(1));
  EXPECT_FALSE(s.compareAndSet("global", "c", 0, Value(99)));
  EXPECT_EQ(s.compareAndSet("global", "c", 1, Value(2)), std::optional<int64_t>(2));
  EXPECT_FALSE(s.compareAndSet("global", "c", 1, Value(3)));
  EXPECT_EQ(*s.get("global", "c"), Value(2));
  EXPECT_TRUE(s.compareAndSet("global", "c", 2, std::nullopt));  // delete
  EXPECT_FALSE(s.get("global", "c"));
}

TEST_P(StoreTest, UpdateAndMerge) {
  auto& s = *store_;
  for (int i = 0; i < 5; ++i)
    s.update("global", "n", [](std::optional<Value> v) -> std::optional<Value> {
      return Value((v ? v->asInt() : 0) + 1);
    });
  EXPECT_EQ(*s.get("global", "n"), Value(5));
  // A throwing function leaves the value alone.
  EXPECT_THROW(s.update("global", "n",
                        [](std::optional<Value>) -> std::optional<Value> {
                          fail(codes::kValidationFailed, "nope");
                        }),
               Exception);
  EXPECT_EQ(*s.get("global", "n"), Value(5));
  s.update("global", "n", [](std::optional<Value>) { return std::optional<Value>(); });
  EXPECT_FALSE(s.get("global", "n"));

  s.set("global", "cfg",
        Value::object({{"a", 1}, {"nested", Value::object({{"x", 1}, {"y", 2}})}}));
  Value m = s.merge("global", "cfg",
                    Value::object({{"b", 2}, {"nested", Value::object({{"y", 20}, {"z", 30}})}}));
  Value want = Value::object(
      {{"a", 1}, {"nested", Value::object({{"x", 1}, {"y", 20}, {"z", 30}})}, {"b", 2}});
  EXPECT_EQ(m, want);
  EXPECT_EQ(*s.get("global", "cfg"), want);
  EXPECT_EQ(s.merge("global", "fresh", Value::object({{"k", 1}})), Value::object({{"k", 1}}));
  s.set("global", "num", Value(3));
  try {
    s.merge("global", "num", Value::object());
    ADD_FAILURE();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kInvalidArgument);
  }
}

TEST_P(StoreTest, SnapshotsAndRestore) {
  auto& s = *store_;
  s.set("workflow:w", "a", Value(1));
  s.set("workflow:w", "b", Value(2));
  s.set("workflow:w", "short", Value(3), 5.0);
  s.set("global", "untouched", Value(0));
  EXPECT_EQ(s.snapshot("workflow:w", "before"), 3);
  s.set("workflow:w", "a", Value(100));
  s.del("workflow:w", "b");
  s.set("workflow:w", "c", Value(3));
  auto snaps = s.snapshots("workflow:w");
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].name, "before");
  EXPECT_EQ(snaps[0].keys, 3);
  now_ += 10;  // "short" expires before the restore: it stays gone
  EXPECT_EQ(s.restore("workflow:w", "before"), 2);
  EXPECT_EQ(*s.get("workflow:w", "a"), Value(1));
  EXPECT_EQ(*s.get("workflow:w", "b"), Value(2));
  EXPECT_FALSE(s.get("workflow:w", "c"));
  EXPECT_FALSE(s.get("workflow:w", "short"));
  EXPECT_EQ(*s.get("global", "untouched"), Value(0));
  EXPECT_EQ(*s.getVersion("workflow:w", "a", 2), Value(100));  // history kept
  try {
    s.restore("workflow:w", "nope");
    ADD_FAILURE();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, codes::kNotFound);
  }
  EXPECT_TRUE(s.deleteSnapshot("workflow:w", "before"));
  EXPECT_TRUE(s.snapshots("workflow:w").empty());
}

TEST_P(StoreTest, EmitsStateChange) {
  std::vector<Value> seen;
  bus_.subscribe("state.change", [&](const Event& e) { seen.push_back(e.data); });
  store_->set("global", "k", Value(1));
  store_->del("global", "k");
  store_->del("global", "k");  // absent: no event
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].getString("op"), "set");
  EXPECT_EQ(seen[0].getString("key"), "k");
  EXPECT_EQ(seen[0].getInt("version"), 1);
  EXPECT_EQ(seen[1].getString("op"), "delete");
}

TEST_P(StoreTest, BadInput) {
  auto& s = *store_;
  auto code = [](auto f) {
    try {
      f();
    } catch (const Exception& e) {
      return e.error().code;
    }
    return std::string("no error");
  };
  EXPECT_EQ(code([&] { s.set("global", "", Value(1)); }), codes::kInvalidArgument);
  EXPECT_EQ(code([&] { s.set("global", std::string(2000, 'k'), Value(1)); }),
            codes::kInvalidArgument);
  EXPECT_EQ(code([&] { s.set("global", "f", Value(PromisePtr(Promise::create()))); }),
            codes::kInvalidArgument);
  EXPECT_EQ(code([&] { s.set("global", "nan", Value(std::nan(""))); }), codes::kInvalidArgument);
  EXPECT_EQ(s.integrityCheck(), "ok");
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kMemory, Backend::kPostgres, Backend::kRedis),
                         [](const auto& info) {
                           switch (info.param) {
                             case Backend::kSqlite: return "Sqlite";
                             case Backend::kMemory: return "Memory";
                             case Backend::kPostgres: return "Postgres";
                             case Backend::kRedis: return "Redis";
                           }
                           return "?";
                         });

TEST(StateStore, DefaultPathHonoursLlmspellHome) {
  ::setenv("LLMSPELL_HOME", "/tmp/llmspell-home-test", 1);
  EXPECT_EQ(StateStore::defaultPath(), "/tmp/llmspell-home-test/state.db");
  ::unsetenv("LLMSPELL_HOME");
  EXPECT_NE(StateStore::defaultPath().find(".llmspell/state.db"), std::string::npos);
}

TEST(StateStore, DeepMerge) {
  Value a = Value::object({{"x", Value::object({{"y", 1}})}, {"l", Value::array({Value(1)})}});
  Value b = Value::object({{"x", Value::object({{"z", 2}})}, {"l", Value::array({Value(2)})}});
  Value m = deepMerge(a, b);
  EXPECT_EQ(m, Value::object(
                   {{"x", Value::object({{"y", 1}, {"z", 2}})}, {"l", Value::array({Value(2)})}}));
  // Inputs untouched.
  EXPECT_EQ(a.get("x"), Value::object({{"y", 1}}));
}

}  // namespace
}  // namespace llmspell
