// Bounded, non-blocking reads of whole regular files (see read_file.hpp).
#include "llmspell/core/read_file.hpp"

#include "llmspell/core/error.hpp"
#include "llmspell/core/safe_fs.hpp"

namespace llmspell {

std::string fmtBytes(size_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0) return std::to_string(n >> 20) + " MiB";
  if (n >= 1024 && n % 1024 == 0) return std::to_string(n >> 10) + " KiB";
  return std::to_string(n) + " bytes";
}

std::string readRegularFile(const std::filesystem::path& path, size_t maxBytes, bool exact,
                            std::string_view shownAs) {
  // The operator's own paths (not `exact`) may go through links: resolve them first, then open
  // the result like any checked path, through the O_NOFOLLOW walk of safe_fs.
  std::filesystem::path abs = path;
  if (!exact) {
    std::error_code ec;
    auto real = std::filesystem::canonical(path, ec);
    abs = ec ? std::filesystem::absolute(path, ec) : real;
  }
  safefs::Target t{abs, shownAs.empty() ? path.string() : std::string(shownAs)};
  return safefs::readFile("", t, maxBytes, "the " + fmtBytes(maxBytes) + " allowed");
}

}  // namespace llmspell
