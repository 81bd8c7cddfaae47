// A thread that calls `fire` after `seconds` unless the Watchdog is destroyed first: the hard
// stop of a run (RunOptions::onHardStop) and the JavaScript engine's interrupt of code that runs
// past its time limit without returning to the loop. `extra`, when given, is asked when the
// time is up and moves it on by what it returns (the seconds a debugger kept the spell stopped).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace llmspell {

class Watchdog {
 public:
  Watchdog(double seconds, std::function<void()> fire, std::function<double()> extra = {})
      : thread_([this, seconds, fire = std::move(fire), extra = std::move(extra)] {
          std::unique_lock lk(mu_);
          auto start = std::chrono::steady_clock::now();
          auto until = [&] {
            double more = extra ? extra() : 0;
            return start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                               std::chrono::duration<double>(seconds + more));
          };
          for (auto t = until();; t = until()) {
            if (cv_.wait_until(lk, t, [this] { return done_; })) return;
            if (!extra || std::chrono::steady_clock::now() >= until()) break;
          }
          fire();
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// A thread that calls `check` every `period` seconds until it returns true or the Ticker is
// destroyed: the process memory guard of a run (spell/runner.cpp).
class Ticker {
 public:
  Ticker(double period, std::function<bool()> check)
      : thread_([this, period, check = std::move(check)] {
          std::unique_lock lk(mu_);
          while (!cv_.wait_for(lk, std::chrono::duration<double>(period), [this] { return done_; })) {
            lk.unlock();
            bool stop = check();
            lk.lock();
            if (stop) return;
          }
        }) {}
  ~Ticker() {
    {
      std::lock_guard lk(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace llmspell
