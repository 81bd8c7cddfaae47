// `data` namespace: structured-data helpers. JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386)
// and diff run on nlohmann::json's implementations (Debian's nlohmann-json3, ordered so that key
// order survives); JSON Pointer (RFC 6901) get/set, deep merge and coercion walk Values directly;
// query is the json_query tool's JSONPath subset, csv the csv_parse tool's RFC 4180 reader.
#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "bridge/json_depth.hpp"
#include "llmspell/bridge/registry.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/schema.hpp"
#include "llmspell/llm/types.hpp"
#include "tools/builtins.hpp"

namespace llmspell {
namespace {

using ojson = nlohmann::ordered_json;

// A rough count of the memory a value takes once the spell holds it: MemoryBudget::kNodeBytes per
// node, plus its string bytes. Used to charge results the host builds on the spell's behalf.
size_t approxBytes(const Value& v, int depth = 0) {
  if (depth > 256) return 0;
  switch (v.kind()) {
    case ValueKind::kString: return MemoryBudget::kNodeBytes + v.asString().size();
    case ValueKind::kBytes: return MemoryBudget::kNodeBytes + v.asBytes().data.size();
    case ValueKind::kArray: {
      size_t n = MemoryBudget::kNodeBytes;
      for (const auto& e : v.asArray()) n += approxBytes(e, depth + 1);
      return n;
    }
    case ValueKind::kObject: {
      size_t n = MemoryBudget::kNodeBytes;
      for (const auto& [k, e] : v.asObject()) n += MemoryBudget::kNodeBytes + k.size() + approxBytes(e, depth + 1);
      return n;
    }
    default: return MemoryBudget::kNodeBytes;
  }
}
size_t approxBytes(const ojson& j, int depth = 0) {
  if (depth > 256) return 0;
  if (j.is_string()) return MemoryBudget::kNodeBytes + j.get_ref<const std::string&>().size();
  size_t n = MemoryBudget::kNodeBytes;
  if (j.is_object()) {
    for (const auto& [k, e] : j.items()) n += MemoryBudget::kNodeBytes + k.size() + approxBytes(e, depth + 1);
  } else if (j.is_array()) {
    for (const auto& e : j) n += approxBytes(e, depth + 1);
  }
  return n;
}

// A patch or merge patch may come as JSON text: a Lua table cannot hold a null field, and null
// is how RFC 7386 deletes a member and how RFC 6902 sets one.
Value orJsonText(CallContext& cx, const Value& v, const char* what) {
  if (!v.isString()) return v;
  checkJsonDepth(v.asString(), what);
  try {
    return cx.run.memory().decodeBounded(what, 0, [&](size_t maxNodes) { return parseJson(v.asString(), maxNodes); });
  } catch (const Exception& e) {
    if (e.error().code != codes::kInvalidArgument) throw;
    fail(codes::kInvalidArgument, std::string(what) + ": the patch text is not JSON: " + e.error().message);
  }
}

ojson toOrdered(const Value& v) { return ojson::parse(toJsonText(v)); }

Value fromOrdered(CallContext& cx, const ojson& j, const char* what) {
  std::string text = j.dump();
  return cx.run.memory().decodeBounded(what, 0, [&](size_t maxNodes) { return parseJson(text, maxNodes); });
}

// nlohmann's messages start with "[json.exception.out_of_range.403] ": keep the sentence.
std::string plain(const nlohmann::json::exception& e) {
  std::string m = e.what();
  auto close = m.find("] ");
  return close == std::string::npos ? m : m.substr(close + 2);
}

// RFC 6901: "" is the whole document; otherwise "/"-separated tokens with ~1 for '/' and ~0 for
// '~'. Throws invalid_argument for text that is not a pointer.
std::vector<std::string> pointerTokens(const std::string& p, const char* fn) {
  std::vector<std::string> out;
  if (p.empty()) return out;
  if (p[0] != '/')
    fail(codes::kInvalidArgument, std::string(fn) + ": '" + p + "' is not a JSON Pointer (it must be empty or start with '/')");
  size_t i = 1;
  while (true) {
    std::string tok;
    for (; i < p.size() && p[i] != '/'; ++i) {
      if (p[i] != '~') {
        tok += p[i];
        continue;
      }
      char n = i + 1 < p.size() ? p[i + 1] : '\0';
      if (n != '0' && n != '1')
        fail(codes::kInvalidArgument, std::string(fn) + ": '" + p + "' has a '~' not followed by 0 or 1 (write ~0 for '~', ~1 for '/')");
      tok += n == '0' ? '~' : '/';
      ++i;
    }
    out.push_back(std::move(tok));
    // data.set recurses once per token: a pointer of a million '/' must not exhaust the stack.
    if (out.size() > 1000) fail(codes::kInvalidArgument, std::string(fn) + ": the pointer has more than 1000 tokens");
    if (i >= p.size()) break;
    ++i;  // the '/'
  }
  return out;
}

// An array index token: digits without a leading zero (RFC 6901 section 4).
std::optional<size_t> arrayIndex(const std::string& tok) {
  if (tok.empty() || tok.size() > 18 || tok.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  if (tok.size() > 1 && tok[0] == '0') return std::nullopt;
  return static_cast<size_t>(std::stoull(tok));
}

const Value* resolve(const Value& doc, const std::vector<std::string>& toks) {
  const Value* cur = &doc;
  for (const auto& t : toks) {
    if (cur->isObject()) {
      cur = cur->asObject().find(t);
    } else if (cur->isArray()) {
      auto i = arrayIndex(t);
      cur = (i && *i < cur->asArray().size()) ? &cur->asArray()[*i] : nullptr;
    } else {
      cur = nullptr;
    }
    if (!cur) return nullptr;
  }
  return cur;
}

Value setAt(Value doc, const std::vector<std::string>& toks, size_t at, const Value& v, const std::string& ptr) {
  if (at == toks.size()) return v;
  const std::string& t = toks[at];
  if (doc.isNull()) doc = Value::object();  // missing containers are made as objects
  if (doc.isObject()) {
    Value out = Value::object();
    for (const auto& [k, e] : doc.asObject()) out.asObject().set(k, e);
    const Value* child = doc.asObject().find(t);
    out.asObject().set(t, setAt(child ? *child : Value(), toks, at + 1, v, ptr));
    return out;
  }
  if (doc.isArray()) {
    std::vector<Value> items = doc.asArray().items();
    if (t == "-") {
      items.push_back(setAt(Value(), toks, at + 1, v, ptr));
    } else {
      auto i = arrayIndex(t);
      if (!i || *i > items.size())
        fail(codes::kInvalidArgument, "data.set: '" + t + "' in " + ptr + " is not an index of an array of " +
                                          std::to_string(items.size()) + " (use '-' to append)");
      if (*i == items.size()) items.push_back(setAt(Value(), toks, at + 1, v, ptr));
      else items[*i] = setAt(items[*i], toks, at + 1, v, ptr);
    }
    return Value::array(std::move(items));
  }
  fail(codes::kInvalidArgument, "data.set: " + ptr + " goes through a " + std::string(doc.kindName()) +
                                    ", which has no members");
}

enum class ArrayMerge { kReplace, kConcat, kUnion, kByIndex };

Value deepMerge(const Value& a, const Value& b, ArrayMerge arrays, int depth) {
  if (depth > 200) fail(codes::kInvalidArgument, "data.merge: values nested deeper than 200 levels");
  if (a.isObject() && b.isObject()) {
    Value out = Value::object();
    for (const auto& [k, e] : a.asObject()) out.asObject().set(k, e);
    for (const auto& [k, e] : b.asObject()) {
      const Value* old = a.asObject().find(k);
      out.asObject().set(k, old ? deepMerge(*old, e, arrays, depth + 1) : e);
    }
    return out;
  }
  if (a.isArray() && b.isArray() && arrays != ArrayMerge::kReplace) {
    std::vector<Value> items = a.asArray().items();
    const auto& more = b.asArray().items();
    switch (arrays) {
      case ArrayMerge::kConcat: items.insert(items.end(), more.begin(), more.end()); break;
      case ArrayMerge::kUnion:
        for (const auto& e : more)
          if (std::find(items.begin(), items.end(), e) == items.end()) items.push_back(e);
        break;
      case ArrayMerge::kByIndex:
        for (size_t i = 0; i < more.size(); ++i) {
          if (i < items.size()) items[i] = deepMerge(items[i], more[i], arrays, depth + 1);
          else items.push_back(more[i]);
        }
        break;
      case ArrayMerge::kReplace: break;
    }
    return Value::array(std::move(items));
  }
  return b;
}

// Coerces scalars toward the schema's type (strings of numbers and booleans, numbers to
// strings, a lone value to a one-item array), fills `default`s of missing properties, and
// recurses into properties and items. Values it cannot coerce are left for validation to report.
Value coerce(const Value& v, const Value& schema, int depth) {
  if (depth > 100 || !schema.isObject()) return v;
  std::vector<std::string> types;
  const Value& t = schema.get("type");
  if (t.isString()) types.push_back(t.asString());
  if (t.isArray())
    for (const auto& e : t.asArray())
      if (e.isString()) types.push_back(e.asString());
  auto wants = [&](std::string_view k) { return std::find(types.begin(), types.end(), k) != types.end(); };
  auto accepts = [&](const Value& x) {
    if (types.empty()) return true;
    switch (x.kind()) {
      case ValueKind::kNull: return wants("null");
      case ValueKind::kBool: return wants("boolean");
      case ValueKind::kInt: return wants("integer") || wants("number");
      case ValueKind::kDouble: return wants("number") || (wants("integer") && std::floor(x.asDouble()) == x.asDouble());
      case ValueKind::kString: return wants("string");
      case ValueKind::kArray: return wants("array");
      case ValueKind::kObject: return wants("object");
      default: return false;
    }
  };
  Value out = v;
  if (!accepts(out)) {
    if (out.isString()) {
      std::string s = out.asString();
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
      size_t lead = 0;
      while (lead < s.size() && std::isspace(static_cast<unsigned char>(s[lead]))) ++lead;
      s = s.substr(lead);
      char* end = nullptr;
      errno = 0;
      if (wants("integer") && !s.empty()) {
        long long i = std::strtoll(s.c_str(), &end, 10);
        if (*end == '\0' && errno == 0) out = Value(static_cast<int64_t>(i));
      }
      if (out.isString() && wants("number") && !s.empty()) {
        double d = std::strtod(s.c_str(), &end);
        if (*end == '\0' && std::isfinite(d)) out = (std::floor(d) == d && std::fabs(d) < 9e15) ? Value(static_cast<int64_t>(d)) : Value(d);
      }
      if (out.isString() && wants("boolean")) {
        std::string l;
        for (char c : s) l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (l == "true" || l == "yes" || l == "1") out = Value(true);
        else if (l == "false" || l == "no" || l == "0") out = Value(false);
      }
      if (out.isString() && wants("null") && (s.empty() || s == "null")) out = Value();
    } else if (out.isNumber() && wants("string")) {
      out = Value(out.isInt() ? std::to_string(out.asInt()) : toJsonText(out));
    } else if (out.isDouble() && wants("integer") && std::floor(out.asDouble()) == out.asDouble()) {
      out = Value(static_cast<int64_t>(out.asDouble()));
    } else if (out.isBool() && wants("string")) {
      out = Value(out.asBool() ? "true" : "false");
    }
    if (!accepts(out) && !out.isArray() && !out.isNull() && wants("array")) out = Value::array({out});
  }
  if (out.isObject()) {
    const Value& props = schema.get("properties");
    Value copy = Value::object();
    for (const auto& [k, e] : out.asObject()) {
      const Value* ps = props.isObject() ? props.asObject().find(k) : nullptr;
      copy.asObject().set(k, ps ? coerce(e, *ps, depth + 1) : e);
    }
    if (props.isObject())
      for (const auto& [k, ps] : props.asObject())
        if (!copy.asObject().find(k) && ps.isObject() && ps.asObject().find("default"))
          copy.asObject().set(k, ps.get("default"));
    out = copy;
  } else if (out.isArray() && schema.get("items").isObject()) {
    std::vector<Value> items;
    for (const auto& e : out.asArray()) items.push_back(coerce(e, schema.get("items"), depth + 1));
    out = Value::array(std::move(items));
  }
  return out;
}

// RFC 4180 writing: a field is quoted when it holds the delimiter, a quote or a line break (or
// starts or ends with a space, which some readers trim); quotes inside are doubled.
void csvField(std::string& out, const std::string& f, char delim) {
  bool quote = f.find_first_of(std::string("\"\r\n") + delim) != std::string::npos ||
               (!f.empty() && (f.front() == ' ' || f.back() == ' '));
  if (!quote) {
    out += f;
    return;
  }
  out += '"';
  for (char c : f) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csvCell(const Value& v) {
  if (v.isNull()) return "";
  if (v.isString()) return v.asString();
  if (v.isBool()) return v.asBool() ? "true" : "false";
  return toJsonText(v);
}

}  // namespace

void llmspell_register_data(Registry& r) {
  r.fn("data", "extract_json")
      .param("text", R"({"type":"string"})", "text that holds JSON: a model's reply, a log line")
      .returns("the value, or nil when the text holds none")
      .doc("Finds the JSON in text: the whole text, a ```json fenced block, or the first balanced {...} or [...] span "
           "that parses (the extractor structured output uses)")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& text = a[0].asString();
        checkJsonDepth(text, "data.extract_json");
        cx.run.memory().require(text.size() * 2, "the data.extract_json result");
        auto v = llm::extractJson(text);
        return v ? *v : Value();
      });

