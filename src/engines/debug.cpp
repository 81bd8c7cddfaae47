// The engine-independent half of the debugger seam: the breakpoint table every engine consults
// and the paused-time bookkeeping that suspends a run's time limit while it is stopped.
#include "llmspell/engines/debug.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

namespace llmspell {

namespace {

int64_t nowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// "N", ">=N", "==N", ">N", "%N": does the `hits`th hit stop?
bool hitConditionHolds(const std::string& cond, int hits) {
  std::string_view s = cond;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (s.empty()) return true;
  std::string op;
  for (std::string_view o : {">=", "==", ">", "%"})
    if (s.substr(0, o.size()) == o) {
      op = o;
      s.remove_prefix(o.size());
      break;
    }
  long n = std::strtol(std::string(s).c_str(), nullptr, 10);
  if (op == "==") return hits == n;
  if (op == ">") return hits > n;
  if (op == "%") return n > 0 && hits % n == 0;
  return hits >= n;
}

}  // namespace

const char* debugStopReasonName(DebugStopReason r) {
  switch (r) {
    case DebugStopReason::kEntry: return "entry";
    case DebugStopReason::kBreakpoint: return "breakpoint";
    case DebugStopReason::kStep: return "step";
    case DebugStopReason::kException: return "exception";
    case DebugStopReason::kPause: return "pause";
  }
  return "pause";
}

std::string debugQuote(std::string_view s) {
  std::string out = "\"";
  size_t shown = std::min<size_t>(s.size(), 200);
  for (size_t i = 0; i < shown; ++i) {
    char c = s[i];
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\%d", c);
      out += buf;
    } else out += c;
  }
  out += '"';
  if (s.size() > shown) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

bool debugSourceMatches(std::string_view source, std::string_view file) {
  if (!source.empty() && (source.front() == '@' || source.front() == '=')) source.remove_prefix(1);
  while (file.substr(0, 2) == "./") file.remove_prefix(2);
  while (source.substr(0, 2) == "./") source.remove_prefix(2);
  if (source.empty() || file.empty()) return false;
  if (source == file) return true;
  std::string_view longer = source.size() > file.size() ? source : file;
  std::string_view shorter = source.size() > file.size() ? file : source;
  return longer.substr(longer.size() - shorter.size()) == shorter &&
         longer[longer.size() - shorter.size() - 1] == '/';
}

std::vector<DebugBreakpoint> DebugSession::setBreakpoints(const std::string& file,
                                                          std::vector<DebugBreakpoint> bps) {
  std::lock_guard lk(mu_);
  auto it = files_.begin();
  while (it != files_.end() && it->path != file) ++it;
  if (it == files_.end()) it = files_.insert(files_.end(), File{file, {}});
  for (auto& bp : bps) {
    // A breakpoint set again on the same line keeps its id and hit count.
    bp.id = 0;
    for (const auto& old : it->bps)
      if (old.line == bp.line) {
        bp.id = old.id;
        bp.hits = old.hits;
      }
    if (bp.id == 0) bp.id = nextId_++;
  }
  it->bps = bps;
  if (it->bps.empty()) files_.erase(it);
  any_.store(!files_.empty(), std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return bps;
}

bool DebugSession::sourceHasBreakpoints(std::string_view source) const {
  if (!anyBreakpoints()) return false;
  std::lock_guard lk(mu_);
  for (const auto& f : files_)
    if (debugSourceMatches(source, f.path)) return true;
  return false;
}

std::vector<std::pair<std::string, std::vector<int>>> DebugSession::breakpointLines() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<std::string, std::vector<int>>> out;
  for (const auto& f : files_) {
    out.emplace_back(f.path, std::vector<int>{});
    for (const auto& bp : f.bps) out.back().second.push_back(bp.line);
  }
  return out;
}

bool DebugSession::breakpointAt(std::string_view source, int line, DebugBreakpoint& out) const {
  std::lock_guard lk(mu_);
  for (const auto& f : files_) {
    if (!debugSourceMatches(source, f.path)) continue;
    for (const auto& bp : f.bps)
      if (bp.line == line) {
        out = bp;
        return true;
      }
  }
  return false;
}

bool DebugSession::countHit(int id) {
  std::lock_guard lk(mu_);
  for (auto& f : files_)
    for (auto& bp : f.bps)
      if (bp.id == id) return hitConditionHolds(bp.hitCondition, ++bp.hits);
  return false;
}

void DebugSession::requestPause() {
  pauseRequested.store(true);
  std::lock_guard lk(mu_);
  if (wake_) wake_();
}

void DebugSession::setWaker(std::function<void()> wake) {
  std::lock_guard lk(mu_);
  wake_ = std::move(wake);
  // A pause asked for before the engine was there: the spell may go straight to waiting.
  if (wake_ && pauseRequested.load()) wake_();
}

double DebugSession::pausedSeconds() const {
  int64_t total = pausedNanos_.load();
  if (int64_t start = pauseStart_.load()) total += nowNanos() - start;
  return static_cast<double>(total) / 1e9;
}

DebugResume DebugSession::stop(const DebugStop& s, DebugTarget& target) {
  // What the spell printed before the stop is shown before it (an engine may buffer stdout).
  std::fflush(stdout);
  int64_t start = nowNanos();
  pauseStart_.store(start);
  pauseRequested.store(false);
  DebugResume r = stopped(s, target);
  pausedNanos_.fetch_add(nowNanos() - start);
  pauseStart_.store(0);
  return r;
}

}  // namespace llmspell
