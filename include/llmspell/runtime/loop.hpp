// Loop: one event loop per runtime thread (Boost.Asio io_context), its timers, and a thread pool
// for blocking work whose results come back to the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "llmspell/runtime/asio.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {

class Loop {
 public:
  // `poolThreads` workers serve runBlocking(), started with its first job; 0 picks max(2,
  // hardware threads).
  explicit Loop(unsigned poolThreads = 0);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  asio::io_context& io() { return io_; }

  // Thread-safe: runs `fn` on the loop thread.
  void post(std::function<void()> fn);

  // Runs the loop on the calling thread (which becomes the loop thread) until `done()` is true
  // after a handler ran, or there is no more work. Returns true when done() became true.
  bool runUntil(const std::function<bool()>& done);
  // Called on the loop thread when runUntil is about to wait (no handler is ready to run): a serve
  // worker writes the frames its run has queued then, once, rather than a write per frame.
  // Null: none.
  void setBeforeWait(std::function<void()> fn) { beforeWait_ = std::move(fn); }
  // Runs until no work is left.
  void run();
  // Runs ready handlers without blocking.
  void poll();

  // Thread-safe: other threads ask this before posting (the event bus does).
  bool inLoopThread() const { return std::this_thread::get_id() == owner_.load(); }

  // A promise fulfilled with null after `seconds`; cancelling it cancels the timer.
  PromisePtr sleep(double seconds);
  // Calls `fn` after `seconds` unless the returned handle is destroyed or cancel()ed first.
  class TimerHandle {
   public:
    TimerHandle() = default;
    explicit TimerHandle(std::shared_ptr<asio::steady_timer> t) : t_(std::move(t)) {}
    void cancel() { if (t_) t_->cancel(); }
    explicit operator bool() const { return t_ != nullptr; }
   private:
    std::shared_ptr<asio::steady_timer> t_;
  };
  TimerHandle setTimeout(double seconds, std::function<void()> fn);

  // Runs `fn` on the thread pool; its result (or exception) settles the returned promise on the
  // loop thread. `fn` must not touch loop-affine objects.
  PromisePtr runBlocking(std::function<Value()> fn);

  // Number of outstanding runBlocking jobs and timers started through this class.
  size_t pending() const { return pending_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<asio::thread_pool> pool_;  // started by the first runBlocking()
  unsigned poolThreads_ = 2;
  std::atomic<std::thread::id> owner_;  // written by run*(), read from any thread
  size_t pending_ = 0;
  bool idleGuard_ = false;
  std::function<void()> beforeWait_;
};

// A deadline/cancellation scope: cancelling it cancels every promise registered with it.
// Loop-affine.
class CancelScope {
 public:
  void add(const PromisePtr& p);
  void cancelAll(const Error& reason);
  bool cancelled() const { return cancelled_; }
  const Error& reason() const { return reason_; }

 private:
  std::vector<std::weak_ptr<Promise>> inflight_;
  bool cancelled_ = false;
  Error reason_;
};

}  // namespace llmspell
