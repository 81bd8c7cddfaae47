// `fs` namespace: file access limited to the spell's --allow-read / --allow-write grants.
//
// Every path is checked by Permissions (which resolves `..` and symlinks), and the resolved path
// is then opened one component at a time with O_NOFOLLOW, so a symlink swapped in after the
// check cannot redirect the access outside the grant (TOCTOU).
//
// The operations run inline on the loop thread: local file calls are short and bounded (reads are
// capped at kMaxRead), and API.md declares them sync. Spells that move large data should use
// streaming tools instead.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "llmspell/bridge/registry.hpp"

namespace llmspell {

namespace {

namespace stdfs = std::filesystem;

constexpr size_t kMaxRead = 64u << 20;  // 64 MiB

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { reset(); }
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

[[noreturn]] void sysFail(std::string_view fname, const stdfs::path& p, int err,
                          std::string_view what = "") {
  std::string where = std::string(fname) + ": " + p.string();
  switch (err) {
    case ENOENT: fail(codes::kNotFound, where + ": no such file or directory");
    case ENOTDIR: fail(codes::kNotFound, where + ": a parent of this path is not a directory");
    case EACCES:
    case EPERM: fail(codes::kPermissionDenied, where + ": the operating system denied access");
    case ELOOP:
      fail(codes::kPermissionDenied,
           where +
               ": is a symbolic link the permission check did not cover (dangling, or "
               "swapped in during the access); access refused");
    case ENXIO:
      fail(codes::kInvalidArgument, where + ": is a FIFO or device with nothing on the other end");
    case EISDIR: fail(codes::kInvalidArgument, where + ": is a directory, not a file");
    case EEXIST: fail(codes::kInvalidArgument, where + ": already exists");
    case ENOTEMPTY:
      fail(codes::kInvalidArgument, where + ": directory is not empty; pass {recursive = true}");
    case ENOSPC:
    case EDQUOT:
    case EFBIG: fail(codes::kLimitExceeded, where + ": " + std::strerror(err));
    default:
      fail(codes::kInternal, where + ": " +
                                 std::string(what.empty() ? "" : std::string(what) + ": ") +
                                 std::strerror(err));
  }
}

// errno for a failed O_NOFOLLOW step: a symlink found where the resolved path had none means
// the tree changed after the permission check.
int stepErrno(int dirfd, const std::string& name, int err) {
  struct stat st;
  if ((err == ENOTDIR || err == ELOOP) &&
      ::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
    return ELOOP;
  return err;
}

// Opens the directory that contains `abs` (an absolute, resolved path) walking from "/" with
// O_NOFOLLOW at every step. Returns the directory fd; `leaf` receives the last component
// ("." for the root itself).
Fd openParent(std::string_view fname, const stdfs::path& abs, std::string& leaf) {
  Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) sysFail(fname, abs, errno);
  std::vector<std::string> parts;
  for (const auto& c : abs.relative_path())
    if (!c.empty() && c != ".") parts.push_back(c.string());
  if (parts.empty()) {
    leaf = ".";
    return dir;
  }
  leaf = parts.back();
  parts.pop_back();
  for (const auto& c : parts) {
    int fd = ::openat(dir.get(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) sysFail(fname, abs, stepErrno(dir.get(), c, errno));
    dir = Fd(fd);
  }
  return dir;
}

// Opens the resolved path itself (final component not followed either).
Fd openResolved(std::string_view fname, const stdfs::path& abs, int flags, mode_t mode = 0644) {
  std::string leaf;
  Fd dir = openParent(fname, abs, leaf);
  int fd = ::openat(dir.get(), leaf.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) sysFail(fname, abs, stepErrno(dir.get(), leaf, errno));
  return Fd(fd);
}

const std::string& pathArg(const Value& v) {
  return v.asString();
}

stdfs::path checkRead(CallContext& cx, const Value& path) {
  return cx.run.permissions().checkRead(pathArg(path));
}
stdfs::path checkWrite(CallContext& cx, const Value& path) {
  return cx.run.permissions().checkWrite(pathArg(path));
}

std::string readAll(std::string_view fname, const stdfs::path& abs) {
  // O_NONBLOCK: opening a FIFO must not hang the loop thread waiting for a writer.
  Fd fd = openResolved(fname, abs, O_RDONLY | O_NONBLOCK);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) sysFail(fname, abs, errno);
  if (S_ISDIR(st.st_mode)) sysFail(fname, abs, EISDIR);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument, std::string(fname) + ": " + abs.string() +
                                      " is not a regular file (a device, FIFO or socket)");
  auto tooBig = [&] {
    fail(codes::kLimitExceeded,
         std::string(fname) + ": " + abs.string() + " is larger than the 64 MiB read limit");
  };
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > kMaxRead) tooBig();
  std::string out;
  out.reserve(S_ISREG(st.st_mode) ? static_cast<size_t>(st.st_size) : 4096);
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      sysFail(fname, abs, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > kMaxRead) tooBig();  // files that grow, /proc files reporting size 0
  }
  return out;
}

