// ToolRegistry: lookup, validation, permissions, approval, hooks, events, timeouts, and a few
// built-in tools called through the registry.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "llmspell/core/convert.hpp"
#include "llmspell/tools/tools.hpp"

using namespace llmspell;
using namespace llmspell::tools;

namespace {

class RegistryTest : public ::testing::Test {
 protected:
  RegistryTest() : loop_(1), reg_(loop_, perms_, &hooks_, &bus_) {}

  // Runs the loop until `p` settles (or 10 s pass).
  PromisePtr wait(PromisePtr p) {
    if (p->pending()) {
      bool expired = false;
      auto guard = loop_.setTimeout(10, [&] { expired = true; });
      loop_.runUntil([&] { return !p->pending() || expired; });
      guard.cancel();
    }
    EXPECT_FALSE(p->pending()) << "promise never settled";
    return p;
  }
  Value ok(const std::string& name, Value args) {
    auto p = wait(reg_.call(name, std::move(args)));
    if (p->rejected()) {
      ADD_FAILURE() << name << " failed: " << p->error().toString();
      return Value();
    }
    return p->value();
  }
  Error err(const std::string& name, Value args) {
    auto p = wait(reg_.call(name, std::move(args)));
    if (!p->rejected()) {
      ADD_FAILURE() << name << " succeeded: " << p->value().describe();
      return Error();
    }
    return p->error();
  }
  static Value J(std::string_view s) { return parseJson(s); }

  Tool adder() {
    Tool t;
    t.name = "add";
    t.description = "adds two numbers";
    t.category = "math";
    t.parameters =
        J(R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"integer"}},
                        "required":["a","b"],"additionalProperties":false})");
    t.run = [this](const Value& a, ToolEnv& env) {
      ++runs_;
      lastCtx_ = env.ctx;
      return Promise::resolved(Value(a.getInt("a") + a.getInt("b")));
    };
    return t;
  }

  Loop loop_;
  Permissions perms_;
  HookRegistry hooks_;
  EventBus bus_;
  ToolRegistry reg_;
  int runs_ = 0;
  Value lastCtx_;
};

TEST_F(RegistryTest, BuiltinsArePresentWithSchemasAndPermissions) {
  std::vector<std::string> names;
  for (const auto& t : reg_.list()) names.push_back(t->name);
  std::vector<std::string> want = {"http_request", "web_fetch",     "file_read",  "file_write",
                                   "file_list",    "file_search",   "calculator", "datetime",
                                   "json_query",   "text_template", "csv_parse",  "uuid",
                                   "hash",         "shell",         "sleep"};
  EXPECT_EQ(names, want);
  for (const auto& t : reg_.list()) {
    EXPECT_TRUE(t->builtin);
    EXPECT_FALSE(t->description.empty()) << t->name;
    EXPECT_EQ(t->parameters.getString("type"), "object") << t->name;
  }
  EXPECT_EQ(reg_.find("shell")->permission, "run");
  EXPECT_EQ(reg_.find("http_request")->permission, "net");
  EXPECT_EQ(reg_.find("file_write")->permission, "write");
  EXPECT_EQ(reg_.find("calculator")->permission, "none");
  EXPECT_EQ(reg_.list("filesystem").size(), 4u);
}

TEST_F(RegistryTest, DefineCallRemove) {
  reg_.define(adder());
  EXPECT_EQ(ok("add", J(R"({"a":2,"b":3})")), Value(5));
  EXPECT_EQ(lastCtx_.getString("tool"), "add");
  EXPECT_EQ(lastCtx_.getString("caller"), "spell");
  EXPECT_EQ(reg_.list().back()->name, "add");
  EXPECT_FALSE(reg_.remove("calculator"));
  EXPECT_TRUE(reg_.remove("add"));
  EXPECT_EQ(reg_.find("add"), nullptr);
}

TEST_F(RegistryTest, DefineRejectsBadTools) {
  Tool t = adder();
  t.name = "bad name!";
  try {
    reg_.define(t);
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
    EXPECT_NE(e.error().message.find("1 to 64 letters"), std::string::npos);
  }
  t = adder();
  t.name = "calculator";
  EXPECT_THROW(reg_.define(t), Exception);
  t = adder();
  t.parameters = Value("nope");
  EXPECT_THROW(reg_.define(t), Exception);
  t = adder();
  t.run = nullptr;
  EXPECT_THROW(reg_.define(t), Exception);
}

