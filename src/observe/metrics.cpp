// The metrics registry and its Prometheus text exposition.
#include "llmspell/observe/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "llmspell/core/error.hpp"

namespace llmspell::observe {
namespace {

bool validName(const std::string& n, bool metric) {
  if (n.empty()) return false;
  auto ok = [&](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':') ||
           (!first && c >= '0' && c <= '9');
  };
  for (size_t i = 0; i < n.size(); ++i)
    if (!ok(n[i], i == 0)) return false;
  return true;
}

const char* typeName(MetricType t) {
  switch (t) {
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
  }
  return "untyped";
}

// Prometheus numbers: integral values without a fraction, others in the shortest form that
// reads back the same; +Inf, -Inf, NaN spelled as the format wants.
std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::floor(v) == v && std::fabs(v) < 1e15) {
    char b[32];
    std::snprintf(b, sizeof b, "%.0f", v);
    return b;
  }
  char b[32];
  for (int prec = 15; prec <= 17; ++prec) {
    std::snprintf(b, sizeof b, "%.*g", prec, v);
    if (std::strtod(b, nullptr) == v) break;
  }
  return b;
}

// Label values escape backslash, double quote and line feed; HELP text backslash and line feed.
std::string escape(const std::string& s, bool quote) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (quote && c == '"') out += "\\\"";
    else out += c;
  }
  return out;
}

std::string labelText(const Value& v, const std::string& name, const std::string& metric) {
  if (v.isString()) return v.asString();
  if (v.isBool()) return v.asBool() ? "true" : "false";
  if (v.isInt()) return std::to_string(v.asInt());
  if (v.isDouble()) return number(v.asDouble());
  fail(codes::kInvalidArgument, "metric " + metric + ": label " + name + " must be a string, number or boolean, got " +
                                    std::string(v.kindName()));
}

// Whole values read as integers in every language (3, not 3.0); others stay numbers.
Value numberValue(double v) {
  bool whole = std::floor(v) == v && std::fabs(v) < 9e15;
  return whole ? Value(static_cast<int64_t>(v)) : Value(v);
}

}  // namespace

