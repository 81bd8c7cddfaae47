// `metrics` namespace: counters, gauges and histograms with labels (observe/metrics.hpp), read
// back as a table or as Prometheus text.
#include <chrono>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/observe/metrics.hpp"
#include "llmspell/runtime/promise.hpp"

namespace llmspell {
namespace {

using observe::Metrics;
using observe::MetricType;

class MetricHandle : public HostObject {
 public:
  explicit MetricHandle(Metrics::FamilyPtr f) : family(std::move(f)) {}
  std::string_view typeName() const override {
    switch (family->type) {
      case MetricType::kCounter: return "counter";
      case MetricType::kGauge: return "gauge";
      case MetricType::kHistogram: return "histogram";
    }
    return "counter";
  }
  Metrics::FamilyPtr family;
};

Metrics::Family& familyOf(const Value& v) {
  auto* h = v.isHandle() ? dynamic_cast<MetricHandle*>(v.asHandle().get()) : nullptr;
  if (!h) fail(codes::kInvalidArgument, "expected a metric made by metrics.counter, metrics.gauge or metrics.histogram");
  return *h->family;
}

std::vector<std::string> labelNames(const Value& opts) {
  std::vector<std::string> out;
  if (opts.get("labels").isArray())
    for (const auto& l : opts.get("labels").asArray()) out.push_back(l.asString());
  return out;
}

Value declare(MetricType t, Args a) {
  std::vector<double> buckets;
  if (a[1].get("buckets").isArray())
    for (const auto& b : a[1].get("buckets").asArray()) buckets.push_back(b.asNumber());
  return Value(HostObjectPtr(std::make_shared<MetricHandle>(
      Metrics::global().declare(t, a[0].asString(), a[1].getString("help"), labelNames(a[1]), buckets))));
}

constexpr const char* kDeclOpts = R"({"type":"object","properties":{
    "help":{"type":"string","description":"one line on what it measures"},
    "labels":{"type":"array","items":{"type":"string"},"description":"label names; every update gives a value for each"}}})";
constexpr const char* kHistOpts = R"({"type":"object","properties":{
    "help":{"type":"string","description":"one line on what it measures"},
    "labels":{"type":"array","items":{"type":"string"},"description":"label names; every update gives a value for each"},
    "buckets":{"type":"array","items":{"type":"number"},"maxItems":64,"description":"upper bounds, increasing default 0.005 to 10, for seconds"}}})";
constexpr const char* kLabels = R"({"type":"object","additionalProperties":{"type":["string","number","boolean"]}})";

}  // namespace

