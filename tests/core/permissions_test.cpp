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

TEST_F(PermissionsTest, ResolutionDoesNotDependOnWhetherTheTargetExists) {
  // granted/lnk points at secret/dir: granted/lnk/../key is secret/key whether or not
  // secret/dir exists, so the denial cannot tell the spell which.
  Permissions p;
  p.allowWrite(root / "granted");
  fs::create_directory_symlink(root / "secret" / "dir", root / "granted" / "lnk2");
  std::string path = (root / "granted" / "lnk2" / ".." / "key").string();
  auto message = [&] {
    try {
      p.checkRead(path);
    } catch (const Exception& e) {
      return e.error().code + ": " + e.error().message;
    }
    return std::string("granted");
  };
  EXPECT_EQ(p.resolve(path), root / "secret" / "key");  // dangling: secret/dir is missing
  std::string dangling = message();
  fs::create_directories(root / "secret" / "dir");
  EXPECT_EQ(p.resolve(path), root / "secret" / "key");
  EXPECT_EQ(message(), dangling);
  EXPECT_EQ(dangling, "permission_denied: read access to " + path +
                          " is not granted; run with --allow-read=" + path +
                          " or add it to permissions.read in spell.yaml");
  EXPECT_THROW(p.checkWriteEntry(path), Exception);
  // The entry form does not follow the last component: removing a link removes the link.
  EXPECT_EQ(p.checkWriteEntry((root / "granted" / "lnk2").string()), root / "granted" / "lnk2");
}

TEST_F(PermissionsTest, RelativePathsUseTheGivenBase) {
  Permissions p;
  p.allowRead(root / "granted");
  EXPECT_EQ(p.checkRead("sub/x", root / "granted"), root / "granted" / "sub" / "x");
  EXPECT_THROW(p.checkRead("../secret/key", root / "granted"), Exception);
}

TEST_F(PermissionsTest, LinkLoopsEndTheResolution) {
  fs::create_symlink(root / "granted" / "b", root / "granted" / "a");
  fs::create_symlink(root / "granted" / "a", root / "granted" / "b");
  Permissions p;
  p.allowRead(root / "granted");
  // Kept as written past 40 links; the O_NOFOLLOW open then refuses the link.
  EXPECT_NO_THROW(p.checkRead((root / "granted" / "a" / "x").string()));
}

TEST(Permissions, NulBytesAreRefused) {
  Permissions p;
  p.allowAll();
  try {
    p.checkRead(std::string_view("/tmp/x\0y", 8));
    FAIL();
  } catch (const Exception& e) {
    EXPECT_EQ(e.error().code, "invalid_argument");
  }
  EXPECT_THROW(p.checkWrite(std::string_view("/tmp/x\0y", 8)), Exception);
  EXPECT_THROW(p.checkWriteEntry(std::string_view("/tmp/x\0y", 8)), Exception);
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
