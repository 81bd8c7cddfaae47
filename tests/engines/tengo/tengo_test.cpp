// Unit tests for the Tengo engine: host API (native modules, globals, JSON conversion), the
// suspend/resume seam, limits, the os permission gate and the defined behaviour where Go's
// Tengo crashes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "llmspell/engines/tengo/tengo.hpp"

namespace tg = llmspell::tengo;

namespace {

struct RunResult {
  std::unique_ptr<tg::Vm> vm;
  tg::Status st;
};

RunResult run(const std::string& src, const tg::Limits& limits = {},
        const std::function<void(tg::Script&)>& setup = nullptr) {
  tg::Script s(src, "test");
  s.modules().addStdlib(tg::ModuleMap::allStdlibNames());
  s.limits() = limits;
  if (setup) setup(s);
  RunResult r;
  r.st = s.compile(&r.vm);
  if (r.st.ok()) r.st = r.vm->run();
  return r;
}

int64_t outInt(const RunResult& r) { return r.vm->get("out").i(); }

}  // namespace

TEST(TengoBasics, RunsArithmeticAndReadsGlobals) {
  RunResult r = run("out := 1 + 2 * 3");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 7);
  EXPECT_TRUE(r.vm->isDefined("out"));
  EXPECT_TRUE(r.vm->get("nope").isUndefined());
}

TEST(TengoBasics, PredeclaredGlobalsAreVisibleAndSettable) {
  RunResult r = run("out := x * 2", {}, [](tg::Script& s) { s.define("x", tg::Value::integer(21)); });
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 42);
  EXPECT_TRUE(r.vm->set("x", tg::Value::integer(5)));
  ASSERT_TRUE(r.vm->run().ok());
  EXPECT_EQ(outInt(r), 10);
  EXPECT_FALSE(r.vm->set("unknown", tg::Value::integer(1)));
}

TEST(TengoErrors, RuntimeErrorsCarryPositions) {
  RunResult r = run("a := 1\nb := a + \"x\"");
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kRuntimeError);
  EXPECT_EQ(r.st.message, "Runtime Error: invalid operation: int + string\n\tat test:2:6");
}

TEST(TengoErrors, ParseAndCompileErrorsAreDistinguished) {
  EXPECT_EQ(run("a := [1,]").st.kind, tg::Status::Kind::kParseError);
  RunResult c = run("a := b");
  EXPECT_EQ(c.st.kind, tg::Status::Kind::kCompileError);
  EXPECT_EQ(c.st.message, "Compile Error: unresolved reference 'b'\n\tat test:1:6");
}

// A newline at the end of the file starts no line (Go's token.File.AddLine ignores an offset at
// the file's size): an error at the end is one column past the last line's text.
TEST(TengoErrors, AParseErrorAtTheEndOfAFileEndingInANewlineIsOnTheLastLine) {
  RunResult r = run("a := 1 +\n");
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kParseError);
  EXPECT_EQ(r.st.message, "Parse Error: expected operand, found 'EOF'\n\tat test:1:10");
  EXPECT_EQ(run("a := 1 +\n\n").st.message, "Parse Error: expected operand, found 'EOF'\n\tat test:2:2");
  EXPECT_EQ(run("a := 1 +").st.message, "Parse Error: expected operand, found 'EOF'\n\tat test:1:9");
}

TEST(TengoErrors, IntegerDivisionByZeroIsARuntimeError) {
  RunResult r = run("a := 0\nout := 5 / a");
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kRuntimeError);
  EXPECT_NE(r.st.message.find("integer divide by zero"), std::string::npos);
  EXPECT_NE(run("a := 0\nout := 5 % a").st.message.find("integer divide by zero"),
            std::string::npos);
}

TEST(TengoErrors, MinIntDividedByMinusOneWraps) {
  RunResult r = run("m := -9223372036854775807 - 1\nout := [m / -1 == m, m % -1, m * -1 == m]");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "[true, 0, true]");
}

TEST(TengoErrors, ShiftsPast63AreDefined) {
  RunResult r = run("out := [1 << 64, 1 << -1, -8 >> 100, 8 >> 100, 1 << 63]");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "[0, 0, -1, 0, -9223372036854775808]");
}

TEST(TengoErrors, DeepRecursionIsAStackOverflow) {
  RunResult r = run("f := func(n) { return n == 0 ? 0 : 1 + f(n - 1) }\nout := f(100000)");
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kRuntimeError);
  EXPECT_NE(r.st.message.find("stack overflow"), std::string::npos);
}

TEST(TengoErrors, CallDepthFollowsTheLimits) {
  tg::Limits l;
  l.maxFrames = 10000;
  l.maxStackValues = 10000 * 32;
  const std::string f = "f := func(n) { return n == 0 ? 0 : 1 + f(n - 1) }\n";
  RunResult r = run(f + "out := f(9990)", l);
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 9990);
  r = run(f + "out := f(10000)", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kRuntimeError);
  EXPECT_NE(r.st.message.find("stack overflow"), std::string::npos) << r.st.message;
}

