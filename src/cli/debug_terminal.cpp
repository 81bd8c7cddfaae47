// `llmspell debug SPELL`: a line-oriented debugger in the manner of gdb. Commands come from stdin
// (a terminal or a pipe, so it can be scripted and tested); what it says goes to stderr, leaving
// the spell's stdout its own.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli/debug.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::cli {

namespace {

const char* const kHelp =
    "commands:\n"
    "  break FILE:LINE [if COND]   (or break LINE) stop there; b for short\n"
    "  delete [N]                  remove breakpoint N (all without N)\n"
    "  catch on|off                stop on an uncaught error (on by default)\n"
    "  watch EXPR / unwatch N      show EXPR at every stop\n"
    "  run, continue (c)           run until the next stop\n"
    "  step (s), next (n), finish  step into, over, out of\n"
    "  backtrace (bt)              the frames of every task\n"
    "  thread N, frame N           select a task, a frame\n"
    "  locals, upvalues, globals   variables of the selected frame\n"
    "  print EXPR (p)              evaluate in the selected frame\n"
    "  list (l)                    source around the selected line\n"
    "  threads                     the spell's tasks\n"
    "  quit (q)                    end the spell\n";

void say(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stderr);
  if (s.empty() || s.back() != '\n') std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::string trim(std::string s) {
  size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r");
  return s.substr(a, b - a + 1);
}

class TerminalDebugger final : public DebugSession {
 public:
  explicit TerminalDebugger(std::string spellPath) : spellPath_(std::move(spellPath)) {
    std::filesystem::path p(spellPath_);
    mainFile_ = p.filename().string();
    spellDir_ = std::filesystem::absolute(p).parent_path().string();
  }

  // Setup commands until `run`; false on `quit`.
  bool setup() {
    say("llmspell debugger: " + spellPath_ + " (type help; run to start)");
    for (;;) {
      auto line = readLine();
      if (!line) return true;  // end of input: run it
      std::string cmd = word(*line);
      if (cmd == "run" || cmd == "r" || cmd == "continue" || cmd == "c") return true;
      if (cmd == "quit" || cmd == "q") return false;
      if (!common(*line, nullptr)) say("the spell is not running yet: " + cmd + " needs a stop (type run)");
    }
  }

  DebugResume stopped(const DebugStop& stop, DebugTarget& target) override {
    thread_ = stop.threadId;
    frame_ = 0;
    auto frames = target.frames(thread_);
    // An error raised by a built-in (error, assert) stops in it: the spell's line is one frame down.
    while (frame_ + 1 < static_cast<int>(frames.size()) && frames[frame_].source.empty()) ++frame_;
    std::string where = frames.empty() ? "" : " at " + location(frames[frame_]);
    switch (stop.reason) {
      case DebugStopReason::kBreakpoint:
        say("stopped at breakpoint " + std::to_string(stop.breakpointId) + where);
        if (!stop.text.empty()) say(stop.text);
        break;
      case DebugStopReason::kException: say("stopped on error: " + stop.text + where); break;
      default: say(std::string("stopped (") + debugStopReasonName(stop.reason) + ")" + where);
    }
    if (!frames.empty()) showLine(frames[frame_]);
    for (size_t i = 0; i < watches_.size(); ++i) say("watch " + std::to_string(i + 1) + ": " + show(target, watches_[i]));
    for (;;) {
      auto line = readLine();
      if (!line) {
        // Nobody is left to answer: let the spell finish on its own.
        setBreakpointsAll({});
        breakOnError.store(false);
        return DebugResume::kContinue;
      }
      std::string cmd = word(*line);
      if (cmd == "continue" || cmd == "c" || cmd == "run" || cmd == "r") return DebugResume::kContinue;
      if (cmd == "step" || cmd == "s") return DebugResume::kStepIn;
      if (cmd == "next" || cmd == "n") return DebugResume::kStepOver;
      if (cmd == "finish" || cmd == "fin" || cmd == "f") return DebugResume::kStepOut;
      if (cmd == "quit" || cmd == "q") return DebugResume::kTerminate;
      if (!common(*line, &target)) say("unknown command: " + cmd + " (type help)");
    }
  }

