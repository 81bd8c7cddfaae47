// Promise: the single-assignment result shared by host code and every engine.
// Loop-affine: create, settle and observe a promise on its runtime thread only. Work on other
// threads settles it by posting to the loop (Loop::post). Settling twice is a no-op.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "llmspell/core/error.hpp"
#include "llmspell/core/value.hpp"

namespace llmspell {

class Promise : public std::enable_shared_from_this<Promise> {
 public:
  enum class State { kPending, kFulfilled, kRejected };
  using Callback = std::function<void(const Promise&)>;

  static PromisePtr create() { return std::make_shared<Promise>(); }
  static PromisePtr resolved(Value v);
  static PromisePtr rejected(Error e);
  // Fulfilled with `v` as it is: a promise value is NOT adopted (async(fn) returns a promise as
  // the result of calling the wrapper).
  static PromisePtr fulfilledWith(Value v);

  void resolve(Value v);
  void reject(Error e);
  // Settles from an Exception or any std::exception (code internal).
  void rejectCurrentException();

  State state() const { return state_; }
  bool pending() const { return state_ == State::kPending; }
  bool fulfilled() const { return state_ == State::kFulfilled; }
  bool rejected() const { return state_ == State::kRejected; }
  // Precondition: fulfilled() / rejected().
  const Value& value() const { return value_; }
  const Error& error() const { return *error_; }
  const ErrorPtr& errorPtr() const { return error_; }

  // Runs `cb` once, when settled; immediately when already settled. Callbacks run in the order
  // they were added. A callback may add callbacks or settle other promises.
  void onSettle(Callback cb);

  // Cancellation: the producer installs a canceller that aborts the work (a transfer, a timer).
  // cancel() rejects a pending promise with `reason` and then runs the canceller once.
  void setCanceller(std::function<void()> c) { canceller_ = std::move(c); }
  void cancel(Error reason = Error(codes::kCancelled, "cancelled"));

  // Someone observed the rejection (an await, a catch); used to report unhandled rejections.
  void markHandled() { handled_ = true; }
  bool handled() const { return handled_; }

 private:
  void settle();
  State state_ = State::kPending;
  bool handled_ = false;
  Value value_;
  ErrorPtr error_;
  std::vector<Callback> callbacks_;
  std::function<void()> canceller_;
};

// Promise combinators for host code (the script-level ones are built on these).
PromisePtr promiseAll(const std::vector<PromisePtr>& ps);          // array of values
PromisePtr promiseAllSettled(const std::vector<PromisePtr>& ps);   // array of {status, value|error}
PromisePtr promiseRace(const std::vector<PromisePtr>& ps);
PromisePtr promiseAny(const std::vector<PromisePtr>& ps);          // rejects when all reject
// `p`'s value mapped by `f` (an Exception thrown by `f` rejects); a rejection passes through.
// Cancelling the result cancels `p`.
PromisePtr promiseThen(const PromisePtr& p, std::function<Value(const Value&)> f);

}  // namespace llmspell
