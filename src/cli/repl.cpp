// `llmspell repl`'s side of a session: reading chunks, the REPL's own commands, and which engine
// runs next. The session itself (one context, expressions printed, errors reported without
// ending it) is the spell layer's runner in REPL mode.
//
// On a terminal, lines are read with libedit (Debian's libedit2, BSD-licensed): editing, history
// kept in <data dir>/history, and Tab completion from the registry. libedit is loaded when such a
// session starts, like the other libraries of lazy_library.hpp, so that every other command
// starts without it and its dependencies (libtinfo, libbsd, libmd). Its variadic functions
// (el_set, history) cannot be forwarded by a shim, so the few functions used are looked up here.
// Piped input is read plainly, line by line, as before.
#include <fcntl.h>
#include <histedit.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <locale.h>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/repl_complete.hpp"
#include "llmspell/core/lazy_library.hpp"
#include "llmspell/spell/spell.hpp"

namespace llmspell::cli {

namespace {

constexpr int kHistoryEntries = 1000;

const char* const kCommands =
    ":help NAME     the reference of a function, namespace or type (llm.chat, agent, agent:run)\n"
    ":engine E      switch to lua, js or tengo: a new session (globals do not carry over)\n"
    ":quit          end the session (Ctrl-D does too)\n";

const char* const kKeys =
    "On a terminal: Tab completes names (namespaces, functions, methods of known objects, option\n"
    "fields inside {...}); Up/Down walk the history (kept in %s); Ctrl-R searches it; Ctrl-C\n"
    "drops the line being typed; Emacs keys edit the line (~/.editrc can change them).\n"
    "A line that is an expression prints its value; an unfinished chunk continues at '>> '.\n";

// libedit's functions, from the library loaded on first use.
struct Edit {
  EditLine* (*init)(const char*, FILE*, FILE*, FILE*);
  void (*end)(EditLine*);
  int (*set)(EditLine*, int, ...);
  int (*get)(EditLine*, int, ...);
  const char* (*gets)(EditLine*, int*);
  int (*source)(EditLine*, const char*);
  const LineInfo* (*line)(EditLine*);
  int (*insertstr)(EditLine*, const char*);
  History* (*historyInit)();
  void (*historyEnd)(History*);
  int (*history)(History*, HistEvent*, int, ...);
  int (*wset)(EditLine*, int, ...);

  static const Edit& lib() {
    static const Edit e = [] {
      void* lib = lazy::library("libedit.so.2", "libedit2");
      auto fn = [lib](const char* name) { return lazy::symbol(lib, "libedit.so.2", name); };
      Edit x;
      x.init = reinterpret_cast<decltype(x.init)>(fn("el_init"));
      x.end = reinterpret_cast<decltype(x.end)>(fn("el_end"));
      x.set = reinterpret_cast<decltype(x.set)>(fn("el_set"));
      x.get = reinterpret_cast<decltype(x.get)>(fn("el_get"));
      x.gets = reinterpret_cast<decltype(x.gets)>(fn("el_gets"));
      x.source = reinterpret_cast<decltype(x.source)>(fn("el_source"));
      x.line = reinterpret_cast<decltype(x.line)>(fn("el_line"));
      x.insertstr = reinterpret_cast<decltype(x.insertstr)>(fn("el_insertstr"));
      x.historyInit = reinterpret_cast<decltype(x.historyInit)>(fn("history_init"));
      x.historyEnd = reinterpret_cast<decltype(x.historyEnd)>(fn("history_end"));
      x.history = reinterpret_cast<decltype(x.history)>(fn("history"));
      x.wset = reinterpret_cast<decltype(x.wset)>(fn("el_wset"));
      return x;
    }();
    return e;
  }
};

// Ctrl-C while a line is being typed drops the line (the handler is installed only then: while
// a chunk runs, Ctrl-C still stops the process).
volatile std::sig_atomic_t gInterrupted = 0;
void onInterrupt(int) { gInterrupted = 1; }

// The person's character set while libedit reads (so it edits UTF-8 text by character), for
// this thread only: the engines and the host's threads keep the "C" locale they run under.
struct UserLocale {
  static locale_t user() {
    static locale_t l = [] {
      locale_t x = ::newlocale(LC_CTYPE_MASK, "", static_cast<locale_t>(nullptr));
      return x ? x : LC_GLOBAL_LOCALE;
    }();
    return l;
  }
  locale_t saved = ::uselocale(user());
  ~UserLocale() { ::uselocale(saved); }
};

std::string engineOf(const RunOptions& opts) { return opts.engine.empty() ? "lua" : opts.engine; }

}  // namespace

struct Repl::Impl {
  const Registry& reg = Registry::global();
  std::string engine;
  std::string historyPath;
  ReplNames names;
  bool continuation = false;
  std::optional<std::string> switchTo;  // set by :engine
  std::string previousEngine;           // to go back to when the new one cannot start
  bool justSwitched = false;
  // libedit, on a terminal
  EditLine* el = nullptr;
  History* hist = nullptr;

