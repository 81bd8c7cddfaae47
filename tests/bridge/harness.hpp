// Test harness: calls registry functions exactly as an engine does (validate, then callSync or
// callAsync and run the loop until the promise settles).
#pragma once

#include <gtest/gtest.h>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/runtime/loop.hpp"

namespace llmspell::testing {

class Harness {
 public:
  Harness() : loop_(1), run_(loop_) {}
  Loop& loop() { return loop_; }
  RunContext& run() { return run_; }

  // Returns the result, or throws Exception with the function's error.
  Value call(std::string_view name, std::vector<Value> args = {}) {
    const FunctionDecl* d = Registry::global().find(name);
    if (!d) throw Exception(codes::kNotFound, "no registry function " + std::string(name));
    if (auto e = Registry::validate(*d, args)) throw Exception(*e);
    CallContext cx{run_, loop_, name};
    if (!d->async) {
      ErrorPtr err;
      Value v = Registry::callSync(*d, cx, Args(args), err);
      if (err) throw Exception(*err);
      return v;
    }
    PromisePtr p = Registry::callAsync(*d, cx, Args(args));
    if (p->pending()) {
      bool expired = false;  // a hung promise fails the test instead of hanging it
      auto guard = loop_.setTimeout(30, [&] { expired = true; });
      loop_.runUntil([&] { return !p->pending() || expired; });
      guard.cancel();
    }
    if (p->pending()) throw Exception(codes::kInternal, "promise never settled");
    if (p->rejected()) throw Exception(p->error());
    return p->value();
  }

  // The error a call fails with (fails the test when it succeeds).
  Error error(std::string_view name, std::vector<Value> args = {}) {
    try {
      Value v = call(name, std::move(args));
      ADD_FAILURE() << name << " succeeded with " << v.describe();
      return Error();
    } catch (const Exception& e) {
      return e.error();
    }
  }

 private:
  Loop loop_;
  RunContext run_;
};

inline Value J(std::string_view json) {
  return parseJson(json);
}

// A script-like function from a C++ lambda returning a Value (or throwing Exception).
inline Value fnValue(std::function<Value(std::vector<Value>)> f) {
  return Value(FunctionPtr(std::make_shared<HostFunction>(
      [f](std::vector<Value> args) { return Promise::resolved(f(std::move(args))); }, "test fn")));
}
// A script-like function returning a promise.
inline Value asyncFnValue(std::function<PromisePtr(std::vector<Value>)> f) {
  return Value(FunctionPtr(std::make_shared<HostFunction>(std::move(f), "test fn")));
}

}  // namespace llmspell::testing
