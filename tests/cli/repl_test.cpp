// `llmspell repl` as a person uses it (issue #14): typed at a terminal (the real binary on a
// pseudo-terminal: line editing, Up for history, Tab for completion, :help, :engine), and the
// same session fed from a pipe. Also the completer itself against the registry.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli/repl_complete.hpp"
#include "support/cli.hpp"

namespace {

namespace fs = std::filesystem;
using llmspell::test::cliPath;

// The binary on a pseudo-terminal. Reads wait for an expected text, with a generous deadline
// that only fails the test when it passes (no timing assumption otherwise).
class Terminal {
 public:
  Terminal(const std::vector<std::string>& args, const std::string& home) {
    struct winsize ws {};
    ws.ws_row = 40;
    ws.ws_col = 100;
    pid_ = forkpty(&fd_, nullptr, nullptr, &ws);
    if (pid_ == 0) {
      setenv("HOME", home.c_str(), 1);
      unsetenv("LLMSPELL_HOME");
      unsetenv("EDITRC");
      setenv("TERM", "xterm", 1);
      setenv("LC_ALL", "C.UTF-8", 1);
      std::vector<char*> argv;
      std::string bin = cliPath();
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Terminal() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }

  // Types `keys` once libedit is reading: it puts the terminal in raw mode for that (keys typed
  // ahead, while the terminal is still cooked, get the line discipline's echo and editing).
  void type(const std::string& keys) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      struct termios tio {};
      ASSERT_EQ(tcgetattr(fd_, &tio), 0);
      if (!(tio.c_lflag & ICANON)) break;
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "the terminal never left cooked mode:\n" << out_.substr(seen_);
      readSome(10);
    }
    ASSERT_EQ(write(fd_, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }

  // Waits until `text` appears in the output after what earlier waits consumed; consumes up to
  // its end. False (with the output so far) when the deadline passes or the process ends first.
  ::testing::AssertionResult expect(const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      if (size_t at = out_.find(text, seen_); at != std::string::npos) {
        seen_ = at + text.size();
        return ::testing::AssertionSuccess();
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 || !readSome(static_cast<int>(left.count())))
        return ::testing::AssertionFailure() << "did not see \"" << text << "\" in:\n" << out_.substr(seen_);
    }
  }

  // Ends the session with Ctrl-D at the next prompt; returns the exit code. (Typed before
  // libedit has the terminal again, while a chunk runs, Ctrl-D would be the line discipline's
  // end-of-file, which is gone once libedit switches the terminal to raw mode.)
  int end() {
    if (!expect("> ")) return -1;
    type("\x04");
    while (readSome(20000)) {
    }
    int st = 0;
    if (!closed_) kill(pid_, SIGKILL);  // the terminal is still open after 20 s of silence
    waitpid(pid_, &st, 0);
    exited_ = true;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  }

