// Limits under every engine (issue #12, "Tests that must exist"): the same limit cases in Lua,
// Tengo and JavaScript, through the real binary: a memory bomb, an infinite loop and a sleep past
// --timeout, each in the main chunk and in a callback the host calls (a spawned function, a
// tool's run), and --instruction-limit where the engine counts instructions. Every stop must be
// limit_exceeded with exit 3, and within its budget: the run ends within the time limit plus a
// generous margin (machines are shared: nothing here is tighter than several seconds), the
// process's peak resident memory stays within a generous bound over the memory cap.
//
// Every child runs with its address space capped (RLIMIT_AS), so a regression fails here with a
// crash or bad_alloc instead of allocating gigabytes, and under `timeout 60` so it cannot hang.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace {

using llmspell::test::cliPath;

// V8 reserves more address space than Lua or Tengo; 1 GiB leaves room for a few times the cap.
constexpr rlim_t kAddressSpace = 1ull << 30;
// The memory cap of the memory cases, and the peak resident memory allowed under it: the
// process's own baseline (about 30 MiB for Lua and Tengo, 40 MiB for JavaScript) plus the cap
// plus plenty for what the collectors free late. Measured: Lua 70, Tengo 64, JavaScript 90 MiB.
constexpr int kCapMiB = 32;
constexpr long kMaxRssKiB = 192 * 1024;
// The time limit of the time cases, and how long past it a run may take to end (the hard stop
// behind a built-in call that does not return is at twice the limit).
constexpr int kTimeoutS = 2;
constexpr double kMarginS = 10;

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;  // shadow memory: neither the address-space cap nor RSS holds
#else
constexpr bool kSanitized = false;
#endif

struct Child {
  int exit = -1;  // -1 when killed by a signal
  long maxRssKiB = 0;
  double seconds = 0;
  std::string out;  // stdout and stderr
};

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `llmspell exec --engine ENGINE FLAGS... CODE` (no shell), its address space capped.
Child exec(const std::string& engine, const std::string& code, const std::vector<std::string>& flags) {
  std::string outPath = ::testing::TempDir() + "/llmspell_engine_limits_" + std::to_string(getpid()) + ".out";
  std::vector<std::string> argv{"/usr/bin/timeout", "60", cliPath(), "exec", "--engine", engine};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(code);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (!kSanitized) {
      rlimit lim{kAddressSpace, kAddressSpace};
      setrlimit(RLIMIT_AS, &lim);
    }
    int in = open("/dev/null", O_RDONLY);
    int out = open(outPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(cargv[0], cargv.data());
    _exit(127);
  }
  Child c;
  int st = 0;
  rusage ru{};
  if (wait4(pid, &st, 0, &ru) == pid) {
    c.exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    // wait4's ru_maxrss is the largest of the child and the descendants it waited for: timeout(1)
    // waits for the binary, so this is the spell's process.
    c.maxRssKiB = kSanitized ? 0 : ru.ru_maxrss;
  }
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  c.out = slurp(outPath);
  return c;
}

struct Case {
  const char* engine;
  std::string code;
};

bool has(const Child& c, const std::string& text) { return c.out.find(text) != std::string::npos; }

void expectTimeStop(const Case& k, const Child& c) {
  SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
  EXPECT_EQ(c.exit, 3) << c.out;
  EXPECT_TRUE(has(c, "error[limit_exceeded]: time limit of " + std::to_string(kTimeoutS) + "s exceeded")) << c.out;
  EXPECT_LT(c.seconds, kTimeoutS + kMarginS) << c.out;
}

void expectMemoryStop(const Case& k, const Child& c) {
  SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
  EXPECT_EQ(c.exit, 3) << c.out;
  EXPECT_TRUE(has(c, "error[limit_exceeded]: memory limit of " + std::to_string(kCapMiB) + " MiB exceeded")) << c.out;
  EXPECT_LT(c.maxRssKiB, kMaxRssKiB) << "peak RSS " << c.maxRssKiB / 1024 << " MiB";
}

const std::vector<std::string> kTimeFlags{"--timeout", std::to_string(kTimeoutS)};
const std::vector<std::string> kMemoryFlags{"--memory-limit", std::to_string(kCapMiB)};

TEST(EngineLimits, MemoryBombInTheMainChunk) {
  for (const Case& k : {Case{"lua", "local t = {} for i = 1, 1e9 do t[i] = {i} end"},
                        Case{"tengo", "a := []; for { a = append(a, {x: 1}) }"},
                        Case{"js", "const a = []; for (;;) a.push({i: a.length})"}})
    expectMemoryStop(k, exec(k.engine, k.code, kMemoryFlags));
}