  r.fn("data", "merge")
      .param("base", R"({})", "the value merged into")
      .param("over", R"({})", "the value whose fields win")
      .opt("opts", R"J({"type":"object","properties":{
              "arrays":{"enum":["replace","concat","union","by_index"],
                        "description":"how two arrays at the same place merge (default replace)"}}})J",
           "{arrays}")
      .returns("a new value; the arguments are not changed")
      .doc("Deep merge: objects merge field by field, recursively; any other value in `over` replaces the one in "
           "`base`, and arrays follow opts.arrays (replace, concat, union: append the items not already present, "
           "by_index: merge item i with item i)")
      .sync([](CallContext& cx, Args a) -> Value {
        std::string how = a[2].getString("arrays", "replace");
        ArrayMerge m = how == "concat" ? ArrayMerge::kConcat
                       : how == "union" ? ArrayMerge::kUnion
                       : how == "by_index" ? ArrayMerge::kByIndex
                                           : ArrayMerge::kReplace;
        cx.run.memory().require(approxBytes(a[0]) + approxBytes(a[1]), "the data.merge result");
        return deepMerge(a[0], a[1], m, 0);
      });

  r.fn("data", "diff")
      .param("from", R"({})", "the original value")
      .param("to", R"({})", "the changed value")
      .returns("a JSON Patch (RFC 6902): a list of {op, path, value?} that turns `from` into `to`")
      .doc("The JSON Patch between two values; data.patch(from, data.diff(from, to)) equals `to`")
      .sync([](CallContext& cx, Args a) -> Value {
        cx.run.memory().require(approxBytes(a[0]) + approxBytes(a[1]), "the data.diff result");
        return fromOrdered(cx, ojson::diff(toOrdered(a[0]), toOrdered(a[1])), "the data.diff result");
      });

  r.fn("data", "patch")
      .param("doc", R"({})", "the value to patch")
      .param("ops", R"({"type":["array","string"]})",
             "a JSON Patch (RFC 6902): a list of {op, path, from?, value?}, or its JSON text (needed for null values in Lua)")
      .returns("the patched value; `doc` is not changed")
      .doc("Applies a JSON Patch: add, remove, replace, move, copy and test. All or nothing: a failed `test` raises "
           "validation_failed, a bad operation or a path that does not exist invalid_argument, naming the operation")
      .sync([](CallContext& cx, Args a) -> Value {
        Value ops = orJsonText(cx, a[1], "data.patch");
        if (!ops.isArray()) fail(codes::kInvalidArgument, "data.patch: ops must be a list of operations, got " + std::string(ops.kindName()));
        ojson doc = toOrdered(a[0]);
        size_t bytes = approxBytes(doc);
        const auto& list = ops.asArray().items();
        for (size_t i = 0; i < list.size(); ++i) {
          const Value& op = list[i];
          std::string name = op.getString("op"), path = op.getString("path");
          std::string where = "data.patch: operation " + std::to_string(i + 1) + " (" + (name.empty() ? "?" : name) +
                              (path.empty() && !op.get("path").isString() ? "" : " " + (path.empty() ? "\"\"" : path)) + ")";
          if (!op.isObject()) fail(codes::kInvalidArgument, where + ": an operation is an object {op, path, ...}");
          ojson j = toOrdered(op);
          // copy duplicates a subtree, so a short patch could double a document per operation:
          // what it adds is charged before it is made.
          if (name == "copy" && j.contains("from") && j["from"].is_string()) {
            try {
              bytes += approxBytes(doc.at(ojson::json_pointer(j["from"].get<std::string>())));
            } catch (const nlohmann::json::exception&) {
              // Reported by the patch below.
            }
          } else if (j.contains("value")) {
            bytes += approxBytes(j["value"]);
          }
          cx.run.memory().require(bytes, "the data.patch result");
          try {
            doc.patch_inplace(ojson::array({std::move(j)}));
          } catch (const nlohmann::json::other_error& e) {
            if (e.id == 501) fail(codes::kValidationFailed, where + ": the test failed: the value at " + path + " differs");
            fail(codes::kInvalidArgument, where + ": " + plain(e));
          } catch (const nlohmann::json::exception& e) {
            fail(codes::kInvalidArgument, where + ": " + plain(e));
          }
        }
        return fromOrdered(cx, doc, "the data.patch result");
      });

  r.fn("data", "merge_patch")
      .param("doc", R"({})", "the value to patch")
      .param("patch", R"({})", "a JSON Merge Patch (RFC 7386), or its JSON text (a null member deletes; Lua needs the text for that)")
      .returns("the patched value; `doc` is not changed")
      .doc("Applies a JSON Merge Patch: objects merge recursively, a null member removes the field, anything else "
           "replaces")
      .sync([](CallContext& cx, Args a) -> Value {
        Value patch = orJsonText(cx, a[1], "data.merge_patch");
        cx.run.memory().require(approxBytes(a[0]) + approxBytes(patch), "the data.merge_patch result");
        ojson doc = toOrdered(a[0]);
        doc.merge_patch(toOrdered(patch));
        return fromOrdered(cx, doc, "the data.merge_patch result");
      });

  r.fn("data", "get")
      .param("doc", R"({})", "the value to read")
      .param("pointer", R"({"type":"string"})", "a JSON Pointer (RFC 6901): \"\" for all, \"/a/0/b\"; ~1 is '/', ~0 is '~'")
      .opt("default", R"({})", "what to return when nothing is there (default nil)")
      .returns("the value at the pointer, or the default")
      .doc("Reads by JSON Pointer; array indexes count from 0 as in JSON")
      .sync([](CallContext&, Args a) -> Value {
        const Value* v = resolve(a[0], pointerTokens(a[1].asString(), "data.get"));
        return v ? *v : a[2];
      });

  r.fn("data", "set")
      .param("doc", R"({})", "the value to change (not changed: a new one is returned)")
      .param("pointer", R"({"type":"string"})", "a JSON Pointer (RFC 6901); '-' as the last token appends to an array")
      .param("value", R"({})", "the value to put there")
      .returns("a new value with `value` at the pointer; missing objects on the way are created")
      .doc("Writes by JSON Pointer and returns the result")
      .sync([](CallContext& cx, Args a) -> Value {
        const std::string& ptr = a[1].asString();
        auto toks = pointerTokens(ptr, "data.set");
        cx.run.memory().require(approxBytes(a[2]) + MemoryBudget::kNodeBytes * (toks.size() + 1), "the data.set result");
        return setAt(a[0], toks, 0, a[2], ptr);
      });

  r.fn("data", "query")
      .param("doc", R"({})", "the value to search")
      .param("path", R"({"type":"string"})",
             "a JSONPath: $, .key, ['key'], [n], [-n], [a:b], [*], .*, .., [a,b], filters [?(@.x > 1 && @.y == 'a')]")
      .returns("the list of matches, in document order")
      .doc("JSONPath queries, the json_query tool's language (a subset of RFC 9535)")
      .sync([](CallContext& cx, Args a) -> Value {
        auto m = tools::jsonQuery(a[0], a[1].asString());
        size_t bytes = 0;
        for (const auto& v : m) bytes += approxBytes(v);
        cx.run.memory().require(bytes, "the data.query result");
        return Value::array(std::move(m));
      });

  r.fn("data", "csv_parse")
      .param("text", R"({"type":"string"})", "CSV text (RFC 4180: quoted fields with \"\" escapes and line breaks; CRLF or LF)")
      .opt("opts", R"J({"type":"object","properties":{
              "header":{"type":"boolean","description":"the first record names the columns (default true)"},
              "delimiter":{"type":"string","minLength":1,"maxLength":1,"description":"default ','"},
              "numbers":{"type":"boolean","description":"cells that are numbers become numbers (default false)"}}})J",
           "{header, delimiter, numbers}")
      .returns("a list of records: objects keyed by column with a header, lists of cells without")
      .doc("Parses CSV; a record with more fields than the header raises invalid_argument")
      .sync([](CallContext& cx, Args a) -> Value {
        cx.run.memory().require(a[0].asString().size() * 4, "the data.csv_parse result");
        Value args = Value::object({{"text", a[0]},
                                    {"header", a[1].getBool("header", true)},
                                    {"delimiter", a[1].getString("delimiter", ",")},
                                    {"numbers", a[1].getBool("numbers", false)}});
        return tools::csvRecords(args, "data.csv_parse").get("rows");
      });

  r.fn("data", "csv_format")
      .param("rows", R"({"type":"array"})", "a list of objects (keyed by column) or of lists of cells")
      .opt("opts", R"J({"type":"object","properties":{
              "columns":{"type":"array","items":{"type":"string"},"description":"column order for object rows (default: keys in order of first appearance)"},
              "header":{"type":"boolean","description":"write the column names first (object rows; default true)"},
              "delimiter":{"type":"string","minLength":1,"maxLength":1,"description":"default ','"},
              "line_end":{"enum":["\r\n","\n"],"description":"default \"\\r\\n\" as RFC 4180 says"}}})J",
           "{columns, header, delimiter, line_end}")
      .returns("CSV text")
      .doc("Writes CSV (RFC 4180): fields with the delimiter, quotes or line breaks are quoted; nil is an empty cell, "
           "other non-strings their JSON text")
      .sync([](CallContext& cx, Args a) -> Value {
        std::string delimS = a[1].getString("delimiter", ",");
        if (delimS.size() != 1 || delimS == "\"" || delimS == "\n" || delimS == "\r")
          fail(codes::kInvalidArgument, "data.csv_format: delimiter must be one character other than a quote or line break");
        char delim = delimS[0];
        std::string eol = a[1].getString("line_end", "\r\n");
        const auto& rows = a[0].asArray().items();
        std::vector<std::string> cols;
        bool objects = !rows.empty() && rows[0].isObject();
        if (a[1].get("columns").isArray()) {
          for (const auto& c : a[1].get("columns").asArray()) cols.push_back(c.asString());
        } else if (objects) {
          for (const auto& row : rows)
            if (row.isObject())
              for (const auto& [k, v] : row.asObject())
                if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
        }
        cx.run.memory().require(approxBytes(a[0]), "the data.csv_format result");
        std::string out;
        auto line = [&](const std::vector<std::string>& cells) {
          for (size_t i = 0; i < cells.size(); ++i) {
            if (i) out += delim;
            csvField(out, cells[i], delim);
          }
          out += eol;
        };
        if (objects && a[1].getBool("header", true)) line(cols);
        for (size_t r = 0; r < rows.size(); ++r) {
          const Value& row = rows[r];
          std::vector<std::string> cells;
          if (row.isObject() && objects) {
            for (const auto& c : cols) cells.push_back(csvCell(row.get(c)));
          } else if (row.isArray() && !objects) {
            for (const auto& c : row.asArray()) cells.push_back(csvCell(c));
          } else {
            fail(codes::kInvalidArgument, "data.csv_format: row " + std::to_string(r + 1) + " is " +
                                              std::string(row.isArray() ? "a list" : row.isObject() ? "an object" : row.kindName()) +
                                              "; rows must all be objects or all be lists");
          }
          line(cells);
        }
        return Value(std::move(out));
      });

  r.fn("data", "coerce")
      .param("value", R"({})", "the value to convert, typically parsed text (form fields, CSV cells, a model's output)")
      .param("schema", R"({"type":"object"})", "a JSON Schema")
      .returns("the converted value, valid against the schema")
      .doc("Converts a value toward a schema: numeric and boolean strings (\"42\", \"true\", \"yes\") to numbers and "
           "booleans, numbers to strings, a lone value to a one-item list, missing properties to their `default`, "
           "recursively; then validates, raising validation_failed with every problem when it still does not fit")
      .sync([](CallContext& cx, Args a) -> Value {
        cx.run.memory().require(approxBytes(a[0]) + approxBytes(a[1]), "the data.coerce result");
        Value out = coerce(a[0], a[1], 0);
        auto errors = validateSchema(out, a[1]);
        if (!errors.empty()) {
          std::string msg = "data.coerce: the value does not fit the schema: ";
          for (size_t i = 0; i < errors.size() && i < 10; ++i) msg += (i ? "; " : "") + errors[i];
          if (errors.size() > 10) msg += "; and " + std::to_string(errors.size() - 10) + " more";
          fail(codes::kValidationFailed, msg);
        }
        return out;
      });
}

}  // namespace llmspell
