// The run's tracer and its OTLP/HTTP JSON form.
#include "llmspell/observe/trace.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/core/random.hpp"

namespace llmspell::observe {
namespace {

bool isHex(std::string_view s, size_t n) {
  if (s.size() != n) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return s.find_first_not_of('0') != std::string_view::npos;  // all-zero ids are invalid
}

uint64_t nowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// Attribute values OTLP can carry: scalars and lists of scalars. Anything else becomes its JSON
// text, so a table given as an attribute is still seen rather than dropped.
Value attrValue(const Value& v) {
  if (v.isString() || v.isBool() || v.isNumber()) return v;
  if (v.isArray()) {
    Value out = Value::array();
    for (const auto& x : v.asArray()) out.asArray().push(x.isString() || x.isBool() || x.isNumber() ? x : Value(toJsonText(x)));
    return out;
  }
  return Value(toJsonText(v));
}

Value anyValue(const Value& v) {
  if (v.isBool()) return Value::object({{"boolValue", v.asBool()}});
  // int64 as a decimal string: JSON numbers lose precision past 2^53 (the OTLP JSON mapping).
  if (v.isInt()) return Value::object({{"intValue", std::to_string(v.asInt())}});
  if (v.isDouble()) return Value::object({{"doubleValue", v.asNumber()}});
  if (v.isArray()) {
    Value vals = Value::array();
    for (const auto& x : v.asArray()) vals.asArray().push(anyValue(x));
    return Value::object({{"arrayValue", Value::object({{"values", vals}})}});
  }
  return Value::object({{"stringValue", v.isString() ? v.asString() : toJsonText(v)}});
}

Value keyValues(const Value& attrs) {
  Value out = Value::array();
  if (!attrs.isObject()) return out;
  for (const auto& [k, v] : attrs.asObject()) out.asArray().push(Value::object({{"key", k}, {"value", anyValue(v)}}));
  return out;
}

std::string percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      unsigned v = 0;
      if (std::sscanf(std::string(s.substr(i + 1, 2)).c_str(), "%2x", &v) == 1) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string_view::npos ? "" : std::string(s.substr(a, b - a + 1));
}

// "k=v,k2=v2" (the OTel environment variables' list form).
std::vector<std::pair<std::string, std::string>> keyValueList(const char* text) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!text) return out;
  std::string_view s(text);
  while (!s.empty()) {
    size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string k = trim(item.substr(0, eq));
      if (!k.empty()) out.emplace_back(k, percentDecode(trim(item.substr(eq + 1))));
    }
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

