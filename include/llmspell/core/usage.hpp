// Token usage and cost: adding usage objects, and scopes that attribute model calls to the part
// of a spell that made them.
#pragma once

#include <cstdint>
#include <memory>

#include "llmspell/core/value.hpp"

namespace llmspell {

// Adds every numeric field of `u` into `acc` (an object, created on demand); integers stay
// integers. Non-objects and non-numeric fields are ignored.
void addUsage(Value& acc, const Value& u);

// Where model calls made on behalf of one part of a spell (a workflow step) are counted. A call
// adds its usage and cost to the scope current when it started and to every enclosing scope, so
// a step's scope holds everything done inside it, however deeply nested, each call once.
// RunContext::usageScope is the current scope: the engines keep it per task (a task started in
// a scope stays in it across its waits), agents per run (their loop runs in host callbacks),
// and null means no part of the spell is counting.
struct UsageScope {
  explicit UsageScope(std::shared_ptr<UsageScope> p = nullptr) : parent(std::move(p)) {}
  std::shared_ptr<UsageScope> parent;
  Value usage;         // null until a call reports usage
  double costUsd = 0;
  int64_t calls = 0;   // completed model calls, with or without usage

  // One completed call: `usage` (an object or null when the provider sent none) and its cost.
  void add(const Value& callUsage, double cost);
};
using UsageScopePtr = std::shared_ptr<UsageScope>;

}  // namespace llmspell