size_t writeAll(std::string_view fname, const stdfs::path& abs, const std::string& data,
                int flags) {
  Fd fd = openResolved(fname, abs, O_WRONLY | O_CREAT | O_NONBLOCK | flags, 0644);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) sysFail(fname, abs, errno);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument, std::string(fname) + ": " + abs.string() +
                                      " is not a regular file (a device, FIFO or socket)");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      sysFail(fname, abs, errno);
    }
    off += static_cast<size_t>(n);
  }
  if (::close(fd.release()) != 0) sysFail(fname, abs, errno);
  return off;
}

const std::string& dataArg(std::string_view fname, const Value& v) {
  if (v.isBytes()) return v.asBytes().data;
  return v.asString();
}

const char* kindOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

// lstat of a resolved path through the O_NOFOLLOW walk; false when it does not exist.
bool statResolved(std::string_view fname, const stdfs::path& abs, struct stat& st) {
  std::string leaf;
  Fd dir;
  try {
    dir = openParent(fname, abs, leaf);
  } catch (const Exception& e) {
    if (e.error().code == codes::kNotFound) return false;
    throw;
  }
  if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return false;
    sysFail(fname, abs, errno);
  }
  return true;
}

void removeTree(std::string_view fname, int dirfd, const std::string& name, const stdfs::path& abs,
                int depth) {
  if (depth > 256)
    fail(codes::kLimitExceeded,
         std::string(fname) + ": directory tree too deep at " + abs.string());
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) sysFail(fname, abs, errno);
  if (!S_ISDIR(st.st_mode)) {  // files and symlinks (the link itself, never its target)
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) sysFail(fname, abs, errno);
    return;
  }
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) sysFail(fname, abs, stepErrno(dirfd, name, errno));
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int err = errno;
    ::close(fd);
    sysFail(fname, abs, err);
  }
  std::vector<std::string> names;
  while (auto* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  for (const auto& n : names) removeTree(fname, ::dirfd(d), n, abs / n, depth + 1);
  ::closedir(d);
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) sysFail(fname, abs, errno);
}

}  // namespace