std::optional<TraceParent> parseTraceparent(std::string_view s) {
  // version 00: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters; a later version may append fields.
  if (s.size() < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-') return std::nullopt;
  if (s.substr(0, 2) == "ff" || (s.substr(0, 2) == "00" && s.size() != 55)) return std::nullopt;
  TraceParent tp;
  tp.traceId = std::string(s.substr(3, 32));
  tp.parentId = std::string(s.substr(36, 16));
  if (!isHex(tp.traceId, 32) || !isHex(tp.parentId, 16)) return std::nullopt;
  unsigned flags = 0;
  if (std::sscanf(std::string(s.substr(53, 2)).c_str(), "%2x", &flags) != 1) return std::nullopt;
  tp.flags = static_cast<uint8_t>(flags);
  return tp;
}

Tracer::Tracer(std::string_view traceparent) {
  if (auto tp = parseTraceparent(traceparent)) {
    traceId_ = tp->traceId;
    remoteParent_ = tp->parentId;
  } else {
    traceId_ = newTraceId();
  }
}

std::string Tracer::newTraceId() {
  return randomHex(16);
}

std::string Tracer::newSpanId() {
  return randomHex(8);
}

std::string Tracer::traceparent() const {
  std::lock_guard lk(mu_);
  std::string parent = !current_.empty() ? current_ : !remoteParent_.empty() ? remoteParent_ : newSpanId();
  return "00-" + traceId_ + "-" + parent + "-01";
}

SpanData* Tracer::find(const std::string& id) {
  for (auto& s : open_)
    if (s.spanId == id) return &s;
  return nullptr;
}

std::string Tracer::start(std::string name, SpanKind kind, const Value& attrs, std::string parent) {
  std::lock_guard lk(mu_);
  std::string id = newSpanId();
  if (open_.size() + ended_.size() + taken_.size() >= kMaxSpans) {
    ++dropped_;
    return id;  // an id nothing knows: attributes and end() on it are ignored
  }
  SpanData s;
  s.traceId = traceId_;
  s.spanId = id;
  s.parentId = !parent.empty() ? std::move(parent) : !current_.empty() ? current_ : remoteParent_;
  s.name = std::move(name);
  s.kind = kind;
  s.startNs = nowNs();
  if (attrs.isObject())
    for (const auto& [k, v] : attrs.asObject())
      if (!v.isNull() && s.attributes.asObject().size() < kMaxAttributes) s.attributes.asObject().set(k, attrValue(v));
  open_.push_back(std::move(s));
  return id;
}

void Tracer::setAttribute(const std::string& span, const std::string& key, const Value& v) {
  std::lock_guard lk(mu_);
  SpanData* s = find(span);
  if (!s || v.isNull()) return;
  auto& a = s->attributes.asObject();
  if (a.size() < kMaxAttributes || a.contains(key)) a.set(key, attrValue(v));
}

void Tracer::addEvent(const std::string& span, std::string name, const Value& attrs) {
  std::lock_guard lk(mu_);
  SpanData* s = find(span);
  if (!s || s->events.asArray().size() >= kMaxEvents) return;
  Value a = Value::object();
  if (attrs.isObject())
    for (const auto& [k, v] : attrs.asObject())
      if (!v.isNull()) a.asObject().set(k, attrValue(v));
  s->events.asArray().push(Value::object({{"name", std::move(name)}, {"ts_ns", std::to_string(nowNs())}, {"attributes", a}}));
}

void Tracer::end(const std::string& span, const std::string& errorType, const std::string& message) {
  std::unique_lock lk(mu_);
  auto it = std::find_if(open_.begin(), open_.end(), [&](const SpanData& s) { return s.spanId == span; });
  if (it == open_.end()) return;
  it->endNs = std::max(nowNs(), it->startNs);
  if (!errorType.empty()) {
    it->status = 2;
    it->statusMessage = message;
    it->attributes.asObject().set("error.type", errorType);
  } else {
    it->status = 1;
  }
  ended_.push_back(std::move(*it));
  open_.erase(it);
  if (current_ == span) current_ = ended_.back().parentId == remoteParent_ ? "" : ended_.back().parentId;
  if (onBatch_ && batchSize_ > 0 && ended_.size() == batchSize_) {
    auto fn = onBatch_;
    lk.unlock();
    fn();
  }
}

void Tracer::onBatch(size_t batchSize, std::function<void()> fn) {
  std::lock_guard lk(mu_);
  batchSize_ = batchSize;
  onBatch_ = std::move(fn);
}

std::string genAiProviderName(std::string_view provider) {
  if (provider == "gemini") return "gcp.gemini";
  return std::string(provider);
}

std::string Tracer::current() const {
  std::lock_guard lk(mu_);
  return current_;
}

std::string Tracer::swapCurrent(std::string span) {
  std::lock_guard lk(mu_);
  std::swap(current_, span);
  return span;
}

void Tracer::leave(const std::string& span) {
  std::lock_guard lk(mu_);
  if (current_ != span) return;
  current_.clear();
  for (const auto& s : open_)
    if (s.spanId == span && s.parentId != remoteParent_) current_ = s.parentId;
  for (const auto& s : ended_)
    if (s.spanId == span && s.parentId != remoteParent_) current_ = s.parentId;
}

std::vector<SpanData> Tracer::takeEnded(size_t max) {
  std::lock_guard lk(mu_);
  size_t n = std::min(max, ended_.size());
  std::vector<SpanData> out(std::make_move_iterator(ended_.begin()), std::make_move_iterator(ended_.begin() + n));
  ended_.erase(ended_.begin(), ended_.begin() + n);
  taken_.insert(taken_.end(), out.begin(), out.end());
  return out;
}

std::vector<SpanData> Tracer::spans() const {
  std::lock_guard lk(mu_);
  std::vector<SpanData> all(taken_);
  all.insert(all.end(), ended_.begin(), ended_.end());
  all.insert(all.end(), open_.begin(), open_.end());
  std::stable_sort(all.begin(), all.end(), [](const SpanData& a, const SpanData& b) { return a.startNs < b.startNs; });
  return all;
}

size_t Tracer::endedCount() const {
  std::lock_guard lk(mu_);
  return ended_.size();
}

uint64_t Tracer::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}

