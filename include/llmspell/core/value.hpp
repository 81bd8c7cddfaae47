// Value: the one variant type that crosses every boundary (engines, registry, providers, state).
// Scalars are held inline; containers, functions, promises, errors and host handles are shared
// references (copying a Value never deep-copies), like values in Lua or JavaScript.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace llmspell {

class Value;
class Array;
class Object;
class Function;
class Promise;
struct Error;
class HostObject;

using ArrayPtr = std::shared_ptr<Array>;
using ObjectPtr = std::shared_ptr<Object>;
using FunctionPtr = std::shared_ptr<Function>;
using PromisePtr = std::shared_ptr<Promise>;
using ErrorPtr = std::shared_ptr<Error>;
using HostObjectPtr = std::shared_ptr<HostObject>;

// Raw bytes, kept apart from (UTF-8) strings so engines can map them to their own byte types.
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

enum class ValueKind : uint8_t {
  kNull,
  kBool,
  kInt,
  kDouble,
  kString,
  kBytes,
  kArray,
  kObject,
  kFunction,
  kPromise,
  kError,
  kHandle,
};

// Name of a kind as scripts see it in messages ("null", "boolean", "integer", "number", ...).
std::string_view kindName(ValueKind k);

class Value {
 public:
  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(int64_t{i}) {}
  Value(int64_t i) : v_(i) {}
  Value(uint32_t i) : v_(int64_t{i}) {}
  Value(double d) : v_(d) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(Bytes b) : v_(std::move(b)) {}
  Value(ArrayPtr a) : v_(std::move(a)) {}
  Value(ObjectPtr o) : v_(std::move(o)) {}
  Value(FunctionPtr f) : v_(std::move(f)) {}
  Value(PromisePtr p) : v_(std::move(p)) {}
  Value(ErrorPtr e) : v_(std::move(e)) {}
  Value(HostObjectPtr h) : v_(std::move(h)) {}

  // Builders for containers.
  static Value array(std::vector<Value> items = {});
  static Value object();
  static Value object(std::initializer_list<std::pair<std::string, Value>> fields);

  ValueKind kind() const { return static_cast<ValueKind>(v_.index()); }
  std::string_view kindName() const { return llmspell::kindName(kind()); }

  bool isNull() const { return kind() == ValueKind::kNull; }
  bool isBool() const { return kind() == ValueKind::kBool; }
  bool isInt() const { return kind() == ValueKind::kInt; }
  bool isDouble() const { return kind() == ValueKind::kDouble; }
  bool isNumber() const { return isInt() || isDouble(); }
  bool isString() const { return kind() == ValueKind::kString; }
  bool isBytes() const { return kind() == ValueKind::kBytes; }
  bool isArray() const { return kind() == ValueKind::kArray; }
  bool isObject() const { return kind() == ValueKind::kObject; }
  bool isFunction() const { return kind() == ValueKind::kFunction; }
  bool isPromise() const { return kind() == ValueKind::kPromise; }
  bool isError() const { return kind() == ValueKind::kError; }
  bool isHandle() const { return kind() == ValueKind::kHandle; }

  // Accessors: precondition is the matching kind (checked with assert in debug builds).
  bool asBool() const { return std::get<bool>(v_); }
  int64_t asInt() const { return std::get<int64_t>(v_); }
  double asDouble() const { return std::get<double>(v_); }
  // An int or a double as a double.
  double asNumber() const { return isInt() ? static_cast<double>(asInt()) : asDouble(); }
  const std::string& asString() const { return std::get<std::string>(v_); }
  std::string& asString() { return std::get<std::string>(v_); }
  const Bytes& asBytes() const { return std::get<Bytes>(v_); }
  Array& asArray() const { return *std::get<ArrayPtr>(v_); }
  Object& asObject() const { return *std::get<ObjectPtr>(v_); }
  const ArrayPtr& arrayPtr() const { return std::get<ArrayPtr>(v_); }
  const ObjectPtr& objectPtr() const { return std::get<ObjectPtr>(v_); }
  const FunctionPtr& asFunction() const { return std::get<FunctionPtr>(v_); }
  const PromisePtr& asPromise() const { return std::get<PromisePtr>(v_); }
  const ErrorPtr& asError() const { return std::get<ErrorPtr>(v_); }
  const HostObjectPtr& asHandle() const { return std::get<HostObjectPtr>(v_); }

