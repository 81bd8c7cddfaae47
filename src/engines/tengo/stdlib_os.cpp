// Tengo `os` module, restricted: the library itself reads no file, no environment variable and
// no process fact. Each function that would asks the host's OsHost (tengo.hpp); without a host,
// or where the host does not override a method, the call returns error("permission denied: <op>").
#include <fcntl.h>
#include <unistd.h>

#include <cctype>

#include "engines/tengo/stdlib_util.hpp"

namespace llmspell::tengo {

namespace {
Value denied(const char* op) {
  return detail::errorValue(std::string("permission denied: ") + op);
}
}  // namespace

Value OsHost::getenv(const std::string&) { return denied("getenv"); }
Value OsHost::lookupEnv(const std::string&) { return denied("lookup_env"); }
Value OsHost::setenv(const std::string&, const std::string&) { return denied("setenv"); }
Value OsHost::unsetenv(const std::string&) { return denied("unsetenv"); }
Value OsHost::environment() { return denied("environ"); }
Value OsHost::info(const std::string&) { return denied("info"); }
Value OsHost::execLookPath(const std::string&) { return denied("exec_look_path"); }
Value OsHost::getwd() { return denied("getwd"); }
Value OsHost::chdir(const std::string&) { return denied("chdir"); }
Value OsHost::readFile(const std::string&) { return denied("read_file"); }
Value OsHost::remove(const std::string&, bool all) { return denied(all ? "remove_all" : "remove"); }
Value OsHost::mkdir(const std::string&, int64_t, bool all) {
  return denied(all ? "mkdir_all" : "mkdir");
}
Value OsHost::rename(const std::string&, const std::string&) { return denied("rename"); }
Value OsHost::refused(const std::string& op) { return denied(op.c_str()); }

}  // namespace llmspell::tengo

namespace llmspell::tengo::detail {

namespace {

void fn(Attrs& m, const char* name, NativeFn f) { m[name] = makeNative(name, std::move(f)); }

Value denied(const char* op) { return errorValue(std::string("permission denied: ") + op); }

// (string) -> the host's answer; denied without a host.
void fnS(Attrs& m, const char* name, std::function<Value(OsHost&, const std::string&)> f) {
  fn(m, name, [name, f](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string s;
    Result e = Value();
    if (!argString(a, 0, &s, &e)) return e;
    OsHost* host = vm.osHost();
    if (!host) return denied(name);
    return f(*host, s);
  });
}
// () -> the host's answer.
void fn0(Attrs& m, const char* name, std::function<Value(OsHost&)> f) {
  fn(m, name, [name, f](Vm& vm, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    OsHost* host = vm.osHost();
    if (!host) return denied(name);
    return f(*host);
  });
}

// Go's os.Expand: $NAME or ${NAME}; each name is looked up through the host, so a variable the
// host does not grant is an error value, never its text.
Value expandEnv(OsHost& host, const std::string& s) {
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
    if (name.empty()) continue;
    Value v = host.lookupEnv(name);
    if (v.type() == Type::kError) return v;
    std::string text;
    if (v.type() == Type::kString && toStringValue(v, &text)) out += text;
  }
  return makeString(std::move(out));
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

  fnS(m, "getenv", [](OsHost& h, const std::string& k) { return h.getenv(k); });
  fnS(m, "lookup_env", [](OsHost& h, const std::string& k) { return h.lookupEnv(k); });
  fnS(m, "unsetenv", [](OsHost& h, const std::string& k) { return h.unsetenv(k); });
  fn(m, "setenv", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string k, v;
    Result e = Value();
    if (!argString(a, 0, &k, &e) || !argString(a, 1, &v, &e)) return e;
    OsHost* host = vm.osHost();
    return host ? host->setenv(k, v) : denied("setenv");
  });
  fn0(m, "environ", [](OsHost& h) { return h.environment(); });
  fnS(m, "expand_env", expandEnv);
  for (const char* name :
       {"hostname", "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "temp_dir"})
    fn0(m, name, [name](OsHost& h) { return h.info(name); });
  // The page size is a fact of the architecture, not of the host: no grant.
  fn(m, "getpagesize", [](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return Value::integer(getpagesize());
  });
  // A spell's arguments are not the process's: always empty.
  fn(m, "args", [](Vm&, Args a) -> Result {
    if (!a.empty()) return Result::wrongArgs();
    return makeArray({});
  });
  fn0(m, "getwd", [](OsHost& h) { return h.getwd(); });
  fnS(m, "chdir", [](OsHost& h, const std::string& p) { return h.chdir(p); });
  fn(m, "read_file", [](Vm& vm, Args a) -> Result {
    if (a.size() != 1) return Result::wrongArgs();
    std::string p;
    Result e = Value();
    if (!argString(a, 0, &p, &e)) return e;
    OsHost* host = vm.osHost();
    if (!host) return denied("read_file");
    Value v = host->readFile(p);
    if (v.type() == Type::kBytes && !vm.checkBytesLen(v.as<BytesObj>()->b.size()))
      return Result::limit("exceeding bytes size limit");
    return v;
  });
  fnS(m, "remove", [](OsHost& h, const std::string& p) { return h.remove(p, false); });
  fnS(m, "remove_all", [](OsHost& h, const std::string& p) { return h.remove(p, true); });
  fnS(m, "exec_look_path", [](OsHost& h, const std::string& f) { return h.execLookPath(f); });
  auto mkdirFn = [&](const char* name, bool all) {
    fn(m, name, [name, all](Vm& vm, Args a) -> Result {
      if (a.size() != 2) return Result::wrongArgs();
      std::string p;
      int64_t mode;
      Result e = Value();
      if (!argString(a, 0, &p, &e) || !argInt(a, 1, &mode, &e)) return e;
      OsHost* host = vm.osHost();
      return host ? host->mkdir(p, mode, all) : denied(name);
    });
  };
  mkdirFn("mkdir", false);
  mkdirFn("mkdir_all", true);
  fn(m, "rename", [](Vm& vm, Args a) -> Result {
    if (a.size() != 2) return Result::wrongArgs();
    std::string x, y;
    Result e = Value();
    if (!argString(a, 0, &x, &e) || !argString(a, 1, &y, &e)) return e;
    OsHost* host = vm.osHost();
    return host ? host->rename(x, y) : denied("rename");
  });
  // Ending the process is never a spell's to do; functions that hand out file or process
  // handles are not offered in the restricted module.
  for (const char* name : {"chmod", "chown", "clearenv", "create", "exec", "exit", "find_process",
                           "getgroups", "lchown", "link", "open", "open_file", "readlink",
                           "start_process", "stat", "symlink", "truncate"}) {
    fn(m, name, [name](Vm& vm, Args) -> Result {
      OsHost* host = vm.osHost();
      return host ? host->refused(name) : denied(name);
    });
  }
}

}  // namespace llmspell::tengo::detail
