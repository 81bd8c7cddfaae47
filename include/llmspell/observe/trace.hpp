// Tracing: the spans of one run (the spell's own, through the `trace` namespace, and the ones the
// runtime opens for model calls, tool calls and agent runs, named and attributed after the
// OpenTelemetry GenAI semantic conventions), read back as OTLP/HTTP JSON for a collector.
//
// A run has one trace id: the caller's when it passes a W3C `traceparent` (the run's spans then
// hang under the caller's span), else a random one. A span's parent is the run's *current* span
// when it starts. trace.span makes its span current while its function runs, until it settles;
// an agent makes its span current while it calls out (its model and tool calls). Spell tasks
// that overlap (spawn) share one current span, so a span one of them opens while another's
// span is current nests under that one: the trace shows the order things happened in, not
// always which task did them.
//
// Thread-safety: one mutex; the bridge uses it from the run's loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"

namespace llmspell::observe {

// OTLP's SpanKind numbers.
enum class SpanKind : int { kInternal = 1, kServer = 2, kClient = 3 };

struct SpanData {
  std::string traceId, spanId, parentId, name;
  SpanKind kind = SpanKind::kInternal;
  uint64_t startNs = 0, endNs = 0;  // Unix epoch nanoseconds
  Value attributes = Value::object();
  Value events = Value::array();  // {name, ts_ns, attributes}
  int status = 0;                 // OTLP status code: 0 unset, 1 ok, 2 error
  std::string statusMessage;
};

// A parsed W3C traceparent "00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>";
// nullopt when malformed or all-zero ids.
struct TraceParent {
  std::string traceId, parentId;
  uint8_t flags = 1;
};
std::optional<TraceParent> parseTraceparent(std::string_view s);

class Tracer : public std::enable_shared_from_this<Tracer> {
 public:
  // The most spans a run keeps for export; later ones are counted in dropped() instead, so a
  // loop that opens spans forever does not grow the process without end.
  static constexpr size_t kMaxSpans = 10000;
  static constexpr size_t kMaxAttributes = 128;  // per span (OTLP's default limit)
  static constexpr size_t kMaxEvents = 128;      // per span

  // `traceparent`: the caller's W3C header; empty or malformed starts a new trace.
  explicit Tracer(std::string_view traceparent = "");

  const std::string& traceId() const { return traceId_; }
  // The caller's span id from the traceparent ("" when none): the parent of the run's roots.
  const std::string& remoteParent() const { return remoteParent_; }
  // "00-<trace id>-<current span or remote parent>-01", to pass on to a callee.
  std::string traceparent() const;

  // Opens a span under `parent` ("" = the current span, or the remote parent) and returns its
  // id. Attributes: an object of strings, numbers, booleans and lists of those.
  std::string start(std::string name, SpanKind kind = SpanKind::kInternal, const Value& attrs = {},
                    std::string parent = "");
  // On an open span; ignored for an unknown or ended one.
  void setAttribute(const std::string& span, const std::string& key, const Value& v);
  void addEvent(const std::string& span, std::string name, const Value& attrs = {});
  // Ends a span: with `errorType` set, its status is error and `error.type` is that (the
  // semantic conventions' attribute), `message` the status message; else its status is ok.
  void end(const std::string& span, const std::string& errorType = "", const std::string& message = "");

  // The current span ("" = none).
  std::string current() const;
  // Makes `span` current and returns the one it replaces (to put back).
  std::string swapCurrent(std::string span);
  // When `span` is still current, makes its parent current (a span whose work ended).
  void leave(const std::string& span);

  // Ended spans not yet taken, oldest first, at most `max`; they are gone from here after.
  std::vector<SpanData> takeEnded(size_t max = SIZE_MAX);
  // Every span so far, ended or open (open ones with endNs 0), in start order.
  std::vector<SpanData> spans() const;
  size_t endedCount() const;
  uint64_t dropped() const;

  // Called (on the thread that ended the span, outside the tracer's lock) when `batchSize`
  // ended spans are waiting: the exporter sends a batch without waiting for the run's end.
  void onBatch(size_t batchSize, std::function<void()> fn);

  // Random ids from libsodium: 16 bytes (32 hex) and 8 bytes (16 hex).
  static std::string newTraceId();
  static std::string newSpanId();

 private:
  SpanData* find(const std::string& id);

  mutable std::mutex mu_;
  std::string traceId_, remoteParent_, current_;
  std::vector<SpanData> open_;   // in start order
  std::vector<SpanData> ended_;  // not yet taken
  std::vector<SpanData> taken_;  // taken already (spans() still shows them)
  uint64_t dropped_ = 0;
  size_t batchSize_ = 0;
  std::function<void()> onBatch_;
};

// The tracer of a run: a RunContext service (the runner attaches one with the caller's
// traceparent; made on first use otherwise). `Run` is any type with RunContext's service API.
template <typename Run>
Tracer& tracerFor(Run& run) {
  return run.template service<Tracer>([] { return std::make_shared<Tracer>(); });
}

// gen_ai.provider.name for a provider prefix of a model name ("gemini" -> "gcp.gemini"; the
// others are spelled as the conventions spell them already: "openai", "anthropic", "ollama").
std::string genAiProviderName(std::string_view provider);

// Resource attributes for a run: service.name ($OTEL_SERVICE_NAME or "llmspell"), plus
// $OTEL_RESOURCE_ATTRIBUTES (k=v,k=v) and `extra`.
Value resourceAttributes(const Value& extra = {});

// An ExportTraceServiceRequest in OTLP/HTTP JSON: {resourceSpans = [{resource = {attributes},
// scopeSpans = [{scope = {name = "llmspell", version}, spans}]}]}, with ids in hex, times as
// decimal strings of nanoseconds and attributes as typed AnyValues ({stringValue}, {intValue}
// (a decimal string), {doubleValue}, {boolValue}, {arrayValue = {values}}).
Value otlpRequest(const std::vector<SpanData>& spans, const Value& resource);

// Where the operator wants spans sent, from the standard variables:
// $OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as given, else $OTEL_EXPORTER_OTLP_ENDPOINT + "/v1/traces";
// "" when neither is set. `flag` (the CLI's --otlp-endpoint) wins over both and is used as given.
std::string otlpTracesEndpoint(const std::string& flag = "");
// Extra request headers from $OTEL_EXPORTER_OTLP_TRACES_HEADERS or $OTEL_EXPORTER_OTLP_HEADERS
// ("k=v,k2=v2", values percent-decoded), e.g. a collector's API key.
std::vector<std::pair<std::string, std::string>> otlpHeaders();

}  // namespace llmspell::observe
