// Permissions: the capabilities a spell was granted (Deno-style allow flags). Spells start with
// none. Every check resolves its target first (symlinks, `..`) and raises permission_denied
// naming the flag that would grant the access.
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
  // Exception(permission_denied) with a message naming the flag, e.g.
  // "read access to /etc/passwd is not granted; run with --allow-read=/etc/passwd".
  std::filesystem::path checkRead(std::string_view path) const;
  std::filesystem::path checkWrite(std::string_view path) const;
  void checkNet(std::string_view host, int port = 0) const;
  void checkEnv(std::string_view name) const;
  void checkRun(std::string_view what) const;

  bool canRead(std::string_view path) const noexcept;
  bool canNet(std::string_view host, int port = 0) const noexcept;

  // Base directory for relative paths used by the spell (its own directory or the cwd).
  void setBaseDir(std::filesystem::path dir) { base_ = std::move(dir); }
  const std::filesystem::path& baseDir() const { return base_; }

  const std::vector<std::string>& netHosts() const { return net_; }
  const std::vector<std::filesystem::path>& readPaths() const { return read_; }
  const std::vector<std::filesystem::path>& writePaths() const { return write_; }
  const std::vector<std::string>& envNames() const { return env_; }
  bool run() const { return run_; }

  // Resolves `p` against the base dir: absolute, `..` removed, symlinks followed for the part
  // that exists. Never throws.
  std::filesystem::path resolve(std::string_view p) const;

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
