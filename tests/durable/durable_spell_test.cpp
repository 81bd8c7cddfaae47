// Durable runs through the `llmspell` CLI with SQLite checkpoints (no server needed): a run that
// fails part-way is run again with the same --run-id and resumes, without repeating the steps,
// model calls and tool calls it completed (docs/scaling.md).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "fake_provider.hpp"
#include "support/cli.hpp"

namespace {

using json = nlohmann::json;
using llmspell::test::runCli;
namespace fs = std::filesystem;

const std::string kSpells = std::string(LLMSPELL_SOURCE_DIR) + "/tests/durable/spells/";

class DurableSpell : public testing::Test {
 protected:
  void SetUp() override {
    home = fs::path(testing::TempDir()) / ("durable_" + std::to_string(getpid()) + "_" +
                                           testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(home);
    fs::create_directories(home);
    setenv("LLMSPELL_HOME", home.c_str(), 1);
    setenv("OPENAI_BASE_URL", fp.baseUrl("openai").c_str(), 1);
    setenv("OPENAI_API_KEY", "sk-test-openai-0123456789", 1);
    setenv("LLMSPELL_MODEL", "openai/gpt-4o-mini", 1);
    unsetenv("LLMSPELL_CHECKPOINTS");
    unsetenv("LLMSPELL_STATE");
  }
  void TearDown() override { fs::remove_all(home); }
  // The user messages the provider was sent, in order.
  std::vector<std::string> prompts() {
    std::vector<std::string> out;
    for (const auto& r : fp.requests()) {
      auto j = r.json();
      if (j.contains("messages")) out.push_back(j["messages"].back()["content"].get<std::string>());
    }
    return out;
  }
  fs::path home;
  llmspell::fake::FakeProvider fp{3};
};

TEST_F(DurableSpell, ResumeReplaysCompletedStepsAndModelCalls) {
  // The first run completes "outline", then fails in "draft" after its model call returned.
  auto r1 = runCli("run " + kSpells + "resume --run-id essay-1 --param fail_at=draft");
  EXPECT_EQ(r1.exit, 1) << r1.out << r1.err;
  EXPECT_NE(r1.err.find("crashed in draft"), std::string::npos) << r1.err;
  ASSERT_EQ(prompts().size(), 2u);
  EXPECT_TRUE(fs::exists(home / "checkpoints.db"));

  // Resumed: "outline" comes back from its checkpoint, the draft's completed model call too;
  // only "polish" asks the model.
  auto r2 = runCli("run " + kSpells + "resume --run-id essay-1 -o json");
  ASSERT_EQ(r2.exit, 0) << r2.out << r2.err;
  auto v = json::parse(r2.out)["value"];
  EXPECT_EQ(v["output"],
            "write the polish about tides after: write the draft about tides after: write the outline about tides "
            "after: start");
  EXPECT_EQ(v["replayed"], 1);
  auto ps = prompts();
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(ps[2].rfind("write the polish", 0), 0u) << ps[2];

  // Everything completed: a third run with the id asks the model nothing.
  auto r3 = runCli("run " + kSpells + "resume --run-id essay-1 -o json");
  ASSERT_EQ(r3.exit, 0) << r3.out << r3.err;
  EXPECT_EQ(json::parse(r3.out)["value"]["replayed"], 3);
  EXPECT_EQ(prompts().size(), 3u);

  // Another run id starts from scratch.
  auto r4 = runCli("run " + kSpells + "resume --run-id essay-2");
  ASSERT_EQ(r4.exit, 0) << r4.out << r4.err;
  EXPECT_EQ(prompts().size(), 6u);
}

// The journal is in shared code (the workflow layer, the bridge's llm and tools): Tengo resumes
// the same way.
TEST_F(DurableSpell, TengoResumesToo) {
  auto r1 = runCli("run " + kSpells + "resume_tengo --run-id t-1 --param fail_at=draft");
  ASSERT_EQ(r1.exit, 0) << r1.err;
  EXPECT_EQ(json::parse(r1.out)["status"], "failed") << r1.out;
  ASSERT_EQ(prompts().size(), 2u);
  auto r2 = runCli("run " + kSpells + "resume_tengo --run-id t-1");
  ASSERT_EQ(r2.exit, 0) << r2.err;
  auto v = json::parse(r2.out);
  EXPECT_EQ(v["status"], "completed");
  EXPECT_EQ(v["output"], "write the polish after: write the draft after: write the outline after: start");
  EXPECT_EQ(v["replayed"], 1);
  EXPECT_EQ(prompts().size(), 3u);
}

TEST_F(DurableSpell, CheckpointsGoWhereTheOperatorSays) {
  std::string db = (home / "elsewhere" / "cp.db").string();
  auto r1 = runCli("run " + kSpells + "resume --run-id e --param fail_at=outline --checkpoints " + db);
  EXPECT_EQ(r1.exit, 1) << r1.err;
  EXPECT_TRUE(fs::exists(db));
  EXPECT_FALSE(fs::exists(home / "checkpoints.db"));
  auto r2 = runCli("run " + kSpells + "resume --run-id e --checkpoints " + db);
  ASSERT_EQ(r2.exit, 0) << r2.err;
  EXPECT_EQ(prompts().size(), 3u);  // outline's call was completed and is not made again

  // A URL that is neither PostgreSQL nor a file is refused with a message saying what works.
  auto r3 = runCli("run " + kSpells + "resume --run-id e --checkpoints redis://127.0.0.1:1");
  EXPECT_EQ(r3.exit, 1);
  EXPECT_NE(r3.err.find("error[config_error]"), std::string::npos) << r3.err;
  EXPECT_NE(r3.err.find("postgres:// URL or the path of a SQLite file"), std::string::npos) << r3.err;
}

TEST_F(DurableSpell, SideEffectingToolIsNotCalledAgainOnResume) {
  auto r1 = runCli("run " + kSpells + "effects --run-id post-1 --param fail=yes");
  EXPECT_EQ(r1.exit, 1) << r1.err;
  auto r2 = runCli("run " + kSpells + "effects --run-id post-1 -o json");
  ASSERT_EQ(r2.exit, 0) << r2.out << r2.err;
  auto v = json::parse(r2.out)["value"];
  EXPECT_EQ(v["output"], "posted hello");
  EXPECT_EQ(v["posted"], 1) << "the completed tool call ran again";
  EXPECT_NE(v["key"].get<std::string>().find("/tool:post:"), std::string::npos) << v.dump();
}

// Where checkpoints are written is the operator's to say: a manifest's config cannot point the
// store at a file outside the spell's grants.
TEST_F(DurableSpell, ManifestConfigCannotChooseTheStore) {
  fs::path spell = home / "sneaky";
  fs::create_directories(spell);
  std::ofstream(spell / "spell.yaml") << "name: sneaky\nconfig:\n  durable: {store: /tmp/elsewhere.db, run_id: x}\n";
  std::ofstream(spell / "main.lua") << "return 1\n";
  auto r = runCli("run " + spell.string());
  EXPECT_EQ(r.exit, 2);
  EXPECT_NE(r.err.find("config.durable names a file the host opens"), std::string::npos) << r.err;
}

TEST_F(DurableSpell, RunsAreNotDurableUnlessAsked) {
  // exec has no manifest: nothing is checkpointed, and a second run calls again.
  std::string code = "'return llm.chat(\"hi\").text'";
  ASSERT_EQ(runCli("exec " + code).exit, 0);
  ASSERT_EQ(runCli("exec --run-id same " + code).exit, 0);
  ASSERT_EQ(runCli("exec --run-id same " + code).exit, 0);
  EXPECT_EQ(prompts().size(), 3u);
  EXPECT_FALSE(fs::exists(home / "checkpoints.db"));
  // --durable makes it so.
  ASSERT_EQ(runCli("exec --durable --run-id d " + code).exit, 0);
  ASSERT_EQ(runCli("exec --durable --run-id d " + code).exit, 0);
  EXPECT_EQ(prompts().size(), 4u);
}

}  // namespace