  ~Impl() {
    if (hist) Edit::lib().historyEnd(hist);
    if (el) Edit::lib().end(el);
  }

  static Impl* of(EditLine* el) {
    void* p = nullptr;
    Edit::lib().get(el, EL_CLIENTDATA, &p);
    return static_cast<Impl*>(p);
  }

  static char* prompt(EditLine* el) {
    static char first[] = "> ", more[] = ">> ";
    return of(el)->continuation ? more : first;
  }

  // Tab: inserts what all completions share; when that is nothing, lists them.
  static unsigned char completeKey(EditLine* el, int) {
    Impl* self = of(el);
    const LineInfo* li = Edit::lib().line(el);
    std::string text(li->buffer, li->cursor);
    Completion c = complete(self->reg, self->engine, text, self->names);
    if (c.candidates.empty()) return CC_REFRESH_BEEP;
    std::string typed = text.substr(c.start);
    std::string common = commonPrefix(c.candidates);
    if (common.size() > typed.size()) {
      Edit::lib().insertstr(el, common.substr(typed.size()).c_str());
      return CC_REFRESH;
    }
    if (c.candidates.size() == 1) return CC_NORM;
    std::string list = "\n";
    size_t width = 0;
    for (const auto& s : c.candidates) width = std::max(width, s.size());
    size_t perLine = std::max<size_t>(1, 80 / (width + 2)), n = 0;
    for (const auto& s : c.candidates) {
      list += s + std::string(width + 2 - s.size(), ' ');
      if (++n % perLine == 0) list += "\n";
    }
    if (n % perLine != 0) list += "\n";
    std::fputs(list.c_str(), stdout);
    std::fflush(stdout);
    return CC_REDISPLAY;
  }

  void openEditor() {
    const Edit& e = Edit::lib();
    UserLocale locale;
    el = e.init("llmspell", stdin, stdout, stderr);
    if (!el) return;
    hist = e.historyInit();
    HistEvent ev;
    e.history(hist, &ev, H_SETSIZE, kHistoryEntries);
    e.history(hist, &ev, H_SETUNIQUE, 1);  // a line repeated is kept once
    if (!historyPath.empty()) e.history(hist, &ev, H_LOAD, historyPath.c_str());
    e.set(el, EL_CLIENTDATA, static_cast<void*>(this));
    e.set(el, EL_EDITOR, "emacs");
    e.set(el, EL_SIGNAL, 1);  // the terminal is restored when a signal ends the process
    e.set(el, EL_PROMPT, &Impl::prompt);
    e.set(el, EL_HIST, e.history, hist);
    // The wide call: el_set's EL_ADDFN converts the name and help to wide strings with wcsdup
    // and el_end never frees them (a libedit leak, found by LeakSanitizer).
    e.wset(el, EL_ADDFN, L"llmspell-complete", L"Complete a name from the llmspell registry", &Impl::completeKey);
    e.set(el, EL_BIND, "^I", "llmspell-complete", nullptr);
    e.set(el, EL_BIND, "^R", "em-inc-search-prev", nullptr);
    e.source(el, nullptr);  // the person's ~/.editrc
  }

