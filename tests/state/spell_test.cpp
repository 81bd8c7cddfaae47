// Spell-level tests of the state, events and hooks namespaces: Lua snippets run through the
// real `llmspell` binary (`llmspell exec`), with LLMSPELL_HOME pointing at a fresh directory.
#include <gtest/gtest.h>

#include "support/cli.hpp"
#include "support/servers.hpp"
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace {

using llmspell::test::shellQuote;

namespace fs = std::filesystem;

// Every state function once, and what it prints (run on each backend below).
const char* const kFullApi = R"(
state.set("n", 0)
for i = 1, 5 do state.update("n", function(v) return v + 1 end) end
print(state.get("n"), state.get("missing", "dflt"))
state.set("t", {a = 1, b = {c = 2}})
local m = state.merge("t", {b = {d = 3}})
print(m.a, m.b.c, m.b.d)
print(table.concat(state.keys(), ","))
print(#state.versions("n"), state.get_version("n", 2))
print(state.snapshot("s1"))
state.set("n", 100)
print(state.restore("s1"), state.get("n"), #state.snapshots())
local g = state.scope("global")
g:set("x", "gx")
print(g:get("x"), state.get("x"), state.get("x", nil, {scope = "global"}), g:name())
local f = state.filter("", function(v, k) return type(v) == "number" end)
print(f.n, f.t)
print(state.validate("n", {type = "integer"}).ok, state.validate("t", {type = "integer"}).ok)
print(state.transform("n", function(v) return v * 2 end))
local ok, e = pcall(state.transform, "nokey", function(v) return v end)
print(ok, e.code)
ok, e = pcall(state.get, "k", nil, {scope = "bogus"})
print(ok, e.code)
ok, e = pcall(state.set, "f", function() end)
print(ok, e.code)
state.set("tmp", 1, {ttl = 30})
print(state.expire("tmp", 0), state.get("tmp"))
print(state.delete("t"), state.delete("t"))
state.update("n", function() return nil end)
print(state.get("n"))
)";
const char* const kFullApiOut =
    "5\tdflt\n"
    "1\t2\t3\n"
    "n,t\n"
    "6\t1\n"
    "2\n"
    "2\t5\t1\n"
    "gx\tnil\tgx\tglobal\n"
    "5\tnil\n"
    "true\tfalse\n"
    "10\n"
    "false\tnot_found\n"
    "false\tinvalid_argument\n"
    "false\tinvalid_argument\n"
    "true\tnil\n"
    "true\tfalse\n"
    "nil\n";

class SpellTest : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() /
            ("llmspell_state_spell_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_);
  }
  void TearDown() override { fs::remove_all(home_); }

  // stderr is merged into the output unless `quiet` (warnings of handlers that fail on purpose).
  std::string command(const std::string& code, const std::string& flags = "",
                      bool quiet = false) const {
    return "LLMSPELL_HOME=" + shellQuote(home_.string()) + " " + LLMSPELL_BIN + " exec " + flags +
           " " + shellQuote(code) + (quiet ? " 2>/dev/null" : " 2>&1");
  }
  // Runs a snippet; returns its output and sets `status` to the exit code.
  std::string exec(const std::string& code, int* status = nullptr, const std::string& flags = "",
                   bool quiet = false) const {
    auto r = llmspell::test::runShell(command(code, flags, quiet));
    if (status) *status = r.exit;
    return r.out;
  }
  fs::path home_;
};

TEST_F(SpellTest, SetGetPersistsBetweenRuns) {
  EXPECT_EQ(exec(R"(state.set("k", 1); print(state.get("k")))"), "1\n");
  EXPECT_EQ(exec(R"(print(state.get("k")))"), "1\n");  // same spell scope ("exec")
  EXPECT_TRUE(fs::exists(home_ / "state.db"));
  // Session state does not outlive the run.
  EXPECT_EQ(
      exec(
          R"(state.set("s", 1, {scope = "session"}); print(state.get("s", nil, {scope = "session"})))"),
      "1\n");
  EXPECT_EQ(exec(R"(print(state.get("s", "gone", {scope = "session"})))"), "gone\n");
}

TEST_F(SpellTest, FullApi) { EXPECT_EQ(exec(kFullApi), kFullApiOut); }

TEST_F(SpellTest, ScriptUpdatesAreAtomicAcrossProcesses) {
  const std::string code = R"(
for i = 1, 40 do
  state.update("counter", function(v) return (v or 0) + 1 end, {scope = "global"})
end)";
  std::vector<FILE*> ps;
  for (int i = 0; i < 5; ++i) ps.push_back(::popen(command(code).c_str(), "r"));
  for (FILE* p : ps) {
    char buf[256];
    while (std::fread(buf, 1, sizeof buf, p) > 0) {
    }
    EXPECT_EQ(::pclose(p), 0);
  }
  EXPECT_EQ(exec(R"(print(state.get("counter", nil, {scope = "global"})))"), "200\n");
}

