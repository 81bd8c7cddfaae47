// The block-buffered kernel randomness behind run, trace and span ids.
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "llmspell/core/random.hpp"

namespace llmspell {
namespace {

TEST(RandomIds, HexOfTheAskedLengthAndNeverRepeated) {
  std::set<std::string> seen;
  for (int i = 0; i < 5000; ++i) {  // several 4 KiB blocks
    std::string id = randomHex(8);
    ASSERT_EQ(id.size(), 16u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ASSERT_TRUE(seen.insert(id).second) << "repeated: " << id;
  }
  EXPECT_EQ(randomHex(100).size(), 200u);  // more than one chunk of the helper's buffer
  unsigned char big[4096] = {};
  randomBytes(big, sizeof big);  // past a quarter block: straight from the kernel
  int zeros = 0;
  for (unsigned char c : big) zeros += c == 0;
  EXPECT_LT(zeros, 64);
}

// A forked child must not hand out the ids its parent hands out next.
TEST(RandomIds, AForkedChildDoesNotRepeatItsParentsBytes) {
  (void)randomHex(8);  // the parent has a block
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::string child = randomHex(16);
    ssize_t n = write(fds[1], child.data(), child.size());
    _exit(n == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::string parent = randomHex(16);
  char buf[64] = {};
  ssize_t n = read(fds[0], buf, sizeof buf);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_EQ(n, 32);
  EXPECT_NE(std::string(buf, 32), parent);
}

}  // namespace
}  // namespace llmspell
