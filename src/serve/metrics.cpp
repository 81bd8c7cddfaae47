// Prometheus metrics of `llmspell serve` (names under llmspell_serve_*).
#include "serve/metrics.hpp"

namespace llmspell::serve {

using observe::MetricType;

void ServeMetrics::declare() {
  runs_ = reg_.declare(MetricType::kCounter, "llmspell_serve_runs_total", "Runs finished, by spell and status", {"spell", "status"});
  duration_ = reg_.declare(MetricType::kHistogram, "llmspell_serve_run_duration_seconds", "Run time on a worker, by spell", {"spell"},
                           {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300});
  llmCalls_ = reg_.declare(MetricType::kCounter, "llmspell_serve_llm_calls_total", "LLM calls, by provider and model", {"provider", "model"});
  tokens_ = reg_.declare(MetricType::kCounter, "llmspell_serve_llm_tokens_total", "LLM tokens, by provider, model and direction",
                         {"provider", "model", "direction"});
  cost_ = reg_.declare(MetricType::kCounter, "llmspell_serve_llm_cost_usd_total", "LLM cost in US dollars, by provider and model",
                       {"provider", "model"});
  tools_ = reg_.declare(MetricType::kCounter, "llmspell_serve_tool_calls_total", "Tool calls, by tool", {"tool"});
  errors_ = reg_.declare(MetricType::kCounter, "llmspell_serve_errors_total", "Errors (failed runs and LLM calls), by code", {"code"});
  limitStops_ = reg_.declare(MetricType::kCounter, "llmspell_serve_limit_stops_total", "Runs stopped by a limit, by spell", {"spell"});
  inFlight_ = reg_.declare(MetricType::kGauge, "llmspell_serve_runs_in_flight", "Runs on a worker now", {});
  queued_ = reg_.declare(MetricType::kGauge, "llmspell_serve_runs_queued", "Runs waiting for a worker", {});
  streams_ = reg_.declare(MetricType::kGauge, "llmspell_serve_streams_open", "Event streams (SSE) open now", {});
  reg_.set(*inFlight_, Value::object(), 0);
  reg_.set(*streams_, Value::object(), 0);
}

// Label values in the order declared above.
void ServeMetrics::runDone(const std::string& spell, const std::string& status, double seconds, const std::string& errorCode) {
  reg_.addValues(*runs_, {spell, status}, 1);
  if (seconds > 0) reg_.observeValues(*duration_, {spell}, seconds);
  if (!errorCode.empty()) reg_.addValues(*errors_, {errorCode}, 1);
  if (errorCode == "limit_exceeded" || errorCode == "budget_exceeded") reg_.addValues(*limitStops_, {spell}, 1);
}

void ServeMetrics::llmCall(const std::string& provider, const std::string& model, double in, double out, double cost) {
  reg_.addValues(*llmCalls_, {provider, model}, 1);
  reg_.addValues(*tokens_, {provider, model, "input"}, in);
  reg_.addValues(*tokens_, {provider, model, "output"}, out);
  reg_.addValues(*cost_, {provider, model}, cost);
}

void ServeMetrics::llmError(const std::string&, const std::string& code) {
  reg_.addValues(*errors_, {code.empty() ? "unknown" : code}, 1);
}

void ServeMetrics::toolCall(const std::string& tool) { reg_.addValues(*tools_, {tool.empty() ? "unknown" : tool}, 1); }

void ServeMetrics::inFlight(double delta) { reg_.addValues(*inFlight_, {}, delta); }
void ServeMetrics::streams(double delta) { reg_.addValues(*streams_, {}, delta); }

std::string ServeMetrics::text(size_t queued) {
  reg_.set(*queued_, Value::object(), static_cast<double>(queued));
  return reg_.prometheus();
}

}  // namespace llmspell::serve
