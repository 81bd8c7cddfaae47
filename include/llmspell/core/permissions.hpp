// Permissions: the capabilities a spell was granted (Deno-style allow flags). Spells start with
// none. Every check resolves its target first (symlinks, `..`) and raises permission_denied
// naming the path as the spell wrote it and the flag that would grant the access. A denial says
// nothing about what is outside the grants: the resolution does not depend on whether the
// target exists, and no resolved path is printed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace llmspell {

class Permissions {
 public:
  // Grants. Paths are resolved (made absolute against `base`, symlinks followed) when granted.
  void allowNet(std::string host);  // "example.com", "example.com:8080", "127.0.0.1", or "*"
  void allowRead(const std::filesystem::path& p, const std::filesystem::path& base = {});
  void allowWrite(const std::filesystem::path& p, const std::filesystem::path& base = {});
  void allowEnv(std::string name);  // exact name, a prefix ending in '*', or "*"
  void allowRun(bool on = true) { run_ = on; }
  void allowAll();

  // Checks. On success they return the resolved absolute path (for files); on failure they throw
  // Exception(permission_denied) with a message naming the path as given and the flag, e.g.
  // "read access to ../x is not granted; run with --allow-read=../x". A path with a NUL byte
  // throws invalid_argument. Relative paths resolve against `base` (default: the base dir).
  std::filesystem::path checkRead(std::string_view path,
                                  const std::filesystem::path& base = {}) const;
  std::filesystem::path checkWrite(std::string_view path,
                                   const std::filesystem::path& base = {}) const;
  // Write check for the directory entry `path` names, its last component not followed (a
  // symlink there is the link itself): for removing or renaming an entry. Returns the resolved
  // parent joined with the last component.
  std::filesystem::path checkWriteEntry(std::string_view path,
                                        const std::filesystem::path& base = {}) const;
  void checkNet(std::string_view host, int port = 0) const;
  void checkEnv(std::string_view name) const;
  void checkRun(std::string_view what) const;

  bool canRead(std::string_view path) const noexcept;
  bool canNet(std::string_view host, int port = 0) const noexcept;
  bool canEnv(std::string_view name) const noexcept;

  // Throws invalid_argument when `path` has a NUL byte (the OS would cut it there).
  static void checkPathText(std::string_view path);

  // Base directory for relative paths used by the spell (its own directory or the cwd).
  void setBaseDir(std::filesystem::path dir) { base_ = std::move(dir); }
  const std::filesystem::path& baseDir() const { return base_; }

  const std::vector<std::string>& netHosts() const { return net_; }
  const std::vector<std::filesystem::path>& readPaths() const { return read_; }
  const std::vector<std::filesystem::path>& writePaths() const { return write_; }
  const std::vector<std::string>& envNames() const { return env_; }
  bool run() const { return run_; }

  // Resolves `p` against `base` (default: the base dir): absolute, symlinks followed one
  // component at a time (at most 40 links), `..` applied to the resolved prefix. A component
  // that does not exist is kept as written, so the result is the same whether or not the target
  // exists. Never throws (a NUL byte is not checked here: use checkPathText).
  std::filesystem::path resolve(std::string_view p, const std::filesystem::path& base = {}) const;

 private:
  static bool within(const std::filesystem::path& p, const std::vector<std::filesystem::path>& roots);
  std::vector<std::string> net_;
  std::vector<std::filesystem::path> read_, write_;
  std::vector<std::string> env_;
  bool run_ = false;
  bool allNet_ = false, allRead_ = false, allWrite_ = false;
  std::filesystem::path base_;
};

}  // namespace llmspell