 private:
  struct Bp {
    int id;
    std::string file;
    int line;
    std::string cond;
  };

  std::optional<std::string> readLine() {
    for (;;) {
      if (isatty(0)) std::fputs("(llmspell) ", stderr);
      std::string line;
      if (!std::getline(std::cin, line)) return std::nullopt;
      line = trim(line);
      if (!line.empty() && line[0] != '#') return line;
    }
  }

  static std::string word(const std::string& line) { return line.substr(0, line.find(' ')); }
  static std::string rest(const std::string& line) {
    auto sp = line.find(' ');
    return sp == std::string::npos ? "" : trim(line.substr(sp + 1));
  }

  static std::string location(const DebugFrame& f) {
    if (f.source.empty()) return f.name;
    return f.source + ":" + std::to_string(f.line) + " (" + f.name + ")";
  }

  // The source text of a frame's line, when the file can be read.
  void showLine(const DebugFrame& f, int around = 0) {
    if (f.source.empty() || f.line <= 0) return;
    std::filesystem::path p(f.source);
    if (p.is_relative()) p = std::filesystem::path(spellDir_) / p;
    std::ifstream in(p);
    std::string text;
    for (int n = 1; std::getline(in, text); ++n) {
      if (n < f.line - around) continue;
      if (n > f.line + around) break;
      char num[16];
      std::snprintf(num, sizeof num, "%c%4d  ", n == f.line ? '>' : ' ', n);
      say(num + text);
    }
  }

  // A value for print and watch: tables one level deep.
  std::string show(DebugTarget& target, const std::string& expr) {
    try {
      auto frames = target.frames(thread_);
      int id = frame_ < static_cast<int>(frames.size()) ? frames[frame_].id : 0;
      DebugVariable v = target.evaluate(expr, id);
      return expr + " = " + expand(target, v);
    } catch (const Exception& e) {
      return expr + ": error: " + e.error().message;
    }
  }

  std::string expand(DebugTarget& target, const DebugVariable& v) {
    if (v.ref == 0) return v.value;
    std::string out = "{";
    auto fields = target.variables(v.ref);
    for (size_t i = 0; i < fields.size() && i < 20; ++i) out += (i ? ", " : "") + fields[i].name + " = " + fields[i].value;
    if (fields.size() > 20) out += ", ...";
    return out + "}";
  }

  void listVariables(DebugTarget& target, const std::string& scope) {
    auto frames = target.frames(thread_);
    if (frame_ >= static_cast<int>(frames.size())) return say("no frame selected");
    for (const auto& s : target.scopes(frames[frame_].id)) {
      if (s.name != scope) continue;
      auto vars = target.variables(s.ref);
      if (vars.empty()) say("(none)");
      for (const auto& v : vars) say(v.name + " = " + v.value);
    }
  }

  void setBreakpointsAll(std::vector<Bp> bps) {
    // Per file, as the session keeps them.
    std::vector<std::string> files;
    for (const auto& b : bps_) files.push_back(b.file);
    for (const auto& b : bps) files.push_back(b.file);
    bps_ = std::move(bps);
    for (const auto& f : files) {
      std::vector<DebugBreakpoint> list;
      for (const auto& b : bps_)
        if (b.file == f) list.push_back({0, b.line, b.cond, "", 0});
      auto set = setBreakpoints(f, list);
      for (auto& b : bps_)
        if (b.file == f)
          for (const auto& s : set)
            if (s.line == b.line) b.id = s.id;
    }
  }

