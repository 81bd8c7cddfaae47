// Opening a file a spell named, for the bridge modules that take a path without being `fs`
// (llm.configure's replies_file, events.record, events.replay).
//
// The caller checks the grant first (Permissions::checkRead / checkWrite, which resolve `..` and
// symlinks); openGranted then opens that resolved path without following a link at its end and
// requires the descriptor to be the checked file, so a link swapped into the path after the check
// is refused rather than followed out of the grant. Only regular files: a FIFO or device is
// refused without waiting on it. Messages name the path as the spell wrote it, never the
// resolved one. When core/safe_fs (the fs module's O_NOFOLLOW walk) is shared, these become
// safefs::open / safefs::readFile.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace llmspell {

// An fd for `abs` opened with `flags` (O_NOFOLLOW, O_NONBLOCK and O_CLOEXEC are added; O_NONBLOCK
// is cleared again once the file is known to be regular). Throws not_found, permission_denied,
// invalid_argument; messages start "<fname>: <shown>".
int openGranted(std::string_view fname, std::string_view shown, const std::filesystem::path& abs, int flags,
                mode_t mode = 0644);

// Reads a whole file opened by openGranted (and closes it); more than `limit` bytes is
// limit_exceeded.
std::string readGranted(std::string_view fname, std::string_view shown, int fd, size_t limit);

}  // namespace llmspell