TEST(EngineLimits, MemoryBombInACallback) {
  for (const Case& k :
       {Case{"lua", "await(spawn(function() local t = {} for i = 1, 1e9 do t[i] = {i} end end))"},
        Case{"tengo", "p := spawn(func() { a := []; for { a = append(a, {x: 1}) } }); await(p)"},
        Case{"js", "await spawn(async () => { const a = []; for (;;) a.push({i: a.length}) })"},
        Case{"lua", "tools.define{name = 'grow', run = function() local t = {} for i = 1, 1e9 do t[i] = {i} end end} "
                    "tools.call('grow', {})"},
        Case{"tengo", "tools := import(\"tools\"); tools.define({name: \"grow\", run: func(args, ctx) { a := []; "
                      "for { a = append(a, {x: 1}) } }}); tools.call(\"grow\", {})"},
        Case{"js", "tools.define({name: 'grow', run: () => { const a = []; for (;;) a.push({i: a.length}) }}); "
                   "await tools.call('grow', {})"}})
    expectMemoryStop(k, exec(k.engine, k.code, kMemoryFlags));
}

TEST(EngineLimits, InfiniteLoopMeetsTheTimeLimit) {
  for (const Case& k : {Case{"lua", "while true do end"}, Case{"tengo", "for {}"}, Case{"js", "for (;;) {}"}})
    expectTimeStop(k, exec(k.engine, k.code, kTimeFlags));
}

TEST(EngineLimits, SleepPastTheTimeLimitIsStopped) {
  for (const Case& k : {Case{"lua", "sleep(30) print('AFTER')"}, Case{"tengo", "sleep(30)"},
                        Case{"js", "await sleep(30); print('AFTER')"}}) {
    Child c = exec(k.engine, k.code, kTimeFlags);
    expectTimeStop(k, c);
    EXPECT_FALSE(has(c, "AFTER")) << c.out;
  }
}

TEST(EngineLimits, InfiniteLoopInACallbackMeetsTheTimeLimit) {
  for (const Case& k :
       {Case{"lua", "await(spawn(function() while true do end end))"},
        Case{"tengo", "p := spawn(func() { for {} }); await(p)"},
        Case{"js", "await spawn(async () => { for (;;) {} })"},
        Case{"lua", "tools.define{name = 'spin', run = function() while true do end end} tools.call('spin', {})"},
        Case{"tengo", "tools := import(\"tools\"); tools.define({name: \"spin\", run: func(args, ctx) { for {} }}); "
                      "tools.call(\"spin\", {})"},
        Case{"js", "tools.define({name: 'spin', run: () => { for (;;) {} }}); await tools.call('spin', {})"}})
    expectTimeStop(k, exec(k.engine, k.code, kTimeFlags));
}

TEST(EngineLimits, SleepPastTheTimeLimitInACallbackIsStopped) {
  // (Tengo's sleep in a callback returned an error at once before main's merge of h-tengo-wait.)
  for (const Case& k : {Case{"lua", "await(spawn(function() sleep(30) end)) print('AFTER')"},
                        Case{"tengo", "fmt := import(\"fmt\"); p := spawn(func() { sleep(30) }); await(p); "
                                      "fmt.println(\"AFTER\")"},
                        Case{"js", "await spawn(async () => { await sleep(30) }); print('AFTER')"}}) {
    Child c = exec(k.engine, k.code, kTimeFlags);
    expectTimeStop(k, c);
    EXPECT_FALSE(has(c, "AFTER")) << c.out;
  }
}

TEST(EngineLimits, InstructionLimitInLuaAndTengo) {
  for (const Case& k : {Case{"lua", "while true do end"}, Case{"tengo", "for {}"},
                        Case{"lua", "await(spawn(function() while true do end end))"},
                        Case{"tengo", "p := spawn(func() { for {} }); await(p)"}}) {
    SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
    // The time limit is only a backstop: the instruction limit must be what stops these.
    Child c = exec(k.engine, k.code, {"--instruction-limit", "1000000", "--timeout", "30"});
    EXPECT_EQ(c.exit, 3) << c.out;
    EXPECT_TRUE(has(c, "error[limit_exceeded]: instruction limit of 1000000 exceeded")) << c.out;
  }
}