  // Truthiness as in Lua: only null and false are false.
  bool truthy() const { return !(isNull() || (isBool() && !asBool())); }

  // Convenience lookups that return null when this is not an object / the key is absent.
  const Value& get(std::string_view key) const;
  std::string getString(std::string_view key, std::string_view dflt = "") const;
  int64_t getInt(std::string_view key, int64_t dflt = 0) const;
  double getNumber(std::string_view key, double dflt = 0) const;
  bool getBool(std::string_view key, bool dflt = false) const;

  // Structural equality: containers compare element by element, functions/promises/handles
  // by identity, int 1 equals double 1.0.
  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

  // Deep copy of arrays and objects (other references are shared).
  Value deepCopy() const;

  // A short human description for messages, e.g. `string "abc"` or `table`.
  std::string describe() const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Bytes, ArrayPtr, ObjectPtr,
               FunctionPtr, PromisePtr, ErrorPtr, HostObjectPtr>
      v_;
};

class Array {
 public:
  Array() = default;
  explicit Array(std::vector<Value> items) : items_(std::move(items)) {}
  size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  Value& operator[](size_t i) { return items_[i]; }
  const Value& operator[](size_t i) const { return items_[i]; }
  void push(Value v) { items_.push_back(std::move(v)); }
  void reserve(size_t n) { items_.reserve(n); }
  std::vector<Value>& items() { return items_; }
  const std::vector<Value>& items() const { return items_; }
  auto begin() { return items_.begin(); }
  auto end() { return items_.end(); }
  auto begin() const { return items_.begin(); }
  auto end() const { return items_.end(); }

 private:
  std::vector<Value> items_;
};

// Insertion-ordered string-keyed map. Lookups are linear below a small size, which is the common
// case for options tables and provider payloads; larger objects build a hash index lazily and keep
// it up to date as keys are appended, so building an object of n keys costs O(n) (untrusted JSON
// and YAML objects can have hundreds of thousands of keys). erase() drops the index.
class Object {
 public:
  using Entry = std::pair<std::string, Value>;
  Object() = default;
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // Returns nullptr when absent.
  const Value* find(std::string_view key) const;
  Value* find(std::string_view key);
  bool contains(std::string_view key) const { return find(key) != nullptr; }
  // Inserts or replaces; keeps the original position on replace.
  void set(std::string key, Value v);
  void reserve(size_t n) { entries_.reserve(n); }
  // Reference to the value for key, inserting null when absent.
  Value& operator[](std::string_view key);
  bool erase(std::string_view key);
  // Mutable access drops the index (the caller may reorder or replace entries).
  std::vector<Entry>& entries() {
    index_.clear();
    indexed_ = 0;
    return entries_;
  }
  const std::vector<Entry>& entries() const { return entries_; }
  auto begin() { return entries_.begin(); }
  auto end() { return entries_.end(); }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }

 private:
  // One slot of the open-addressed index: pos is 1 + the entry's position (0 marks an empty slot),
  // tag the high half of the key's hash, compared before the key itself.
  struct Slot {
    uint32_t pos = 0;
    uint32_t tag = 0;
  };
  void reindex() const;
  size_t probe(std::string_view key, size_t hash) const;  // the key's slot, or the empty one
  Value& append(std::string key, Value v, size_t hash);
  std::vector<Entry> entries_;
  mutable std::vector<Slot> index_;  // size a power of two, at most half full; empty when unused
  // Entries index_ covers; differs from entries_.size() once entries() or erase() dropped the
  // index, which find() then rebuilds.
  mutable size_t indexed_ = 0;
};

// A callable owned by an engine (a Lua function, a JS function) or by the host.
// call() must be invoked on the runtime thread that owns the function; it never throws: failures
// reject the returned promise.
class Function {
 public:
  virtual ~Function() = default;
  virtual PromisePtr call(std::vector<Value> args) = 0;
  // Identifies the owner so an engine can unwrap its own functions instead of double-wrapping.
  virtual const void* engineTag() const { return nullptr; }
  virtual std::string describe() const { return "function"; }
};

// A host object exposed to scripts (an agent, a channel, a session): the registry declares its
// methods under typeName(). Thread-safety is the implementation's to state.
class HostObject {
 public:
  virtual ~HostObject() = default;
  virtual std::string_view typeName() const = 0;
};

}  // namespace llmspell
