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
}  // namespace

void Object::reindex() const {
  auto idx = std::make_unique<std::vector<std::pair<size_t, uint32_t>>>();
  idx->reserve(entries_.size());
  for (uint32_t i = 0; i < entries_.size(); ++i) idx->emplace_back(hashKey(entries_[i].first), i);
  std::sort(idx->begin(), idx->end());
  index_ = std::move(idx);
}

const Value* Object::find(std::string_view key) const {
  if (entries_.size() < kIndexThreshold) {
    for (const auto& e : entries_)
      if (e.first == key) return &e.second;
    return nullptr;
  }
  if (!index_) reindex();
  size_t h = hashKey(key);
  auto it = std::lower_bound(index_->begin(), index_->end(), std::make_pair(h, uint32_t{0}));
  for (; it != index_->end() && it->first == h; ++it)
    if (entries_[it->second].first == key) return &entries_[it->second].second;
  return nullptr;
}

Value* Object::find(std::string_view key) {
  return const_cast<Value*>(static_cast<const Object*>(this)->find(key));
}

void Object::set(std::string key, Value v) {
  if (Value* existing = find(key)) {
    *existing = std::move(v);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(v));
  index_.reset();
}

Value& Object::operator[](std::string_view key) {
  if (Value* existing = find(key)) return *existing;
  entries_.emplace_back(std::string(key), Value());
  index_.reset();
  return entries_.back().second;
}

bool Object::erase(std::string_view key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (it->first == key) {
      entries_.erase(it);
      index_.reset();
      return true;
    }
  }
  return false;
}

}  // namespace llmspell
