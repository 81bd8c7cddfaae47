// API keys for `llmspell serve`: the key store and Access (serve/access.hpp) as a library, and
// `llmspell keys create|list|revoke` through the binary.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "llmspell/core/error.hpp"
#include "llmspell/serve/access.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;
using namespace llmspell::serve;
namespace fs = std::filesystem;

class Keys : public testing::Test {
 protected:
  void SetUp() override {
    dir = testing::TempDir() + "/keys_" + std::to_string(getpid()) + "_" +
          testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(dir);
    fs::create_directories(dir);
    db = dir + "/keys.db";
    setenv("LLMSPELL_HOME", dir.c_str(), 1);
    unsetenv("LLMSPELL_KEYS");
  }
  void TearDown() override { fs::remove_all(dir); }
  std::string dir, db;
};

KeyInfo spec(std::vector<std::string> spells) {
  KeyInfo k;
  k.name = "test";
  k.spells = std::move(spells);
  return k;
}

TEST_F(Keys, StoresOnlyAHashAndVerifiesTheKey) {
  auto store = std::make_shared<KeyStore>(db);
  auto made = store->create(spec({"summarize"}));
  EXPECT_EQ(made.key.rfind("lsk_" + made.info.id + "_", 0), 0u);
  EXPECT_EQ(made.key.size(), 4u + 16 + 1 + 64);
  // The file holds no copy of the key, and nobody but the owner may read it.
  std::ifstream f(db, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(bytes.find(made.key.substr(4 + 17)), std::string::npos);
  struct stat st;
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 077, 0u);

  ASSERT_TRUE(store->verify(made.key));
  EXPECT_EQ(store->verify(made.key)->id, made.info.id);
  std::string wrong = made.key;
  wrong.back() = wrong.back() == '0' ? '1' : '0';
  EXPECT_FALSE(store->verify(wrong));
  EXPECT_FALSE(store->verify("lsk_short"));
  // Another store (another hash key) does not know it.
  KeyStore other(dir + "/other.db");
  EXPECT_FALSE(other.verify(made.key));
}

TEST_F(Keys, AuthorizeStatuses) {
  auto store = std::make_shared<KeyStore>(db);
  auto made = store->create(spec({"summarize", "team-*"}));
  Access access(store);
  auto d = access.authorize("", "summarize");
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.code, "auth_error");
  d = access.authorize("Bearer lsk_0123456789abcdef_" + std::string(64, 'a'), "summarize");
  EXPECT_EQ(d.status, 401);
  d = access.authorize("Bearer " + made.key, "summarize");
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.key.id, made.info.id);
  EXPECT_TRUE(access.authorize(made.key, "team-report").allowed) << "a bare key and a prefix pattern";
  d = access.authorize("Bearer " + made.key, "delete-everything");
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.code, "permission_denied");
  ASSERT_TRUE(store->revoke(made.info.id));
  d = access.authorize("Bearer " + made.key, "summarize");
  EXPECT_EQ(d.status, 401);
  EXPECT_NE(d.message.find("revoked"), std::string::npos);
}

TEST_F(Keys, TokenBucketRateLimit) {
  auto store = std::make_shared<KeyStore>(db);
  KeyInfo k = spec({"*"});
  k.ratePerSecond = 2;
  k.burst = 3;
  auto made = store->create(k);
  double now = 1000;
  Access access(store, [&] { return now; });
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(access.authorize(made.key, "s").allowed) << i;
  auto d = access.authorize(made.key, "s");
  EXPECT_EQ(d.status, 429);
  EXPECT_EQ(d.code, "rate_limited");
  EXPECT_EQ(d.retryAfter, 1);
  now += 0.5;  // one token back at 2 per second
  EXPECT_TRUE(access.authorize(made.key, "s").allowed);
  EXPECT_FALSE(access.authorize(made.key, "s").allowed);
  now += 100;  // refills to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(access.authorize(made.key, "s").allowed) << i;
  EXPECT_FALSE(access.authorize(made.key, "s").allowed);
}

TEST_F(Keys, BudgetPerPeriod) {
  auto store = std::make_shared<KeyStore>(db);
  KeyInfo k = spec({"*"});
  k.budgetUsd = 1;
  k.budgetPeriod = "day";
  auto made = store->create(k);
  double now = 1796083200 + 3600;  // 2026-12-01T01:00:00Z
  Access access(store, [&] { return now; });
  EXPECT_TRUE(access.authorize(made.key, "s").allowed);
  access.recordCost(made.info.id, 0.6);
  EXPECT_TRUE(access.authorize(made.key, "s").allowed);
  access.recordCost(made.info.id, 0.5);
  auto d = access.authorize(made.key, "s");
  EXPECT_EQ(d.status, 429);
  EXPECT_EQ(d.code, "budget_exceeded");
  EXPECT_EQ(d.retryAfter, 23 * 3600) << "until the next UTC day";
  now += 23 * 3600;  // the next day: a fresh budget
  EXPECT_TRUE(access.authorize(made.key, "s").allowed);
  EXPECT_EQ(Access::periodOf("month", now), "2026-12");
  EXPECT_EQ(Access::periodOf("day", now), "2026-12-02");
}

