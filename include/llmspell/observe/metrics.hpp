// Metrics: counters, gauges and histograms with labels, in one process-wide registry that spells
// write through the `metrics` namespace and that the Prometheus text exposition format reads
// (metrics.prometheus(), and the service's /metrics when it exists). Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell::observe {

enum class MetricType { kCounter, kGauge, kHistogram };

class Metrics {
 public:
  // Cardinality bounds: a label taking unbounded values (a user id, a prompt) would otherwise
  // grow the registry without end. Past them, limit_exceeded.
  static constexpr size_t kMaxFamilies = 1000;
  static constexpr size_t kMaxSeriesPerFamily = 1000;
  static constexpr size_t kMaxBuckets = 64;
  // Prometheus client libraries' default buckets (seconds).
  static const std::vector<double>& defaultBuckets();

  struct Family;
  using FamilyPtr = std::shared_ptr<Family>;

  // The process's registry.
  static Metrics& global();

  // Declares a metric, or returns the one declared earlier under `name` when type and label
  // names agree (a help text or buckets given later are ignored). Throws invalid_argument for a
  // name or label name Prometheus does not accept, a reserved label (`le` on a histogram,
  // `__`-prefixed), unsorted buckets, or a redeclaration that disagrees.
  FamilyPtr declare(MetricType type, const std::string& name, const std::string& help,
                    const std::vector<std::string>& labelNames, const std::vector<double>& buckets = {});
  // Looks a metric up; nullptr when not declared.
  FamilyPtr find(const std::string& name) const;

  // Label values by name (an object of strings, numbers or booleans); every declared label must
  // be given and no other. Throws invalid_argument otherwise.
  // Counter: v >= 0. Gauge: add may be negative. Histogram: observe.
  void add(Family& f, const Value& labels, double v);
  void set(Family& f, const Value& labels, double v);
  void observe(Family& f, const Value& labels, double v);
  // The same with the label values given in the order the labels were declared (the host's own
  // metrics, on a hot path: no object of names to build and match). Throws invalid_argument for
  // a count that does not match.
  void addValues(Family& f, std::vector<std::string> labelValues, double v);
  void observeValues(Family& f, std::vector<std::string> labelValues, double v);
  // Throws as the updates do when `labels` do not fit `f`.
  void checkLabels(const Family& f, const Value& labels) const;

  // {name = {type, help, labels = {...}, series = {{labels = {...}, value} | {labels, count, sum,
  // buckets = {{le, count}...}}}}}, families and series in declaration order.
  Value snapshot() const;
  // The text exposition format, version 0.0.4.
  std::string prometheus() const;

  // For tests: forgets every metric.
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<FamilyPtr> families_;
  std::map<std::string, FamilyPtr, std::less<>> byName_;
};

struct Metrics::Family {
  MetricType type;
  std::string name, help;
  std::vector<std::string> labelNames;
  std::vector<double> buckets;  // upper bounds, increasing, +Inf implied
  struct Series {
    std::vector<std::string> labelValues;
    double value = 0;                   // counter, gauge
    std::vector<uint64_t> bucketCounts;  // histogram: per bucket (not cumulative), +Inf last
    uint64_t count = 0;
    double sum = 0;
  };
  std::vector<Series> series;  // in order of first use
  std::map<std::vector<std::string>, size_t> index;
};

}  // namespace llmspell::observe