const std::vector<double>& Metrics::defaultBuckets() {
  static const std::vector<double> b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

Metrics& Metrics::global() {
  static auto* m = new Metrics;  // leaked: read at exit by whoever prints the metrics last
  return *m;
}

Metrics::FamilyPtr Metrics::declare(MetricType type, const std::string& name, const std::string& help,
                                    const std::vector<std::string>& labelNames, const std::vector<double>& buckets) {
  if (!validName(name, true) || name.starts_with("__"))
    fail(codes::kInvalidArgument, "metric name '" + name +
                                      "' is not valid: letters, digits, '_' and ':', not starting with a digit or '__'");
  for (const auto& l : labelNames) {
    if (!validName(l, false) || l.starts_with("__"))
      fail(codes::kInvalidArgument, "metric " + name + ": label name '" + l +
                                        "' is not valid: letters, digits and '_', not starting with a digit or '__'");
    if (type == MetricType::kHistogram && l == "le")
      fail(codes::kInvalidArgument, "metric " + name + ": 'le' is the histogram's own bucket label");
    if (std::count(labelNames.begin(), labelNames.end(), l) > 1)
      fail(codes::kInvalidArgument, "metric " + name + ": label '" + l + "' is named twice");
  }
  std::vector<double> b = type == MetricType::kHistogram ? (buckets.empty() ? defaultBuckets() : buckets) : std::vector<double>{};
  if (!b.empty() && std::isinf(b.back()) && b.back() > 0) b.pop_back();  // +Inf is implied
  if (b.size() > kMaxBuckets) fail(codes::kInvalidArgument, "metric " + name + ": more than 64 buckets");
  for (size_t i = 0; i < b.size(); ++i)
    if (!std::isfinite(b[i]) || (i > 0 && b[i] <= b[i - 1]))
      fail(codes::kInvalidArgument, "metric " + name + ": buckets must be finite and increasing");

  std::lock_guard g(mu_);
  if (auto it = byName_.find(name); it != byName_.end()) {
    const Family& f = *it->second;
    if (f.type != type || f.labelNames != labelNames) {
      std::string had;
      for (const auto& l : f.labelNames) had += (had.empty() ? "" : ", ") + l;
      fail(codes::kInvalidArgument, "metric " + name + " is already a " + typeName(f.type) + " with labels {" + had +
                                        "}; a metric keeps its type and label names");
    }
    return it->second;
  }
  if (families_.size() >= kMaxFamilies)
    fail(codes::kLimitExceeded, "more than " + std::to_string(kMaxFamilies) + " metrics declared");
  auto f = std::make_shared<Family>();
  f->type = type;
  f->name = name;
  f->help = help;
  f->labelNames = labelNames;
  f->buckets = std::move(b);
  families_.push_back(f);
  byName_.emplace(name, f);
  return f;
}

Metrics::FamilyPtr Metrics::find(const std::string& name) const {
  std::lock_guard g(mu_);
  auto it = byName_.find(name);
  return it == byName_.end() ? nullptr : it->second;
}

namespace {
std::vector<std::string> labelValues(const Metrics::Family& f, const Value& labels) {
  std::vector<std::string> values;
  values.reserve(f.labelNames.size());
  if (!labels.isNull() && !labels.isObject())
    fail(codes::kInvalidArgument, "metric " + f.name + ": labels must be a table of name = value");
  for (const auto& n : f.labelNames) {
    const Value* v = labels.isObject() ? labels.asObject().find(n) : nullptr;
    if (!v || v->isNull()) fail(codes::kInvalidArgument, "metric " + f.name + ": label " + n + " is missing");
    values.push_back(labelText(*v, n, f.name));
  }
  if (labels.isObject())
    for (const auto& [k, v] : labels.asObject())
      if (std::find(f.labelNames.begin(), f.labelNames.end(), k) == f.labelNames.end())
        fail(codes::kInvalidArgument, "metric " + f.name + " has no label " + k + " (declare it with the metric)");
  return values;
}

// The series of `f` for these label values (in declared order), made on first use. Needs the
// registry's lock.
Metrics::Family::Series& seriesForValues(Metrics::Family& f, std::vector<std::string> values) {
  if (values.size() != f.labelNames.size())
    fail(codes::kInvalidArgument, "metric " + f.name + " has " + std::to_string(f.labelNames.size()) + " labels, not " +
                                      std::to_string(values.size()));
  if (auto it = f.index.find(values); it != f.index.end()) return f.series[it->second];
  if (f.series.size() >= Metrics::kMaxSeriesPerFamily)
    fail(codes::kLimitExceeded, "metric " + f.name + " has more than " + std::to_string(Metrics::kMaxSeriesPerFamily) +
                                    " label combinations: a label with unbounded values (ids, text) does not belong in a metric");
  f.index.emplace(values, f.series.size());
  auto& s = f.series.emplace_back();
  s.labelValues = std::move(values);
  if (f.type == MetricType::kHistogram) s.bucketCounts.assign(f.buckets.size() + 1, 0);
  return s;
}

Metrics::Family::Series& seriesFor(Metrics::Family& f, const Value& labels) {
  return seriesForValues(f, labelValues(f, labels));
}

void checkFinite(const Metrics::Family& f, double v) {
  if (std::isnan(v)) fail(codes::kInvalidArgument, "metric " + f.name + ": the value is NaN");
}
}  // namespace

void Metrics::checkLabels(const Family& f, const Value& labels) const { labelValues(f, labels); }

namespace {
void checkAdd(const Metrics::Family& f, double v) {
  checkFinite(f, v);
  if (f.type == MetricType::kHistogram) fail(codes::kInvalidArgument, "metric " + f.name + " is a histogram: observe values");
  if (f.type == MetricType::kCounter && v < 0)
    fail(codes::kInvalidArgument, "counter " + f.name + " only goes up; use a gauge for a value that goes down");
}
void checkObserve(const Metrics::Family& f, double v) {
  checkFinite(f, v);
  if (f.type != MetricType::kHistogram) fail(codes::kInvalidArgument, "metric " + f.name + " is not a histogram");
}
}  // namespace

void Metrics::add(Family& f, const Value& labels, double v) {
  checkAdd(f, v);
  addValues(f, labelValues(f, labels), v);
}

void Metrics::addValues(Family& f, std::vector<std::string> values, double v) {
  checkAdd(f, v);
  std::lock_guard g(mu_);
  seriesForValues(f, std::move(values)).value += v;
}

void Metrics::set(Family& f, const Value& labels, double v) {
  checkFinite(f, v);
  if (f.type != MetricType::kGauge) fail(codes::kInvalidArgument, "metric " + f.name + " is not a gauge: only gauges are set");
  std::lock_guard g(mu_);
  seriesFor(f, labels).value = v;
}

void Metrics::observe(Family& f, const Value& labels, double v) {
  checkObserve(f, v);
  observeValues(f, labelValues(f, labels), v);
}

void Metrics::observeValues(Family& f, std::vector<std::string> values, double v) {
  checkObserve(f, v);
  std::lock_guard g(mu_);
  auto& s = seriesForValues(f, std::move(values));
  size_t i = std::lower_bound(f.buckets.begin(), f.buckets.end(), v) - f.buckets.begin();  // first bound >= v
  ++s.bucketCounts[i];
  ++s.count;
  s.sum += v;
}

Value Metrics::snapshot() const {
  std::lock_guard g(mu_);
  Value out = Value::object();
  for (const auto& f : families_) {
    Value series = Value::array();
    for (const auto& s : f->series) {
      Value labels = Value::object();
      for (size_t i = 0; i < f->labelNames.size(); ++i) labels.asObject().set(f->labelNames[i], s.labelValues[i]);
      Value e = Value::object({{"labels", labels}});
      if (f->type == MetricType::kHistogram) {
        Value buckets = Value::array();
        uint64_t cum = 0;
        for (size_t i = 0; i <= f->buckets.size(); ++i) {
          cum += s.bucketCounts[i];
          Value le = i < f->buckets.size() ? Value(f->buckets[i]) : Value("+Inf");
          buckets.asArray().push(Value::object({{"le", le}, {"count", static_cast<int64_t>(cum)}}));
        }
        e.asObject().set("count", static_cast<int64_t>(s.count));
        e.asObject().set("sum", numberValue(s.sum));
        e.asObject().set("buckets", buckets);
      } else {
        e.asObject().set("value", numberValue(s.value));
      }
      series.asArray().push(e);
    }
    Value names = Value::array();
    for (const auto& l : f->labelNames) names.asArray().push(l);
    out.asObject().set(f->name, Value::object({{"type", typeName(f->type)},
                                               {"help", f->help},
                                               {"labels", names},
                                               {"series", series}}));
  }
  return out;
}

std::string Metrics::prometheus() const {
  std::lock_guard g(mu_);
  std::string out;
  for (const auto& f : families_) {
    if (!f->help.empty()) out += "# HELP " + f->name + " " + escape(f->help, false) + "\n";
    out += "# TYPE " + f->name + " " + typeName(f->type) + "\n";
    for (const auto& s : f->series) {
      std::string labels;
      for (size_t i = 0; i < f->labelNames.size(); ++i)
        labels += (labels.empty() ? "" : ",") + f->labelNames[i] + "=\"" + escape(s.labelValues[i], true) + "\"";
      if (f->type != MetricType::kHistogram) {
        out += f->name + (labels.empty() ? "" : "{" + labels + "}") + " " + number(s.value) + "\n";
        continue;
      }
      uint64_t cum = 0;
      for (size_t i = 0; i <= f->buckets.size(); ++i) {
        cum += s.bucketCounts[i];
        std::string le = i < f->buckets.size() ? number(f->buckets[i]) : "+Inf";
        out += f->name + "_bucket{" + labels + (labels.empty() ? "" : ",") + "le=\"" + le + "\"} " + std::to_string(cum) + "\n";
      }
      std::string braces = labels.empty() ? "" : "{" + labels + "}";
      out += f->name + "_sum" + braces + " " + number(s.sum) + "\n";
      out += f->name + "_count" + braces + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

void Metrics::clear() {
  std::lock_guard g(mu_);
  families_.clear();
  byName_.clear();
}

}  // namespace llmspell::observe
