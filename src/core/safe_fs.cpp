// The O_NOFOLLOW component walk shared by every file access a spell makes (see safe_fs.hpp).
#include "llmspell/core/safe_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "llmspell/core/error.hpp"

namespace llmspell::safefs {

namespace stdfs = std::filesystem;

Target forRead(const Permissions& p, std::string_view path, const stdfs::path& base) {
  return Target{p.checkRead(path, base), std::string(path)};
}
Target forWrite(const Permissions& p, std::string_view path, const stdfs::path& base) {
  return Target{p.checkWrite(path, base), std::string(path)};
}
Target forEntry(const Permissions& p, std::string_view path, const stdfs::path& base) {
  return Target{p.checkWriteEntry(path, base), std::string(path)};
}

Fd& Fd::operator=(Fd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

void Fd::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

namespace {
// "fs.read: notes/x.txt", or the path alone when there is no function to name.
std::string where(std::string_view fname, std::string_view shown) {
  return fname.empty() ? std::string(shown) : std::string(fname) + ": " + std::string(shown);
}
}  // namespace

void failErrno(std::string_view fname, std::string_view shown, int err) {
  const std::string where = safefs::where(fname, shown);
  switch (err) {
    case ENOENT: fail(codes::kNotFound, where + ": no such file or directory");
    case ENOTDIR: fail(codes::kNotFound, where + ": a parent of this path is not a directory");
    case EACCES:
    case EPERM: fail(codes::kPermissionDenied, where + ": the operating system denied access");
    case ELOOP:
      fail(codes::kPermissionDenied,
           where +
               ": is a symbolic link the permission check did not cover (swapped in during the "
               "access, or too many links); access refused");
    case ENXIO:
      fail(codes::kInvalidArgument, where + ": is a FIFO or device with nothing on the other end");
    case EISDIR: fail(codes::kInvalidArgument, where + ": is a directory, not a file");
    case EEXIST: fail(codes::kInvalidArgument, where + ": already exists");
    case ENOTEMPTY:
      fail(codes::kInvalidArgument, where + ": directory is not empty; remove it recursively");
    case EXDEV: fail(codes::kInvalidArgument, where + ": cannot move across file systems");
    case ENOSPC:
    case EDQUOT:
    case EFBIG: fail(codes::kLimitExceeded, where + ": " + std::strerror(err));
    default: fail(codes::kInternal, where + ": " + std::strerror(err));
  }
}

namespace {

// errno for a failed O_NOFOLLOW step: a symlink found where the resolved path had none means
// the tree changed after the permission check.
int stepErrno(int dirfd, const std::string& name, int err) {
  struct stat st;
  if ((err == ENOTDIR || err == ELOOP) &&
      ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return ELOOP;
  return err;
}

std::vector<std::string> components(const stdfs::path& abs) {
  std::vector<std::string> parts;
  for (const auto& c : abs.relative_path())
    if (!c.empty() && c != ".") parts.push_back(c.string());
  return parts;
}

void removeTree(std::string_view fname, const Target& t, int dirfd, const std::string& name,
                int depth) {
  if (depth > 256)
    fail(codes::kLimitExceeded, std::string(fname) + ": directory tree too deep in " + t.shown);
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) failErrno(fname, t.shown, errno);
  if (!S_ISDIR(st.st_mode)) {  // files and symlinks (the link itself, never its target)
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) failErrno(fname, t.shown, errno);
    return;
  }
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) failErrno(fname, t.shown, stepErrno(dirfd, name, errno));
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    failErrno(fname, t.shown, err);
  }
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  try {
    for (const auto& n : names) removeTree(fname, t, ::dirfd(d), n, depth + 1);
  } catch (...) {
    ::closedir(d);
    throw;
  }
  ::closedir(d);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) failErrno(fname, t.shown, errno);
}

}  // namespace

// The directory `parts` name from "/", in one openat2 call that refuses a symlink anywhere on
// the way (RESOLVE_NO_SYMLINKS): the walk's guarantee in one system call instead of one per
// component. -1 on any failure (a kernel before 5.6 or a seccomp filter without openat2, or a
// real error, which the walk then reports with its precise errno).
static Fd openDirNoSymlinks(const std::vector<std::string>& parts) {
#ifdef SYS_openat2
  std::string dir = "/";
  for (const auto& c : parts) {
    dir += c;
    dir += '/';
  }
  struct open_how how {};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_NO_SYMLINKS;
  long fd = ::syscall(SYS_openat2, AT_FDCWD, dir.c_str(), &how, sizeof how);
  return Fd(fd < 0 ? -1 : static_cast<int>(fd));
#else
  (void)parts;
  return Fd(-1);
#endif
}

