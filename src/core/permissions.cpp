// Permission grants and checks; every path is resolved before it is compared.
#include "llmspell/core/permissions.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <deque>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace fs = std::filesystem;

namespace {

// Symlinks followed in one resolution, as Linux's MAXSYMLINKS. Past it the rest of the path is
// kept as written; the O_NOFOLLOW open then refuses the link left in it.
constexpr int kMaxLinks = 40;

// Resolves like the kernel's path walk, without needing the target to exist: an existing
// component that is a symlink is replaced by its target (a relative one read from the link's
// directory), `..` drops the last resolved component, and a missing component is kept as
// written. So `g/lnk/../x` with `lnk` pointing outside resolves outside whether or not the
// link's target exists, and a denial cannot tell the spell what exists there (weakly_canonical
// stops following at the first missing component, which made the answer depend on it).
fs::path resolveAgainst(const fs::path& p, const fs::path& base) {
  std::error_code ec;
  fs::path abs = p.is_absolute() ? p : (base.empty() ? fs::current_path(ec) : base) / p;
  std::deque<std::string> todo;
  for (const auto& c : abs.relative_path()) todo.push_back(c.string());
  std::vector<std::string> parts;
  auto joined = [&parts] {
    std::string s;
    for (const auto& c : parts) s += "/" + c;
    return s.empty() ? std::string("/") : s;
  };
  int links = 0;
  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(c));
    if (links >= kMaxLinks) continue;
    std::string cur = joined();
    struct stat st;
    if (::lstat(cur.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
    // /proc links report size 0.
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX) + 1, '\0');
    ssize_t n = ::readlink(cur.c_str(), target.data(), target.size());
    if (n < 0 || static_cast<size_t>(n) >= target.size()) continue;  // keep it as written
    target.resize(static_cast<size_t>(n));
    ++links;
    parts.pop_back();
    fs::path t(target);
    if (t.is_absolute()) parts.clear();
    std::vector<std::string> tc;
    for (const auto& x : t.relative_path()) tc.push_back(x.string());
    todo.insert(todo.begin(), tc.begin(), tc.end());
  }
  return fs::path(joined());
}
std::string quoteArg(std::string_view s) {
  std::string out(s);
  if (out.find_first_of(" \t'\"$") != std::string::npos) out = "'" + out + "'";
  return out;
}
[[noreturn]] void denyPath(std::string_view what, std::string_view path) {
  std::string flag = what == "read" ? "read" : "write";
  throw Exception(codes::kPermissionDenied,
                  flag + " access to " + std::string(path) + " is not granted; run with --allow-" +
                      flag + "=" + quoteArg(path) + " or add it to permissions." + flag +
                      " in spell.yaml");
}
}  // namespace

void Permissions::checkPathText(std::string_view path) {
  if (path.find('\0') != std::string_view::npos)
    throw Exception(codes::kInvalidArgument,
                    "path contains a NUL byte; paths are cut there by the operating system, so "
                    "they are refused");
}

fs::path Permissions::resolve(std::string_view p, const fs::path& base) const {
  return resolveAgainst(fs::path(p), base.empty() ? base_ : base);
}

void Permissions::allowNet(std::string host) {
  if (host == "*") allNet_ = true;
  net_.push_back(std::move(host));
}
void Permissions::allowRead(const fs::path& p, const fs::path& base) {
  if (p == "*") { allRead_ = true; return; }
  read_.push_back(resolveAgainst(p, base.empty() ? base_ : base));
}
void Permissions::allowWrite(const fs::path& p, const fs::path& base) {
  if (p == "*") { allWrite_ = true; return; }
  write_.push_back(resolveAgainst(p, base.empty() ? base_ : base));
}
void Permissions::allowEnv(std::string name) { env_.push_back(std::move(name)); }
void Permissions::allowAll() {
  allNet_ = allRead_ = allWrite_ = true;
  env_.push_back("*");
  run_ = true;
}

bool Permissions::within(const fs::path& p, const std::vector<fs::path>& roots) {
  for (const auto& root : roots) {
    auto rit = root.begin();
    auto pit = p.begin();
    bool ok = true;
    for (; rit != root.end(); ++rit, ++pit) {
      if (rit->empty()) continue;  // trailing slash
      if (pit == p.end() || *pit != *rit) { ok = false; break; }
    }
    if (ok) return true;
  }
  return false;
}

fs::path Permissions::checkRead(std::string_view path, const fs::path& base) const {
  checkPathText(path);
  fs::path r = resolve(path, base);
  // Write grants imply read of the same tree: a spell may read back what it wrote.
  if (allRead_ || within(r, read_) || within(r, write_)) return r;
  denyPath("read", path);
}

fs::path Permissions::checkWrite(std::string_view path, const fs::path& base) const {
  checkPathText(path);
  fs::path r = resolve(path, base);
  if (allWrite_ || within(r, write_)) return r;
  denyPath("write", path);
}

fs::path Permissions::checkWriteEntry(std::string_view path, const fs::path& base) const {
  checkPathText(path);
  size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  // "dir/" means the directory a link there points to; ".", ".." and "/" have no entry name.
  if (name.empty() || name == "." || name == "..") return checkWrite(path, base);
  std::string_view dir = slash == std::string_view::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  fs::path r = resolve(dir, base) / std::string(name);
  if (allWrite_ || within(r, write_)) return r;
  denyPath("write", path);
}

bool Permissions::canRead(std::string_view path) const noexcept {
  try {
    checkRead(path);
    return true;
  } catch (...) {
    return false;
  }
}

bool Permissions::canNet(std::string_view host, int port) const noexcept {
  if (allNet_) return true;
  std::string h(host);
  std::transform(h.begin(), h.end(), h.begin(), ::tolower);
  if (!h.empty() && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string hp = h + ":" + std::to_string(port);
  for (std::string g : net_) {
    std::transform(g.begin(), g.end(), g.begin(), ::tolower);
    if (g == h || (port > 0 && g == hp)) return true;
    // "*.example.com" grants subdomains.
    if (g.size() > 2 && g.rfind("*.", 0) == 0) {
      std::string suffix = g.substr(1);
      if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0)
        return true;
    }
  }
  return false;
}

void Permissions::checkNet(std::string_view host, int port) const {
  if (canNet(host, port)) return;
  throw Exception(codes::kPermissionDenied,
                  "network access to " + std::string(host) +
                      " is not granted; run with --allow-net=" + std::string(host) +
                      " or add it to permissions.net in spell.yaml");
}

bool Permissions::canEnv(std::string_view name) const noexcept {
  for (const auto& g : env_) {
    if (g == "*" || g == name) return true;
    if (!g.empty() && g.back() == '*' && name.substr(0, g.size() - 1) == std::string_view(g).substr(0, g.size() - 1))
      return true;
  }
  return false;
}

void Permissions::checkEnv(std::string_view name) const {
  if (canEnv(name)) return;
  throw Exception(codes::kPermissionDenied,
                  "environment variable " + std::string(name) +
                      " is not granted; run with --allow-env=" + std::string(name) +
                      " or add it to permissions.env in spell.yaml");
}

void Permissions::checkRun(std::string_view what) const {
  if (run_) return;
  throw Exception(codes::kPermissionDenied,
                  "running " + std::string(what) +
                      " is not granted; run with --allow-run or set permissions.run in spell.yaml");
}

}  // namespace llmspell
