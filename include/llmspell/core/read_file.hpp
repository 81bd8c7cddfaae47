// Reading a whole file that someone else chose (a manifest, a spell's source, an included file)
// without letting it hang, exhaust memory or redirect the read.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace llmspell {

// Reads the regular file `path`, of at most `maxBytes`. What is not a regular file (a FIFO, which
// would block until a writer comes; a device such as /dev/zero, which never ends; a directory or
// socket) is refused before it is opened for reading.
//
// With `exact`, `path` must be a resolved path (absolute, no symlinks), as a permission check
// returns it: it is opened through safe_fs's O_NOFOLLOW walk, so a symlink swapped in after the
// check cannot redirect the read elsewhere. Without it, links are resolved first (the operator's
// own paths).
//
// Throws Exception: not_found (no such file), invalid_argument (not a regular file),
// limit_exceeded (larger than maxBytes), permission_denied (the OS refused, or with `exact` the
// path no longer leads to the checked file). Messages name `shownAs` (default: `path`), so a
// caller can name the path as its user wrote it rather than the resolved one.
std::string readRegularFile(const std::filesystem::path& path, size_t maxBytes, bool exact = false,
                            std::string_view shownAs = {});

// std::filesystem::canonical and weakly_canonical, resolved by the kernel: the path is opened
// (O_PATH, following links) and its name read back from /proc/self/fd, three system calls where
// realpath makes one per component. Falls back to the standard functions when that is not
// possible (no /proc, a path that does not exist), with their results and errors.
std::filesystem::path canonicalPath(const std::filesystem::path& p, std::error_code& ec);
std::filesystem::path weaklyCanonicalPath(const std::filesystem::path& p, std::error_code& ec);

// "1 MiB", "16 MiB", "512 KiB" for messages about size caps.
std::string fmtBytes(size_t n);

}  // namespace llmspell