// A built-in's own working memory is not charged (text.truncate takes about 19 times its
// input's size: a 16 MiB string under a 64 MiB cap peaked at 324 MB resident in Lua and
// succeeded); the process guard (spell/runner.cpp) stops the run when the process grows past
// twice the cap.
TEST(EngineLimits, TextTruncateIsHeldToTheMemoryLimit) {
  if (kSanitized) GTEST_SKIP() << "the process memory guard is off under AddressSanitizer";
  for (const Case& k : {Case{"lua", "print(#text.truncate(string.rep('x', 2^24), 10))"},
                        Case{"js", "print(text.truncate('x'.repeat(2 ** 24), 10).length)"}}) {
    Child c = exec(k.engine, k.code, {"--memory-limit", "64"});
    SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
    EXPECT_EQ(c.exit, 3) << c.out;
    EXPECT_LT(c.maxRssKiB, kMaxRssKiB) << "peak RSS " << c.maxRssKiB / 1024 << " MiB";
  }
}

// A long string copied out of the VM for a host call is host memory allocated for the spell:
// it must fit under the cap with what the VM holds (engine.hpp, kHostCopyCheck). Each spell
// holds a 12 MiB string (half the 24 MiB cap; a 16 MiB one in JavaScript, whose rope is small)
// and passes it to a host function. (Only one copy at a time is checked: several long strings
// in one call are each checked alone.)
TEST(EngineLimits, LongStringsPassedToTheHostAreCharged) {
  for (const Case& k :
       {Case{"lua", "local s = string.rep('x', 3 << 20) s = s .. s s = s .. s return #json.encode(s)"},
        Case{"tengo", "text := import(\"text\"); s := text.repeat(\"x\", 12 << 20); x := text.slugify(s); if is_error(x) { ret := x.value; }"},
        Case{"js", "let s = 'x'; for (let i = 0; i < 24; i++) s += s; return json.encode(s).length"}}) {
    Child c = exec(k.engine, k.code, {"--memory-limit", "24"});
    SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
    EXPECT_EQ(c.exit, 3) << c.out;
    EXPECT_TRUE(has(c, "error[limit_exceeded]: memory limit of 24 MiB exceeded: a string passed to the host needs"))
        << c.out;
  }
}

// data.patch builds its result in the host: a short patch of copy operations doubles the
// document per operation, and must be stopped by the spell's memory limit before it is made.
TEST(EngineLimits, DataPatchCopiesAreChargedBeforeTheyAreMade) {
  for (const Case& k :
       {Case{"lua", "local ops = {} for i = 1, 40 do ops[i] = {op = 'copy', from = '/a', path = '/a/x' .. i} end "
                    "return #json.encode(data.patch({a = {x = string.rep('y', 1000)}}, ops))"},
        Case{"tengo", "data := import(\"data\"); text := import(\"text\"); ops := []; "
                      "for i := 1; i <= 40; i++ { ops = append(ops, {op: \"copy\", from: \"/a\", path: \"/a/x\" + string(i)}) }; "
                      "r := data.patch({a: {x: text.repeat(\"y\", 1000)}}, ops)"},
        Case{"js", "const ops = []; for (let i = 1; i <= 40; i++) ops.push({op: 'copy', from: '/a', path: '/a/x' + i}); "
                   "return json.encode(data.patch({a: {x: 'y'.repeat(1000)}}, ops)).length"}}) {
    Child c = exec(k.engine, k.code, {"--memory-limit", "32"});
    SCOPED_TRACE(std::string(k.engine) + ": " + k.code);
    EXPECT_EQ(c.exit, 3) << c.out;
    EXPECT_TRUE(has(c, "error[limit_exceeded]: memory limit of 32 MiB exceeded: the data.patch result needs")) << c.out;
  }
}

// V8 counts no instructions: the JavaScript engine does not honour --instruction-limit (today it
// refuses the flag up front with config_error, pointing at --timeout). This case reports what
// happens instead of failing the suite, and starts checking the stop once the engine makes one.
TEST(EngineLimits, InstructionLimitInJavaScript) {
  Child c = exec("js", "for (;;) {}", {"--instruction-limit", "1000000", "--timeout", "5"});
  if (has(c, "instruction limit of 1000000 exceeded")) {
    EXPECT_EQ(c.exit, 3) << c.out;
    EXPECT_TRUE(has(c, "error[limit_exceeded]: instruction limit of 1000000 exceeded")) << c.out;
    return;
  }
  GTEST_SKIP() << "the js engine does not honour --instruction-limit: `exec --engine js --instruction-limit 1000000 "
                  "--timeout 5 'for (;;) {}'` ended with exit "
               << c.exit << " after " << c.seconds << " s; output: " << c.out;
}

}  // namespace