TEST_F(RegistryTest, UnknownToolSuggestsSimilarNames) {
  Error e = err("calculater", Value::object());
  EXPECT_EQ(e.code, "not_found");
  EXPECT_EQ(e.message, "no tool named 'calculater'; did you mean calculator?");
  EXPECT_EQ(err("file", Value::object()).message,
            "no tool named 'file'; did you mean file_read, file_write, file_list?");
  EXPECT_THROW(reg_.validate("nope", Value()), Exception);
}

TEST_F(RegistryTest, ValidationNamesPathAndRuleAndListsAll) {
  reg_.define(adder());
  Error e = err("add", J(R"({"a":"x","c":1})"));
  EXPECT_EQ(e.code, "validation_failed");
  EXPECT_EQ(e.message,
            "tool 'add': invalid arguments: $.b: required property missing (and 2 more)");
  EXPECT_NE(e.message.find("more"), std::string::npos) << e.message;
  ASSERT_TRUE(e.details.get("errors").isArray());
  EXPECT_EQ(e.details.get("errors").asArray().size(), 3u)
      << toJsonText(e.details);  // type, missing b, extra c
  EXPECT_EQ(runs_, 0);
  EXPECT_EQ(reg_.validate("add", J(R"({"a":1,"b":2})")).size(), 0u);
}

