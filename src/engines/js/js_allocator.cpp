// Compiled with -fno-rtti (see js_allocator.hpp). Nothing here may use typeid or dynamic_cast.
#include "engines/js/js_allocator.hpp"

#include <v8-array-buffer.h>

#include <cstdlib>
#include <cstring>

namespace llmspell::js {
namespace {

class BudgetAllocator final : public v8::ArrayBuffer::Allocator {
 public:
  explicit BudgetAllocator(BufferBudget* b) : b_(b) {}
  void* Allocate(size_t length) override {
    if (!admit(length)) return nullptr;
    void* p = std::calloc(length ? length : 1, 1);
    if (!p) b_->used -= length;
    return p;
  }
  void* AllocateUninitialized(size_t length) override {
    if (!admit(length)) return nullptr;
    void* p = std::malloc(length ? length : 1);
    if (!p) b_->used -= length;
    return p;
  }
  void Free(void* data, size_t length) override {
    std::free(data);
    b_->used -= length;
  }

 private:
  bool admit(size_t length) {
    if (b_->admit && !b_->admit(length)) return false;
    b_->used += length;
    return true;
  }
  BufferBudget* b_;
};

}  // namespace

void* newBufferAllocator(BufferBudget* budget) { return new BudgetAllocator(budget); }
void deleteBufferAllocator(void* allocator) { delete static_cast<BudgetAllocator*>(allocator); }

}  // namespace llmspell::js