Fd openParent(std::string_view fname, const Target& t, std::string& leaf) {
  leaf.clear();
  std::vector<std::string> parts = components(t.abs);
  if (!parts.empty()) {
    leaf = parts.back();
    parts.pop_back();
    if (Fd fast = openDirNoSymlinks(parts); fast.get() >= 0) return fast;
  }
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) failErrno(fname, t.shown, errno);
  if (leaf.empty()) {  // t.abs is "/"
    leaf = ".";
    return dir;
  }
  for (const auto& c : parts) {
    int fd = ::openat(dir.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) failErrno(fname, t.shown, stepErrno(dir.get(), c, errno));
    dir = Fd(fd);
  }
  return dir;
}

Fd open(std::string_view fname, const Target& t, int flags, mode_t mode) {
  std::string leaf;
  Fd dir = openParent(fname, t, leaf);
  int fd = ::openat(dir.get(), leaf.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) failErrno(fname, t.shown, stepErrno(dir.get(), leaf, errno));
  return Fd(fd);
}

bool lstat(std::string_view fname, const Target& t, struct stat& st) {
  std::string leaf;
  Fd dir;
  try {
    dir = openParent(fname, t, leaf);
  } catch (const Exception& e) {
    if (e.error().code == codes::kNotFound) return false;
    throw;
  }
  if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    failErrno(fname, t.shown, errno);
  }
  return true;
}

std::string readFd(std::string_view fname, const Target& t, int fd, size_t limit,
                   std::string_view limitText) {
  struct stat st;
  if (::fstat(fd, &st) != 0) failErrno(fname, t.shown, errno);
  if (S_ISDIR(st.st_mode)) failErrno(fname, t.shown, EISDIR);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument, where(fname, t.shown) + " is not a regular file (a FIFO, device or socket)");
  auto tooBig = [&] {
    fail(codes::kLimitExceeded,
         where(fname, t.shown) + " is larger than " + std::string(limitText));
  };
  if (static_cast<uint64_t>(st.st_size) > limit) tooBig();
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      failErrno(fname, t.shown, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > limit) tooBig();  // files that grow, /proc files reporting size 0
  }
  return out;
}

std::string readFile(std::string_view fname, const Target& t, size_t limit,
                     std::string_view limitText) {
  // O_NONBLOCK: opening a FIFO must not hang the loop thread waiting for a writer.
  Fd fd = open(fname, t, O_RDONLY | O_NONBLOCK);
  return readFd(fname, t, fd.get(), limit, limitText);
}

size_t writeFile(std::string_view fname, const Target& t, std::string_view data, int flags) {
  Fd fd = open(fname, t, O_WRONLY | O_CREAT | O_NONBLOCK | flags, 0644);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) failErrno(fname, t.shown, errno);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument, where(fname, t.shown) + " is not a regular file (a FIFO, device or socket)");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      failErrno(fname, t.shown, errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd.release()) != 0) failErrno(fname, t.shown, errno);
  return off;
}

void makeDir(std::string_view fname, const Target& t, bool parents, mode_t mode) {
  if (!parents) {
    std::string leaf;
    Fd dir = openParent(fname, t, leaf);
    if (::mkdirat(dir.get(), leaf.c_str(), mode) != 0) failErrno(fname, t.shown, errno);
    return;
  }
  // Walk from "/", creating what is missing; never following a symlink.
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  for (const auto& name : components(t.abs)) {
    if (::mkdirat(dir.get(), name.c_str(), mode) != 0 && errno != EEXIST)
      failErrno(fname, t.shown, errno);
    int fd = ::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      int err = stepErrno(dir.get(), name, errno);
      failErrno(fname, t.shown, err == ENOTDIR ? EEXIST : err);
    }
    dir = Fd(fd);
  }
}

void remove(std::string_view fname, const Target& t, bool recursive) {
  std::string leaf;
  Fd dir = openParent(fname, t, leaf);
  if (leaf == ".")
    fail(codes::kInvalidArgument, std::string(fname) + ": refusing to remove /");
  struct stat st;
  if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    failErrno(fname, t.shown, errno);
  if (S_ISDIR(st.st_mode)) {
    if (recursive) {
      removeTree(fname, t, dir.get(), leaf, 0);
    } else if (::unlinkat(dir.get(), leaf.c_str(), AT_REMOVEDIR) != 0) {
      failErrno(fname, t.shown, errno == EEXIST ? ENOTEMPTY : errno);
    }
  } else if (::unlinkat(dir.get(), leaf.c_str(), 0) != 0) {
    failErrno(fname, t.shown, errno);
  }
}

void rename(std::string_view fname, const Target& from, const Target& to) {
  std::string fromLeaf, toLeaf;
  Fd fromDir = openParent(fname, from, fromLeaf);
  Fd toDir = openParent(fname, to, toLeaf);
  if (fromLeaf == "." || toLeaf == ".")
    fail(codes::kInvalidArgument, std::string(fname) + ": cannot rename /");
  if (::renameat(fromDir.get(), fromLeaf.c_str(), toDir.get(), toLeaf.c_str()) != 0)
    failErrno(fname, from.shown + " to " + to.shown, errno);
}

}  // namespace llmspell::safefs