Value resourceAttributes(const Value& extra) {
  Value a = Value::object();
  for (auto& [k, v] : keyValueList(env("OTEL_RESOURCE_ATTRIBUTES"))) a.asObject().set(k, v);
  if (const char* svc = env("OTEL_SERVICE_NAME")) a.asObject().set("service.name", svc);
  if (a.get("service.name").isNull()) a.asObject().set("service.name", "llmspell");
  a.asObject().set("telemetry.sdk.name", "llmspell");
  a.asObject().set("telemetry.sdk.language", "cpp");
  if (extra.isObject())
    for (const auto& [k, v] : extra.asObject()) a.asObject().set(k, v);
  return a;
}

Value otlpRequest(const std::vector<SpanData>& spans, const Value& resource) {
  Value list = Value::array();
  for (const auto& s : spans) {
    Value o = Value::object({{"traceId", s.traceId}, {"spanId", s.spanId}, {"name", s.name}, {"kind", static_cast<int>(s.kind)},
                             {"startTimeUnixNano", std::to_string(s.startNs)},
                             {"endTimeUnixNano", std::to_string(s.endNs ? s.endNs : s.startNs)},
                             {"attributes", keyValues(s.attributes)}});
    if (!s.parentId.empty()) o.asObject().set("parentSpanId", s.parentId);
    if (s.events.isArray() && !s.events.asArray().empty()) {
      Value evs = Value::array();
      for (const auto& e : s.events.asArray())
        evs.asArray().push(Value::object({{"timeUnixNano", e.get("ts_ns")}, {"name", e.get("name")}, {"attributes", keyValues(e.get("attributes"))}}));
      o.asObject().set("events", evs);
    }
    Value status = Value::object({{"code", s.status}});
    if (!s.statusMessage.empty()) status.asObject().set("message", s.statusMessage);
    o.asObject().set("status", status);
    list.asArray().push(o);
  }
  Value scope = Value::object({{"scope", Value::object({{"name", "llmspell"}})}, {"spans", list}});
  return Value::object({{"resourceSpans", Value::array({Value::object({{"resource", Value::object({{"attributes", keyValues(resource)}})},
                                                                        {"scopeSpans", Value::array({scope})}})})}});
}

std::string otlpTracesEndpoint(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* t = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) return t;
  if (const char* b = env("OTEL_EXPORTER_OTLP_ENDPOINT")) {
    std::string base = b;
    while (!base.empty() && base.back() == '/') base.pop_back();
    return base + "/v1/traces";
  }
  return "";
}

std::vector<std::pair<std::string, std::string>> otlpHeaders() {
  if (const char* t = env("OTEL_EXPORTER_OTLP_TRACES_HEADERS")) return keyValueList(t);
  return keyValueList(env("OTEL_EXPORTER_OTLP_HEADERS"));
}

}  // namespace llmspell::observe
