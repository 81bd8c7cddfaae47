// See granted_file.hpp.
#include "bridge/granted_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace {

struct Closer {
  int fd;
  ~Closer() {
    if (fd >= 0) ::close(fd);
  }
  int release() {
    int f = fd;
    fd = -1;
    return f;
  }
};

}  // namespace

int openGranted(std::string_view fname, std::string_view shown, const std::filesystem::path& abs, int flags,
                mode_t mode) {
  const std::string where = std::string(fname) + ": " + std::string(shown);
  // A NUL byte would make open() see a shorter path than the one that was checked.
  if (abs.native().find('\0') != std::string::npos)
    fail(codes::kInvalidArgument, where + ": a path cannot contain a NUL byte");
  Closer fd{::open(abs.c_str(), flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, mode)};
  if (fd.fd < 0) {
    int err = errno;
    switch (err) {
      case ENOENT:
      case ENOTDIR: fail(codes::kNotFound, where + ": no such file or directory");
      case ELOOP:
        fail(codes::kPermissionDenied,
             where + ": is a symbolic link the permission check did not cover; access refused");
      case ENXIO:
      case EISDIR: fail(codes::kInvalidArgument, where + ": is not a regular file");
      case EACCES:
      case EPERM: fail(codes::kPermissionDenied, where + ": the operating system denied access");
      default: fail(codes::kInternal, where + ": " + std::strerror(err));
    }
  }
  // The descriptor's real path must be the one the grant was checked on: a parent directory
  // swapped for a link after the check leads somewhere else.
  char real[4096];
  std::string self = "/proc/self/fd/" + std::to_string(fd.fd);
  ssize_t n = ::readlink(self.c_str(), real, sizeof real);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof real || std::string_view(real, static_cast<size_t>(n)) != abs.native())
    fail(codes::kPermissionDenied,
         where + ": changed while being opened (a symbolic link the permission check did not cover); access refused");
  struct stat st;
  if (::fstat(fd.fd, &st) != 0 || !S_ISREG(st.st_mode)) fail(codes::kInvalidArgument, where + ": is not a regular file");
  int fl = ::fcntl(fd.fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd.fd, F_SETFL, fl & ~O_NONBLOCK);
  return fd.release();
}

std::string readGranted(std::string_view fname, std::string_view shown, int fdIn, size_t limit) {
  Closer fd{fdIn};
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t got = ::read(fd.fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      fail(codes::kInternal, std::string(fname) + ": " + std::string(shown) + ": " + std::strerror(errno));
    if (got == 0) break;
    if (text.size() + static_cast<size_t>(got) > limit)
      fail(codes::kLimitExceeded, std::string(fname) + ": " + std::string(shown) + ": is larger than " +
                                      std::to_string(limit >> 20) + " MiB");
    text.append(buf, static_cast<size_t>(got));
  }
  return text;
}

}  // namespace llmspell
