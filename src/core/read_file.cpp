// Bounded, non-blocking reads of whole regular files (see read_file.hpp).
#include "llmspell/core/read_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <optional>

#include "llmspell/core/error.hpp"
#include "llmspell/core/safe_fs.hpp"

namespace llmspell {

std::string fmtBytes(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

namespace {
// The kernel's name for `p` (links followed), or nothing.
std::optional<std::filesystem::path> resolvedByKernel(const std::filesystem::path& p) {
  int fd = ::open(p.c_str(), O_PATH | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char link[32];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char buf[PATH_MAX];
  ssize_t n = ::readlink(link, buf, sizeof buf);
  ::close(fd);
  if (n <= 0 || n >= static_cast<ssize_t>(sizeof buf) || buf[0] != '/') return std::nullopt;
  std::string_view name(buf, static_cast<size_t>(n));
  if (name.ends_with(" (deleted)")) return std::nullopt;  // removed meanwhile (or so named): ask again
  return std::filesystem::path(std::string(name));
}
}  // namespace

std::filesystem::path canonicalPath(const std::filesystem::path& p, std::error_code& ec) {
  ec.clear();
  if (auto r = resolvedByKernel(p)) return *r;
  return std::filesystem::canonical(p, ec);
}

std::filesystem::path weaklyCanonicalPath(const std::filesystem::path& p, std::error_code& ec) {
  ec.clear();
  if (auto r = resolvedByKernel(p)) return *r;
  return std::filesystem::weakly_canonical(p, ec);
}

std::string readRegularFile(const std::filesystem::path& path, size_t maxBytes, bool exact,
                            std::string_view shownAs) {
  // The operator's own paths (not `exact`) may go through links: resolve them first, then open
  // the result like any checked path, through the O_NOFOLLOW walk of safe_fs.
  std::filesystem::path abs = path;
  if (!exact) {
    std::error_code ec;
    auto real = canonicalPath(path, ec);
    abs = ec ? std::filesystem::absolute(path, ec) : real;
  }
  safefs::Target t{abs, shownAs.empty() ? path.string() : std::string(shownAs)};
  return safefs::readFile("", t, maxBytes, "the " + fmtBytes(maxBytes) + " allowed");
}

}  // namespace llmspell
