// Helpers shared by the Tengo stdlib modules: argument coercion in the style of tengo's
// func_typedefs.go adapters, and module registration hooks.
#pragma once

#include <map>
#include <string>

#include "engines/tengo/core.hpp"

namespace llmspell::tengo::detail {

using Attrs = std::map<std::string, Value, std::less<>>;

inline const char* const kArgNames[] = {"first", "second", "third", "fourth", "fifth",
                                        "sixth", "seventh", "eighth", "ninth", "tenth"};

inline bool argString(Args a, size_t i, std::string* out, Result* err) {
  if (!toStringValue(a[i], out)) {
    *err = Result::badArg(kArgNames[i], "string(compatible)", typeName(a[i]));
    return false;
  }
  return true;
}
inline bool argInt(Args a, size_t i, int64_t* out, Result* err) {
  if (!toInt64(a[i], out)) {
    *err = Result::badArg(kArgNames[i], "int(compatible)", typeName(a[i]));
    return false;
  }
  return true;
}
inline bool argFloat(Args a, size_t i, double* out, Result* err) {
  if (!toFloat64(a[i], out)) {
    *err = Result::badArg(kArgNames[i], "float(compatible)", typeName(a[i]));
    return false;
  }
  return true;
}
inline bool argBytes(Args a, size_t i, std::string* out, Result* err) {
  if (a[i].type() == Type::kBytes) {
    *out = a[i].as<BytesObj>()->b;
    return true;
  }
  if (a[i].type() == Type::kString) {
    *out = a[i].as<StringObj>()->s;
    return true;
  }
  *err = Result::badArg(kArgNames[i], "bytes(compatible)", typeName(a[i]));
  return false;
}
inline Value errorValue(const std::string& msg) { return makeError(makeString(msg)); }

void addTimesModule(Attrs& m);
void addTextModule(Attrs& m);
void addOsModule(Attrs& m);
std::string timeRfc3339Nano(const TimeObj& t);
std::string goFormatTime(const TimeObj& t, const std::string& layout);
bool goParseTime(const std::string& layout, const std::string& value, TimeObj* out,
                 std::string* err);

}  // namespace llmspell::tengo::detail
