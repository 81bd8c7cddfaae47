// fs and env modules: real temp directories, grants, symlink escapes, `..` traversal.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "llmspell/core/safe_fs.hpp"

namespace llmspell {
namespace {

namespace stdfs = std::filesystem;
using testing::Harness;
using testing::J;

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/llmspell-fs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = stdfs::canonical(tmpl);
    granted_ = root_ / "granted";
    outside_ = root_ / "outside";
    stdfs::create_directories(granted_);
    stdfs::create_directories(outside_);
    std::ofstream(outside_ / "secret.txt") << "top secret";
    std::ofstream(granted_ / "hello.txt") << "hello";
  }
  void TearDown() override { stdfs::remove_all(root_); }

  std::string in(const std::string& rel) { return (granted_ / rel).string(); }

  stdfs::path root_, granted_, outside_;
};

TEST_F(FsTest, DeniedWithoutGrant) {
  Harness h;
  Error e = h.error("fs.read", {Value(in("hello.txt"))});
  EXPECT_EQ(e.code, codes::kPermissionDenied);
  EXPECT_NE(e.message.find("--allow-read"), std::string::npos) << e.message;
  EXPECT_EQ(h.error("fs.write", {Value(in("x.txt")), Value("x")}).code, codes::kPermissionDenied);
  EXPECT_FALSE(stdfs::exists(granted_ / "x.txt"));
}

TEST_F(FsTest, ReadWriteAppendListStat) {
  Harness h;
  h.run().permissions().allowWrite(granted_);
  EXPECT_EQ(h.call("fs.read", {Value(in("hello.txt"))}).asString(), "hello");
  EXPECT_EQ(h.call("fs.write", {Value(in("a.txt")), Value("one\n")}).asInt(), 4);
  h.call("fs.append", {Value(in("a.txt")), Value("two\n")});
  EXPECT_EQ(h.call("fs.read", {Value(in("a.txt"))}).asString(), "one\ntwo\n");
  h.call("fs.write", {Value(in("bin.dat")), Value(Bytes{std::string("\x00\xff", 2)})});
  Value b = h.call("fs.read", {Value(in("bin.dat")), J(R"({"binary":true})")});
  ASSERT_TRUE(b.isBytes());
  EXPECT_EQ(b.asBytes().data, std::string("\x00\xff", 2));
  h.call("fs.mkdir", {Value(in("sub/deeper")), J(R"({"parents":true})")});
  h.call("fs.mkdir", {Value(in("sub/deeper")), J(R"({"parents":true})")});  // exists: fine
  EXPECT_EQ(h.error("fs.mkdir", {Value(in("sub"))}).code, codes::kInvalidArgument);
  Value names = h.call("fs.list", {Value(granted_.string())});
  EXPECT_EQ(names, J(R"(["a.txt","bin.dat","hello.txt","sub"])"));
  Value details = h.call("fs.list", {Value(granted_.string()), J(R"({"details":true})")});
  EXPECT_EQ(details.asArray()[3].getString("type"), "dir");
  Value st = h.call("fs.stat", {Value(in("a.txt"))});
  EXPECT_EQ(st.getString("type"), "file");
  EXPECT_EQ(st.getInt("size"), 8);
  EXPECT_TRUE(h.call("fs.exists", {Value(in("a.txt"))}).asBool());
  EXPECT_FALSE(h.call("fs.exists", {Value(in("nope.txt"))}).asBool());
  EXPECT_FALSE(h.call("fs.exists", {Value(in("nope/deeper.txt"))}).asBool());
}

TEST_F(FsTest, RelativePathsUseTheBaseDir) {
  Harness h;
  h.run().permissions().setBaseDir(granted_);
  h.run().permissions().allowRead(".");
  EXPECT_EQ(h.call("fs.read", {Value("hello.txt")}).asString(), "hello");
}

TEST_F(FsTest, ErrorsHaveCodes) {
  Harness h;
  h.run().permissions().allowWrite(granted_);
  Error nf = h.error("fs.read", {Value(in("missing.txt"))});
  EXPECT_EQ(nf.code, codes::kNotFound);
  EXPECT_NE(nf.message.find("missing.txt"), std::string::npos);
  EXPECT_EQ(h.error("fs.read", {Value(granted_.string())}).code, codes::kInvalidArgument);  // a dir
  EXPECT_EQ(h.error("fs.stat", {Value(in("missing"))}).code, codes::kNotFound);
  EXPECT_EQ(h.error("fs.remove", {Value(in("missing"))}).code, codes::kNotFound);
  EXPECT_EQ(h.error("fs.list", {Value(in("hello.txt"))}).code, codes::kNotFound);  // not a dir
  EXPECT_EQ(h.error("fs.write", {Value(in("nodir/x.txt")), Value("x")}).code, codes::kNotFound);
  EXPECT_EQ(h.error("fs.read", {Value("")}).code, codes::kInvalidArgument);
}