 private:
  bool readSome(int timeoutMs) {
    struct pollfd p {fd_, POLLIN, 0};
    if (poll(&p, 1, timeoutMs) <= 0) return false;
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) {  // EIO once the process has ended
      closed_ = true;
      return false;
    }
    out_.append(buf, static_cast<size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool exited_ = false;
  bool closed_ = false;
  std::string out_;
  size_t seen_ = 0;
};

class ReplTerminal : public ::testing::Test {
 protected:
  void SetUp() override {
    home_ = fs::temp_directory_path() / ("llmspell_repl_" + std::to_string(getpid()) + "_" +
                                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home_);
    fs::create_directories(home_);
  }
  void TearDown() override { fs::remove_all(home_); }
  std::string home_;
};

constexpr const char* kUp = "\x1b[A";

TEST_F(ReplTerminal, ExpressionsPrintAndUpRecallsTheLastLineAcrossSessions) {
  {
    Terminal t({"repl"}, home_);
    ASSERT_TRUE(t.expect("> "));
    t.type("40 + 2\n");
    ASSERT_TRUE(t.expect("\n42\r\n"));
    ASSERT_TRUE(t.expect("> "));
    t.type("print('up' .. 'arrow')\n");
    ASSERT_TRUE(t.expect("\nuparrow\r\n"));
    ASSERT_TRUE(t.expect("> "));
    t.type("\n");  // an empty line is not history
    ASSERT_TRUE(t.expect("> "));
    t.type(std::string(kUp) + "\n");
    ASSERT_TRUE(t.expect("\nuparrow\r\n"));
    EXPECT_EQ(t.end(), 0);
  }
  // The history file: in ~/.llmspell (owner-only), each line once.
  fs::path dir = fs::path(home_) / ".llmspell", file = dir / "history";
  ASSERT_TRUE(fs::exists(file));
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  std::stringstream text;
  text << std::ifstream(file).rdbuf();
  std::string h = text.str();
  EXPECT_EQ(h.find("arrow"), h.rfind("arrow")) << h;
  {
    Terminal t({"repl"}, home_);
    ASSERT_TRUE(t.expect("> "));
    t.type(std::string(kUp) + "\n");
    ASSERT_TRUE(t.expect("\nuparrow\r\n"));
    ASSERT_TRUE(t.expect("> "));
    t.type(std::string(kUp) + kUp + "\n");  // two back: the expression
    ASSERT_TRUE(t.expect("\n42\r\n"));
    EXPECT_EQ(t.end(), 0);
  }
}

TEST_F(ReplTerminal, TabCompletesNamesMethodsAndOptionFieldsFromTheRegistry) {
  Terminal t({"repl"}, home_);
  ASSERT_TRUE(t.expect("> "));
  t.type("print(type(llm.ch\t) .. '-fn')\n");  // llm.ch -> llm.chat
  ASSERT_TRUE(t.expect("\nfunction-fn\r\n"));
  ASSERT_TRUE(t.expect("> "));
  t.type("print(type(ll\t) .. '-ns')\n");  // ll -> llm
  ASSERT_TRUE(t.expect("\ntable-ns\r\n"));
  ASSERT_TRUE(t.expect("> "));
  t.type("a = agent.create{mo\t = 'mock/echo', name = 'bot'}\n");  // mo -> model
  ASSERT_TRUE(t.expect("> "));
  t.type("print(a:ru\t('hi').text .. '-method')\n");  // a is an agent: a:ru -> a:run
  ASSERT_TRUE(t.expect("\nhi-method\r\n"));
  ASSERT_TRUE(t.expect("> "));
  t.type("print(llm.\t\t");  // two candidates or more: the second Tab lists them
  ASSERT_TRUE(t.expect("llm.count_tokens"));
  t.type("\x15");  // Ctrl-U: drop the line
  t.type(":engine js\n");
  ASSERT_TRUE(t.expect("engine: js"));
  ASSERT_TRUE(t.expect("> "));
  t.type("typeof llm.countT\t + '-js'\n");  // JavaScript's names: camelCase
  ASSERT_TRUE(t.expect("\nfunction-js\r\n"));
  EXPECT_EQ(t.end(), 0);
}

TEST_F(ReplTerminal, HelpEngineSwitchAndMultiLineChunks) {
  Terminal t({"repl"}, home_);
  ASSERT_TRUE(t.expect("> "));
  t.type(":help llm.chat\n");
  ASSERT_TRUE(t.expect("llm.chat(messages, opts?)"));
  ASSERT_TRUE(t.expect("One model call."));
  ASSERT_TRUE(t.expect("> "));
  t.type("function twice(a)\n");
  ASSERT_TRUE(t.expect(">> "));
  t.type("  return a * 2\n");
  ASSERT_TRUE(t.expect(">> "));
  t.type("end\n");
  ASSERT_TRUE(t.expect("> "));
  t.type("twice(21)\n");
  ASSERT_TRUE(t.expect("\n42\r\n"));
  ASSERT_TRUE(t.expect("> "));
  t.type(":engine tengo\n");
  ASSERT_TRUE(t.expect("globals and definitions of the one before do not carry over"));
  ASSERT_TRUE(t.expect("> "));
  t.type("1 + 2\n");
  ASSERT_TRUE(t.expect("\n3\r\n"));
  ASSERT_TRUE(t.expect("> "));
  t.type(":engine js\n");
  ASSERT_TRUE(t.expect("> "));
  t.type("function half(a) {\n");
  ASSERT_TRUE(t.expect(">> "));
  t.type("  return a / 2\n");
  ASSERT_TRUE(t.expect(">> "));
  t.type("}\n");
  ASSERT_TRUE(t.expect("> "));
  t.type("half(84)\n");
  ASSERT_TRUE(t.expect("\n42\r\n"));
  EXPECT_EQ(t.end(), 0);
}

// A line is edited by character: Backspace takes the whole of a two-byte "é".
TEST_F(ReplTerminal, EditingIsByCharacterInUtf8) {
  Terminal t({"repl"}, home_);
  ASSERT_TRUE(t.expect("> "));
  t.type("'d\xc3\xa9j\xc3\xa0 vu'\x1b[D\x1b[D\x1b[D\x1b[D\x7f\n");  // Left x4, Backspace: drops "à"
  ASSERT_TRUE(t.expect("\nd\xc3\xa9j vu\r\n"));
  EXPECT_EQ(t.end(), 0);
}

// ---- the same session from a pipe ----

// Piped input never loads libedit (nor its dependencies): it is read line by line.
TEST(ReplPiped, DoesNotLoadLibedit) {
  auto r = llmspell::test::runShell("printf '1 + 1\\n' | LD_DEBUG=files " + cliPath() + " repl 2>&1");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("\n2\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("libedit"), std::string::npos);
}

llmspell::test::CliResult piped(const std::string& args, const std::string& input) {
  return llmspell::test::runCli(args, input, /*mergeStderr=*/true);
}

TEST(ReplPiped, TengoExpressionsPrintTheirValue) {
  auto r = piped("repl -e tengo", "1 + 2\nx := 40\nx + 2\n\"text\"\n[1, 2]\nfmt := import(\"fmt\")\nfmt.println(\"said\")\n"
                                  "out := 7\nx\nf := func(a) {\n  return a * 2\n}; f(4)\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  // `out` is a line's value, not carried to the next line (it was printed again after every one).
  EXPECT_EQ(r.out, "3\n42\ntext\n[1,2]\nsaid\n7\n40\n");
}

TEST(ReplPiped, JavaScriptChunksContinueOverLines) {
  auto r = piped("repl -e js", "function f(a) {\n  return a * 2\n}\nf(21)\nconst s = `one\ntwo`\ns.length\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "42\n7\n");
}

TEST(ReplPiped, CommandsWorkWithoutATerminal) {
  auto r = piped("repl", "x = 1\n:help\n:help agent\n:help llm.chta\n:engine ruby\n:engine tengo\nx\n1 + 1\n:quit\n9\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find(":engine E"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("- `agent.create(config)`"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no function, namespace or type named 'llm.chta'; did you mean llm.chat?"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error[invalid_argument]: :engine takes lua, js or tengo, not 'ruby'"), std::string::npos) << r.out;
  // The Lua global is gone in the Tengo session; nothing after :quit runs.
  EXPECT_NE(r.out.find("engine: tengo (a new session"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unresolved reference 'x'"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n2\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("9"), std::string::npos) << r.out;
}

// ---- the completer ----

using llmspell::Registry;
using llmspell::cli::complete;
using llmspell::cli::ReplNames;

std::vector<std::string> names(std::string_view engine, std::string_view text, const ReplNames& known = {}) {
  return complete(Registry::global(), engine, text, known).candidates;
}

bool has(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

TEST(ReplCompletion, NamesAsEachEngineWritesThem) {
  EXPECT_EQ(names("lua", "ll"), std::vector<std::string>{"llm"});
  EXPECT_EQ(names("lua", "x = llm.ch"), (std::vector<std::string>{"llm.chat", "llm.chat_async"}));
  EXPECT_EQ(names("js", "llm.countT"), std::vector<std::string>{"llm.countTokens"});
  EXPECT_TRUE(has(names("lua", "rec"), "recv_any"));
  EXPECT_TRUE(has(names("js", "rec"), "recvAny"));
  EXPECT_FALSE(has(names("js", "awa"), "await"));  // JavaScript's own
  EXPECT_TRUE(has(names("tengo", "llm."), "llm.chat"));
  EXPECT_EQ(names("lua", ":he"), std::vector<std::string>{":help"});
  EXPECT_TRUE(has(names("lua", ":help llm.c"), "llm.chat"));
  EXPECT_EQ(names("lua", ":engine t"), std::vector<std::string>{"tengo"});
  EXPECT_TRUE(names("lua", "nosuch.x").empty());
}

TEST(ReplCompletion, MethodsOfObjectsWhoseTypeTheLinesTell) {
  const Registry& reg = Registry::global();
  ReplNames lua, js, tengo;
  lua.learn(reg, "lua", "local a = agent.create{name = 'x', model = 'mock/echo'}");
  EXPECT_TRUE(has(names("lua", "a:ru", lua), "a:run"));
  EXPECT_TRUE(names("lua", "a.ru", lua).empty());  // Lua calls methods with ':'
  js.learn(reg, "js", "const ch = channel(2)");
  EXPECT_TRUE(has(names("js", "ch.tryR", js), "ch.tryRecv"));
  tengo.learn(reg, "tengo", "l := import(\"llm\")");
  tengo.learn(reg, "tengo", "w := l.session({model: \"mock/echo\"})");
  EXPECT_TRUE(has(names("tengo", "l.cha", tengo), "l.chat"));
  EXPECT_TRUE(has(names("tengo", "w.se", tengo), "w.send"));
  lua.learn(reg, "lua", "a = 5");  // no longer an agent
  EXPECT_TRUE(names("lua", "a:ru", lua).empty());
}

TEST(ReplCompletion, OptionFieldsInsideATableForAKnownFunction) {
  EXPECT_EQ(names("lua", "agent.create{mo"), std::vector<std::string>{"model"});
  EXPECT_EQ(names("lua", "agent.create{name = 'x', max_"), (std::vector<std::string>{"max_iterations", "max_repeats"}));
  EXPECT_TRUE(has(names("lua", "llm.chat('hi', {te"), "temperature"));
  EXPECT_TRUE(has(names("js", "await llm.chat('hi', {response"), "response_format"));
  EXPECT_TRUE(has(names("tengo", "agent.create({mo"), "model"));
  EXPECT_FALSE(has(names("lua", "agent.create{model = mo"), "model"));  // a value, not a key
  EXPECT_FALSE(has(names("lua", "print{mo"), "model"));                 // no registry function
}

}  // namespace
