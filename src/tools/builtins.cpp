// The built-in tools. Each declares a parameters schema, a category and the permission it needs;
// file and network tools also check each path / host against the run's Permissions.
//
// Libraries used where they fit: libcurl through the net layer (http_request, web_fetch),
// OpenSSL EVP (hash), libsodium (uuid randomness), RE2 (file_search), nlohmann_json through
// core/convert (JSON bodies), POSIX posix_spawn (shell), the Loop's timers (sleep). Parsing that
// no library in the build does is in text_tools.cpp (see the note at its top).
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <openssl/evp.h>
#include <poll.h>
#include <re2/re2.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/safe_fs.hpp"
#include "llmspell/net/http.hpp"
#include "tools/builtins.hpp"
#include "tools/process.hpp"

extern char** environ;

namespace llmspell::tools {

namespace {

namespace stdfs = std::filesystem;

constexpr size_t kMaxFileRead = 10u << 20;  // 10 MiB by default; a tool result goes to a model

Value schema(std::string_view json) {
  return parseJson(json);
}

ToolPtr make(std::string name, std::string category, std::string permission,
             std::string description, std::string_view params, ToolRun run,
             std::string_view examples = "[]") {
  auto t = std::make_shared<Tool>();
  t->name = std::move(name);
  t->category = std::move(category);
  t->permission = std::move(permission);
  t->description = std::move(description);
  t->parameters = schema(params);
  t->examples = schema(examples);
  t->builtin = true;
  t->run = std::move(run);
  return t;
}

// Runs a synchronous body and turns its result or exception into a settled promise.
template <typename F>
PromisePtr now(F&& f) {
  try {
    return Promise::resolved(f());
  } catch (...) {
    auto p = Promise::create();
    p->rejectCurrentException();
    return p;
  }
}

// ------------------------------------------------------------------------------------------
// Files: paths are checked by Permissions (which resolves `..` and symlinks) and then opened
// component by component with O_NOFOLLOW (core/safe_fs, shared with the fs module), so a
// symlink swapped in after the check cannot redirect the access.

using safefs::Target;

std::string maxBytesText(size_t limit) { return "max_bytes (" + std::to_string(limit) + ")"; }

std::string base64(const std::string& s) {
  std::string out(sodium_base64_ENCODED_LEN(s.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(s.data()),
                    s.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

Value fileRead(const Value& a, ToolEnv& env) {
  std::string path = a.getString("path");
  Target t = safefs::forRead(env.permissions, path);
  auto limit = static_cast<size_t>(a.getInt("max_bytes", static_cast<int64_t>(kMaxFileRead)));
  std::string data = safefs::readFile("file_read", t, limit, maxBytesText(limit));
  auto size = static_cast<int64_t>(data.size());
  bool text = isValidUtf8(data);
  return Value::object({{"path", path},
                        {"size", size},
                        {"encoding", text ? "utf-8" : "base64"},
                        {"content", text ? std::move(data) : base64(data)}});
}

Value fileWrite(const Value& a, ToolEnv& env) {
  std::string path = a.getString("path");
  Target t = safefs::forWrite(env.permissions, path);
  if (a.getBool("create_dirs")) {
    // The parent is inside the grant (the check covered the file below it); it is created by
    // the same walk, so a link swapped in cannot move the new directories outside.
    safefs::makeDir("file_write", Target{t.abs.parent_path(), path}, true);
  }
  const std::string& data = a.get("content").asString();
  size_t off = safefs::writeFile("file_write", t, data, a.getBool("append") ? O_APPEND : O_TRUNC);
  return Value::object(
      {{"path", path}, {"bytes", static_cast<int64_t>(off)}, {"appended", a.getBool("append")}});
}

std::string joinPath(const std::string& base, const std::string& rel) {
  if (base.empty() || base == ".") return rel;
  return base.back() == '/' ? base + rel : base + "/" + rel;
}

// Walks a directory tree without following symlinks. `visit(rel, abs, st)` returns false to stop.
// `root.shown` is the path the spell gave; entries below it are shown joined to it.
void walk(
    const std::string& tool, const Target& root, bool recursive, bool hidden,
    const std::function<bool(const std::string&, const stdfs::path&, const struct stat&)>& visit) {
  std::vector<std::pair<stdfs::path, std::string>> todo{{root.abs, ""}};
  size_t dirs = 0;
  while (!todo.empty()) {
    auto [dirAbs, rel] = todo.back();
    todo.pop_back();
    if (++dirs > 100000) fail(codes::kLimitExceeded, tool + ": more than 100,000 directories");
    Target dir{dirAbs, rel.empty() ? root.shown : joinPath(root.shown, rel)};
    safefs::Fd fd = safefs::open(tool, dir, O_RDONLY | O_DIRECTORY);
    DIR* d = ::fdopendir(::dup(fd.get()));
    if (!d) safefs::failErrno(tool, dir.shown, errno);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (!hidden && n[0] == '.') continue;
      names.push_back(std::move(n));
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    std::vector<std::pair<stdfs::path, std::string>> sub;
    for (const auto& n : names) {
      struct stat st;
      if (::fstatat(fd.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      std::string r = rel.empty() ? n : rel + "/" + n;
      if (!visit(r, dirAbs / n, st)) return;
      if (recursive && S_ISDIR(st.st_mode)) sub.emplace_back(dirAbs / n, r);
    }
    for (auto it = sub.rbegin(); it != sub.rend(); ++it) todo.push_back(*it);
  }
}

const char* typeOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "directory";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

Value fileList(const Value& a, ToolEnv& env) {
  std::string path = a.getString("path", ".");
  Target root = safefs::forRead(env.permissions, path);
  std::string pattern = a.getString("pattern");
  auto maxEntries = static_cast<size_t>(a.getInt("max_entries", 1000));
  std::vector<Value> entries;
  bool truncated = false;
  walk("file_list", root, a.getBool("recursive"), a.getBool("include_hidden"),
       [&](const std::string& rel, const stdfs::path&, const struct stat& st) {
         std::string name = stdfs::path(rel).filename().string();
         if (!pattern.empty() && ::fnmatch(pattern.c_str(), name.c_str(), 0) != 0) return true;
         if (entries.size() >= maxEntries) {
           truncated = true;
           return false;
         }
         entries.push_back(Value::object({{"name", name},
                                          {"path", joinPath(path, rel)},
                                          {"type", typeOf(st.st_mode)},
                                          {"size", static_cast<int64_t>(st.st_size)}}));
         return true;
       });
  return Value::object(
      {{"path", path}, {"entries", Value::array(std::move(entries))}, {"truncated", truncated}});
}

Value fileSearch(const Value& a, ToolEnv& env) {
  std::string path = a.getString("path", ".");
  Target root = safefs::forRead(env.permissions, path);
  RE2::Options o;
  o.set_case_sensitive(!a.getBool("ignore_case"));
  o.set_log_errors(false);
  RE2 re(a.getString("pattern"), o);
  if (!re.ok()) fail(codes::kInvalidArgument, "file_search: bad pattern: " + re.error());
  std::string glob = a.getString("glob");
  auto maxResults = static_cast<size_t>(a.getInt("max_results", 100));
  std::vector<Value> matches;
  int64_t files = 0;
  bool truncated = false;
  auto searchFile = [&](const std::string& shown, const stdfs::path& file) {
    if (!env.permissions.canRead(file.string())) return true;
    std::string data;
    try {
      data = safefs::readFile("file_search", Target{file, shown}, kMaxFileRead,
                              maxBytesText(kMaxFileRead));
    } catch (const Exception&) {
      return true;  // unreadable or too large files are skipped
    }
    if (data.substr(0, 8192).find('\0') != std::string::npos) return true;  // binary
    ++files;
    size_t lineNo = 0, start = 0;
    while (start <= data.size()) {
      size_t nl = data.find('\n', start);
      std::string_view line(data.data() + start,
                            (nl == std::string::npos ? data.size() : nl) - start);
      ++lineNo;
      if (RE2::PartialMatch(line, re)) {
        if (matches.size() >= maxResults) {
          truncated = true;
          return false;
        }
        std::string text(line.substr(0, 500));
        matches.push_back(Value::object(
            {{"path", shown}, {"line", static_cast<int64_t>(lineNo)}, {"text", text}}));
      }
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return true;
  };
  struct stat st;
  if (safefs::lstat("file_search", root, st) && S_ISREG(st.st_mode)) {
    searchFile(path, root.abs);
  } else {
    walk(
        "file_search", root, true, a.getBool("include_hidden"),
        [&](const std::string& rel, const stdfs::path& fileAbs, const struct stat& s) {
          if (!S_ISREG(s.st_mode)) return true;
          if (!glob.empty() && ::fnmatch(glob.c_str(), stdfs::path(rel).filename().c_str(), 0) != 0)
            return true;
          return searchFile(joinPath(path, rel), fileAbs);
        });
  }
  return Value::object({{"path", path},
                        {"matches", Value::array(std::move(matches))},
                        {"files_searched", files},
                        {"truncated", truncated}});
}

// ------------------------------------------------------------------------------------------
// Network

net::HttpRequest requestFrom(const Value& a, ToolEnv& env) {
  net::HttpRequest rq;
  rq.method = a.getString("method", "GET");
  rq.url = a.getString("url");
  if (a.get("query").isObject()) {
    std::vector<std::pair<std::string, std::string>> q;
    for (const auto& [k, v] : a.get("query").asObject())
      q.emplace_back(k, v.isString() ? v.asString() : toJsonText(v));
    rq.url = net::appendQuery(rq.url, q);
  }
  if (a.get("headers").isObject())
    for (const auto& [k, v] : a.get("headers").asObject())
      rq.headers.emplace_back(k, v.isString() ? v.asString() : toJsonText(v));
  const Value& body = a.get("body");
  if (body.isString()) {
    rq.body = body.asString();
  } else if (!body.isNull()) {
    rq.body = toJsonText(body);
    if (!net::findHeader(rq.headers, "content-type"))
      rq.headers.emplace_back("content-type", "application/json");
  }
  rq.totalTimeout = a.getNumber("timeout", 30);
  rq.maxResponseBytes = static_cast<uint64_t>(a.getInt("max_bytes", 10 << 20));
  rq.checkUrl = net::netPermissionCheck(env.permissions);
  return rq;
}

PromisePtr httpRequest(const Value& a, ToolEnv& env) {
  net::HttpRequest rq = requestFrom(a, env);
  auto client = net::HttpClient::forLoop(env.loop);
  return promiseThen(client->request(std::move(rq)), [client](const Value& response) {
    const auto& r = net::responseOf(response);
    Value headers = Value::object();
    for (const auto& [k, v] : r.headers) {
      Value& slot = headers.asObject()[k];
      slot = slot.isString() ? Value(slot.asString() + ", " + v) : Value(v);
    }
    Value res = Value::object({{"status", r.status},
                               {"ok", r.status >= 200 && r.status < 300},
                               {"url", r.effectiveUrl},
                               {"headers", headers},
                               {"body", r.body}});
    const std::string* ct = r.header("content-type");
    if (ct && ct->find("json") != std::string::npos) {
      try {
        res.asObject().set("json", parseJson(r.body));
      } catch (const Exception&) {
      }
    }
    return res;
  });
}

PromisePtr webFetch(const Value& a, ToolEnv& env) {
  net::HttpRequest rq;
  rq.url = a.getString("url");
  rq.headers.emplace_back("accept", "text/html,text/plain;q=0.9,*/*;q=0.5");
  rq.totalTimeout = a.getNumber("timeout", 30);
  rq.maxResponseBytes = 10 << 20;
  rq.checkUrl = net::netPermissionCheck(env.permissions);
  auto maxChars = static_cast<size_t>(a.getInt("max_chars", 20000));
  std::string url = rq.url;
  auto client = net::HttpClient::forLoop(env.loop);
  return promiseThen(client->request(std::move(rq)),
                     [client, maxChars, url](const Value& response) {
                       const auto& r = net::responseOf(response);
                       if (r.status >= 400) {
                         Error e(codes::kNetworkError,
                                 "web_fetch: " + url + " answered HTTP " + std::to_string(r.status),
                                 r.status >= 500 || r.status == 429);
                         e.details = Value::object({{"url", url}, {"status", r.status}});
                         throw Exception(std::move(e));
                       }
                       const std::string* ct = r.header("content-type");
                       bool html = !ct || ct->find("html") != std::string::npos;
                       std::string title;
                       std::string text = html ? htmlToText(r.body, &title) : r.body;
                       bool truncated = false;
                       if (text.size() > maxChars) {
                         size_t cut = maxChars;
                         while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
                           --cut;  // UTF-8 boundary
                         text.resize(cut);
                         truncated = true;
                       }
                       return Value::object({{"url", r.effectiveUrl.empty() ? url : r.effectiveUrl},
                                             {"status", r.status},
                                             {"title", title},
                                             {"content_type", ct ? *ct : ""},
                                             {"text", text},
                                             {"truncated", truncated}});
                     });
}

// ------------------------------------------------------------------------------------------
// shell: posix_spawn without a shell (argv array); run on the loop's thread pool.

struct ShellJob {
  std::vector<std::string> argv;
  std::string cwd;
  std::string input;
  std::vector<std::string> envp;
  double timeout = 30;
  size_t maxOutput = 1 << 20;
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::shared_ptr<const std::atomic<bool>> runEnded;  // may be null
};

}  // namespace

ChildProcess spawnChild(const std::vector<std::string>& args, const std::vector<std::string>& env,
                        const std::string& cwd, std::string_view what) {
  std::string w(what);
  int inP[2], outP[2], errP[2];
  if (::pipe2(inP, O_CLOEXEC) != 0) fail(codes::kInternal, w + ": pipe failed");
  if (::pipe2(outP, O_CLOEXEC) != 0) {
    ::close(inP[0]);
    ::close(inP[1]);
    fail(codes::kInternal, w + ": pipe failed");
  }
  if (::pipe2(errP, O_CLOEXEC) != 0) {
    for (int f : {inP[0], inP[1], outP[0], outP[1]}) ::close(f);
    fail(codes::kInternal, w + ": pipe failed");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, inP[0], 0);
  posix_spawn_file_actions_adddup2(&fa, outP[1], 1);
  posix_spawn_file_actions_adddup2(&fa, errP[1], 2);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  std::vector<char*> argv, envp;
  for (const auto& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  for (const auto& s : env) envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(inP[0]);
  ::close(outP[1]);
  ::close(errP[1]);
  if (rc != 0) {
    for (int f : {inP[1], outP[0], errP[0]}) ::close(f);
    if (rc == ENOENT) fail(codes::kNotFound, w + ": command '" + args[0] + "' not found");
    if (rc == EACCES)
      fail(codes::kPermissionDenied, w + ": command '" + args[0] + "' is not executable");
    fail(codes::kInternal, w + ": cannot start '" + args[0] + "': " + std::strerror(rc));
  }
  return {pid, inP[1], outP[0], errP[0]};
}

namespace {

Value runProcess(const ShellJob& job) {
  ChildProcess child = spawnChild(job.argv, job.envp, job.cwd, "shell");
  pid_t pid = child.pid;
  auto start = std::chrono::steady_clock::now();
  std::string out, err;
  size_t written = 0;
  int inFd = child.in;
  if (job.input.empty()) {
    ::close(inFd);
    inFd = -1;
  } else {
    ::fcntl(inFd, F_SETFL, O_NONBLOCK);
  }
  int fds[2] = {child.out, child.err};
  bool timedOut = false, cancelled = false, truncated = false;
  ::signal(SIGPIPE, SIG_IGN);
  while (fds[0] >= 0 || fds[1] >= 0) {
    double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (job.timeout > 0 && elapsed >= job.timeout) {
      timedOut = true;
      break;
    }
    if (job.cancelled->load() || (job.runEnded && job.runEnded->load())) {
      cancelled = true;
      break;
    }
    pollfd pf[3];
    int n = 0;
    for (int f : fds)
      if (f >= 0) pf[n++] = {f, POLLIN, 0};
    if (inFd >= 0) pf[n++] = {inFd, POLLOUT, 0};
    int r = ::poll(pf, static_cast<nfds_t>(n), 50);
    if (r < 0 && errno != EINTR) break;
    for (int k = 0; k < n; ++k) {
      if (!pf[k].revents) continue;
      if (pf[k].fd == inFd) {
        ssize_t w = ::write(inFd, job.input.data() + written, job.input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written >= job.input.size()) {
          ::close(inFd);
          inFd = -1;
        }
        continue;
      }
      char buf[65536];
      ssize_t got = ::read(pf[k].fd, buf, sizeof buf);
      int idx = pf[k].fd == fds[0] ? 0 : 1;
      if (got <= 0) {
        ::close(fds[idx]);
        fds[idx] = -1;
        continue;
      }
      std::string& dst = idx == 0 ? out : err;
      size_t room = job.maxOutput > dst.size() ? job.maxOutput - dst.size() : 0;
      if (static_cast<size_t>(got) > room) truncated = true;
      dst.append(buf, std::min(room, static_cast<size_t>(got)));
    }
  }
  if (timedOut || cancelled) ::kill(-pid, SIGKILL);
  for (int f : fds)
    if (f >= 0) ::close(f);
  if (inFd >= 0) ::close(inFd);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (timedOut) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%g", job.timeout);
    Error e(codes::kTimeout,
            "shell: '" + job.argv[0] + "' ran longer than " + secs + "s and was killed", true);
    e.details = Value::object({{"stdout", out}, {"stderr", err}, {"timeout", job.timeout}});
    throw Exception(std::move(e));
  }
  if (cancelled)
    throw Exception(codes::kCancelled, "shell: '" + job.argv[0] + "' was cancelled and killed");
  Value res = Value::object({{"exit_code", WIFEXITED(status) ? WEXITSTATUS(status) : -1},
                             {"stdout", out},
                             {"stderr", err},
                             {"duration_ms", ms},
                             {"truncated", truncated}});
  if (WIFSIGNALED(status)) res.asObject().set("signal", WTERMSIG(status));
  return res;
}

PromisePtr shell(const Value& a, ToolEnv& env) {
  ShellJob job;
  const Value& cmd = a.get("command");
  if (cmd.isArray()) {
    for (const auto& v : cmd.asArray()) {
      if (!v.isString())
        fail(codes::kInvalidArgument, "shell: command array items must be strings");
      job.argv.push_back(v.asString());
    }
  } else {
    job.argv = splitCommand(cmd.asString());
  }
  if (a.get("args").isArray())
    for (const auto& v : a.get("args").asArray())
      job.argv.push_back(v.isString() ? v.asString() : toJsonText(v));
  if (job.argv.empty() || job.argv[0].empty())
    fail(codes::kInvalidArgument, "shell: empty command");
  env.permissions.checkRun(job.argv[0]);
  std::string cwd = a.getString("cwd");
  Permissions::checkPathText(cwd);
  if (!cwd.empty())
    job.cwd = env.permissions.resolve(cwd).string();
  else if (!env.permissions.baseDir().empty())
    job.cwd = env.permissions.baseDir().string();
  job.input = a.getString("stdin");
  job.timeout = a.getNumber("timeout", 30);
  job.maxOutput = static_cast<size_t>(a.getInt("max_output", 1 << 20));
  // The child gets a small environment (PATH, HOME, LANG) plus `env`: the spell's own
  // environment is not passed on, since reading it needs --allow-env.
  for (const char* k : {"PATH", "HOME", "LANG", "TERM"})
    if (const char* v = ::getenv(k)) job.envp.push_back(std::string(k) + "=" + v);
  if (a.get("env").isObject())
    for (const auto& [k, v] : a.get("env").asObject())
      job.envp.push_back(k + "=" + (v.isString() ? v.asString() : toJsonText(v)));
  job.cancelled = std::make_shared<std::atomic<bool>>(false);
  job.runEnded = env.runEnded;
  auto flag = job.cancelled;
  PromisePtr p = env.loop.runBlocking([job = std::move(job)] { return runProcess(job); });
  auto out = Promise::create();
  out->setCanceller([flag, p] { flag->store(true); });
  p->onSettle([out](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      out->reject(q.error());
    } else {
      out->resolve(q.value());
    }
  });
  return out;
}

// ------------------------------------------------------------------------------------------
// datetime

// Parses "+02:00", "-0530", "Z" or "UTC" into minutes east of UTC.
int parseOffset(const std::string& s) {
  if (s.empty() || s == "Z" || s == "z" || s == "UTC" || s == "utc") return 0;
  if ((s[0] == '+' || s[0] == '-') && s.size() >= 3) {
    std::string d;
    for (size_t i = 1; i < s.size(); ++i)
      if (std::isdigit(static_cast<unsigned char>(s[i])))
        d += s[i];
      else if (s[i] != ':')
        d = "x";
    if (d.size() == 2 || d.size() == 4) {
      int h = std::stoi(d.substr(0, 2)), m = d.size() == 4 ? std::stoi(d.substr(2)) : 0;
      if (h <= 14 && m < 60) return (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    }
  }
  fail(codes::kInvalidArgument,
       "datetime: offset '" + s + "' is not valid (use Z, +02:00 or -0530)");
}

std::string offsetText(int minutes) {
  if (minutes == 0) return "Z";
  char buf[16];
  int a = std::abs(minutes);
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", minutes < 0 ? '-' : '+', a / 60, a % 60);
  return buf;
}

// ISO 8601: YYYY-MM-DD, optionally THH:MM[:SS[.fff]] and Z / ±HH:MM. Returns unix seconds.
double parseIso(const std::string& s, int* offsetOut) {
  int Y, M, D, h = 0, m = 0, n = 0;
  double sec = 0;
  auto bad = [&]() -> double {
    fail(codes::kInvalidArgument,
         "datetime: '" + s +
             "' is not an ISO 8601 date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ); "
             "pass input_format for other forms");
  };
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &Y, &M, &D, &n) != 3 || n != 10) return bad();
  size_t i = 10;
  int off = 0;
  if (i < s.size() && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
    int k = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d%n", &h, &m, &k) != 2 || k != 5) return bad();
    i += 1 + 5;
    if (i < s.size() && s[i] == ':') {
      size_t j = i + 1;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      sec = std::strtod(s.substr(i + 1, j - i - 1).c_str(), nullptr);
      i = j;
    }
    if (i < s.size()) {
      off = parseOffset(s.substr(i));
      i = s.size();
    }
  }
  if (i != s.size()) return bad();
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec >= 61) return bad();
  std::tm tm{};
  tm.tm_year = Y - 1900;
  tm.tm_mon = M - 1;
  tm.tm_mday = D;
  tm.tm_hour = h;
  tm.tm_min = m;
  tm.tm_sec = 0;
  time_t t = ::timegm(&tm);
  if (tm.tm_mday != D) return bad();  // 2023-02-30
  if (offsetOut) *offsetOut = off;
  return static_cast<double>(t) + sec - off * 60.0;
}

double toUnix(const Value& v, const std::string& inputFormat) {
  if (v.isNumber()) return v.asNumber();
  if (!v.isString())
    fail(codes::kInvalidArgument, "datetime: date must be an ISO 8601 string or unix seconds");
  if (!inputFormat.empty()) {
    std::tm tm{};
    const char* end = ::strptime(v.asString().c_str(), inputFormat.c_str(), &tm);
    if (!end || *end)
      fail(codes::kInvalidArgument,
           "datetime: '" + v.asString() + "' does not match the format '" + inputFormat + "'");
    return static_cast<double>(::timegm(&tm));
  }
  return parseIso(v.asString(), nullptr);
}

Value describeTime(double unix, int offset, const std::string& format) {
  auto whole = static_cast<time_t>(std::floor(unix));
  double frac = unix - static_cast<double>(whole);
  time_t local = whole + offset * 60;
  std::tm tm{};
  if (!::gmtime_r(&local, &tm)) fail(codes::kInvalidArgument, "datetime: the date is out of range");
  char date[32], time[32];
  std::strftime(date, sizeof date, "%Y-%m-%d", &tm);
  std::strftime(time, sizeof time, "%H:%M:%S", &tm);
  std::string iso = std::string(date) + "T" + time;
  if (frac > 0.0005) {
    char ms[8];
    std::snprintf(ms, sizeof ms, ".%03d", static_cast<int>(std::lround(frac * 1000) % 1000));
    iso += ms;
  }
  iso += offsetText(offset);
  static const char* days[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                               "Thursday", "Friday", "Saturday"};
  Value out = Value::object({{"iso", iso},
                             {"unix", frac > 0 ? Value(unix) : Value(static_cast<int64_t>(whole))},
                             {"date", date},
                             {"time", time},
                             {"weekday", days[tm.tm_wday]},
                             {"offset", offsetText(offset)}});
  if (!format.empty()) {
    char buf[512];
    size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
    if (n == 0 && !format.empty())
      fail(codes::kInvalidArgument, "datetime: format produced no output or is too long");
    out.asObject().set("formatted", std::string(buf, n));
  }
  return out;
}

double addAmount(double unix, const Value& amount) {
  if (!amount.isObject())
    fail(codes::kInvalidArgument, "datetime: add needs amount = {days = 1, hours = 2, ...}");
  auto num = [&](const char* k) { return amount.getNumber(k, 0); };
  double months = num("months") + 12 * num("years");
  if (months != 0) {
    if (months != std::floor(months))
      fail(codes::kInvalidArgument, "datetime: months and years must be whole numbers");
    auto whole = static_cast<time_t>(std::floor(unix));
    double frac = unix - static_cast<double>(whole);
    std::tm tm{};
    ::gmtime_r(&whole, &tm);
    int day = tm.tm_mday;
    long total = tm.tm_year * 12L + tm.tm_mon + static_cast<long>(months);
    tm.tm_year = static_cast<int>(std::floor(total / 12.0));
    tm.tm_mon = static_cast<int>(total - tm.tm_year * 12L);
    tm.tm_mday = 1;
    std::tm probe = tm;
    probe.tm_mon += 1;
    time_t next = ::timegm(&probe);
    std::tm last{};
    time_t lastDay = next - 86400;
    ::gmtime_r(&lastDay, &last);
    tm.tm_mday = std::min(day, last.tm_mday);  // Jan 31 + 1 month = Feb 28/29
    unix = static_cast<double>(::timegm(&tm)) + frac;
  }
  return unix + num("seconds") + 60 * num("minutes") + 3600 * num("hours") + 86400 * num("days") +
         604800 * num("weeks");
}

Value datetime(const Value& a, ToolEnv&) {
  std::string op = a.getString("operation", "now");
  int offset = a.get("offset").isString() ? parseOffset(a.getString("offset")) : 0;
  std::string format = a.getString("format");
  std::string inFormat = a.getString("input_format");
  auto when = [&]() -> double {
    if (a.get("date").isNull()) {
      if (op == "now") {
        using namespace std::chrono;
        return duration<double>(system_clock::now().time_since_epoch()).count();
      }
      fail(codes::kInvalidArgument, "datetime: operation '" + op + "' needs a date");
    }
    return toUnix(a.get("date"), inFormat);
  };
  if (op == "now" || op == "format" || op == "parse") return describeTime(when(), offset, format);
  if (op == "add") return describeTime(addAmount(when(), a.get("amount")), offset, format);
  if (op == "diff") {
    if (a.get("other").isNull())
      fail(codes::kInvalidArgument, "datetime: diff needs other (a second date)");
    double d = toUnix(a.get("other"), inFormat) - when();
    auto num = [](double x) {
      return x == std::floor(x) && std::fabs(x) < 9e15 ? Value(static_cast<int64_t>(x)) : Value(x);
    };
    return Value::object({{"seconds", num(d)},
                          {"minutes", num(d / 60)},
                          {"hours", num(d / 3600)},
                          {"days", num(d / 86400)}});
  }
  fail(codes::kInvalidArgument, "datetime: unknown operation '" + op + "'");
}

// ------------------------------------------------------------------------------------------
// Small ones

Value uuidTool(const Value& a, ToolEnv&) {
  auto one = [] {
    unsigned char b[16];
    randombytes_buf(b, sizeof b);
    b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);
    char out[37];
    std::snprintf(out, sizeof out,
                  "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                  b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                  b[14], b[15]);
    return std::string(out);
  };
  int64_t n = a.getInt("count", 1);
  if (n == 1 && a.get("count").isNull()) return Value::object({{"uuid", one()}});
  std::vector<Value> list;
  for (int64_t i = 0; i < n; ++i) list.emplace_back(one());
  return Value::object(
      {{"uuid", list.empty() ? Value() : list[0]}, {"uuids", Value::array(std::move(list))}});
}

Value hashTool(const Value& a, ToolEnv&) {
  std::string alg = a.getString("algorithm", "sha256");
  const EVP_MD* md = alg == "sha256"   ? EVP_sha256()
                     : alg == "sha1"   ? EVP_sha1()
                     : alg == "md5"    ? EVP_md5()
                     : alg == "sha512" ? EVP_sha512()
                                       : nullptr;
  if (!md)
    fail(codes::kInvalidArgument,
         "hash: unknown algorithm '" + alg + "' (sha256, sha1, md5, sha512)");
  const Value& d = a.get("data");
  std::string data = d.isString() ? d.asString() : toJsonText(d);
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (!EVP_Digest(data.data(), data.size(), out, &n, md, nullptr))
    fail(codes::kInternal, "hash: digest failed");
  std::string raw(reinterpret_cast<char*>(out), n);
  std::string text;
  if (a.getString("encoding", "hex") == "base64") {
    text = base64(raw);
  } else {
    static const char* hex = "0123456789abcdef";
    for (unsigned char c : raw) {
      text += hex[c >> 4];
      text += hex[c & 15];
    }
  }
  return Value::object({{"hash", text}, {"algorithm", alg}});
}

}  // namespace

Value csvRecords(const Value& a, std::string_view who) {
  std::string delim = a.getString("delimiter", ",");
  if (delim.size() != 1 || delim == "\"" || delim == "\n" || delim == "\r")
    fail(codes::kInvalidArgument,
         std::string(who) + ": delimiter must be one character other than a quote or line break");
  auto rows = parseCsv(a.getString("text"), delim[0]);
  bool header = a.getBool("header", true);
  bool numbers = a.getBool("numbers", false);
  auto cell = [&](std::string s) -> Value {
    if (numbers && !s.empty()) {
      char* end = nullptr;
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return Value(static_cast<int64_t>(i));
      double d = std::strtod(s.c_str(), &end);
      if (*end == '\0' && std::isfinite(d)) return Value(d);
    }
    return Value(std::move(s));
  };
  std::vector<Value> out;
  std::vector<Value> columns;
  if (!header) {
    for (auto& r : rows) {
      std::vector<Value> row;
      for (auto& c : r) row.push_back(cell(std::move(c)));
      out.push_back(Value::array(std::move(row)));
    }
  } else if (!rows.empty()) {
    std::vector<std::string> names;
    for (auto& h : rows[0]) {
      std::string n = h;
      int k = 2;
      while (std::find(names.begin(), names.end(), n) != names.end())
        n = h + "_" + std::to_string(k++);
      names.push_back(n);
      columns.emplace_back(n);
    }
    for (size_t i = 1; i < rows.size(); ++i) {
      if (rows[i].size() > names.size())
        fail(codes::kInvalidArgument, std::string(who) + ": record " + std::to_string(i + 1) + " has " +
                                          std::to_string(rows[i].size()) +
                                          " fields but the header has " +
                                          std::to_string(names.size()));
      Value obj = Value::object();
      for (size_t c = 0; c < rows[i].size(); ++c)
        obj.asObject().set(names[c], cell(std::move(rows[i][c])));
      out.push_back(obj);
    }
  }
  auto count = static_cast<int64_t>(out.size());
  return Value::object({{"rows", Value::array(std::move(out))},
                        {"columns", Value::array(std::move(columns))},
                        {"count", count}});
}

namespace {

Value csvTool(const Value& a, ToolEnv&) { return csvRecords(a, "csv_parse"); }

Value jsonQueryTool(const Value& a, ToolEnv&) {
  Value data = a.get("data");
  if (data.isString() && a.getBool("parse", true)) {
    try {
      data = parseJson(data.asString());
    } catch (const Exception& e) {
      fail(codes::kInvalidArgument,
           "json_query: data is a string that is not JSON: " + e.error().message);
    }
  }
  auto m = jsonQuery(data, a.getString("query"));
  Value first = m.empty() ? Value() : m[0];
  auto n = static_cast<int64_t>(m.size());
  return Value::object({{"matches", Value::array(std::move(m))}, {"count", n}, {"value", first}});
}

PromisePtr sleepTool(const Value& a, ToolEnv& env) {
  double s = a.getNumber("seconds");
  PromisePtr t = env.loop.sleep(s);
  auto out = Promise::create();
  out->setCanceller([t] { t->cancel(); });
  t->onSettle([out, s](const Promise& q) {
    if (!out->pending()) return;
    if (q.rejected()) {
      const_cast<Promise&>(q).markHandled();
      out->reject(q.error());
    } else {
      out->resolve(Value::object({{"slept", s}}));
    }
  });
  return out;
}

}  // namespace

std::vector<ToolPtr> makeBuiltins() {
  auto sync = [](Value (*f)(const Value&, ToolEnv&)) {
    return [f](const Value& a, ToolEnv& env) { return now([&] { return f(a, env); }); };
  };
  auto async = [](PromisePtr (*f)(const Value&, ToolEnv&)) {
    return [f](const Value& a, ToolEnv& env) {
      try {
        return f(a, env);
      } catch (...) {
        auto p = Promise::create();
        p->rejectCurrentException();
        return p;
      }
    };
  };
  std::vector<ToolPtr> v;
  v.push_back(make("http_request", "network", "net",
                   "Makes an HTTP request (needs --allow-net for the host); returns {status, ok, "
                   "headers, body, json}",
                   R"({"type":"object","properties":{
                     "url":{"type":"string","description":"absolute http(s) URL"},
                     "method":{"type":"string","enum":["GET","POST","PUT","PATCH","DELETE","HEAD","OPTIONS"],"default":"GET"},
                     "headers":{"type":"object"},
                     "query":{"type":"object","description":"added to the URL's query string"},
                     "body":{"description":"a string, or a value sent as JSON"},
                     "timeout":{"type":"number","minimum":0,"description":"seconds, default 30"},
                     "max_bytes":{"type":"integer","minimum":1}},
                     "required":["url"],"additionalProperties":false})",
                   async(&httpRequest),
                   R"([{"args":{"url":"https://example.com/api","method":"GET"}}])"));
  v.push_back(make("web_fetch", "network", "net",
                   "Fetches a web page and returns it as plain text (scripts, styles and tags "
                   "removed): {url, status, title, text, truncated}",
                   R"({"type":"object","properties":{
                     "url":{"type":"string"},
                     "max_chars":{"type":"integer","minimum":1,"default":20000},
                     "timeout":{"type":"number","minimum":0}},
                     "required":["url"],"additionalProperties":false})",
                   async(&webFetch), R"([{"args":{"url":"https://example.com/"}}])"));
  v.push_back(
      make("file_read", "filesystem", "read",
           "Reads a file (needs --allow-read for the path): {path, size, encoding, content}",
           R"({"type":"object","properties":{
                     "path":{"type":"string"},
                     "max_bytes":{"type":"integer","minimum":1,"description":"default 10 MiB"}},
                     "required":["path"],"additionalProperties":false})",
           sync(&fileRead), R"([{"args":{"path":"notes.txt"}}])"));
  v.push_back(
      make("file_write", "filesystem", "write",
           "Writes (or appends) text to a file (needs --allow-write for the path): {path, bytes}",
           R"({"type":"object","properties":{
                     "path":{"type":"string"},
                     "content":{"type":"string"},
                     "append":{"type":"boolean","default":false},
                     "create_dirs":{"type":"boolean","default":false}},
                     "required":["path","content"],"additionalProperties":false})",
           sync(&fileWrite), R"([{"args":{"path":"out/report.md","content":"# Report\n"}}])"));
  v.push_back(make("file_list", "filesystem", "read",
                   "Lists a directory (optionally recursively, filtered by a glob on the name): "
                   "{entries = {{name, path, type, size}}}",
                   R"({"type":"object","properties":{
                     "path":{"type":"string","default":"."},
                     "recursive":{"type":"boolean","default":false},
                     "pattern":{"type":"string","description":"glob on the file name, e.g. *.md"},
                     "include_hidden":{"type":"boolean","default":false},
                     "max_entries":{"type":"integer","minimum":1,"default":1000}},
                     "additionalProperties":false})",
                   sync(&fileList), R"([{"args":{"path":".","pattern":"*.md"}}])"));
  v.push_back(
      make("file_search", "filesystem", "read",
           "Searches files for a regular expression (RE2 syntax): {matches = {{path, line, text}}}",
           R"({"type":"object","properties":{
                     "pattern":{"type":"string","minLength":1},
                     "path":{"type":"string","default":"."},
                     "glob":{"type":"string","description":"only files whose name matches, e.g. *.lua"},
                     "ignore_case":{"type":"boolean","default":false},
                     "include_hidden":{"type":"boolean","default":false},
                     "max_results":{"type":"integer","minimum":1,"default":100}},
                     "required":["pattern"],"additionalProperties":false})",
           sync(&fileSearch), R"([{"args":{"pattern":"TODO","path":"src","glob":"*.cpp"}}])"));
  v.push_back(make(
      "calculator", "math", "none",
      "Evaluates an arithmetic expression safely: + - * / % ^, parentheses, comparisons, sqrt abs "
      "min max floor ceil round log exp sin cos tan, pi, e",
      R"({"type":"object","properties":{
                     "expression":{"type":"string","minLength":1,"maxLength":10000},
                     "variables":{"type":"object","description":"names usable in the expression, e.g. {x = 2}"}},
                     "required":["expression"],"additionalProperties":false})",
      [](const Value& a, ToolEnv&) {
        return now([&] {
          std::string e = a.getString("expression");
          return Value::object(
              {{"result", evalExpression(e, a.get("variables"))}, {"expression", e}});
        });
      },
      R"J([{"args":{"expression":"2 * (3 + 4)"},"result":{"result":14}}])J"));
  v.push_back(make("datetime", "time", "none",
                   "Dates and times in UTC or a fixed offset: now, format (strftime), parse (ISO "
                   "8601 or input_format), add, diff",
                   R"({"type":"object","properties":{
                     "operation":{"type":"string","enum":["now","format","parse","add","diff"],"default":"now"},
                     "date":{"type":["string","number"],"description":"ISO 8601 text or unix seconds"},
                     "other":{"type":["string","number"],"description":"the second date for diff"},
                     "format":{"type":"string","description":"strftime format for the formatted field"},
                     "input_format":{"type":"string","description":"strptime format to parse date"},
                     "offset":{"type":"string","description":"Z, +02:00 or -0530: the offset results are shown in"},
                     "amount":{"type":"object","properties":{"years":{"type":"number"},"months":{"type":"number"},"weeks":{"type":"number"},"days":{"type":"number"},"hours":{"type":"number"},"minutes":{"type":"number"},"seconds":{"type":"number"}},"additionalProperties":false}},
                     "additionalProperties":false})",
                   sync(&datetime),
                   R"([{"args":{"operation":"add","date":"2024-01-31","amount":{"months":1}}}])"));
  v.push_back(make("json_query", "data", "none",
                   "Queries JSON with a JSONPath subset ($, .key, ['key'], [n], [a:b], [*], .., "
                   "[?(@.x > 1)]): {matches, count, value}",
                   R"({"type":"object","properties":{
                     "data":{"description":"the document: a value, or JSON text"},
                     "query":{"type":"string","minLength":1},
                     "parse":{"type":"boolean","default":true,"description":"parse string data as JSON"}},
                     "required":["data","query"],"additionalProperties":false})",
                   sync(&jsonQueryTool),
                   R"([{"args":{"data":{"items":[{"n":1},{"n":2}]},"query":"$.items[*].n"}}])"));
  v.push_back(make(
      "text_template", "text", "none",
      "Fills {{name}} placeholders (dotted paths, 1-based array indexes) from vars: {text}",
      R"({"type":"object","properties":{
                     "template":{"type":"string"},
                     "vars":{"type":"object"},
                     "missing":{"type":"string","enum":["error","empty","keep"],"default":"error"}},
                     "required":["template"],"additionalProperties":false})",
      [](const Value& a, ToolEnv&) {
        return now([&] {
          return Value::object({{"text", renderTemplate(a.getString("template"), a.get("vars"),
                                                        a.getString("missing", "error"))}});
        });
      },
      R"([{"args":{"template":"Hello {{user.name}}","vars":{"user":{"name":"Ada"}}}}])"));
  v.push_back(make("csv_parse", "data", "none",
                   "Parses CSV (RFC 4180 quoting); with a header row each record becomes an "
                   "object: {rows, columns, count}",
                   R"({"type":"object","properties":{
                     "text":{"type":"string"},
                     "header":{"type":"boolean","default":true},
                     "delimiter":{"type":"string","default":","},
                     "numbers":{"type":"boolean","default":false,"description":"convert numeric fields to numbers"}},
                     "required":["text"],"additionalProperties":false})",
                   sync(&csvTool), R"([{"args":{"text":"name,age\nAda,36\n","numbers":true}}])"));
  v.push_back(make(
      "uuid", "util", "none", "Random (version 4) UUIDs: {uuid} or {uuids} with count",
      R"({"type":"object","properties":{"count":{"type":"integer","minimum":1,"maximum":1000}},"additionalProperties":false})",
      sync(&uuidTool)));
  v.push_back(make(
      "hash", "util", "none",
      "A digest of text: sha256 (default), sha1, md5 or sha512, hex or base64: {hash, algorithm}",
      R"({"type":"object","properties":{
                     "data":{"description":"text; other values are hashed as JSON"},
                     "algorithm":{"type":"string","enum":["sha256","sha1","md5","sha512"],"default":"sha256"},
                     "encoding":{"type":"string","enum":["hex","base64"],"default":"hex"}},
                     "required":["data"],"additionalProperties":false})",
      sync(&hashTool), R"([{"args":{"data":"abc","algorithm":"sha256"}}])"));
  v.push_back(make("shell", "system", "run",
                   "Runs a program without a shell (needs --allow-run): command is an argv array "
                   "or a line split into words; {exit_code, stdout, stderr, duration_ms}",
                   R"({"type":"object","properties":{
                     "command":{"type":["string","array"],"items":{"type":"string"},"minLength":1,"minItems":1},
                     "args":{"type":"array","items":{"type":"string"}},
                     "cwd":{"type":"string"},
                     "stdin":{"type":"string"},
                     "env":{"type":"object"},
                     "timeout":{"type":"number","minimum":0,"default":30},
                     "max_output":{"type":"integer","minimum":0}},
                     "required":["command"],"additionalProperties":false})",
                   async(&shell), R"([{"args":{"command":["echo","hi"]}}])"));
  v.push_back(make(
      "sleep", "util", "none", "Waits for a number of seconds (cancellable): {slept}",
      R"({"type":"object","properties":{"seconds":{"type":"number","minimum":0,"maximum":86400}},
                     "required":["seconds"],"additionalProperties":false})",
      async(&sleepTool)));
  return v;
}

}  // namespace llmspell::tools
