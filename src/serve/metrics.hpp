// The service's Prometheus metrics, kept in the parent from what the workers report (their run
// events), so one scrape of /metrics covers every worker.
#pragma once

#include <string>

#include "llmspell/observe/metrics.hpp"

namespace llmspell::serve {

class ServeMetrics {
 public:
  void declare();
  void runDone(const std::string& spell, const std::string& status, double seconds, const std::string& errorCode);
  void llmCall(const std::string& provider, const std::string& model, double in, double out, double cost);
  void llmError(const std::string& model, const std::string& code);
  void toolCall(const std::string& tool);
  void inFlight(double delta);
  void streams(double delta);
  std::string text(size_t queued);

 private:
  observe::Metrics reg_;
  observe::Metrics::FamilyPtr runs_, duration_, llmCalls_, tokens_, cost_, tools_, errors_, inFlight_, streams_,
      limitStops_, queued_;
};

}  // namespace llmspell::serve
