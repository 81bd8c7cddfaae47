// Permission grants and checks; every path is resolved before it is compared.
#include "llmspell/core/permissions.hpp"

#include <algorithm>

#include "llmspell/core/error.hpp"

namespace llmspell {

namespace fs = std::filesystem;

namespace {
fs::path resolveAgainst(const fs::path& p, const fs::path& base) {
  std::error_code ec;
  fs::path abs = p.is_absolute() ? p : (base.empty() ? fs::current_path(ec) : base) / p;
  fs::path r = fs::weakly_canonical(abs, ec);
  if (ec) r = abs.lexically_normal();
  return r;
}
std::string quoteArg(std::string_view s) {
  std::string out(s);
  if (out.find_first_of(" \t'\"$") != std::string::npos) out = "'" + out + "'";
  return out;
}
}  // namespace

fs::path Permissions::resolve(std::string_view p) const { return resolveAgainst(fs::path(p), base_); }

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

fs::path Permissions::checkRead(std::string_view path) const {
  fs::path r = resolve(path);
  // Write grants imply read of the same tree: a spell may read back what it wrote.
  if (allRead_ || within(r, read_) || within(r, write_)) return r;
  throw Exception(codes::kPermissionDenied,
                  "read access to " + r.string() + " is not granted; run with --allow-read=" +
                      quoteArg(r.string()) + " or add it to permissions.read in spell.yaml");
}

fs::path Permissions::checkWrite(std::string_view path) const {
  fs::path r = resolve(path);
  if (allWrite_ || within(r, write_)) return r;
  throw Exception(codes::kPermissionDenied,
                  "write access to " + r.string() + " is not granted; run with --allow-write=" +
                      quoteArg(r.string()) + " or add it to permissions.write in spell.yaml");
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

void Permissions::checkEnv(std::string_view name) const {
  for (const auto& g : env_) {
    if (g == "*" || g == name) return;
    if (!g.empty() && g.back() == '*' && name.substr(0, g.size() - 1) == std::string_view(g).substr(0, g.size() - 1))
      return;
  }
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
