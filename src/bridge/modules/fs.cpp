// `fs` namespace: file access limited to the spell's --allow-read / --allow-write grants.
//
// Every path is checked by Permissions (which resolves `..` and symlinks), and the resolved path
// is then opened one component at a time with O_NOFOLLOW (core/safe_fs), so a symlink swapped in
// after the check cannot redirect the access outside the grant (TOCTOU).
//
// The operations run inline on the loop thread: local file calls are short and bounded (reads are
// capped at kMaxRead), and API.md declares them sync. Spells that move large data should use
// streaming tools instead.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/safe_fs.hpp"

namespace llmspell {

namespace {

namespace stdfs = std::filesystem;
using safefs::Target;

constexpr size_t kMaxRead = 64u << 20;  // 64 MiB

const char* kindOf(mode_t m) {
  if (S_ISREG(m)) return "file";
  if (S_ISDIR(m)) return "dir";
  if (S_ISLNK(m)) return "symlink";
  return "other";
}

const std::string& dataArg(const Value& v) {
  if (v.isBytes()) return v.asBytes().data;
  return v.asString();
}

}  // namespace

void llmspell_register_fs(Registry& r) {
  r.fn("fs", "read")
      .param("path", R"({"type":"string","minLength":1})", "relative to the spell's directory")
      .opt("opts", R"({"type":"object","properties":{"binary":{"type":"boolean"}}})",
           "{binary = true to get bytes instead of text}")
      .permission(Permission::kRead)
      .returns("string (bytes with opts.binary)")
      .doc("Reads a whole file (at most 64 MiB); needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forRead(cx.run.permissions(), a[0].asString());
        std::string data = safefs::readFile("fs.read", t, kMaxRead, "the 64 MiB read limit");
        if (a[1].getBool("binary")) return Value(Bytes{std::move(data)});
        return Value(std::move(data));
      });
  r.fn("fs", "write")
      .param("path", R"({"type":"string","minLength":1})")
      .param("data", R"({"type":["string","bytes"]})")
      .permission(Permission::kWrite)
      .returns("integer: bytes written")
      .doc("Creates or replaces a file; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forWrite(cx.run.permissions(), a[0].asString());
        return Value(static_cast<int64_t>(safefs::writeFile("fs.write", t, dataArg(a[1]), O_TRUNC)));
      });
  r.fn("fs", "append")
      .param("path", R"({"type":"string","minLength":1})")
      .param("data", R"({"type":["string","bytes"]})")
      .permission(Permission::kWrite)
      .returns("integer: bytes written")
      .doc("Appends to a file, creating it when missing; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forWrite(cx.run.permissions(), a[0].asString());
        return Value(
            static_cast<int64_t>(safefs::writeFile("fs.append", t, dataArg(a[1]), O_APPEND)));
      });
  r.fn("fs", "exists")
      .param("path", R"({"type":"string","minLength":1})")
      .permission(Permission::kRead)
      .returns("boolean")
      .doc("Whether a file or directory exists; needs --allow-read for the path")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forRead(cx.run.permissions(), a[0].asString());
        struct stat st;
        return Value(safefs::lstat("fs.exists", t, st));
      });
  r.fn("fs", "stat")
      .param("path", R"({"type":"string","minLength":1})")
      .permission(Permission::kRead)
      .returns(
          "{path, type = \"file\"|\"dir\"|\"other\", size, mtime (seconds since epoch), mode "
          "(octal string)}")
      .doc("Facts about a file; a missing path raises not_found; needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forRead(cx.run.permissions(), a[0].asString());
        struct stat st;
        if (!safefs::lstat("fs.stat", t, st)) safefs::failErrno("fs.stat", t.shown, ENOENT);
        char mode[8];
        snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        double mtime =
            static_cast<double>(st.st_mtim.tv_sec) + static_cast<double>(st.st_mtim.tv_nsec) / 1e9;
        return Value::object({{"type", kindOf(st.st_mode)},
                              {"size", static_cast<int64_t>(st.st_size)},
                              {"mtime", mtime},
                              {"mode", std::string(mode)},
                              {"path", t.abs.string()}});
      });
  r.fn("fs", "list")
      .param("dir", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"details":{"type":"boolean"}}})",
           "{details = true for {name, type, size} records}")
      .permission(Permission::kRead)
      .returns("array of names, sorted (records with opts.details)")
      .doc("Lists a directory; needs --allow-read")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forRead(cx.run.permissions(), a[0].asString());
        safefs::Fd fd = safefs::open("fs.list", t, O_RDONLY | O_DIRECTORY);
        DIR* d = ::fdopendir(fd.get());
        if (!d) safefs::failErrno("fs.list", t.shown, errno);
        fd.release();
        std::vector<std::string> names;
        while (auto* e = ::readdir(d)) {
          std::string n = e->d_name;
          if (n != "." && n != "..") names.push_back(std::move(n));
        }
        std::sort(names.begin(), names.end());
        bool details = a[1].getBool("details");
        std::vector<Value> out;
        for (const auto& n : names) {
          if (!details) {
            out.emplace_back(n);
            continue;
          }
          struct stat st;
          bool ok = ::fstatat(::dirfd(d), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
          out.push_back(
              Value::object({{"name", n},
                             {"type", ok ? kindOf(st.st_mode) : "other"},
                             {"size", ok ? static_cast<int64_t>(st.st_size) : int64_t{0}}}));
        }
        ::closedir(d);
        return Value::array(std::move(out));
      });
  r.fn("fs", "mkdir")
      .param("path", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"parents":{"type":"boolean"}}})",
           "{parents = true to create missing parents (and accept an existing directory)}")
      .permission(Permission::kWrite)
      .returns("nil")
      .doc("Creates a directory; needs --allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        Target t = safefs::forWrite(cx.run.permissions(), a[0].asString());
        safefs::makeDir("fs.mkdir", t, a[1].getBool("parents"));
        return Value();
      });
  r.fn("fs", "remove")
      .param("path", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object","properties":{"recursive":{"type":"boolean"}}})",
           "{recursive = true to remove a directory and everything in it}")
      .permission(Permission::kWrite)
      .returns("nil")
      .doc(
          "Removes a file or an empty directory (any directory with recursive); needs "
          "--allow-write")
      .sync([](CallContext& cx, Args a) -> Value {
        // A symlink is removed itself, never its target: removing a directory entry changes
        // the directory, so the check covers the entry (its parent resolved, itself not).
        Target t = safefs::forEntry(cx.run.permissions(), a[0].asString());
        safefs::remove("fs.remove", t, a[1].getBool("recursive"));
        return Value();
      });
}

}  // namespace llmspell