void llmspell_register_fs(Registry& r) {
  r.fn("fs", "read")
      .param("path", R"({"type":"string","minLength":1})", "relative to the spell's directory")
      .opt("opts", R"({"type":"object","properties":{"binary":{"type":"boolean"}}})",
           "{binary = true to get bytes instead of text}")
      .permission(Permission::kRead)
      .returns("string (bytes with opts.binary)")
      .doc("Reads a whole file (at most 64 MiB); needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkRead(cx, a[0]);
        std::string data = readAll("fs.read", abs);
        if (a[1].getBool("binary")) return Value(Bytes{std::move(data)});
        return Value(std::move(data));
      });
  r.fn("fs", "write")
      .param("path", R"({"type":"string","minLength":1})")
      .param("data", R"({"type":["string","bytes"]})")
      .permission(Permission::kWrite)
      .returns("integer: bytes written")
      .doc("Creates or replaces a file; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkWrite(cx, a[0]);
        return Value(
            static_cast<int64_t>(writeAll("fs.write", abs, dataArg("fs.write", a[1]), O_TRUNC)));
      });
  r.fn("fs", "append")
      .param("path", R"({"type":"string","minLength":1})")
      .param("data", R"({"type":["string","bytes"]})")
      .permission(Permission::kWrite)
      .returns("integer: bytes written")
      .doc("Appends to a file, creating it when missing; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkWrite(cx, a[0]);
        return Value(
            static_cast<int64_t>(writeAll("fs.append", abs, dataArg("fs.append", a[1]), O_APPEND)));
      });
  r.fn("fs", "exists")
      .param("path", R"({"type":"string","minLength":1})")
      .permission(Permission::kRead)
      .returns("boolean")
      .doc("Whether a file or directory exists; needs --allow-read for the path")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkRead(cx, a[0]);
        struct stat st;
        return Value(statResolved("fs.exists", abs, st));
      });
  r.fn("fs", "stat")
      .param("path", R"({"type":"string","minLength":1})")
      .permission(Permission::kRead)
      .returns(
          "{type = \"file\"|\"dir\"|\"other\", size, mtime (seconds since epoch), mode (octal "
          "string)}")
      .doc("Facts about a file; a missing path raises not_found; needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkRead(cx, a[0]);
        struct stat st;
        if (!statResolved("fs.stat", abs, st)) sysFail("fs.stat", abs, ENOENT);
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        double mtime =
            static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
        return Value::object({{"type", kindOf(st.st_mode)},
                              {"size", static_cast<int64_t>(st.st_size)},
                              {"mtime", mtime},
                              {"mode", std::string(mode)},
                              {"path", abs.string()}});
      });
  r.fn("fs", "list")
      .param("dir", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"details":{"type":"boolean"}}})",
           "{details = true for {name, type, size} records}")
      .permission(Permission::kRead)
      .returns("array of names, sorted (records with opts.details)")
      .doc("Lists a directory; needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkRead(cx, a[0]);
        Fd fd = openResolved("fs.list", abs, O_RDONLY | O_DIRECTORY);
        int raw = fd.get();
        DIR* d = ::fdopendir(raw);
        if (!d) sysFail("fs.list", abs, errno);
        fd.release();
        std::vector<std::string> names;
        while (auto* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n != "." && n != "..") names.push_back(std::move(n));
        }
        std::sort(names.begin(), names.end());
        bool details = a[1].getBool("details");
        std::vector<Value> out;
        for (const auto& n : names) {
          if (!details) {
            out.emplace_back(n);
            continue;
          }
          struct stat st;
          bool ok = ::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
          out.push_back(
              Value::object({{"name", n},
                             {"type", ok ? kindOf(st.st_mode) : "other"},
                             {"size", ok ? static_cast<int64_t>(st.st_size) : int64_t{0}}}));
        }
        ::closedir(d);
        return Value::array(std::move(out));
      });
  r.fn("fs", "mkdir")
      .param("path", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"parents":{"type":"boolean"}}})",
           "{parents = true to create missing parents (and accept an existing directory)}")
      .permission(Permission::kWrite)
      .returns("nil")
      .doc("Creates a directory; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        auto abs = checkWrite(cx, a[0]);
        bool parents = a[1].getBool("parents");
        if (!parents) {
          std::string leaf;
          Fd dir = openParent("fs.mkdir", abs, leaf);
          if (::mkdirat(dir.get(), leaf.c_str(), 0755) != 0) sysFail("fs.mkdir", abs, errno);
          return Value();
        }
        // Walk from "/", creating what is missing; never following a symlink.
        Fd dir(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        for (const auto& c : abs.relative_path()) {
          std::string name = c.string();
          if (name.empty() || name == ".") continue;
          if (::mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
            sysFail("fs.mkdir", abs, errno);
          int fd = ::openat(dir.get(), name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (fd < 0) {
            int err = stepErrno(dir.get(), name, errno);
            sysFail("fs.mkdir", abs, err == ENOTDIR ? EEXIST : err);
          }
          dir = Fd(fd);
        }
        return Value();
      });
  r.fn("fs", "remove")
      .param("path", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"recursive":{"type":"boolean"}}})",
           "{recursive = true to remove a directory and everything in it}")
      .permission(Permission::kWrite)
      .returns("nil")
      .doc(
          "Removes a file or an empty directory (any directory with recursive); needs "
          "--allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        // A symlink is removed itself, never its target: removing a directory entry changes
        // the directory, so a link needs write access to the directory that holds it.
        auto& perms = cx.run.permissions();
        stdfs::path lex(pathArg(a[0]));
        if (lex.is_relative())
          lex = (perms.baseDir().empty() ? stdfs::current_path() : perms.baseDir()) / lex;
        lex = lex.lexically_normal();
        if (!lex.has_filename() && lex.has_parent_path() && lex != lex.root_path())
          lex = lex.parent_path();
        stdfs::path abs;
        std::string name = lex.filename().string();
        if (!name.empty() && name != "." && name != "..") {
          stdfs::path parent = perms.resolve(lex.parent_path().string());
          struct stat lst;
          if (statResolved("fs.remove", parent / name, lst) && S_ISLNK(lst.st_mode)) {
            perms.checkWrite(parent.string());
            abs = parent / name;
          }
        }
        if (abs.empty()) abs = checkWrite(cx, a[0]);
        std::string leaf;
        Fd dir = openParent("fs.remove", abs, leaf);
        if (leaf == ".") fail(codes::kInvalidArgument, "fs.remove: refusing to remove /");
        struct stat st;
        if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
          sysFail("fs.remove", abs, errno);
        if (S_ISDIR(st.st_mode)) {
          if (a[1].getBool("recursive")) {
            removeTree("fs.remove", dir.get(), leaf, abs, 0);
          } else if (::unlinkat(dir.get(), leaf.c_str(), AT_REMOVEDIR) != 0) {
            sysFail("fs.remove", abs, errno == EEXIST ? ENOTEMPTY : errno);
          }
        } else if (::unlinkat(dir.get(), leaf.c_str(), 0) != 0) {
          sysFail("fs.remove", abs, errno);
        }
        return Value();
      });
}

}  // namespace llmspell