TEST_F(RegistryTest, DeclaredPermissionIsCheckedBeforeTheTool) {
  Error e = err("file_read", J(R"({"path":"/etc/hostname"})"));
  EXPECT_EQ(e.code, "permission_denied");
  EXPECT_EQ(e.message, "tool 'file_read' needs read permission; run with --allow-read=PATH");
  EXPECT_EQ(err("shell", J(R"({"command":["true"]})")).message,
            "tool 'shell' needs run permission; run with --allow-run");
  EXPECT_EQ(err("http_request", J(R"({"url":"http://127.0.0.1:1/"})")).message,
            "tool 'http_request' needs net permission; run with --allow-net=HOST");
}

TEST_F(RegistryTest, FileToolsCheckEachPath) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("tools_reg_" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  std::ofstream(dir / "a.txt") << "hello\nTODO: x\n";
  std::ofstream(dir / "sub" / "b.md") << "nothing\nTODO again\n";
  perms_.allowRead(dir);
  perms_.allowWrite(dir / "sub");
  EXPECT_EQ(
      ok("file_read", Value::object({{"path", (dir / "a.txt").string()}})).getString("content"),
      "hello\nTODO: x\n");
  Error e = err("file_read", Value::object({{"path", "/etc/passwd"}}));
  EXPECT_EQ(e.code, "permission_denied");
  EXPECT_NE(e.message.find("--allow-read"), std::string::npos);
  // Write: only under sub/.
  EXPECT_EQ(
      err("file_write", Value::object({{"path", (dir / "x.txt").string()}, {"content", "no"}}))
          .code,
      "permission_denied");
  EXPECT_EQ(ok("file_write",
               Value::object({{"path", (dir / "sub" / "c.txt").string()}, {"content", "yes"}}))
                .getInt("bytes"),
            3);
  Value list = ok("file_list", Value::object({{"path", dir.string()}, {"recursive", true}}));
  std::string names;
  for (const auto& en : list.get("entries").asArray())
    names += en.getString("name") + ":" + en.getString("type") + " ";
  EXPECT_EQ(names, "a.txt:file sub:directory b.md:file c.txt:file ");
  Value found = ok("file_search", Value::object({{"path", dir.string()}, {"pattern", "TODO"}}));
  ASSERT_EQ(found.get("matches").asArray().size(), 2u);
  EXPECT_EQ(found.get("matches").asArray()[0].getInt("line"), 2);
  EXPECT_EQ(err("file_search", Value::object({{"path", dir.string()}, {"pattern", "("}})).code,
            "invalid_argument");
  fs::remove_all(dir);
}

TEST_F(RegistryTest, ApprovalDeniedByDefaultAndRememberedPerExactArguments) {
  Tool t = adder();
  t.requiresApproval = true;
  reg_.define(t);
  Error e = err("add", J(R"({"a":1,"b":2})"));
  EXPECT_EQ(e.code, "permission_denied");
  EXPECT_NE(e.message.find("--approve=add"), std::string::npos) << e.message;
  EXPECT_EQ(runs_, 0);

  int asked = 0;
  reg_.setApprover([&](const std::string& name, const Value& args) {
    ++asked;
    return Promise::resolved(Value(args.getInt("a") < 10));
  });
  EXPECT_EQ(ok("add", J(R"({"a":1,"b":2})")), Value(3));
  EXPECT_EQ(ok("add", J(R"({"b":2,"a":1})")), Value(3));  // same arguments, other key order
  EXPECT_EQ(asked, 1);
  EXPECT_EQ(ok("add", J(R"({"a":1,"b":3})")), Value(4));  // changed arguments: asked again
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(err("add", J(R"({"a":11,"b":3})")).code, "permission_denied");
  EXPECT_EQ(asked, 3);
}

TEST_F(RegistryTest, ApprovalPolicies) {
  auto decide = [&](const Approver& a, const std::string& name) {
    return wait(a(name, Value::object()))->value().truthy();
  };
  EXPECT_FALSE(decide(approvalPolicy("deny"), "x"));
  EXPECT_TRUE(decide(approvalPolicy("all"), "x"));
  EXPECT_TRUE(decide(approvalPolicy("a, b"), "b"));
  EXPECT_FALSE(decide(approvalPolicy("a,b"), "c"));
  EXPECT_THROW(approvalPolicy("a,,b"), Exception);
  EXPECT_THROW(approvalPolicy("a,"), Exception);
}

TEST_F(RegistryTest, HooksSeeAndChangeTheCall) {
  reg_.define(adder());
  hooks_.add("tool.call", HookKind::kBefore, [](const Value& ctx, const HookNext&) {
    Value args = ctx.get("args").deepCopy();
    EXPECT_EQ(args.getString("name"), "add");
    args.asObject()["args"].asObject().set("b", 100);
    return Promise::resolved(Value::object({{"args", args}}));
  });
  EXPECT_EQ(ok("add", J(R"({"a":1,"b":2})")), Value(101));
  // A hook that breaks the arguments is caught by validation.
  hooks_.add(
      "tool.call", HookKind::kBefore,
      [](const Value& ctx, const HookNext&) {
        Value args = ctx.get("args").deepCopy();
        args.asObject()["args"].asObject().set("b", "str");
        return Promise::resolved(Value::object({{"args", args}}));
      },
      -1);
  EXPECT_EQ(err("add", J(R"({"a":1,"b":2})")).code, "validation_failed");
  hooks_.add(
      "tool.call", HookKind::kBefore,
      [](const Value&, const HookNext&) {
        return Promise::resolved(Value::object({{"cancel", "not today"}}));
      },
      10);
  Error e = err("add", J(R"({"a":1,"b":2})"));
  EXPECT_EQ(e.code, "cancelled");
  EXPECT_EQ(e.message, "not today");
}

TEST_F(RegistryTest, EventsForCallAndResult) {
  reg_.define(adder());
  std::vector<std::string> seen;
  bus_.subscribe("tool.*", [&](const Event& e) {
    std::string s = e.name + ":" + e.data.getString("name");
    if (e.name == "tool.result") {
      s += e.data.getBool("ok") ? ":ok" : ":" + e.data.get("error").getString("code");
      EXPECT_TRUE(e.data.get("duration_ms").isNumber());
    }
    seen.push_back(s);
  });
  ok("add", J(R"({"a":1,"b":2})"));
  err("add", J(R"({"a":1})"));
  EXPECT_EQ(seen, (std::vector<std::string>{"tool.call:add", "tool.result:add:ok", "tool.call:add",
                                            "tool.result:add:validation_failed"}));
}

TEST_F(RegistryTest, TimeoutRejectsAndCancelsTheTool) {
  bool cancelled = false;
  Tool t;
  t.name = "hang";
  t.timeoutSeconds = 0.05;
  t.run = [&](const Value&, ToolEnv&) {
    auto p = Promise::create();
    p->setCanceller([&] { cancelled = true; });
    return p;
  };
  reg_.define(t);
  Error e = err("hang", Value::object());
  EXPECT_EQ(e.code, "timeout");
  EXPECT_EQ(e.message, "tool 'hang' timed out after 0.05s");
  EXPECT_TRUE(cancelled);
}

TEST_F(RegistryTest, ThrownErrorsKeepTheirCode) {
  Tool t;
  t.name = "boom";
  t.run = [](const Value&, ToolEnv&) -> PromisePtr { fail(codes::kRateLimited, "slow down"); };
  reg_.define(t);
  Error e = err("boom", Value::object());
  EXPECT_EQ(e.code, "rate_limited");
  EXPECT_EQ(e.message, "slow down");
}

TEST_F(RegistryTest, CancellingTheCallCancelsSleep) {
  PromisePtr p = reg_.call("sleep", J(R"({"seconds":30})"));
  loop_.poll();
  EXPECT_TRUE(p->pending());
  p->cancel();
  EXPECT_TRUE(p->rejected());
  EXPECT_EQ(p->error().code, "cancelled");
}

TEST_F(RegistryTest, SearchRanksNameMatchesFirst) {
  reg_.define(adder());
  auto r = reg_.search("file read");
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0]->name, "file_read");
  r = reg_.search("math");
  ASSERT_GE(r.size(), 2u);
  EXPECT_TRUE(reg_.search("zzzz").empty());
}

