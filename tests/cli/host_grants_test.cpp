// Host calls that take a path from a spell without being `fs`, and the CLI's error lines, through
// the real binary (issue #10, found in the audit after items 1-12): llm.configure's replies_file
// needs a read grant and its errors show nothing of a file outside the grants; events.record /
// events.replay refuse what is not a regular file instead of waiting on it; the operator's
// provider keys are masked in every command's output, not only once a run builds its LLM client.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "support/cli.hpp"

namespace {

namespace stdfs = std::filesystem;
using llmspell::test::runCli;
using llmspell::test::shellQuote;

constexpr const char* kKey = "sk-audit-0123456789abcdef";

class HostGrants : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = stdfs::path(testing::TempDir()) / ("host_grants_" + std::to_string(getpid()));
    stdfs::remove_all(dir_);
    stdfs::create_directories(dir_ / "g");
    stdfs::create_directories(dir_ / "outside");
    for (const char* k : {"LLMSPELL_MODEL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY",
                          "LLMSPELL_CALL_LOG"})
      unsetenv(k);
    setenv("OLLAMA_HOST", "http://127.0.0.1:1", 1);
    setenv("LLMSPELL_HOME", (dir_ / "home").c_str(), 1);
  }
  void TearDown() override {
    unsetenv("OPENAI_API_KEY");
    unsetenv("OLLAMA_HOST");
    unsetenv("LLMSPELL_HOME");
    stdfs::remove_all(dir_);
  }
  // `llmspell ARGS` run in the test's directory.
  llmspell::test::CliResult cli(const std::string& args, const std::string& input = "") {
    return llmspell::test::runShell("cd " + shellQuote(dir_.string()) + " && " + llmspell::test::cliPath() + " " +
                                    args + " 2>&1 <" + shellQuote(writeInput(input)));
  }
  std::string writeInput(const std::string& input) {
    std::string p = (dir_ / "stdin.txt").string();
    std::ofstream(p) << input;
    return p;
  }
  stdfs::path dir_;
};

// ---- llm.configure("mock", {replies_file = ...})

TEST_F(HostGrants, RepliesFileNeedsTheReadGrantAndShowsNothingOfAFileOutsideIt) {
  std::ofstream(dir_ / "outside" / "secret.txt") << "TOPSECRET-content line\n";
  const std::string probe =
      "local ok, e = pcall(llm.configure, 'mock', {replies_file = %s}) print(e.code) print(e.message)";
  auto run = [&](const std::string& path, const std::string& flags) {
    std::string code = probe;
    code.replace(code.find("%s"), 2, "'" + path + "'");
    return cli("exec " + flags + " " + shellQuote(code));
  };
  // No grant: refused without reading it, whether the file exists or not.
  auto live = run("outside/secret.txt", "");
  EXPECT_EQ(live.exit, 0) << live.out;
  EXPECT_EQ(live.out.substr(0, live.out.find('\n')), "permission_denied") << live.out;
  EXPECT_EQ(live.out.find("TOPSECRET"), std::string::npos) << live.out;
  EXPECT_NE(live.out.find("--allow-read"), std::string::npos) << live.out;
  auto dead = run("outside/missing.txt", "");
  EXPECT_EQ(dead.out.substr(0, dead.out.find('\n')), "permission_denied") << dead.out;
  // A grant elsewhere does not cover it either; a link inside the grant does not lead out.
  stdfs::create_symlink(dir_ / "outside" / "secret.txt", dir_ / "g" / "lnk");
  auto viaLink = run("g/lnk", "--allow-read=g");
  EXPECT_EQ(viaLink.out.substr(0, viaLink.out.find('\n')), "permission_denied") << viaLink.out;
  EXPECT_EQ(viaLink.out.find("TOPSECRET"), std::string::npos) << viaLink.out;
}

TEST_F(HostGrants, RepliesFileInsideTheGrantIsServedAndItsErrorsNameTheLine) {
  std::ofstream(dir_ / "g" / "replies.jsonl") << "\"first\"\n{\"text\": \"second\"}\n";
  std::ofstream(dir_ / "g" / "bad.jsonl") << "\"ok\"\nnot json\n";
  auto r = cli("exec --allow-read=g "
               "'llm.configure(\"mock\", {replies_file = \"g/replies.jsonl\"}) "
               "print(llm.chat(\"a\", {model = \"mock/script\"}).text) print(llm.chat(\"b\", {model = \"mock/script\"}).text)'");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "first\nsecond\n");
  auto bad = cli("exec --allow-read=g 'local ok, e = pcall(llm.configure, \"mock\", {replies_file = \"g/bad.jsonl\"}) "
                 "print(e.code) print(e.message)'");
  EXPECT_NE(bad.out.find("invalid_argument\ng/bad.jsonl:2: "), std::string::npos) << bad.out;
  // Not a regular file: refused at once, never waited on.
  ASSERT_EQ(mkfifo((dir_ / "g" / "fifo").c_str(), 0600), 0);
  auto fifo = cli("exec --timeout 20 --allow-read=g 'local ok, e = pcall(llm.configure, \"mock\", {replies_file = \"g/fifo\"}) "
                  "print(e.code) print(e.message)'");
  EXPECT_EQ(fifo.exit, 0) << fifo.out;
  EXPECT_NE(fifo.out.find("invalid_argument\nllm.configure: replies_file: g/fifo is not a regular file"), std::string::npos)
      << fifo.out;
}

