// Tengo `os` module, restricted: every side effect asks the host's OsPermission callback first
// (no callback = deny). A denied call returns error("permission denied: <op>").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engines/tengo/stdlib_util.hpp"

extern char** environ;

namespace llmspell::tengo::detail {

namespace {

void fn(Attrs& m, const char* name, NativeFn f) { m[name] = makeNative(name, std::move(f)); }

bool allowed(Vm& vm, const char* op, const std::string& arg) {
  const OsPermission& p = vm.osPermission();
  return p && p(op, arg);
}
Value denied(const char* op) { return errorValue(std::string("permission denied: ") + op); }
Value errnoValue() { return errorValue(std::strerror(errno)); }

// (string) -> result, permission-checked on the string argument.
void fnS(Attrs& m, const char* name, std::function<Result(Vm&, const std::string&)> f) {
  fn(m, name, [name, f](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    if (!allowed(vm, name, s)) return denied(name);
    return f(vm, s);
  });
}
void fn0(Attrs& m, const char* name, std::function<Result(Vm&)> f) {
  fn(m, name, [name, f](Vm& vm, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    if (!allowed(vm, name, "")) return denied(name);
    return f(vm);
  });
}

}  // namespace

void addOsModule(Attrs& m) {
  m["platform"] = makeString("linux");
#if defined(__x86_64__)
  m["arch"] = makeString("amd64");
#elif defined(__aarch64__)
  m["arch"] = makeString("arm64");
#else
  m["arch"] = makeString("unknown");
#endif
  m["path_separator"] = Value::character('/');
  m["path_list_separator"] = Value::character(':');
  m["dev_null"] = makeString("/dev/null");
  m["o_rdonly"] = Value::integer(O_RDONLY);
  m["o_wronly"] = Value::integer(O_WRONLY);
  m["o_rdwr"] = Value::integer(O_RDWR);
  m["o_append"] = Value::integer(O_APPEND);
  m["o_create"] = Value::integer(O_CREAT);
  m["o_excl"] = Value::integer(O_EXCL);
  m["o_sync"] = Value::integer(O_SYNC);
  m["o_trunc"] = Value::integer(O_TRUNC);
  m["mode_dir"] = Value::integer(int64_t(1) << 31);
  m["mode_append"] = Value::integer(int64_t(1) << 30);
  m["mode_exclusive"] = Value::integer(int64_t(1) << 29);
  m["mode_temporary"] = Value::integer(int64_t(1) << 28);
  m["mode_symlink"] = Value::integer(int64_t(1) << 27);
  m["mode_device"] = Value::integer(int64_t(1) << 26);
  m["mode_named_pipe"] = Value::integer(int64_t(1) << 25);
  m["mode_socket"] = Value::integer(int64_t(1) << 24);
  m["mode_setuid"] = Value::integer(int64_t(1) << 23);
  m["mode_setgui"] = Value::integer(int64_t(1) << 22);
  m["mode_char_device"] = Value::integer(int64_t(1) << 21);
  m["mode_sticky"] = Value::integer(int64_t(1) << 20);
  m["mode_irregular"] = Value::integer(int64_t(1) << 19);
  m["mode_type"] = Value::integer(0x8F280000LL);
  m["mode_perm"] = Value::integer(0777);
  m["seek_set"] = Value::integer(0);
  m["seek_cur"] = Value::integer(1);
  m["seek_end"] = Value::integer(2);

  fnS(m, "getenv", [](Vm&, const std::string& k) -> Result {
    const char* v = std::getenv(k.c_str());
    return makeString(v ? v : "");
  });
  fnS(m, "lookup_env", [](Vm&, const std::string& k) -> Result {
    const char* v = std::getenv(k.c_str());
    if (!v) return Value::boolean(false);
    return makeString(v);
  });
  fnS(m, "unsetenv", [](Vm&, const std::string& k) -> Result {
    if (::unsetenv(k.c_str()) != 0) return errnoValue();
    return Value::boolean(true);
  });
  fn(m, "setenv", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string k, v;
    Result e = Value();
    if (!argString(a, 0, &k, &e) || !argString(a, 1, &v, &e)) return e;
    if (!allowed(vm, "setenv", k)) return denied("setenv");
    if (::setenv(k.c_str(), v.c_str(), 1) != 0) return errnoValue();
    return Value::boolean(true);
  });
  fn0(m, "environ", [](Vm&) -> Result {
    std::vector<Value> items;
    for (char** e = environ; e && *e; ++e) items.push_back(makeString(*e));
    return makeArray(std::move(items));
  });
  fn0(m, "hostname", [](Vm&) -> Result {
    char buf[256];
    if (gethostname(buf, sizeof buf) != 0) return errnoValue();
    buf[sizeof buf - 1] = 0;
    return makeString(buf);
  });
  fn0(m, "getpid", [](Vm&) -> Result { return Value::integer(getpid()); });
  fn0(m, "getppid", [](Vm&) -> Result { return Value::integer(getppid()); });
  fn0(m, "getuid", [](Vm&) -> Result { return Value::integer(getuid()); });
  fn0(m, "geteuid", [](Vm&) -> Result { return Value::integer(geteuid()); });
  fn0(m, "getgid", [](Vm&) -> Result { return Value::integer(getgid()); });
  fn0(m, "getegid", [](Vm&) -> Result { return Value::integer(getegid()); });
  fn0(m, "getpagesize", [](Vm&) -> Result { return Value::integer(getpagesize()); });
  fn0(m, "getwd", [](Vm&) -> Result {
    std::error_code ec;
    auto p = std::filesystem::current_path(ec);
    if (ec) return errorValue(ec.message());
    return makeString(p.string());
  });
  fn0(m, "temp_dir", [](Vm&) -> Result {
    const char* t = std::getenv("TMPDIR");
    return makeString(t && *t ? t : "/tmp");
  });
  fn0(m, "args", [](Vm&) -> Result { return makeArray({}); });
  fnS(m, "chdir", [](Vm&, const std::string& p) -> Result {
    if (::chdir(p.c_str()) != 0) return errnoValue();
    return Value::boolean(true);
  });
  fnS(m, "read_file", [](Vm& vm, const std::string& p) -> Result {
    std::ifstream f(p, std::ios::binary);
    if (!f) return errorValue("open " + p + ": " + std::strerror(errno));
    std::ostringstream ss;
    ss << f.rdbuf();
    std::string data = ss.str();
    if (!vm.checkBytesLen(data.size())) return Result::limit("exceeding bytes size limit");
    return makeBytes(std::move(data));
  });
  fnS(m, "remove", [](Vm&, const std::string& p) -> Result {
    if (::remove(p.c_str()) != 0) return errnoValue();
    return Value::boolean(true);
  });
  fnS(m, "remove_all", [](Vm&, const std::string& p) -> Result {
    std::error_code ec;
    std::filesystem::remove_all(p, ec);
    if (ec) return errorValue(ec.message());
    return Value::boolean(true);
  });
  fnS(m, "exec_look_path", [](Vm&, const std::string& file) -> Result {
    const char* path = std::getenv("PATH");
    std::stringstream ss(path ? path : "");
    std::string dir;
    while (std::getline(ss, dir, ':')) {
      std::string c = (dir.empty() ? "." : dir) + "/" + file;
      if (::access(c.c_str(), X_OK) == 0) return makeString(c);
    }
    return errorValue("exec: \"" + file + "\": executable file not found in $PATH");
  });
  fnS(m, "expand_env", [](Vm&, const std::string& s) -> Result {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] != '$' || i + 1 >= s.size()) {
        out += s[i];
        continue;
      }
      std::string name;
      size_t j = i + 1;
      if (s[j] == '{') {
        size_t c = s.find('}', j);
        if (c == std::string::npos) {
          out += s[i];
          continue;
        }
        name = s.substr(j + 1, c - j - 1);
        i = c;
      } else {
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
        name = s.substr(i + 1, j - i - 1);
        i = j - 1;
      }
      const char* v = std::getenv(name.c_str());
      if (v) out += v;
    }
    return makeString(std::move(out));
  });
  auto mkdirFn = [&](const char* name, bool all) {
    fn(m, name, [name, all](Vm& vm, Args a) -> Result {
      if (a.size() != 2) return Result::wrongArgs();
      std::string p;
      int64_t mode;
      Result e = Value();
      if (!argString(a, 0, &p, &e) || !argInt(a, 1, &mode, &e)) return e;
      if (!allowed(vm, name, p)) return denied(name);
      if (all) {
        std::error_code ec;
        std::filesystem::create_directories(p, ec);
        if (ec) return errorValue(ec.message());
      } else if (::mkdir(p.c_str(), static_cast<mode_t>(mode)) != 0) {
        return errnoValue();
      }
      return Value::boolean(true);
    });
  };
  mkdirFn("mkdir", false);
  mkdirFn("mkdir_all", true);
  fn(m, "rename", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string x, y;
    Result e = Value();
    if (!argString(a, 0, &x, &e) || !argString(a, 1, &y, &e)) return e;
    if (!allowed(vm, "rename", x) || !allowed(vm, "rename", y)) return denied("rename");
    if (::rename(x.c_str(), y.c_str()) != 0) return errnoValue();
    return Value::boolean(true);
  });
  fn(m, "exit", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    int64_t code;
    Result e = Value();
    if (!argInt(a, 0, &code, &e)) return e;
    if (!allowed(vm, "exit", std::to_string(code))) return denied("exit");
    std::exit(static_cast<int>(code));
  });
  // Functions that need process/file handles are not offered in the restricted module.
  for (const char* name : {"chmod", "chown", "clearenv", "create", "exec", "find_process",
                           "getgroups", "lchown", "link", "open", "open_file", "readlink",
                           "start_process", "stat", "symlink", "truncate"}) {
    fn(m, name, [name](Vm&, Args) -> Result { return denied(name); });
  }
}

}  // namespace llmspell::tengo::detail
