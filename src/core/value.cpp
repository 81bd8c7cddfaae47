// Value, Array and Object behaviour: equality, lookups, descriptions.
#include "llmspell/core/value.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

#include "llmspell/core/error.hpp"

namespace llmspell {

std::string_view kindName(ValueKind k) {
  switch (k) {
    case ValueKind::kNull: return "null";
    case ValueKind::kBool: return "boolean";
    case ValueKind::kInt: return "integer";
    case ValueKind::kDouble: return "number";
    case ValueKind::kString: return "string";
    case ValueKind::kBytes: return "bytes";
    case ValueKind::kArray: return "array";
    case ValueKind::kObject: return "object";
    case ValueKind::kFunction: return "function";
    case ValueKind::kPromise: return "promise";
    case ValueKind::kError: return "error";
    case ValueKind::kHandle: return "handle";
  }
  return "unknown";
}

Value Value::array(std::vector<Value> items) {
  return Value(std::make_shared<Array>(std::move(items)));
}

Value Value::object() { return Value(std::make_shared<Object>()); }

Value Value::object(std::initializer_list<std::pair<std::string, Value>> fields) {
  auto o = std::make_shared<Object>();
  o->reserve(fields.size());
  for (const auto& [k, v] : fields) o->set(k, v);
  return Value(std::move(o));
}

namespace {
const Value kNullValue;
}

const Value& Value::get(std::string_view key) const {
  if (!isObject()) return kNullValue;
  const Value* v = asObject().find(key);
  return v ? *v : kNullValue;
}

std::string Value::getString(std::string_view key, std::string_view dflt) const {
  const Value& v = get(key);
  return v.isString() ? v.asString() : std::string(dflt);
}

int64_t Value::getInt(std::string_view key, int64_t dflt) const {
  const Value& v = get(key);
  if (v.isInt()) return v.asInt();
  if (v.isDouble()) return static_cast<int64_t>(v.asDouble());
  return dflt;
}

double Value::getNumber(std::string_view key, double dflt) const {
  const Value& v = get(key);
  return v.isNumber() ? v.asNumber() : dflt;
}

bool Value::getBool(std::string_view key, bool dflt) const {
  const Value& v = get(key);
  return v.isBool() ? v.asBool() : dflt;
}

bool Value::operator==(const Value& o) const {
  if (isNumber() && o.isNumber()) {
    if (isInt() && o.isInt()) return asInt() == o.asInt();
    return asNumber() == o.asNumber();
  }
  if (kind() != o.kind()) return false;
  switch (kind()) {
    case ValueKind::kNull: return true;
    case ValueKind::kBool: return asBool() == o.asBool();
    case ValueKind::kString: return asString() == o.asString();
    case ValueKind::kBytes: return asBytes() == o.asBytes();
    case ValueKind::kArray: {
      const auto& a = asArray();
      const auto& b = o.asArray();
      if (&a == &b) return true;
      if (a.size() != b.size()) return false;
      for (size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i]) return false;
      return true;
    }
    case ValueKind::kObject: {
      const auto& a = asObject();
      const auto& b = o.asObject();
      if (&a == &b) return true;
      if (a.size() != b.size()) return false;
      for (const auto& [k, v] : a) {
        const Value* ov = b.find(k);
        if (!ov || *ov != v) return false;
      }
      return true;
    }
    case ValueKind::kFunction: return asFunction() == o.asFunction();
    case ValueKind::kPromise: return asPromise() == o.asPromise();
    case ValueKind::kError: {
      const auto& a = *asError();
      const auto& b = *o.asError();
      return a.code == b.code && a.message == b.message;
    }
    case ValueKind::kHandle: return asHandle() == o.asHandle();
    default: return false;
  }
}

Value Value::deepCopy() const {
  if (isArray()) {
    std::vector<Value> items;
    items.reserve(asArray().size());
    for (const auto& v : asArray()) items.push_back(v.deepCopy());
    return Value::array(std::move(items));
  }
  if (isObject()) {
    auto o = std::make_shared<Object>();
    for (const auto& [k, v] : asObject()) o->set(k, v.deepCopy());
    return Value(std::move(o));
  }
  return *this;
}

std::string Value::describe() const {
  switch (kind()) {
    case ValueKind::kString: {
      std::string s = asString();
      if (s.size() > 32) s = s.substr(0, 29) + "...";
      return "string \"" + s + "\"";
    }
    case ValueKind::kInt: return "integer " + std::to_string(asInt());
    case ValueKind::kDouble: {
      char buf[64];
      snprintf(buf, sizeof buf, "%.14g", asDouble());
      return std::string("number ") + buf;
    }
    case ValueKind::kBool: return asBool() ? "boolean true" : "boolean false";
    case ValueKind::kHandle: return std::string(asHandle()->typeName());
    default: return std::string(kindName());
  }
}

// ---- Object ----

namespace {
constexpr size_t kIndexThreshold = 12;
size_t hashKey(std::string_view k) { return std::hash<std::string_view>{}(k); }
uint32_t tagOf(size_t hash) { return static_cast<uint32_t>(static_cast<uint64_t>(hash) >> 32); }
}  // namespace

void Object::reindex() const {
  size_t cap = 32;
  while (cap < 2 * (entries_.size() + 1)) cap *= 2;
  index_.assign(cap, Slot{});
  for (uint32_t i = 0; i < entries_.size(); ++i) {
    size_t h = hashKey(entries_[i].first);
    // Positions are unique, so a new entry goes to the first empty slot (a duplicate key, which
    // only a replaced entries() vector could hold, resolves to its first position, as before).
    size_t slot = probe(entries_[i].first, h);
    if (index_[slot].pos == 0) index_[slot] = Slot{i + 1, tagOf(h)};
  }
  indexed_ = entries_.size();
}

size_t Object::probe(std::string_view key, size_t hash) const {
  size_t mask = index_.size() - 1;
  uint32_t tag = tagOf(hash);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = index_[i];
    if (s.pos == 0 || (s.tag == tag && entries_[s.pos - 1].first == key)) return i;
  }
}

const Value* Object::find(std::string_view key) const {
  if (entries_.size() < kIndexThreshold) {
    for (const auto& e : entries_)
      if (e.first == key) return &e.second;
    return nullptr;
  }
  if (indexed_ != entries_.size()) reindex();
  const Slot& s = index_[probe(key, hashKey(key))];
  return s.pos ? &entries_[s.pos - 1].second : nullptr;
}

Value* Object::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Object*>(this)->find(key));
}

// Appends an entry whose key is known to be absent; find() has just run, so the index is current
// whenever the object is large enough to have one.
Value& Object::append(std::string key, Value v, size_t hash) {
  entries_.emplace_back(std::move(key), std::move(v));
  if (indexed_ + 1 == entries_.size() && !index_.empty()) {
    if (2 * entries_.size() <= index_.size()) {
      index_[probe(entries_.back().first, hash)] =
          Slot{static_cast<uint32_t>(entries_.size()), tagOf(hash)};
      ++indexed_;
    } else {
      reindex();  // doubles the table: amortized O(1) per key
    }
  }
  return entries_.back().second;
}

void Object::set(std::string key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return;
  }
  size_t h = index_.empty() ? 0 : hashKey(key);
  append(std::move(key), std::move(v), h);
}

Value& Object::operator[](std::string_view key) {
  if (Value* existing = find(key)) return *existing;
  return append(std::string(key), Value(), index_.empty() ? 0 : hashKey(key));
}

bool Object::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      index_.clear();
      indexed_ = 0;
      return true;
    }
  }
  return false;
}

}  // namespace llmspell
