#include "support/servers.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace fs = std::filesystem;

namespace llmspell::test {
namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string readAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// Runs a shell command line, returning its exit status (-1 when killed) and output.
int shell(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) {
    if (out) out->append(buf.data(), n);
  }
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string onPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    auto p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// A PostgreSQL server binary: Debian keeps them in /usr/lib/postgresql/<major>/bin (the newest
// major wins), only some on PATH.
std::string pgBin(const std::string& name) {
  std::vector<fs::path> dirs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec))
    dirs.push_back(e.path() / "bin");
  std::sort(dirs.begin(), dirs.end(), [](const fs::path& a, const fs::path& b) {
    return std::atoi(a.parent_path().filename().c_str()) >
           std::atoi(b.parent_path().filename().c_str());
  });
  for (const auto& d : dirs) {
    if (::access((d / name).c_str(), X_OK) == 0) return (d / name).string();
  }
  return onPath(name);
}

// Who runs the server: ourselves, unless we are root (postgres refuses root).
struct RunAs {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

RunAs serverUser() {
  RunAs r;
  if (::geteuid() != 0) return r;
  for (const char* n : {"postgres", "nobody"}) {
    if (const passwd* pw = ::getpwnam(n)) {
      r.drop = true;
      r.uid = pw->pw_uid;
      r.gid = pw->pw_gid;
      r.name = n;
      return r;
    }
  }
  throw std::runtime_error("running as root and neither the postgres nor the nobody user exists");
}

// fork + exec `argv` with stdout/stderr appended to `logPath`, as `as`, with a parent-death
// signal so the server dies with the test process.
pid_t spawn(const std::vector<std::string>& argv, const RunAs& as, const std::string& logPath,
            int deathSignal) {
  std::vector<char*> args;
  std::vector<std::string> copy = argv;
  for (auto& a : copy) args.push_back(a.data());
  args.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid > 0) return pid;
  int in = ::open("/dev/null", O_RDONLY);
  int log = ::open(logPath.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || log < 0) ::_exit(126);
  ::dup2(in, 0);
  ::dup2(log, 1);
  ::dup2(log, 2);
  for (int fd = 3; fd < 1024; ++fd) ::close(fd);
  if (::chdir("/") != 0) ::_exit(126);
  if (as.drop) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 || ::setuid(as.uid) != 0)
      ::_exit(126);
  }
  // After setuid: changing credentials clears the death signal.
  if (deathSignal) {
    ::prctl(PR_SET_PDEATHSIG, deathSignal);
    if (::getppid() != parent) ::_exit(0);  // the parent died before we set it
  }
  ::execv(args[0], args.data());
  std::fprintf(stderr, "cannot exec %s\n", args[0]);
  ::_exit(127);
}

// Waits for a child to exit; SIGKILLs it after `grace`. Returns its wait status.
int reap(pid_t pid, std::chrono::seconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  int st = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid || r < 0) return st;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      return st;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// Polls `ready` until true; throws with `log` when the child exits first or after a minute.
void waitReady(pid_t pid, const std::function<bool()>& ready, const std::string& what,
               const std::function<std::string()>& log) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!ready()) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) {
      throw std::runtime_error(what + " exited while starting; its log:\n" + log());
    }
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      throw std::runtime_error(what + " did not become ready in 60 s; its log:\n" + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string makeTempDir(const char* stem) {
  std::string tmpl =
      std::string("/tmp/") + stem + "XXXXXX";  // short: a Unix socket path is <= 107 bytes
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

// The initdb'd template data directory, made once per machine (per server build and user).
std::string pgTemplate(const RunAs& as) {
  std::string postgres = pgBin("postgres");
  struct stat st {};
  ::stat(postgres.c_str(), &st);
  // The name changes with the server binary and with the initdb options below (v1).
  std::string dir = "/tmp/llmspell-pgtemplate-v1-" + std::to_string(::geteuid()) + "-" +
                    std::to_string(static_cast<long long>(st.st_mtime));
  if (fs::exists(dir + "/.complete")) return dir + "/data";
  int lock = ::open((dir + ".lock").c_str(), O_RDWR | O_CREAT, 0600);
  if (lock < 0) throw std::runtime_error("cannot open " + dir + ".lock");
  ::flock(lock, LOCK_EX);
  if (!fs::exists(dir + "/.complete")) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::create_directories(dir);
    if (as.drop && ::chown(dir.c_str(), as.uid, as.gid) != 0) {
      ::close(lock);
      throw std::runtime_error("cannot chown " + dir);
    }
    std::string log = dir + "/initdb.log";
    pid_t pid = spawn({pgBin("initdb"), "-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E",
                       "UTF8", "--locale=C", "--no-sync", "--no-instructions"},
                      as, log, SIGKILL);
    int status = reap(pid, std::chrono::seconds(300));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      std::string text = readAll(log);
      fs::remove_all(dir, ec);
      ::close(lock);
      throw std::runtime_error("initdb failed:\n" + text);
    }
    std::ofstream(dir + "/.complete") << "ok\n";
  }
  ::close(lock);
  return dir + "/data";
}

}  // namespace

