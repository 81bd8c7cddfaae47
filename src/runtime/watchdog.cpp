// The timer thread behind Watchdog and Ticker: deadlines in a map ordered by time, one thread
// that sleeps until the first and runs its callback outside the lock.
#include "llmspell/runtime/watchdog.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace llmspell {

namespace detail {
namespace {

class TimerThread {
 public:
  uint64_t add(TimerClock::time_point when, std::function<TimerClock::time_point()> fn) {
    std::lock_guard lk(mu_);
    if (!started_) {
      started_ = true;
      std::thread([this] { loop(); }).detach();
    }
    uint64_t id = ++next_;
    auto it = due_.emplace(when, id);
    timers_[id] = {std::move(fn), it};
    // Woken only for a deadline before the one it sleeps until: a run adds two timers, and
    // waking the thread for each was two context switches per run.
    if (when < wakeAt_) cv_.notify_all();
    return id;
  }

  void remove(uint64_t id) {
    std::unique_lock lk(mu_);
    if (auto t = timers_.find(id); t != timers_.end()) {
      if (t->second.queued) due_.erase(t->second.at);
      timers_.erase(t);
    }
    // Its callback is running: wait for it, unless this is that callback.
    if (std::this_thread::get_id() != thread_)
      done_.wait(lk, [&] { return running_ != id; });
  }

 private:
  struct Timer {
    std::function<TimerClock::time_point()> fn;
    std::multimap<TimerClock::time_point, uint64_t>::iterator at;
    bool queued = true;
  };

  void loop() {
    std::unique_lock lk(mu_);
    thread_ = std::this_thread::get_id();
    for (;;) {
      if (due_.empty()) {
        wakeAt_ = TimerClock::time_point::max();
        cv_.wait(lk);
        wakeAt_ = TimerClock::time_point::min();
        continue;
      }
      auto first = due_.begin();
      if (TimerClock::now() < first->first) {
        // A copy: wait_until reads the time again after waking, and remove() may have erased
        // this entry meanwhile (a reference into the map would then dangle).
        const TimerClock::time_point when = first->first;
        wakeAt_ = when;
        cv_.wait_until(lk, when);
        wakeAt_ = TimerClock::time_point::min();
        continue;
      }
      uint64_t id = first->second;
      due_.erase(first);
      auto& t = timers_.at(id);
      t.queued = false;
      auto fn = t.fn;  // a copy: remove() may erase the timer while it runs
      running_ = id;
      lk.unlock();
      TimerClock::time_point next = fn();
      lk.lock();
      running_ = 0;
      done_.notify_all();
      if (auto it = timers_.find(id); it != timers_.end()) {
        if (next == TimerClock::time_point::max()) {
          timers_.erase(it);
        } else {
          it->second.at = due_.emplace(next, id);
          it->second.queued = true;
        }
      }
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;    // a new first deadline
  std::condition_variable done_;  // a callback returned
  std::multimap<TimerClock::time_point, uint64_t> due_;
  std::unordered_map<uint64_t, Timer> timers_;
  uint64_t next_ = 0;
  uint64_t running_ = 0;
  bool started_ = false;
  std::thread::id thread_;
  // When the thread wakes by itself: max() when it waits for a first timer, min() while it is
  // awake (it looks at the timers again before it sleeps).
  TimerClock::time_point wakeAt_ = TimerClock::time_point::max();
};

TimerThread& timerThread() {
  static auto* t = new TimerThread;  // leaked: its thread may still wait at exit
  return *t;
}

TimerClock::duration toDuration(double seconds) {
  return std::chrono::duration_cast<TimerClock::duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

uint64_t addTimer(TimerClock::time_point when, std::function<TimerClock::time_point()> fn) {
  return timerThread().add(when, std::move(fn));
}

void removeTimer(uint64_t id) { timerThread().remove(id); }

}  // namespace detail

using detail::TimerClock;

Watchdog::Watchdog(double seconds, std::function<void()> fire, std::function<double()> extra) {
  auto start = TimerClock::now();
  auto until = [start, seconds, extra] { return start + detail::toDuration(seconds + (extra ? extra() : 0)); };
  id_ = detail::addTimer(start + detail::toDuration(seconds), [until, extra, fire = std::move(fire)] {
    // The debugger kept the spell stopped for a while: the time is not up yet.
    if (extra) {
      auto t = until();
      if (TimerClock::now() < t) return t;
    }
    fire();
    return TimerClock::time_point::max();
  });
}

Ticker::Ticker(double period, std::function<bool()> check) {
  auto step = detail::toDuration(period);
  id_ = detail::addTimer(TimerClock::now() + step, [step, check = std::move(check)] {
    return check() ? TimerClock::time_point::max() : TimerClock::now() + step;
  });
}

}  // namespace llmspell