TEST_F(SpellTest, EventsOnOnceOffWaitStats) {
  std::string out = exec(R"(
local got = {}
local id = events.on("order.*", function(e) table.insert(got, e.name .. "=" .. tostring(e.data.id)) end)
events.once("**", function(e) table.insert(got, "once:" .. e.name) end)
events.emit("order.created", {id = 1})
events.emit("order.paid", {id = 2})
events.emit("user.x")
print(table.concat(got, ","))
print(events.off(id), events.off(id))
local p = events.wait_async("job.done", {timeout = 5})
events.emit("job.done", {ok = true})
local e = await(p)
print(e.name, e.data.ok)
local ok, err = pcall(events.wait, "never", {timeout = 0.05})
print(ok, err.code)
local s = events.stats("order.**")
print(s.count, s.names["order.created"].count)
ok, err = pcall(events.emit, "bad..name")
print(ok, err.code)
events.on("boom", function() error("handler failed") end)
events.on("boom", function() print("second handler still runs") end)
events.emit("boom")
local changes = {}
events.on("state.change", function(e) table.insert(changes, e.data.op .. ":" .. e.data.key) end)
state.set("c", 1); state.delete("c")
print(table.concat(changes, ","))
)",
                         nullptr, "", true);
  EXPECT_EQ(out, std::string("order.created=1,once:order.created,order.paid=2\n"
                             "true\tfalse\n"
                             "job.done\ttrue\n"
                             "false\ttimeout\n"
                             "2\t1\n"
                             "false\tinvalid_argument\n"
                             "second handler still runs\n"
                             "set:c,delete:c\n"));
}

TEST_F(SpellTest, RecordAndReplay) {
  std::string path = (home_ / "events.jsonl").string();
  int status = 0;
  std::string out = exec(R"(
events.record(")" + path + R"(", {filter = "app.**"})
events.emit("app.start", {v = 1})
events.emit("noise")
events.emit("app.finish", {v = 2})
print(events.stop_recording())
local seen = {}
events.on("app.**", function(e) table.insert(seen, e.name .. ":" .. e.data.v) end)
print(events.replay(")" + path +
                             R"(", {speed = 0}))
print(table.concat(seen, ","))
)",
                         &status,
                         "--allow-write " + home_.string() + " --allow-read " + home_.string());
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "1\n2\napp.start:1,app.finish:2\n");
  // Without the permission, recording is refused.
  out = exec(R"(local ok, e = pcall(events.record, ")" + path + R"("); print(ok, e.code))");
  EXPECT_EQ(out, "false\tpermission_denied\n");
}

TEST_F(SpellTest, HooksOnStateSet) {
  std::string out = exec(R"(
local h1 = hooks.before("state.set", function(ctx)
  if ctx.args.key == "secret" then return {cancel = "no secrets allowed"} end
  ctx.args.value = tostring(ctx.args.value) .. "!"
  return ctx
end, {priority = 5, name = "bang"})
local h2 = hooks.after("state.set", function(ctx) return {result = ctx.result * 1000} end)
local h3 = hooks.around("state.set", function(ctx, next) return next() + 1 end)
print(state.set("a", "x"), state.get("a"))
local ok, e = pcall(state.set, "secret", 1)
print(ok, e.code, e.message, state.get("secret"))
for _, h in ipairs(hooks.list()) do print(h.point, h.kind, h.priority, h.name ~= nil) end
print(hooks.remove(h1), hooks.remove(h1))
hooks.remove(h2); hooks.remove(h3)
print(state.set("a", "y"), state.get("a"))
ok, e = pcall(hooks.before, "nope", function() end)
print(ok, e.code)
hooks.before("state.set", function(ctx)
  sleep(0.01)
  return {args = {key = ctx.args.key, value = 42, scope = ctx.args.scope}}
end)
state.set("b", 1)
print(state.get("b"))
hooks.around("state.set", function(ctx, next) return "cached" end, {priority = 100})
print(state.set("c", 1), state.get("c"))
)");
  EXPECT_EQ(out,
            "2000\tx!\n"
            "false\tcancelled\tno secrets allowed\tnil\n"
            "state.set\tbefore\t5\ttrue\n"
            "state.set\tafter\t0\ttrue\n"
            "state.set\taround\t0\ttrue\n"
            "true\tfalse\n"
            "2\ty\n"
            "false\tinvalid_argument\n"
            "42\n"
            "cached\tnil\n");
}

