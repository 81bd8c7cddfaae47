// Opening what a permission check allowed, without following a symlink the check did not see.
// The one implementation behind the fs module, the file tools and Tengo's `os` module.
//
// Permissions::check* resolves a path (symlinks, `..`) and compares it with the grants; these
// functions then walk that resolved path from "/" one component at a time with O_NOFOLLOW, so a
// link swapped in after the check (TOCTOU) makes the access fail instead of leaving the grant.
// Failures throw Exception with a stable code; messages print the path as the spell wrote it
// (Target::shown), never the resolved one. Not thread-affine: each call opens its own fds.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "llmspell/core/permissions.hpp"

namespace llmspell::safefs {

// A path that passed its permission check.
struct Target {
  std::filesystem::path abs;  // resolved and absolute: what is opened
  std::string shown;          // as the spell wrote it: what messages print
};

// Permissions::checkRead / checkWrite / checkWriteEntry, keeping the spell's text. Relative
// paths resolve against `base` (default: the permissions' base dir). Throw permission_denied,
// or invalid_argument for a path with a NUL byte.
Target forRead(const Permissions& p, std::string_view path, const std::filesystem::path& base = {});
Target forWrite(const Permissions& p, std::string_view path, const std::filesystem::path& base = {});
Target forEntry(const Permissions& p, std::string_view path, const std::filesystem::path& base = {});

// An owned file descriptor (-1 = none).
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset();

 private:
  int fd_;
};

// Throws the Exception for errno `err` from `fname` on `shown` (not_found, permission_denied,
// invalid_argument, limit_exceeded, internal).
[[noreturn]] void failErrno(std::string_view fname, std::string_view shown, int err);

// The directory holding t.abs, opened (O_PATH) by the O_NOFOLLOW walk; `leaf` receives the last
// component ("." for "/").
Fd openParent(std::string_view fname, const Target& t, std::string& leaf);
// t.abs itself, its last component not followed either. O_CLOEXEC|O_NOFOLLOW are added.
Fd open(std::string_view fname, const Target& t, int flags, mode_t mode = 0644);
// lstat of t.abs through the walk; false when it does not exist.
bool lstat(std::string_view fname, const Target& t, struct stat& st);

// Reads a whole regular file (a FIFO or device is invalid_argument and never waited on). More
// than `limit` bytes is limit_exceeded, the message ending "is larger than <limitText>".
std::string readFile(std::string_view fname, const Target& t, size_t limit,
                     std::string_view limitText);
// The same for an fd already opened from `t`.
std::string readFd(std::string_view fname, const Target& t, int fd, size_t limit,
                   std::string_view limitText);
// Creates (0644) or opens a regular file and writes `data`; `flags` adds O_TRUNC or O_APPEND.
// Returns the bytes written.
size_t writeFile(std::string_view fname, const Target& t, std::string_view data, int flags);
// mkdir; with `parents`, missing parents are created and an existing directory is fine.
void makeDir(std::string_view fname, const Target& t, bool parents, mode_t mode = 0755);
// Removes the entry t.abs names (a symlink itself, never its target); a non-empty directory
// needs `recursive`. Removing "/" is refused.
void remove(std::string_view fname, const Target& t, bool recursive);
// Renames the entry `from` to `to` (links themselves, as rename(2)).
void rename(std::string_view fname, const Target& from, const Target& to);

}  // namespace llmspell::safefs