TEST_F(RegistryTest, PureBuiltinsThroughTheRegistry) {
  EXPECT_EQ(ok("calculator", J(R"J({"expression":"2 * (3 + 4)"})J")).get("result"), Value(14));
  EXPECT_EQ(ok("hash", J(R"({"data":"abc"})")).getString("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(ok("hash", J(R"({"data":"abc","algorithm":"md5"})")).getString("hash"),
            "900150983cd24fb0d6963f7d28e17f72");
  std::string u = ok("uuid", Value::object()).getString("uuid");
  EXPECT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  Value csv = ok("csv_parse", J(R"({"text":"name,age\nAda,36\n","numbers":true})"));
  EXPECT_EQ(toJsonText(csv.get("rows")), R"([{"name":"Ada","age":36}])");
  Value q = ok("json_query", J(R"({"data":"{\"a\":[1,2,3]}","query":"$.a[1]"})"));
  EXPECT_EQ(q.get("value"), Value(2));
  Value d = ok("datetime",
               J(R"({"operation":"add","date":"2024-01-31T10:00:00Z","amount":{"months":1}})"));
  EXPECT_EQ(d.getString("iso"), "2024-02-29T10:00:00Z");
  d = ok("datetime", J(R"({"operation":"format","date":0,"offset":"+05:30","format":"%H:%M"})"));
  EXPECT_EQ(d.getString("iso"), "1970-01-01T05:30:00+05:30");
  EXPECT_EQ(d.getString("formatted"), "05:30");
  d = ok("datetime", J(R"({"operation":"parse","date":"2024-03-01T12:00:00+02:00"})"));
  EXPECT_EQ(d.getString("iso"), "2024-03-01T10:00:00Z");
  d = ok("datetime", J(R"({"operation":"diff","date":"2024-01-01","other":"2024-01-03"})"));
  EXPECT_EQ(d.get("days"), Value(2));
  EXPECT_EQ(err("datetime", J(R"({"operation":"parse","date":"2023-02-30"})")).code,
            "invalid_argument");
  EXPECT_EQ(
      ok("text_template", J(R"({"template":"Hi {{n}}","vars":{"n":"Ada"}})")).getString("text"),
      "Hi Ada");
}

TEST_F(RegistryTest, ShellRunsWithoutAShellAndTimesOut) {
  perms_.allowRun();
  Value r = ok("shell", J(R"({"command":["sh","-c","echo out; echo err >&2; exit 3"]})"));
  EXPECT_EQ(r.getString("stdout"), "out\n");
  EXPECT_EQ(r.getString("stderr"), "err\n");
  EXPECT_EQ(r.getInt("exit_code"), 3);
  // A line is split into words; nothing is expanded.
  r = ok("shell", J(R"({"command":"echo '$HOME' *"})"));
  EXPECT_EQ(r.getString("stdout"), "$HOME *\n");
  r = ok("shell", J(R"({"command":["cat"],"stdin":"piped"})"));
  EXPECT_EQ(r.getString("stdout"), "piped");
  Error e = err("shell", J(R"({"command":["sleep","5"],"timeout":0.2})"));
  EXPECT_EQ(e.code, "timeout");
  EXPECT_EQ(err("shell", J(R"({"command":["no-such-command-xyz"]})")).code, "not_found");
}

}  // namespace