TEST_F(SpellTest, AroundHookRedirectsAndCallsNextTwice) {
  std::string out = exec(R"(
local calls = 0
hooks.around("state.set", function(ctx, next)
  calls = calls + 1
  local a = ctx.args
  a.key = "redirected." .. a.key
  local first = next(a)
  return next(a) - first   -- a second call: one more version
end)
print(state.set("x", 5), calls)
print(state.get("x"), state.get("redirected.x"), #state.versions("redirected.x"))
)");
  EXPECT_EQ(out, "1\t1\nnil\t5\t2\n");
}

// The same spells with the state in PostgreSQL and Redis (LLMSPELL_STATE=<url>), through the
// real binary: the API, persistence between runs, atomic updates from several processes, a
// Tengo spell (the backends are below the bridge, shared by every engine), and errors.
enum class Server { kPostgres, kRedis };

class ServerStateSpellTest : public ::testing::TestWithParam<Server> {
 protected:
  void SetUp() override {
    if (GetParam() == Server::kPostgres) {
      auto* pg = llmspell::test::PgCluster::shared();
      if (!pg) GTEST_SKIP() << llmspell::test::PgCluster::missing();
      url_ = pg->freshDatabase();
    } else {
      auto* redis = llmspell::test::RedisServer::shared();
      if (!redis) GTEST_SKIP() << llmspell::test::RedisServer::missing();
      url_ = redis->url() + "?prefix=" + redis->freshPrefix();
    }
    home_ = fs::temp_directory_path() / ("llmspell_state_server_" + std::to_string(::getpid()));
    fs::create_directories(home_);
  }
  void TearDown() override { fs::remove_all(home_); }
  std::string command(const std::string& code, const std::string& env = "", const std::string& flags = "") const {
    return "LLMSPELL_HOME=" + shellQuote(home_.string()) + " LLMSPELL_STATE=" + shellQuote(url_) + " " + env + " " +
           LLMSPELL_BIN + " exec " + flags + " " + shellQuote(code) + " 2>&1";
  }
  llmspell::test::CliResult exec(const std::string& code, const std::string& env = "",
                                 const std::string& flags = "") const {
    return llmspell::test::runShell(command(code, env, flags));
  }
  std::string url_;
  fs::path home_;
};

TEST_P(ServerStateSpellTest, FullApiAndPersistence) {
  auto r = exec(kFullApi);
  EXPECT_EQ(r.exit, 0);
  EXPECT_EQ(r.out, kFullApiOut);
  // Nothing went to the SQLite file; the next run sees the server's state.
  EXPECT_FALSE(fs::exists(home_ / "state.db"));
  EXPECT_EQ(exec(R"(print(state.get("x", nil, {scope = "global"})))").out, "gx\n");
}

TEST_P(ServerStateSpellTest, UpdatesAreAtomicAcrossProcesses) {
  const std::string code = R"(
for i = 1, 30 do
  state.update("counter", function(v) return (v or 0) + 1 end, {scope = "global"})
end)";
  std::vector<FILE*> ps;
  for (int i = 0; i < 4; ++i) ps.push_back(::popen(command(code).c_str(), "r"));
  for (FILE* p : ps) {
    char buf[256];
    std::string out;
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(::pclose(p), 0) << out;
  }
  EXPECT_EQ(exec(R"(print(state.get("counter", nil, {scope = "global"})))").out, "120\n");
}

TEST_P(ServerStateSpellTest, TengoSpell) {
  auto r = exec(R"(
fmt := import("fmt")
state := import("state")
state.set("k", {a: 1}, {scope: "global"})
state.update("k", func(v, key) { return {a: v.a + 1} }, {scope: "global"})
fmt.println(state.get("k", undefined, {scope: "global"}).a)
)",
                "", "--engine tengo");
  EXPECT_EQ(r.out, "2\n");
  EXPECT_EQ(exec(R"(print(state.get("k", nil, {scope = "global"}).a))").out, "2\n");
}

TEST_P(ServerStateSpellTest, UnreachableServerIsANetworkErrorWithoutThePassword) {
  // A server nobody listens on, with a password in the URL.
  url_ = GetParam() == Server::kPostgres ? "postgresql://ann:s3cr3t-pw@/db?host=/nonexistent-llmspell-dir"
                                         : "redis://:s3cr3t-pw@127.0.0.1:1";
  auto r = exec(R"(
local ok, e = pcall(state.set, "k", 1)
print(ok, e.code, e.retryable)
print(e.message))",
                "LLMSPELL_STATE_TIMEOUT_MS=200");
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "false\tnetwork_error\ttrue") << r.out;
  EXPECT_NE(r.out.find("unreachable"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("s3cr3t"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("***"), std::string::npos) << r.out;
}

TEST_P(ServerStateSpellTest, UnknownSchemeIsAConfigError) {
  url_ = "mysql://localhost/db";
  auto r = exec(R"(local ok, e = pcall(state.set, "k", 1) print(ok, e.code))");
  EXPECT_EQ(r.out, "false\tconfig_error\n");
}

INSTANTIATE_TEST_SUITE_P(Servers, ServerStateSpellTest, ::testing::Values(Server::kPostgres, Server::kRedis),
                         [](const auto& info) { return info.param == Server::kPostgres ? "Postgres" : "Redis"; });

}  // namespace