// ---- PgCluster ----

std::string PgCluster::missing() {
  if (pgBin("postgres").empty() || pgBin("initdb").empty()) {
    return "PostgreSQL is not installed (initdb/postgres not found): install Debian's postgresql "
           "(scripts/setup.sh does)";
  }
  if (onPath("psql").empty() && pgBin("psql").empty()) {
    return "psql is not installed: install Debian's postgresql-client (scripts/setup.sh does)";
  }
  return "";
}

PgCluster* PgCluster::shared() {
  static std::unique_ptr<PgCluster> cluster;
  if (!cluster) {
    if (!missing().empty()) return nullptr;
    cluster = std::make_unique<PgCluster>();
  }
  return cluster.get();
}

PgCluster::PgCluster() : owner_(::getpid()) {
  RunAs as = serverUser();
  std::string tmpl = pgTemplate(as);
  dir_ = makeTempDir("llmspell-pg-");
  if (as.drop && ::chown(dir_.c_str(), as.uid, as.gid) != 0)
    throw std::runtime_error("cannot chown " + dir_);
  std::string out;
  // cp -a keeps the owner (the server user) and the 0700 mode postgres insists on.
  if (shell("cp -a " + quote(tmpl) + " " + quote(dir_ + "/data") + " 2>&1", &out) != 0) {
    throw std::runtime_error("cannot copy the PostgreSQL template: " + out);
  }
  start();
}