TEST_F(Keys, GrantCeilingIntersectsTheManifest) {
  GrantCeiling c;
  c.net = std::vector<std::string>{"api.example.com"};
  c.read = std::vector<std::string>{"/data/public"};
  c.env = std::vector<std::string>{"APP_*"};
  Grants g;
  g.net = {"api.example.com", "evil.example.net"};
  g.read = {"/data", "/etc"};
  g.write = {"/out"};
  g.env = {"APP_TOKEN", "HOME"};
  g.run = true;
  Grants out = c.intersect(g);
  EXPECT_EQ(out.net, std::vector<std::string>{"api.example.com"});
  EXPECT_EQ(out.read, std::vector<std::string>{"/data/public"}) << "narrowed to the ceiling";
  EXPECT_EQ(out.write, std::vector<std::string>{"/out"}) << "a kind the ceiling leaves unset is the manifest's";
  EXPECT_EQ(out.env, std::vector<std::string>{"APP_TOKEN"});
  EXPECT_TRUE(out.run);
  c.run = false;
  g.net = {"*"};
  out = c.intersect(g);
  EXPECT_FALSE(out.run);
  EXPECT_EQ(out.net, std::vector<std::string>{"api.example.com"}) << "a manifest's * becomes the ceiling";
  // Relative manifest paths resolve against the manifest's directory.
  GrantCeiling r;
  r.read = std::vector<std::string>{"/spells/a/data"};
  g.read = {"./data/x", "../b"};
  EXPECT_EQ(r.intersect(g, "/spells/a").read, std::vector<std::string>{"/spells/a/data/x"});
}

TEST_F(Keys, CliCreateListRevoke) {
  auto r = runCli("keys create --name ci --spell summarize --spell 'team-*' --rate 600/min --budget 5/day --grant-net api.example.com");
  ASSERT_EQ(r.exit, 0) << r.err;
  std::string key = r.out.substr(0, r.out.size() - 1);
  ASSERT_EQ(key.rfind("lsk_", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("cannot be shown again"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("grants: net=api.example.com"), std::string::npos) << r.err;
  std::string id = key.substr(4, 16);

  r = runCli("keys list --json");
  ASSERT_EQ(r.exit, 0) << r.err;
  json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(list[0]["name"], "ci");
  EXPECT_EQ(list[0]["spells"], json({"summarize", "team-*"}));
  EXPECT_EQ(list[0]["rate"]["per_second"], 10);
  EXPECT_EQ(list[0]["rate"]["burst"], 600);
  EXPECT_EQ(list[0]["budget"], json({{"usd", 5}, {"period", "day"}}));
  EXPECT_EQ(list[0]["grants"], json({{"net", {"api.example.com"}}, {"read", json::array()}, {"write", json::array()},
                                     {"env", json::array()}, {"run", false}}));
  EXPECT_EQ(r.out.find(key), std::string::npos) << "list never shows a key";

  // The library sees what the CLI made (the same store, in the data directory).
  auto store = std::make_shared<KeyStore>(KeyStore::defaultPath());
  Access access(store);
  EXPECT_TRUE(access.authorize("Bearer " + key, "summarize").allowed);

  r = runCli("keys list");
  ASSERT_EQ(r.exit, 0) << r.err;
  EXPECT_NE(r.out.find(id), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("$5/day"), std::string::npos) << r.out;

  r = runCli("keys revoke ci");
  EXPECT_EQ(r.exit, 0) << r.err;
  EXPECT_EQ(access.authorize("Bearer " + key, "summarize").status, 401);
  r = runCli("keys revoke ci");
  EXPECT_EQ(r.exit, 1);
  EXPECT_NE(r.err.find("error[not_found]"), std::string::npos) << r.err;
  r = runCli("keys list --json");
  EXPECT_EQ(json::parse(r.out).size(), 0u);
  r = runCli("keys list --all --json");
  EXPECT_EQ(json::parse(r.out).size(), 1u);

  r = runCli("keys create --spell x --rate fast");
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("like 10/s or 600/min"), std::string::npos) << r.err;
  r = runCli("keys create --spell x --budget 5/week");
  EXPECT_EQ(r.exit, 2);
  r = runCli("keys create");
  EXPECT_EQ(r.exit, 2) << "--spell is required";
}

}  // namespace
