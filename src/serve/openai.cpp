// The OpenAI-compatible routes of `llmspell serve`: GET /v1/models, POST /v1/chat/completions.
#include <nlohmann/json.hpp>

#include "serve/service.hpp"

namespace llmspell::serve {

using json = nlohmann::json;

void Service::openAIError(const net::ResponderPtr& res, int status, const std::string& type, const std::string& code,
                          const std::string& message, const std::string& param) {
  json j = {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json() : json(param)}, {"code", code}}}};
  res->send(status, j.dump(), {{"content-type", "application/json"}});
}

void Service::handleOpenAI(const net::IncomingRequest& rq, net::ResponderPtr res) {
  openAIError(res, 404, "invalid_request_error", "not_found", "not yet");
}

void Service::chatCompletions(const net::IncomingRequest&, net::ResponderPtr) {}

}  // namespace llmspell::serve
