// Permission checks resolve symlinks and `..` before comparing, and name the granting flag.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "llmspell/core/error.hpp"
#include "llmspell/core/permissions.hpp"

using namespace llmspell;
namespace fs = std::filesystem;

class PermissionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root = fs::temp_directory_path() / ("llmspell-perm-" + std::to_string(::getpid()));
    fs::create_directories(root / "granted" / "sub");
    fs::create_directories(root / "secret");
    std::ofstream(root / "secret" / "key") << "x";
    fs::create_symlink(root / "secret", root / "granted" / "link");
  }
  void TearDown() override { fs::remove_all(root); }
  fs::path root;
};

TEST_F(PermissionsTest, ReadInsideGrantOnly) {
  Permissions p;
  p.allowRead(root / "granted");
  EXPECT_NO_THROW(p.checkRead((root / "granted" / "sub" / "new.txt").string()));
  EXPECT_THROW(p.checkRead((root / "secret" / "key").string()), Exception);
}

TEST_F(PermissionsTest, DotDotAndSymlinkEscapesAreRefused) {
  Permissions p;
  p.allowRead(root / "granted");
  try {
    p.checkRead((root / "granted" / ".." / "secret" / "key").string());
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "permission_denied");
    EXPECT_NE(e.error().message.find("--allow-read="), std::string::npos);
  }
  EXPECT_THROW(p.checkRead((root / "granted" / "link" / "key").string()), Exception);
}

TEST_F(PermissionsTest, PrefixIsComponentWise) {
  Permissions p;
  p.allowRead(root / "gran");
  EXPECT_THROW(p.checkRead((root / "granted" / "x").string()), Exception);
}

TEST(Permissions, NetEnvRun) {
  Permissions p;
  p.allowNet("example.com");
  p.allowNet("*.api.test");
  p.allowNet("127.0.0.1:8080");
  EXPECT_TRUE(p.canNet("EXAMPLE.com"));
  EXPECT_TRUE(p.canNet("x.api.test"));
  EXPECT_FALSE(p.canNet("api.test"));
  EXPECT_TRUE(p.canNet("127.0.0.1", 8080));
  EXPECT_FALSE(p.canNet("127.0.0.1", 9090));
  EXPECT_THROW(p.checkNet("evil.com"), Exception);
  p.allowEnv("OPENAI_*");
  EXPECT_NO_THROW(p.checkEnv("OPENAI_API_KEY"));
  EXPECT_THROW(p.checkEnv("HOME"), Exception);
  EXPECT_THROW(p.checkRun("shell"), Exception);
  p.allowRun();
  EXPECT_NO_THROW(p.checkRun("shell"));
}
