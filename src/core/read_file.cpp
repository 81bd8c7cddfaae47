// Bounded, non-blocking reads of whole regular files (see read_file.hpp).
#include "llmspell/core/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace {

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void openFailed(const std::string& p, int err) {
  switch (err) {
    case ENOENT:
    case ENOTDIR: fail(codes::kNotFound, p + ": no such file");
    case EACCES:
    case EPERM: fail(codes::kPermissionDenied, p + ": the operating system denied access");
    case ELOOP:
      fail(codes::kPermissionDenied, p + ": a symbolic link was swapped in after the path was checked");
    default: fail(codes::kInternal, p + ": " + std::strerror(err));
  }
}

}  // namespace

std::string fmtBytes(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

std::string readRegularFile(const std::filesystem::path& path, size_t maxBytes, bool exact,
                            std::string_view shownAs) {
  const std::string file = path.string();
  const std::string p = shownAs.empty() ? file : std::string(shownAs);
  // O_PATH opens nothing for I/O: a FIFO does not wait for a writer and a device's open
  // handler does not run. The file is opened for reading only once it is known to be regular.
  Fd at(::open(file.c_str(), O_PATH | O_CLOEXEC | (exact ? O_NOFOLLOW : 0)));
  if (at.fd < 0) openFailed(p, errno);
  const std::string self = "/proc/self/fd/" + std::to_string(at.fd);
  if (exact) {
    char buf[PATH_MAX + 1];
    ssize_t n = ::readlink(self.c_str(), buf, sizeof buf - 1);
    if (n < 0 || std::string_view(buf, static_cast<size_t>(n)) != file) openFailed(p, ELOOP);
  }
  struct stat st;
  if (::fstat(at.fd, &st) != 0) openFailed(p, errno);
  if (S_ISLNK(st.st_mode)) openFailed(p, ELOOP);
  if (!S_ISREG(st.st_mode))
    fail(codes::kInvalidArgument,
         p + (S_ISDIR(st.st_mode) ? " is a directory, not a file"
                                  : " is not a regular file (a FIFO, device or socket)"));
  auto tooBig = [&] {
    fail(codes::kLimitExceeded, p + " is larger than the " + fmtBytes(maxBytes) + " allowed");
  };
  if (static_cast<uint64_t>(st.st_size) > maxBytes) tooBig();
  // Reopening through /proc reads the very inode checked above, whatever the path now holds.
  Fd in(::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (in.fd < 0) openFailed(p, errno);
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size));
  char buf[65536];
  while (true) {
    ssize_t n = ::read(in.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) openFailed(p, errno);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > maxBytes) tooBig();  // it grew while being read
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace llmspell
