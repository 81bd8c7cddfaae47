// The event loop: io_context, timers and the blocking-work pool.
#include "llmspell/runtime/loop.hpp"

namespace llmspell {

Loop::Loop(unsigned poolThreads)
    : guard_(asio::make_work_guard(io_)), owner_(std::this_thread::get_id()) {
  // No permanent work guard while running: run_one() returning 0 means nothing can ever
  // happen again, which is how a spell waiting on a promise nobody settles is detected.
  guard_.reset();
  // Asked once: hardware_concurrency() reads /sys, and a serve worker makes a loop per run.
  static const unsigned kDefaultPool = std::max(2u, std::thread::hardware_concurrency());
  poolThreads_ = poolThreads ? poolThreads : kDefaultPool;
}

Loop::~Loop() {
  if (pool_) pool_->join();
}

void Loop::post(std::function<void()> fn) { asio::post(io_, std::move(fn)); }

bool Loop::runUntil(const std::function<bool()>& done) {
  owner_ = std::this_thread::get_id();
  if (done()) return true;
  if (io_.stopped()) io_.restart();
  for (;;) {
    size_t ran = 0;
    if (beforeWait_) {
      ran = io_.poll_one();
      if (ran == 0) {
        if (io_.stopped()) io_.restart();
        beforeWait_();
        ran = io_.run_one();
      }
    } else {
      ran = io_.run_one();
    }
    if (ran == 0) break;
    if (done()) return true;
    if (io_.stopped()) io_.restart();
  }
  io_.restart();
  return done();
}

void Loop::run() {
  owner_ = std::this_thread::get_id();
  io_.restart();
  io_.run();
  io_.restart();
}

void Loop::poll() {
  owner_ = std::this_thread::get_id();
  io_.restart();
  io_.poll();
}

Loop::TimerHandle Loop::setTimeout(double seconds, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(io_);
  t->expires_after(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(seconds < 0 ? 0 : seconds)));
  ++pending_;
  t->async_wait([this, fn = std::move(fn), t](const boost::system::error_code& ec) {
    --pending_;
    if (!ec) fn();
  });
  return TimerHandle(t);
}

PromisePtr Loop::sleep(double seconds) {
  auto p = Promise::create();
  auto h = setTimeout(seconds, [p] { p->resolve(Value()); });
  p->setCanceller([h]() mutable { h.cancel(); });
  return p;
}

PromisePtr Loop::runBlocking(std::function<Value()> fn) {
  auto p = Promise::create();
  ++pending_;
  // The work guard keeps the loop alive while the job runs on the pool.
  auto work = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(
      asio::make_work_guard(io_));
  // The pool starts with the first job: most runs never block, and its threads were started
  // and joined by every run (a serve worker runs thousands).
  if (!pool_) pool_ = std::make_unique<asio::thread_pool>(poolThreads_);
  asio::post(*pool_, [this, p, fn = std::move(fn), work]() mutable {
    Value result;
    ErrorPtr err;
    try {
      result = fn();
    } catch (const Exception& e) {
      err = std::make_shared<Error>(e.error());
    } catch (const std::exception& e) {
      err = std::make_shared<Error>(codes::kInternal, e.what());
    }
    asio::post(io_, [this, p, result = std::move(result), err, work]() mutable {
      --pending_;
      if (err) p->reject(*err); else p->resolve(std::move(result));
      work->reset();
    });
  });
  return p;
}

void CancelScope::add(const PromisePtr& p) {
  if (cancelled_) {
    p->cancel(reason_);
    return;
  }
  // Drop entries that have gone away so long runs do not accumulate.
  if (inflight_.size() > 64) {
    std::erase_if(inflight_, [](const std::weak_ptr<Promise>& w) {
      auto s = w.lock();
      return !s || !s->pending();
    });
  }
  inflight_.push_back(p);
}

void CancelScope::cancelAll(const Error& reason) {
  cancelled_ = true;
  reason_ = reason;
  auto list = std::move(inflight_);
  inflight_.clear();
  for (auto& w : list)
    if (auto p = w.lock()) p->cancel(reason);
}

}  // namespace llmspell
