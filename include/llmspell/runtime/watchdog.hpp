// A Watchdog calls `fire` after `seconds` unless it is destroyed first: the hard stop of a run
// (RunOptions::onHardStop) and the JavaScript engine's interrupt of code that runs past its time
// limit without returning to the loop. `extra`, when given, is asked when the time is up and
// moves it on by what it returns (the seconds a debugger kept the spell stopped).
// A Ticker calls `check` every `period` seconds until it returns true or it is destroyed: the
// process memory guard of a run (spell/runner.cpp).
// Both run their callbacks on one timer thread per process, started with the first of them (a
// thread of their own each was started and joined by every run, and a serve worker runs
// thousands). A callback must return promptly: the others wait for it. Destroying either waits
// for its callback when that is running on the timer thread, so once the destructor returns it
// is never called again. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace llmspell {

namespace detail {
// The process's timer thread. `fn` is called at `when` and returns when to call it next
// (time_point::max() for never).
using TimerClock = std::chrono::steady_clock;
uint64_t addTimer(TimerClock::time_point when, std::function<TimerClock::time_point()> fn);
// Removes a timer; waits for its callback when it is running (unless called from that callback).
void removeTimer(uint64_t id);
}  // namespace detail

class Watchdog {
 public:
  Watchdog(double seconds, std::function<void()> fire, std::function<double()> extra = {});
  ~Watchdog() { detail::removeTimer(id_); }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  uint64_t id_ = 0;
};

class Ticker {
 public:
  Ticker(double period, std::function<bool()> check);
  ~Ticker() { detail::removeTimer(id_); }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  uint64_t id_ = 0;
};

}  // namespace llmspell