  void remember(const std::string& line) {
    if (line.find_first_not_of(" \t") == std::string::npos) return;
    const Edit& e = Edit::lib();
    HistEvent ev;
    e.history(hist, &ev, H_ENTER, line.c_str());
    if (historyPath.empty()) return;
    // Saved after every line, so a session that ends abruptly keeps it; readable by its owner
    // only (a line may hold a key).
    int fd = ::open(historyPath.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    if (FILE* f = ::fdopen(fd, "w")) {
      e.history(hist, &ev, H_SAVE_FP, f);
      std::fclose(f);
    } else {
      ::close(fd);
    }
  }

  std::optional<std::string> readLine() {
    if (!el) {
      if (isatty(STDIN_FILENO)) {
        std::fputs(continuation ? ">> " : "> ", stdout);
        std::fflush(stdout);
      }
      std::string line;
      if (!std::getline(std::cin, line)) {
        if (isatty(STDIN_FILENO)) std::fputc('\n', stdout);
        return std::nullopt;
      }
      return line;
    }
    struct sigaction sa {}, old {};
    sa.sa_handler = onInterrupt;
    sigemptyset(&sa.sa_mask);
    for (;;) {
      gInterrupted = 0;
      ::sigaction(SIGINT, &sa, &old);
      int count = 0;
      const char* got;
      {
        UserLocale locale;
        got = Edit::lib().gets(el, &count);
      }
      int err = errno;
      ::sigaction(SIGINT, &old, nullptr);
      if (!got && gInterrupted) {
        // The line is dropped (the lines before it in an unfinished chunk stay).
        std::fputc('\n', stdout);
        continue;
      }
      if (!got || count <= 0) {
        if (err == EINTR) continue;
        std::fputc('\n', stdout);
        return std::nullopt;
      }
      std::string line(got, static_cast<size_t>(count));
      if (!line.empty() && line.back() == '\n') line.pop_back();
      remember(line);
      return line;
    }
  }

  // A line that is a REPL command: runs it. True when the session should read on.
  bool command(const std::string& line, bool& end) {
    size_t lead = line.find_first_not_of(" \t");
    std::string cmd = line.substr(lead);
    std::string arg;
    if (size_t sp = cmd.find_first_of(" \t"); sp != std::string::npos) {
      size_t a = cmd.find_first_not_of(" \t", sp);
      arg = a == std::string::npos ? "" : cmd.substr(a);
      while (!arg.empty() && (arg.back() == ' ' || arg.back() == '\t')) arg.pop_back();
      cmd.resize(sp);
    }
    if (cmd == ":quit" || cmd == ":q" || cmd == ":exit") {
      end = true;
    } else if (cmd == ":help" || cmd == ":h") {
      if (arg.empty()) {
        std::fputs(kCommands, stdout);
        std::printf(kKeys, historyPath.empty() ? "memory only: the data directory is missing" : historyPath.c_str());
      } else {
        std::string text = helpText(reg, engine, arg);
        std::fwrite(text.data(), 1, text.size(), stdout);
      }
    } else if (cmd == ":engine") {
      if (arg != "lua" && arg != "js" && arg != "tengo") {
        std::printf("error[invalid_argument]: :engine takes lua, js or tengo%s\n",
                    arg.empty() ? "" : (", not '" + arg + "'").c_str());
      } else {
        switchTo = arg;
        end = true;
      }
    } else {
      std::printf("error[invalid_argument]: unknown command %s; :help lists the commands\n", cmd.c_str());
    }
    std::fflush(stdout);
    return !end;
  }
};

Repl::Repl(const RunOptions& opts) : impl_(std::make_unique<Impl>()) {
  impl_->engine = engineOf(opts);
  // History lives in the data directory (created owner-only: a line may hold a key).
  std::string dir = opts.dataDir.empty() ? defaultDataDir() : opts.dataDir;
  impl_->historyPath = dir + "/history";
  if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO)) {
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec) && std::filesystem::create_directories(dir, ec))
      ::chmod(dir.c_str(), 0700);
    if (!std::filesystem::is_directory(dir, ec)) impl_->historyPath.clear();
    impl_->openEditor();
  }
  if (isatty(STDIN_FILENO))
    std::fprintf(stderr, "llmspell repl (%s): expressions print their value; :help lists the commands; Ctrl-D ends the session\n",
                 impl_->engine.c_str());
}

Repl::~Repl() = default;

std::optional<std::string> Repl::read(bool continuation) {
  Impl& s = *impl_;
  s.justSwitched = false;
  s.continuation = continuation;
  for (;;) {
    auto line = s.readLine();
    if (!line) return line;
    if (!continuation && line->find_first_not_of(" \t") != std::string::npos && (*line)[line->find_first_not_of(" \t")] == ':') {
      bool end = false;
      if (s.command(*line, end)) continue;
      return std::nullopt;
    }
    s.names.learn(s.reg, s.engine, *line);
    return line;
  }
}

bool Repl::next(RunOptions& opts, const RunResult& r) {
  Impl& s = *impl_;
  if (s.justSwitched && r.error) {
    // The new engine could not start: say why, and go on with the one before.
    std::printf("error[%s]: %s\n", r.error->code.c_str(), r.error->message.c_str());
    s.switchTo = s.previousEngine;
  }
  if (!s.switchTo) return false;
  s.previousEngine = s.engine;
  s.engine = *s.switchTo;
  s.switchTo.reset();
  s.names = ReplNames{};
  s.justSwitched = true;
  opts.engine = s.engine;
  std::printf("engine: %s (a new session: globals and definitions of the one before do not carry over)\n", s.engine.c_str());
  std::fflush(stdout);
  return true;
}

}  // namespace llmspell::cli