  // Commands that work both before the run and at a stop (`target` null before).
  bool common(const std::string& line, DebugTarget* target) {
    std::string cmd = word(line), arg = rest(line);
    if (cmd == "help" || cmd == "h") {
      say(kHelp);
    } else if (cmd == "break" || cmd == "b") {
      std::string spec = arg, cond;
      if (auto p = arg.find(" if "); p != std::string::npos) {
        spec = trim(arg.substr(0, p));
        cond = trim(arg.substr(p + 4));
      }
      std::string file = mainFile_;
      std::string num = spec;
      if (auto c = spec.rfind(':'); c != std::string::npos) {
        file = spec.substr(0, c);
        num = spec.substr(c + 1);
      }
      if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos || file.empty()) {
        say("usage: break FILE:LINE [if COND] or break LINE");
        return true;
      }
      auto bps = bps_;
      bps.erase(std::remove_if(bps.begin(), bps.end(), [&](const Bp& b) { return b.file == file && b.line == std::stoi(num); }), bps.end());
      bps.push_back({0, file, std::stoi(num), cond});
      setBreakpointsAll(bps);
      say("breakpoint " + std::to_string(bps_.back().id) + " at " + file + ":" + num + (cond.empty() ? "" : " if " + cond));
    } else if (cmd == "delete" || cmd == "d") {
      auto bps = bps_;
      if (arg.empty()) bps.clear();
      else bps.erase(std::remove_if(bps.begin(), bps.end(), [&](const Bp& b) { return std::to_string(b.id) == arg; }), bps.end());
      setBreakpointsAll(bps);
    } else if (cmd == "catch") {
      breakOnError.store(arg != "off");
      say(std::string("stop on uncaught errors: ") + (arg != "off" ? "on" : "off"));
    } else if (cmd == "watch") {
      watches_.push_back(arg);
      say("watch " + std::to_string(watches_.size()) + ": " + arg);
    } else if (cmd == "unwatch") {
      size_t n = std::strtoul(arg.c_str(), nullptr, 10);
      if (n >= 1 && n <= watches_.size()) watches_.erase(watches_.begin() + static_cast<long>(n - 1));
    } else if (!target) {
      return cmd == "help";
    } else if (cmd == "backtrace" || cmd == "bt" || cmd == "where") {
      for (const auto& t : target->threads()) {
        say(std::string(t.id == thread_ ? "* " : "  ") + "thread " + std::to_string(t.id) + " " + t.name);
        auto frames = target->frames(t.id);
        for (size_t i = 0; i < frames.size(); ++i)
          say(std::string(t.id == thread_ && static_cast<int>(i) == frame_ ? "  > " : "    ") + "#" + std::to_string(i) + " " + location(frames[i]));
      }
    } else if (cmd == "threads") {
      for (const auto& t : target->threads())
        say(std::string(t.id == thread_ ? "* " : "  ") + "thread " + std::to_string(t.id) + " " + t.name);
    } else if (cmd == "thread") {
      int id = std::atoi(arg.c_str());
      if (target->frames(id).empty()) return say("no thread " + arg), true;
      thread_ = id;
      frame_ = 0;
      say("thread " + arg + " at " + location(target->frames(id)[0]));
    } else if (cmd == "frame") {
      auto frames = target->frames(thread_);
      int n = std::atoi(arg.c_str());
      if (n < 0 || n >= static_cast<int>(frames.size())) return say("no frame " + arg), true;
      frame_ = n;
      say("#" + std::to_string(n) + " " + location(frames[n]));
      showLine(frames[n]);
    } else if (cmd == "locals") {
      listVariables(*target, "Locals");
    } else if (cmd == "upvalues") {
      listVariables(*target, "Upvalues");
    } else if (cmd == "globals") {
      listVariables(*target, "Globals");
    } else if (cmd == "print" || cmd == "p") {
      say(show(*target, arg));
    } else if (cmd == "list" || cmd == "l") {
      auto frames = target->frames(thread_);
      if (frame_ < static_cast<int>(frames.size())) showLine(frames[frame_], 5);
    } else {
      return false;
    }
    return true;
  }

  std::string spellPath_, mainFile_, spellDir_;
  std::vector<Bp> bps_;
  std::vector<std::string> watches_;
  int thread_ = 1;
  int frame_ = 0;
};

}  // namespace

std::shared_ptr<DebugSession> terminalDebugger(const std::string& spellPath) {
  auto d = std::make_shared<TerminalDebugger>(spellPath);
  if (!d->setup()) return nullptr;
  return d;
}

}  // namespace llmspell::cli