// The operator's --mock-replies is trusted: no grant needed.
TEST_F(HostGrants, TheOperatorsMockRepliesFileNeedsNoGrant) {
  std::ofstream(dir_ / "outside" / "replies.jsonl") << "\"from the operator\"\n";
  auto r = cli("exec --mock-replies outside/replies.jsonl 'print(llm.chat(\"x\", {model = \"mock/script\"}).text)'");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "from the operator\n");
}

// ---- spell.yaml's config cannot name the files the host opens for the run

TEST_F(HostGrants, ManifestConfigCannotNameTheHostsFiles) {
  std::ofstream(dir_ / "outside" / "secret.txt") << "TOPSECRET-content line\n";
  stdfs::create_directories(dir_ / "sp");
  std::ofstream(dir_ / "sp" / "main.lua") << "print(llm.chat('hi', {model = 'mock/echo'}).text)\n";
  const std::string outside = (dir_ / "outside").string();
  for (const auto& [key, file] : {std::pair{"record", "written.jsonl"}, std::pair{"call_log", "calls.db"},
                                  std::pair{"mock_replies", "secret.txt"}, std::pair{"replay", "secret.txt"}}) {
    std::ofstream(dir_ / "sp" / "spell.yaml") << "name: sp\nconfig:\n  " << key << ": " << outside << "/" << file << "\n";
    auto r = cli("run sp");
    EXPECT_EQ(r.exit, 2) << key << ": " << r.out;
    EXPECT_NE(r.out.find(std::string("config.") + key), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("TOPSECRET"), std::string::npos) << r.out;
  }
  EXPECT_FALSE(stdfs::exists(dir_ / "outside" / "written.jsonl"));
  EXPECT_FALSE(stdfs::exists(dir_ / "outside" / "calls.db"));
  // Turning the call log off is not a file.
  std::ofstream(dir_ / "sp" / "spell.yaml") << "name: sp\nconfig:\n  call_log: \"off\"\n";
  auto off = cli("run sp");
  EXPECT_EQ(off.exit, 0) << off.out;
  EXPECT_EQ(off.out, "hi\n");
}

// ---- events.record / events.replay: a FIFO in the grant hung the run (replay: past its time limit)

TEST_F(HostGrants, EventsRecordAndReplayRefuseWhatIsNotARegularFile) {
  ASSERT_EQ(mkfifo((dir_ / "g" / "fifo").c_str(), 0600), 0);
  auto rec = cli("exec --timeout 20 --allow-write=g 'local ok, e = pcall(events.record, \"g/fifo\") print(e.code) print(e.message)'");
  EXPECT_EQ(rec.exit, 0) << rec.out;
  EXPECT_NE(rec.out.find("invalid_argument\nevents.record: g/fifo"), std::string::npos) << rec.out;
  auto rep = cli("exec --timeout 20 --allow-read=g "
                 "'local ok, e = pcall(events.replay, \"g/fifo\") print(e.code) print(e.message)'");
  EXPECT_EQ(rep.exit, 0) << rep.out;
  EXPECT_NE(rep.out.find("invalid_argument\nevents.replay: g/fifo is not a regular file"), std::string::npos) << rep.out;
}

TEST_F(HostGrants, EventsRecordAndReplayStillWorkInsideTheGrant) {
  auto r = cli("exec --allow-write=g --allow-read=g "
               "'local id = events.record(\"g/rec.jsonl\") events.emit(\"app.x\", {n = 1}) events.stop_recording(id) "
               "local seen = 0 events.on(\"app.x\", function(e) seen = seen + e.data.n end) "
               "print(events.replay(\"g/rec.jsonl\", {speed = 0}), seen)'");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out, "1\t1\n");
}

// ---- the operator's keys are masked in every command's error lines

TEST_F(HostGrants, ReplErrorsAndValuesMaskTheOperatorsKeys) {
  setenv("OPENAI_API_KEY", kKey, 1);
  auto r = cli("repl --allow-env=OPENAI_API_KEY", "error('bad: ' .. env.get('OPENAI_API_KEY'))\nenv.get('OPENAI_API_KEY')\n");
  EXPECT_EQ(r.exit, 0) << r.out;
  EXPECT_EQ(r.out.find(kKey), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bad: [REDACTED]"), std::string::npos) << r.out;
}

TEST_F(HostGrants, ToolCallErrorsMaskTheOperatorsKeysWithoutAnLlmCall) {
  setenv("OPENAI_API_KEY", kKey, 1);
  auto r = cli(std::string("tool call file_read '{\"path\":\"g/") + kKey + "\"}' --allow-read=g");
  EXPECT_NE(r.exit, 0) << r.out;
  EXPECT_NE(r.out.find("not_found"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(kKey), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[REDACTED]"), std::string::npos) << r.out;
}

TEST_F(HostGrants, CheckErrorsMaskTheOperatorsKeys) {
  setenv("OPENAI_API_KEY", kKey, 1);
  std::ofstream(dir_ / "g" / "spell.yaml") << "name: g\nentry: " << kKey << ".lua\n";
  auto r = cli("check g");
  EXPECT_NE(r.exit, 0) << r.out;
  EXPECT_EQ(r.out.find(kKey), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entry '[REDACTED].lua'"), std::string::npos) << r.out;
}

}  // namespace