PgCluster::~PgCluster() {
  if (::getpid() != owner_) return;
  stop(true);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PgCluster::start() {
  if (pid_ > 0) return;
  std::string data = dir_ + "/data";
  std::error_code ec;
  fs::remove(data + "/postmaster.pid",
             ec);  // left by an immediate stop; postgres would check it anyway
  // Socket only (no TCP port to collide on); fsync off: a test cluster needs no power-loss
  // safety, and process crashes (what the tests simulate) lose nothing committed either way.
  pid_ = spawn(
      {pgBin("postgres"), "-D", data, "-k", dir_, "-c", "listen_addresses=", "-c", "fsync=off",
       "-c", "full_page_writes=off", "-c", "max_connections=200", "-c", "shared_buffers=16MB"},
      serverUser(), dir_ + "/server.log", SIGQUIT);
  // postmaster.pid's 8th line is the postmaster status; "ready" once it accepts connections.
  waitReady(
      pid_,
      [&] {
        std::ifstream f(data + "/postmaster.pid");
        std::string line;
        for (int i = 0; i < 8 && std::getline(f, line); ++i) {
        }
        return line.rfind("ready", 0) == 0;
      },
      "postgres", [&] { return log(); });
}

void PgCluster::stop(bool immediate) {
  if (pid_ <= 0) return;
  ::kill(pid_, immediate ? SIGQUIT : SIGINT);
  reap(pid_, std::chrono::seconds(60));
  pid_ = -1;
}

std::string PgCluster::url(const std::string& db) const {
  return "postgresql://postgres@/" + db + "?host=" + dir_;
}

std::string PgCluster::freshDatabase(const std::string& stem) {
  std::string db = stem + "_" + std::to_string(::getpid()) + "_" + std::to_string(++dbCounter_);
  sql("postgres", "CREATE DATABASE " + db);
  lastDb_ = db;
  return url(db);
}

std::string PgCluster::sql(const std::string& db, const std::string& query) const {
  std::string psql = onPath("psql");
  if (psql.empty()) psql = pgBin("psql");
  std::string out;
  int rc = shell(quote(psql) + " -X -q -A -t -v ON_ERROR_STOP=1 -h " + quote(dir_) +
                     " -U postgres -d " + quote(db) + " -c " + quote(query) + " 2>&1",
                 &out);
  if (rc != 0) throw std::runtime_error("psql failed (" + query + "): " + out);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string PgCluster::log() const {
  return readAll(dir_ + "/server.log");
}

// ---- RedisServer ----

namespace {

int freeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  ::close(fd);
  return ntohs(a.sin_port);
}

bool redisPing(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const char ping[] = "PING\r\n";
    char buf[16] = {};
    if (::write(fd, ping, sizeof ping - 1) == static_cast<ssize_t>(sizeof ping - 1)) {
      ssize_t n = ::read(fd, buf, sizeof buf - 1);
      ok = n >= 5 && std::string(buf, 5) == "+PONG";
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

std::string RedisServer::missing() {
  if (onPath("redis-server").empty() || onPath("redis-cli").empty()) {
    return "Redis is not installed (redis-server/redis-cli not found): install Debian's "
           "redis-server "
           "(scripts/setup.sh does)";
  }
  return "";
}

RedisServer* RedisServer::shared() {
  static std::unique_ptr<RedisServer> server;
  if (!server) {
    if (!missing().empty()) return nullptr;
    server = std::make_unique<RedisServer>();
  }
  return server.get();
}

RedisServer::RedisServer(bool fsyncEveryWrite)
    : owner_(::getpid()), fsyncEveryWrite_(fsyncEveryWrite) {
  dir_ = makeTempDir("llmspell-redis-");
  port_ = freeLoopbackPort();
  start();
}

RedisServer::~RedisServer() {
  if (::getpid() != owner_) return;
  stop(true);
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void RedisServer::start() {
  if (pid_ > 0) return;
  // appendfsync always: a write redis acknowledged is in the file before the reply, so a
  // stop/start (or kill) keeps it; RDB snapshots off (no background saves during tests).
  pid_ = spawn(
      {onPath("redis-server"), "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
       "--appendonly", "yes", "--appendfsync", fsyncEveryWrite_ ? "always" : "everysec", "--dir",
       dir_, "--daemonize", "no", "--logfile", ""},
      RunAs{}, dir_ + "/server.log", SIGKILL);
  waitReady(
      pid_, [&] { return redisPing(port_); }, "redis-server", [&] { return log(); });
}

void RedisServer::stop(bool kill) {
  if (pid_ <= 0) return;
  ::kill(pid_, kill ? SIGKILL : SIGTERM);
  reap(pid_, std::chrono::seconds(60));
  pid_ = -1;
}

std::string RedisServer::url(int db) const {
  return "redis://127.0.0.1:" + std::to_string(port_) + (db ? "/" + std::to_string(db) : "");
}

std::string RedisServer::freshPrefix(const std::string& stem) {
  return stem + std::to_string(::getpid()) + "_" + std::to_string(++prefixCounter_) + ":";
}

std::string RedisServer::cli(const std::string& args) const {
  std::string out;
  int rc = shell("redis-cli -h 127.0.0.1 -p " + std::to_string(port_) + " " + args + " 2>&1", &out);
  if (rc != 0) throw std::runtime_error("redis-cli failed (" + args + "): " + out);
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string RedisServer::log() const {
  return readAll(dir_ + "/server.log");
}

}  // namespace llmspell::test