TEST(TengoLimits, DeepStacksAreChargedToTheMemoryCap) {
  // 10000 frames of this function hold about 700 KB of stack: past a 256 KB cap.
  tg::Limits l;
  l.maxFrames = 10000;
  l.maxStackValues = 10000 * 32;
  l.maxMemoryBytes = 256 << 10;
  RunResult r = run("f := func(n) { return n == 0 ? 0 : 1 + f(n - 1) }\nout := f(9990)", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("memory limit exceeded"), std::string::npos) << r.st.message;
}

TEST(TengoErrors, SelfTailCallsDoNotOverflow) {
  RunResult r = run("f := func(n, a) { if n == 0 { return a }; return f(n - 1, a + 1) }\nout := f(1000000, 0)");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 1000000);
}

TEST(TengoErrors, DeletingMapKeysWhileIteratingSkipsThem) {
  RunResult r = run(R"(
m := {a: 1, b: 2, c: 3, d: 4}
out := 0
for k, v in m {
  delete(m, "a"); delete(m, "b"); delete(m, "c"); delete(m, "d")
  out += v
})");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_GE(outInt(r), 1);
  EXPECT_LE(outInt(r), 4);
}

TEST(TengoLimits, AllocationLimitIsUncatchable) {
  tg::Limits l;
  l.maxAllocs = 10;
  RunResult r = run("a := []\nfor i := 0; i < 100; i++ { a = append(a, i) }", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("object allocation limit exceeded"), std::string::npos);
}

TEST(TengoLimits, InstructionBudgetStopsInfiniteLoops) {
  tg::Limits l;
  l.maxInstructions = 100000;
  RunResult r = run("for {}", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("instruction limit exceeded"), std::string::npos);
}

TEST(TengoLimits, DeadlineStopsLongRuns) {
  tg::Limits l;
  l.deadlineMs = 50;
  RunResult r = run("x := 0\nfor { x++ }", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("deadline"), std::string::npos);
}

TEST(TengoLimits, MemoryCapStopsGrowth) {
  tg::Limits l;
  l.maxMemoryBytes = 1 << 20;
  RunResult r = run("a := []\nfor { a = append(a, [1, 2, 3]) }", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("memory limit exceeded"), std::string::npos);
}

TEST(TengoLimits, StringSizeLimit) {
  tg::Limits l;
  l.maxStringLen = 8;
  RunResult r = run("out := \"abcde\" + \"fghij\"", l);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kLimitExceeded);
  EXPECT_NE(r.st.message.find("exceeding string size limit"), std::string::npos);
}

TEST(TengoLimits, AbortFromAnotherThread) {
  tg::Script s("for {}", "test");
  std::unique_ptr<tg::Vm> vm;
  ASSERT_TRUE(s.compile(&vm).ok());
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    vm->abort();
  });
  tg::Status st = vm->run();
  t.join();
  EXPECT_EQ(st.kind, tg::Status::Kind::kLimitExceeded);
}

TEST(TengoHost, NativeBuiltinModule) {
  RunResult r = run("h := import(\"host\")\nout := [h.add(2, 3), h.name, type_name(h.add)]", {},
              [](tg::Script& s) {
                s.modules().addBuiltinModule(
                    "host", {{"add", tg::makeNative("add",
                                                    [](tg::Vm&, tg::Args a) -> tg::Result {
                                                      if (a.size() != 2) return tg::Result::wrongArgs();
                                                      return tg::Value::integer(a[0].i() + a[1].i());
                                                    })},
                             {"name", tg::makeString("llmspell")}});
              });
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "[5, \"llmspell\", \"user-function:add\"]");
}

TEST(TengoHost, NativeErrorsAbortWithPosition) {
  RunResult r = run("h := import(\"host\")\nh.fail()", {}, [](tg::Script& s) {
    s.modules().addBuiltinModule(
        "host", {{"fail", tg::makeNative("fail", [](tg::Vm&, tg::Args) -> tg::Result {
                    return tg::Result::error("boom");
                  })}});
  });
  EXPECT_EQ(r.st.message, "Runtime Error: boom\n\tat test:2:1");
}

TEST(TengoHost, NativeCanCallBackIntoScript) {
  RunResult r = run("h := import(\"host\")\nout := h.apply(func(x) { return x * 10 }, 4)", {},
              [](tg::Script& s) {
                s.modules().addBuiltinModule(
                    "host", {{"apply", tg::makeNative("apply", [](tg::Vm& vm, tg::Args a) {
                                return vm.call(a[0], a.subspan(1));
                              })}});
              });
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 40);
}

