// The arguments of one host call as engines collect them before Registry::validate and call.
#pragma once

#include <cstddef>
#include <new>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell {

// The arguments of a host call: up to kInline on the stack, constructed only as many as needed
// (a default-constructed Value array of fixed size was a third of a call's cost, zeroing it).
class ArgBuffer {
 public:
  explicit ArgBuffer(size_t n) : n_(n) {
    if (n > kInline) {
      heap_.resize(n);
      p_ = heap_.data();
    } else {
      p_ = reinterpret_cast<Value*>(inline_);
      for (size_t i = 0; i < n; ++i) new (p_ + i) Value();
    }
  }
  ~ArgBuffer() {
    if (n_ <= kInline)
      for (size_t i = 0; i < n_; ++i) p_[i].~Value();
  }
  ArgBuffer(const ArgBuffer&) = delete;
  ArgBuffer& operator=(const ArgBuffer&) = delete;
  Value* data() { return p_; }

 private:
  static constexpr size_t kInline = 8;
  size_t n_;
  Value* p_;
  std::vector<Value> heap_;
  alignas(Value) unsigned char inline_[kInline * sizeof(Value)];
};

}  // namespace llmspell