void llmspell_register_metrics(Registry& r) {
  r.type("counter", "A metric that only goes up: inc");
  r.type("gauge", "A metric that is set, or goes up and down: set, inc, dec");
  r.type("histogram", "A distribution of observed values in buckets: observe");

  r.fn("metrics", "counter")
      .param("name", R"({"type":"string"})", "Prometheus name: letters, digits, '_' and ':' (e.g. orders_total)")
      .opt("opts", kDeclOpts, "{help, labels}")
      .returns("counter")
      .doc("Declares a counter, or returns the one declared earlier under this name (same type and labels)")
      .sync([](CallContext&, Args a) { return declare(MetricType::kCounter, a); });
  r.fn("metrics", "gauge")
      .param("name", R"({"type":"string"})", "Prometheus name")
      .opt("opts", kDeclOpts, "{help, labels}")
      .returns("gauge")
      .doc("Declares a gauge, or returns the one declared earlier under this name")
      .sync([](CallContext&, Args a) { return declare(MetricType::kGauge, a); });
  r.fn("metrics", "histogram")
      .param("name", R"({"type":"string"})", "Prometheus name")
      .opt("opts", kHistOpts, "{help, labels, buckets}")
      .returns("histogram")
      .doc("Declares a histogram, or returns the one declared earlier under this name")
      .sync([](CallContext&, Args a) { return declare(MetricType::kHistogram, a); });

  r.method("counter", "inc")
      .param("self", R"({"type":"handle"})")
      .opt("value", R"({"type":"number","minimum":0})", "how much (default 1)")
      .opt("labels", kLabels, "a value for each declared label")
      .returns("nil")
      .doc("Adds to the counter")
      .sync([](CallContext&, Args a) -> Value {
        Metrics::global().add(familyOf(a[0]), a[2], a[1].isNull() ? 1.0 : a[1].asNumber());
        return Value();
      });
  r.method("gauge", "set")
      .param("self", R"({"type":"handle"})")
      .param("value", R"({"type":"number"})")
      .opt("labels", kLabels, "a value for each declared label")
      .returns("nil")
      .doc("Sets the gauge")
      .sync([](CallContext&, Args a) -> Value {
        Metrics::global().set(familyOf(a[0]), a[2], a[1].asNumber());
        return Value();
      });
  r.method("gauge", "inc")
      .param("self", R"({"type":"handle"})")
      .opt("value", R"({"type":"number"})", "how much (default 1)")
      .opt("labels", kLabels, "a value for each declared label")
      .returns("nil")
      .doc("Adds to the gauge")
      .sync([](CallContext&, Args a) -> Value {
        Metrics::global().add(familyOf(a[0]), a[2], a[1].isNull() ? 1.0 : a[1].asNumber());
        return Value();
      });
  r.method("gauge", "dec")
      .param("self", R"({"type":"handle"})")
      .opt("value", R"({"type":"number"})", "how much (default 1)")
      .opt("labels", kLabels, "a value for each declared label")
      .returns("nil")
      .doc("Subtracts from the gauge")
      .sync([](CallContext&, Args a) -> Value {
        Metrics::global().add(familyOf(a[0]), a[2], -(a[1].isNull() ? 1.0 : a[1].asNumber()));
        return Value();
      });
  r.method("histogram", "observe")
      .param("self", R"({"type":"handle"})")
      .param("value", R"({"type":"number"})")
      .opt("labels", kLabels, "a value for each declared label")
      .returns("nil")
      .doc("Records one value")
      .sync([](CallContext&, Args a) -> Value {
        Metrics::global().observe(familyOf(a[0]), a[2], a[1].asNumber());
        return Value();
      });

  r.fn("metrics", "time")
      .param("name", R"({"type":"string"})", "a histogram's name (declared with default buckets if new)")
      .param("fn", R"({"type":"function"})", "the work to time; it may wait")
      .opt("labels", kLabels, "a value for each of the histogram's labels")
      .returns("what fn returns")
      .doc("Runs fn and records its duration in seconds in the histogram, whether it returns or raises")
      .async([](CallContext&, Args a) -> PromisePtr {
        auto family = Metrics::global().find(a[0].asString());
        if (!family) family = Metrics::global().declare(MetricType::kHistogram, a[0].asString(), "", {});
        Metrics::global().checkLabels(*family, a[2]);  // before the work runs, not after
        auto start = std::chrono::steady_clock::now();
        auto out = Promise::create();
        a[1].asFunction()->call({})->onSettle([family, labels = a[2], start, out](const Promise& p) {
          double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
          try {
            Metrics::global().observe(*family, labels, secs);
          } catch (...) {
            // The labels were checked before the work ran; a failure here would hide fn's outcome.
          }
          if (p.fulfilled()) out->resolve(p.value());
          else out->reject(p.error());
        });
        return out;
      });

  r.fn("metrics", "snapshot")
      .returns("table: by metric name, {type, help, labels, series}; a series is {labels, value}, or for a histogram {labels, count, sum, buckets = {{le, count}, ...}}")
      .doc("Every metric of this process and its current values")
      .sync([](CallContext&, Args) { return Metrics::global().snapshot(); });
  r.fn("metrics", "prometheus")
      .returns("string")
      .doc("Every metric in the Prometheus text exposition format (what a /metrics endpoint serves)")
      .sync([](CallContext&, Args) { return Value(Metrics::global().prometheus()); });
}

}  // namespace llmspell
