// The OpenAI-compatible routes of `llmspell serve`: GET /v1/models, GET /v1/models/{id} and
// POST /v1/chat/completions. A spell answers as a model when its manifest lists the model id
// under `serve.models`; it receives the request's `messages`, `tools` and `model` as params and
// returns the reply: a string, or {content = ..., tool_calls = {{id, name, arguments}}, usage}.
// String spell.output values it writes while running are the streamed content.
#include <chrono>

#include <nlohmann/json.hpp>

#include "llmspell/core/convert.hpp"
#include "serve/authorize.hpp"
#include "serve/service.hpp"

namespace llmspell::serve {

using json = nlohmann::json;

namespace {

std::string dumpJson(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

int64_t unixNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The reply a chat spell gave: its content and tool calls in OpenAI's shape.
struct Reply {
  std::string content;
  json toolCalls = json::array();
  int64_t promptTokens = 0, completionTokens = 0;  // the spell's own usage if it gave one, else the run's
  json usage() const {
    return {{"prompt_tokens", promptTokens}, {"completion_tokens", completionTokens}, {"total_tokens", promptTokens + completionTokens}};
  }
};

Reply replyOf(const RunRec& run, const std::string& streamed) {
  Reply r;
  const json& v = run.value;
  if (v.is_string()) {
    r.content = v.get<std::string>();
  } else if (v.is_object()) {
    if (v.contains("content") && v["content"].is_string()) r.content = v["content"].get<std::string>();
    else if (v.contains("text") && v["text"].is_string()) r.content = v["text"].get<std::string>();
    if (v.contains("tool_calls") && v["tool_calls"].is_array()) {
      int i = 0;
      for (const auto& tc : v["tool_calls"]) {
        if (!tc.is_object()) continue;  // what the spell returned is not checked elsewhere
        json args = tc.contains("arguments") ? tc["arguments"] : json::object();
        std::string id = "call_" + run.id.substr(4) + "_" + std::to_string(i);
        if (tc.contains("id") && tc["id"].is_string()) id = tc["id"].get<std::string>();
        std::string name = tc.contains("name") && tc["name"].is_string() ? tc["name"].get<std::string>() : "";
        r.toolCalls.push_back({{"id", id},
                               {"type", "function"},
                               {"function", {{"name", name}, {"arguments", args.is_string() ? args.get<std::string>() : dumpJson(args)}}}});
        ++i;
      }
    }
  } else if (v.is_null()) {
    r.content = streamed;
  }
  r.promptTokens = static_cast<int64_t>(run.inputTokens);
  r.completionTokens = static_cast<int64_t>(run.outputTokens);
  if (v.is_object() && v.contains("usage") && v["usage"].is_object()) {
    const json& u = v["usage"];
    auto count = [&u](const char* openai, const char* ours, int64_t& to) {
      for (const char* k : {openai, ours})
        if (u.contains(k) && u[k].is_number()) {
          to = static_cast<int64_t>(u[k].get<double>());
          return;
        }
      to = 0;
    };
    count("prompt_tokens", "input_tokens", r.promptTokens);
    count("completion_tokens", "output_tokens", r.completionTokens);
  }
  return r;
}

// An error of a run as OpenAI's status and type.
std::pair<int, std::string> statusOf(const std::string& code) {
  if (code == "invalid_argument" || code == "validation_failed") return {400, "invalid_request_error"};
  if (code == "not_found") return {404, "invalid_request_error"};
  if (code == "permission_denied") return {403, "permission_error"};
  if (code == "auth_error") return {401, "authentication_error"};
  if (code == "rate_limited" || code == "budget_exceeded") return {429, "rate_limit_error"};
  if (code == "unavailable") return {503, "server_error"};
  return {500, "server_error"};
}

std::string sseData(const json& j) { return "data: " + j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n\n"; }

}  // namespace

void Service::openAIError(const net::ResponderPtr& res, int status, const std::string& type, const std::string& code,
                          const std::string& message, const std::string& param, const net::Headers& extra) {
  json j = {{"error", {{"message", message}, {"type", type}, {"param", param.empty() ? json() : json(param)}, {"code", code}}}};
  net::Headers headers = {{"content-type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  res->send(status, j.dump(), std::move(headers));
}

void Service::handleOpenAI(const net::IncomingRequest& rq, net::ResponderPtr res) {
  if (rq.path == "/v1/chat/completions") {
    if (rq.method != "POST") return openAIError(res, 405, "invalid_request_error", "method_not_allowed", "use POST /v1/chat/completions");
    return chatCompletions(rq, res);
  }
  if (rq.method != "GET") return openAIError(res, 405, "invalid_request_error", "method_not_allowed", "use GET " + rq.path);
  if (auto a = authorize(rq, "models.list", ""); !a.allowed)
    return openAIError(res, a.status, a.status == 429 ? "rate_limit_error" : "invalid_request_error", a.code, a.message, "", a.headers);
  auto model = [](const std::string& id) { return json{{"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "llmspell"}}; };
  if (rq.path.rfind("/v1/models/", 0) == 0) {
    std::string id = rq.path.substr(11);
    if (!models_.count(id)) return openAIError(res, 404, "invalid_request_error", "model_not_found", "The model '" + id + "' does not exist", "model");
    return sendJson(res, 200, model(id));
  }
  json data = json::array();
  for (const auto& [id, spell] : models_) data.push_back(model(id));
  sendJson(res, 200, {{"object", "list"}, {"data", data}});
}

void Service::chatCompletions(const net::IncomingRequest& rq, net::ResponderPtr res) {
  auto bad = [&](const std::string& msg, const std::string& param = "") {
    openAIError(res, 400, "invalid_request_error", "invalid_argument", msg, param);
  };
  if (draining_) return openAIError(res, 503, "server_error", "unavailable", "the server is shutting down");
  json body = json::parse(rq.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return bad("the request body must be a JSON object");
  if (!body.contains("model") || !body["model"].is_string()) return bad("'model' is required (see GET /v1/models)", "model");
  std::string modelId = body["model"].get<std::string>();
  // A key names the spells it may run: the one this model is (an unknown model: the key alone is
  // checked, so a caller without a key learns nothing of what exists).
  auto m = models_.find(modelId);
  AuthResult a = authorize(rq, "chat.create", m == models_.end() ? std::string() : m->second);
  if (!a.allowed)
    return openAIError(res, a.status, a.status == 429 ? "rate_limit_error" : "invalid_request_error", a.code, a.message, "", a.headers);
  if (m == models_.end()) return openAIError(res, 404, "invalid_request_error", "model_not_found", "The model '" + modelId + "' does not exist", "model");
  if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
    return bad("'messages' must be a non-empty array", "messages");
  if (body.contains("tools") && !body["tools"].is_array()) return bad("'tools' must be an array", "tools");
  if (body.contains("stream") && !body["stream"].is_boolean()) return bad("'stream' must be true or false", "stream");
  bool stream = body.value("stream", false);
  bool includeUsage = stream && body.contains("stream_options") && body["stream_options"].is_object() &&
                      body["stream_options"].value("include_usage", false);
  if (queue_.size() >= opts_.maxQueued) return openAIError(res, 503, "server_error", "unavailable", "too many runs are waiting; try again later");
  const SpellInfo& spell = spells_.at(m->second);
  json msg;
  double timeout = 0;
  size_t memoryMb = 0;
  try {
    msg = runMessage(spell, json(), json(), json(), timeout, memoryMb);
  } catch (const Exception& e) {
    return openAIError(res, 400, "invalid_request_error", e.error().code, e.error().message);
  }
  json typed = {{"messages", body["messages"]}, {"model", modelId}, {"tools", body.value("tools", json::array())}};
  for (const char* k : {"temperature", "max_tokens", "tool_choice", "user"})
    if (body.contains(k)) typed[k] = body[k];
  msg["typed_params"] = typed;
  applyKey(msg, spell, a);
  if (std::string tp = rq.header("traceparent"); !tp.empty()) msg["traceparent"] = tp;  // the run joins the caller's trace
  auto run = enqueue(spell, std::move(msg), timeout, memoryMb);
  run->principal = a.principal;
  std::string id = "chatcmpl-" + run->id.substr(4);
  int64_t created = unixNow();

  if (!stream) {
    run->onDone.push_back([this, run, res, id, created, modelId] {
      if (run->status != "succeeded") {
        std::string code = run->error.is_object() ? run->error.value("code", "internal") : "internal";
        auto [status, type] = statusOf(code);
        return openAIError(res, status, type, code, run->error.is_object() ? run->error.value("message", "") : "the run failed");
      }
      std::string streamed;
      for (const auto& o : run->outputs)
        if (o.is_string()) streamed += o.get<std::string>();
      // Written as text: a tree built and written out per reply was a seventh of what the
      // parent spent on a run.
      Reply r = replyOf(*run, streamed);
      std::string text = R"({"id":)";
      appendJsonString(text, id);
      text += R"(,"object":"chat.completion","created":)" + std::to_string(created) + R"(,"model":)";
      appendJsonString(text, modelId);
      text += R"(,"choices":[{"index":0,"message":{"role":"assistant","content":)";
      if (r.toolCalls.empty() || !r.content.empty()) appendJsonString(text, r.content);
      else text += "null";
      if (!r.toolCalls.empty()) text += R"(,"tool_calls":)" + dumpJson(r.toolCalls);
      text += R"(},"logprobs":null,"finish_reason":)";
      text += r.toolCalls.empty() ? R"("stop")" : R"("tool_calls")";
      text += R"(}],"usage":{"prompt_tokens":)" + std::to_string(r.promptTokens) + R"(,"completion_tokens":)" +
              std::to_string(r.completionTokens) + R"(,"total_tokens":)" + std::to_string(r.promptTokens + r.completionTokens) + "}}";
      sendJsonText(res, 200, std::move(text));
    });
    res->onClose([this, run] { cancel(*run, "the client disconnected"); });
    return;
  }

  // Streaming: the spell's string outputs are content deltas; its reply (what was not streamed,
  // and tool calls) comes with the last chunk.
  struct State {
    bool streamed = false;
    std::string text;
  };
  auto st = std::make_shared<State>();
  auto chunk = [id, created, modelId](json delta, json finish) {
    return json{{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", modelId},
                {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", std::move(finish)}}})}};
  };
  res->startStream(200, {{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}});
  res->write(sseData(chunk({{"role", "assistant"}, {"content", ""}}, nullptr)));
  auto s = openStream(run, res, run->events.size(), true);
  s->format = [st, chunk](size_t, const RunEvent& ev) -> std::string {
    if (ev.name != "spell.output") return "";
    json v = json::parse(ev.data, nullptr, false);
    if (!v.is_string()) return "";
    st->streamed = true;
    st->text += v.get<std::string>();
    return sseData(chunk({{"content", v}}, nullptr));
  };
  s->finish = [this, st, chunk, run, includeUsage, id, created, modelId]() -> std::string {
    std::string out;
    if (run->status != "succeeded") {
      std::string code = run->error.is_object() ? run->error.value("code", "internal") : "internal";
      auto [status, type] = statusOf(code);
      (void)status;
      out += sseData({{"error", {{"message", run->error.is_object() ? run->error.value("message", "") : "the run failed"},
                                 {"type", type}, {"param", nullptr}, {"code", code}}}});
      return out + "data: [DONE]\n\n";
    }
    Reply r = replyOf(*run, st->text);
    if (!st->streamed && !r.content.empty()) out += sseData(chunk({{"content", r.content}}, nullptr));
    if (!r.toolCalls.empty()) {
      json calls = json::array();
      for (size_t i = 0; i < r.toolCalls.size(); ++i) {
        json c = r.toolCalls[i];
        c["index"] = i;
        calls.push_back(c);
      }
      out += sseData(chunk({{"tool_calls", calls}}, nullptr));
    }
    out += sseData(chunk(json::object(), r.toolCalls.empty() ? "stop" : "tool_calls"));
    if (includeUsage)
      out += sseData({{"id", id}, {"object", "chat.completion.chunk"}, {"created", created}, {"model", modelId},
                      {"choices", json::array()}, {"usage", r.usage()}});
    return out + "data: [DONE]\n\n";
  };
  pump(s);
}

}  // namespace llmspell::serve