TEST(TengoHost, SuspendAndResumeKeepFrames) {
  tg::Script s(R"(
h := import("host")
f := func(a) {
  b := h.wait(a)       // suspends
  return a + b
}
out := [f(1), f(10)]
)",
               "test");
  int calls = 0;
  s.modules().addBuiltinModule(
      "host", {{"wait", tg::makeNative("wait", [&calls](tg::Vm&, tg::Args) -> tg::Result {
                  ++calls;
                  return tg::Result::pending();
                })}});
  std::unique_ptr<tg::Vm> vm;
  ASSERT_TRUE(s.compile(&vm).ok());
  tg::Status st = vm->run();
  ASSERT_EQ(st.kind, tg::Status::Kind::kSuspended);
  EXPECT_TRUE(vm->suspended());
  st = vm->resume(tg::Value::integer(100));
  ASSERT_EQ(st.kind, tg::Status::Kind::kSuspended);
  st = vm->resume(tg::Value::integer(1000));
  ASSERT_TRUE(st.ok()) << st.message;
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(tg::toDisplay(vm->get("out")), "[101, 1010]");
}

TEST(TengoHost, ResumeWithErrorReportsCallSite) {
  tg::Script s("h := import(\"host\")\nx := h.wait()", "test");
  s.modules().addBuiltinModule(
      "host", {{"wait", tg::makeNative("wait", [](tg::Vm&, tg::Args) -> tg::Result {
                  return tg::Result::pending();
                })}});
  std::unique_ptr<tg::Vm> vm;
  ASSERT_TRUE(s.compile(&vm).ok());
  ASSERT_EQ(vm->run().kind, tg::Status::Kind::kSuspended);
  tg::Status st = vm->resumeError("timeout");
  EXPECT_EQ(st.message, "Runtime Error: timeout\n\tat test:2:6");
  EXPECT_FALSE(vm->suspended());
}

TEST(TengoHost, JsonConversionRoundTrip) {
  auto j = nlohmann::json::parse(R"({"a":[1,2.5,"x",true,null],"b":{"c":"d"}})");
  tg::Value v = tg::fromJson(j);
  EXPECT_EQ(tg::typeName(v), "map");
  EXPECT_EQ(tg::toJson(v), j);
}

TEST(TengoSandbox, OsIsDeniedByDefault) {
  RunResult r = run("os := import(\"os\")\nout := os.getenv(\"HOME\")");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "error: \"permission denied: getenv\"");
}

TEST(TengoSandbox, OsHostAnswersForTheModule) {
  // The library asks the host and never reads the process environment itself.
  struct Host : tg::OsHost {
    tg::Value getenv(const std::string& name) override {
      return tg::makeString(name == "TENGO_TEST_VAR" ? "yes" : "");
    }
  };
  RunResult r = run("os := import(\"os\")\nout := [os.getenv(\"TENGO_TEST_VAR\"), os.read_file(\"x\")]", {},
                    [](tg::Script& s) { s.setOsHost(std::make_shared<Host>()); });
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "[\"yes\", error: \"permission denied: read_file\"]");
}

TEST(TengoStdlib, FormatAndText) {
  RunResult r = run(R"TG(
text := import("text")
out := [format("%5.2f|%-4d|%x|%v", 3.14159, 7, 255, "s"), text.join(["a", "b"], "-"),
        text.re_replace("(\\w+)@(\\w+)", "me@host", "$2 at $1")]
)TG");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")),
            "[\" 3.14|7   |ff|\\\"s\\\"\", \"a-b\", \"host at me\"]");
}

TEST(TengoParser, CanonicalAstString) {
  std::string ast;
  ASSERT_TRUE(tg::Script::parseToString("a + b * c", "test", &ast).ok());
  EXPECT_EQ(ast, "(a + (b * c))");
}

TEST(TengoRobustness, DeepNestingIsAParseErrorNotACrash) {
  std::string src = "x := " + std::string(5000, '(') + "1" + std::string(5000, ')');
  EXPECT_EQ(run(src).st.kind, tg::Status::Kind::kParseError);
  std::string chain = "x := 1";
  for (int i = 0; i < 50000; ++i) chain += " + 1";
  RunResult r = run(chain);
  EXPECT_EQ(r.st.kind, tg::Status::Kind::kParseError);
  EXPECT_NE(r.st.message.find("expression too long"), std::string::npos);
}

TEST(TengoRobustness, SelfReferencingArrayPrintsComparesAndCopies) {
  RunResult r = run("a := [1]\na[0] = a\ns := string(a)\nb := copy(a)\nc := a == a\nout := len(s) > 0\na[0] = 0\nb[0] = 0");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(tg::toDisplay(r.vm->get("out")), "true");
}

TEST(TengoRobustness, MillionNestedArraysAreFreedIteratively) {
  RunResult r = run("a := []\nfor i := 0; i < 1000000; i++ { a = [a] }\na = 0\nout := 1");
  ASSERT_TRUE(r.st.ok()) << r.st.message;
  EXPECT_EQ(outInt(r), 1);
}
