// A thread that calls `fire` after `seconds` unless the Watchdog is destroyed first: the hard
// stop of a run (RunOptions::onHardStop) and the JavaScript engine's interrupt of code that runs
// past its time limit without returning to the loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace llmspell {

class Watchdog {
 public:
  Watchdog(double seconds, std::function<void()> fire)
      : thread_([this, seconds, fire = std::move(fire)] {
          std::unique_lock lk(mu_);
          if (!cv_.wait_for(lk, std::chrono::duration<double>(seconds), [this] { return done_; })) fire();
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
