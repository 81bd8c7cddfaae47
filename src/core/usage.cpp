#include "llmspell/core/usage.hpp"

namespace llmspell {

void addUsage(Value& acc, const Value& u) {
  if (!u.isObject()) return;
  if (!acc.isObject()) acc = Value::object();
  for (const auto& [k, v] : u.asObject()) {
    if (!v.isNumber()) continue;
    Value& cur = acc.asObject()[k];
    if (cur.isInt() && v.isInt()) cur = Value(cur.asInt() + v.asInt());
    else if (cur.isNumber()) cur = Value(cur.asNumber() + v.asNumber());
    else cur = v;
  }
}

void UsageScope::add(const Value& callUsage, double cost) {
  for (UsageScope* s = this; s; s = s->parent.get()) {
    ++s->calls;
    addUsage(s->usage, callUsage);
    s->costUsd += cost;
  }
}

}  // namespace llmspell