TEST_F(FsTest, DotDotTraversalIsDenied) {
  Harness h;
  h.run().permissions().allowRead(granted_);
  h.run().permissions().allowWrite(granted_);
  std::string escape = in("../outside/secret.txt");
  Error e = h.error("fs.read", {Value(escape)});
  EXPECT_EQ(e.code, codes::kPermissionDenied);
  // The message names the path as written, never the resolved one.
  EXPECT_NE(e.message.find("read access to " + escape + " is not granted"), std::string::npos)
      << e.message;
  EXPECT_EQ(e.message.find(outside_.string()), std::string::npos) << e.message;
  EXPECT_EQ(h.error("fs.write", {Value(in("../outside/new.txt")), Value("x")}).code,
            codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.remove", {Value(in("../outside/secret.txt"))}).code,
            codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.list", {Value(in(".."))}).code, codes::kPermissionDenied);
  EXPECT_TRUE(stdfs::exists(outside_ / "secret.txt"));
  EXPECT_FALSE(stdfs::exists(outside_ / "new.txt"));
}

TEST_F(FsTest, SymlinkEscapeIsDenied) {
  Harness h;
  h.run().permissions().allowWrite(granted_);
  stdfs::create_symlink(outside_ / "secret.txt", granted_ / "link.txt");
  stdfs::create_directory_symlink(outside_, granted_ / "linkdir");
  EXPECT_EQ(h.error("fs.read", {Value(in("link.txt"))}).code, codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.read", {Value(in("linkdir/secret.txt"))}).code, codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.write", {Value(in("link.txt")), Value("pwned")}).code,
            codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.write", {Value(in("linkdir/new.txt")), Value("pwned")}).code,
            codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.list", {Value(in("linkdir"))}).code, codes::kPermissionDenied);
  // Removing the link removes the link, never its target.
  h.call("fs.remove", {Value(in("link.txt"))});
  EXPECT_FALSE(stdfs::is_symlink(granted_ / "link.txt"));
  h.call("fs.remove", {Value(in("linkdir")), J(R"({"recursive":true})")});
  EXPECT_FALSE(stdfs::exists(granted_ / "linkdir"));
  std::ifstream f(outside_ / "secret.txt");
  std::string content((std::istreambuf_iterator<char>(f)), {});
  EXPECT_EQ(content, "top secret");
  EXPECT_FALSE(stdfs::exists(outside_ / "new.txt"));
}

TEST_F(FsTest, DanglingSymlinkCannotBeWrittenThrough) {
  // The link's target does not exist yet; the check still follows the link (resolution does not
  // depend on existence) and refuses the outside target.
  Harness h;
  h.run().permissions().allowWrite(granted_);
  stdfs::create_symlink(outside_ / "created.txt", granted_ / "dangling.txt");
  Error e = h.error("fs.write", {Value(in("dangling.txt")), Value("pwned")});
  EXPECT_EQ(e.code, codes::kPermissionDenied);
  EXPECT_FALSE(stdfs::exists(outside_ / "created.txt"));
  EXPECT_EQ(h.error("fs.append", {Value(in("dangling.txt")), Value("x")}).code,
            codes::kPermissionDenied);
  EXPECT_FALSE(stdfs::exists(outside_ / "created.txt"));
}

TEST_F(FsTest, LinkSwappedInAfterTheCheckIsRefusedByTheOpen) {
  // What a swap between the check and the open looks like to safe_fs: a link in a path that
  // was resolved without one. The O_NOFOLLOW walk refuses it, for the leaf and for a directory.
  stdfs::create_symlink(outside_ / "secret.txt", granted_ / "swapped.txt");
  stdfs::create_directory_symlink(outside_, granted_ / "swapped_dir");
  for (const char* name : {"swapped.txt", "swapped_dir/secret.txt"}) {
    safefs::Target t{granted_ / name, name};
    try {
      safefs::readFile("fs.read", t, 1024, "1 KiB");
      ADD_FAILURE() << name << " was read";
    } catch (const Exception& e) {
      EXPECT_EQ(e.error().code, codes::kPermissionDenied) << name;
      EXPECT_NE(e.error().message.find("symbolic link"), std::string::npos) << e.error().message;
      EXPECT_EQ(e.error().message.find(outside_.string()), std::string::npos) << e.error().message;
    }
  }
}

TEST_F(FsTest, SymlinkInsideTheGrantIsFollowed) {
  Harness h;
  h.run().permissions().allowRead(granted_);
  stdfs::create_symlink(granted_ / "hello.txt", granted_ / "alias.txt");
  EXPECT_EQ(h.call("fs.read", {Value(in("alias.txt"))}).asString(), "hello");
}

TEST_F(FsTest, RemoveNeedsRecursiveForNonEmptyDirs) {
  Harness h;
  h.run().permissions().allowWrite(granted_);
  h.call("fs.mkdir", {Value(in("d"))});
  h.call("fs.write", {Value(in("d/f.txt")), Value("x")});
  Error e = h.error("fs.remove", {Value(in("d"))});
  EXPECT_EQ(e.code, codes::kInvalidArgument);
  EXPECT_NE(e.message.find("recursive"), std::string::npos) << e.message;
  h.call("fs.remove", {Value(in("d")), J(R"({"recursive":true})")});
  EXPECT_FALSE(stdfs::exists(granted_ / "d"));
  h.call("fs.remove", {Value(in("hello.txt"))});
  EXPECT_FALSE(stdfs::exists(granted_ / "hello.txt"));
}

TEST_F(FsTest, ReadOnlyGrantCannotWrite) {
  Harness h;
  h.run().permissions().allowRead(granted_);
  EXPECT_EQ(h.call("fs.read", {Value(in("hello.txt"))}).asString(), "hello");
  Error e = h.error("fs.write", {Value(in("hello.txt")), Value("x")});
  EXPECT_EQ(e.code, codes::kPermissionDenied);
  EXPECT_NE(e.message.find("--allow-write"), std::string::npos);
  EXPECT_EQ(h.error("fs.mkdir", {Value(in("d"))}).code, codes::kPermissionDenied);
  EXPECT_EQ(h.error("fs.remove", {Value(in("hello.txt"))}).code, codes::kPermissionDenied);
}

TEST_F(FsTest, FifoDoesNotHangTheLoop) {
  Harness h;
  h.run().permissions().allowWrite(granted_);
  ASSERT_EQ(mkfifo((granted_ / "pipe").c_str(), 0600), 0);
  EXPECT_EQ(h.error("fs.read", {Value(in("pipe"))}).code, codes::kInvalidArgument);
  // No reader: the non-blocking open fails at once instead of waiting.
  Error w = h.error("fs.write", {Value(in("pipe")), Value("x")});
  EXPECT_EQ(w.code, codes::kInvalidArgument);
}

TEST_F(FsTest, ReadSizeCap) {
  Harness h;
  h.run().permissions().allowRead(granted_);
  {
    std::ofstream big(granted_ / "big.bin", std::ios::binary);
    big.seekp((64 << 20) + 10);
    big.put('x');
  }
  Error e = h.error("fs.read", {Value(in("big.bin"))});
  EXPECT_EQ(e.code, codes::kLimitExceeded);
  EXPECT_NE(e.message.find("64 MiB"), std::string::npos);
}

TEST(EnvModule, NeedsGrantPerName) {
  Harness h;
  setenv("LLMSPELL_TEST_VAR", "value1", 1);
  setenv("LLMSPELL_OTHER", "value2", 1);
  Error e = h.error("env.get", {Value("LLMSPELL_TEST_VAR")});
  EXPECT_EQ(e.code, codes::kPermissionDenied);
  EXPECT_NE(e.message.find("--allow-env=LLMSPELL_TEST_VAR"), std::string::npos) << e.message;
  h.run().permissions().allowEnv("LLMSPELL_TEST_*");
  EXPECT_EQ(h.call("env.get", {Value("LLMSPELL_TEST_VAR")}).asString(), "value1");
  EXPECT_EQ(h.call("env.get", {Value("LLMSPELL_TEST_UNSET"), Value("dflt")}).asString(), "dflt");
  EXPECT_TRUE(h.call("env.get", {Value("LLMSPELL_TEST_UNSET")}).isNull());
  EXPECT_FALSE(h.call("env.has", {Value("LLMSPELL_TEST_UNSET")}).asBool());
  EXPECT_TRUE(h.call("env.has", {Value("LLMSPELL_TEST_VAR")}).asBool());
  EXPECT_EQ(h.error("env.get", {Value("LLMSPELL_OTHER")}).code, codes::kPermissionDenied);
  EXPECT_EQ(h.error("env.get", {Value("")}).code, codes::kInvalidArgument);
}

}  // namespace
}  // namespace llmspell
