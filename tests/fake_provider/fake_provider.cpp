// The fake provider server: four wire protocols (and OpenAI-compatible quirks) over the net
// layer's loopback server, scripted replies, faults, random stream splitting. Written from
// providers.md independently of the llm codecs, so it checks them rather than mirrors them.
#include "fake_provider.hpp"

#include <sodium.h>
#include <strings.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <deque>
#include <random>

#include "net/server.hpp"

namespace llmspell::fake {

using json = nlohmann::json;
using net::Headers;
using net::ResponsePtr;
using net::ServerRequest;

std::string RecordedRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return "";
}

json RecordedRequest::json() const {
  return nlohmann::json::parse(body, nullptr, false);
}

namespace {

enum class Proto { kOpenAi, kAnthropic, kGemini, kOllama };

struct Plan {
  int status = 200;
  Headers headers;
  std::vector<std::string> segments;
  bool stream = false;
  enum class End { kEnd, kAbort, kStall } end = End::kEnd;
  double delay = 0;
  double chunkDelay = 0;
};

std::string b64(std::string_view raw) {
  std::string out(sodium_base64_encoded_len(raw.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(raw.data()), raw.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);
  return out;
}

std::string httpDate(double secondsFromNow) {
  time_t t = std::time(nullptr) + static_cast<time_t>(std::ceil(secondsFromNow));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::vector<std::string> words(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text) {
    if (c == ' ' && !cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

// Splits a string into up to n pieces (fragments of streamed tool arguments).
std::vector<std::string> pieces(const std::string& s, size_t n) {
  std::vector<std::string> out;
  if (s.empty()) return {""};
  size_t step = std::max<size_t>(1, (s.size() + n - 1) / n);
  for (size_t i = 0; i < s.size(); i += step) out.push_back(s.substr(i, step));
  return out;
}

// Text of the last user message, per protocol (for echo replies).
std::string lastUserText(Proto p, const json& body) {
  auto textOf = [](const json& content) -> std::string {
    if (content.is_string()) return content.get<std::string>();
    std::string s;
    if (content.is_array()) {
      for (const auto& part : content) {
        if (part.is_object() && part.value("type", "") == "text") s += part.value("text", "");
        else if (part.is_object() && part.contains("text") && part["text"].is_string()) s += part["text"].get<std::string>();
      }
    }
    return s;
  };
  if (p == Proto::kGemini) {
    const json& cs = body.value("contents", json::array());
    for (auto it = cs.rbegin(); it != cs.rend(); ++it) {
      if (it->value("role", "user") == "user") {
        std::string t = textOf((*it).value("parts", json::array()));
        if (!t.empty()) return t;
      }
    }
    return "";
  }
  const json& ms = body.value("messages", json::array());
  for (auto it = ms.rbegin(); it != ms.rend(); ++it) {
    if (it->value("role", "") == "user") {
      std::string t = textOf((*it).value("content", json()));
      if (!t.empty()) return t;
    }
  }
  return "";
}

json errorBody(Proto p, int status, const std::string& type, const std::string& message, const std::string& code = "") {
  switch (p) {
    case Proto::kOpenAi:
      return {{"error", {{"message", message}, {"type", type}, {"param", nullptr}, {"code", code.empty() ? json(nullptr) : json(code)}}}};
    case Proto::kAnthropic:
      return {{"type", "error"}, {"error", {{"type", type}, {"message", message}}}, {"request_id", "req_fake"}};
    case Proto::kGemini:
      return {{"error", {{"code", status}, {"message", message}, {"status", type}}}};
    case Proto::kOllama:
      return {{"error", message}};
  }
  return {};
}

struct Reply {
  json raw;
  std::string text, reasoning;
  json toolCalls = json::array();
  int64_t in = 0, out = 0;
  std::string finish;  // stop | length
  std::string variant;
  std::string fault;
  size_t afterChunks = 2;
  std::string refusal;                       // OpenAI: the model declines (message.refusal / refusal deltas)
  json serverTools = json::array();          // Anthropic: [{name, input, result}] server tool blocks
  bool noUsage = false;                      // no usage anywhere in the response
};

Reply parseReply(const json& r, const std::string& echo) {
  Reply x;
  x.raw = r;
  if (r.is_string()) {
    x.text = r.get<std::string>();
  } else {
    x.text = r.contains("text") ? r.value("text", "") : (r.contains("json") || r.contains("tool_calls") ? "" : echo);
    if (r.contains("json")) x.text = r["json"].dump();
    x.reasoning = r.value("reasoning", "");
    if (r.contains("tool_calls")) x.toolCalls = r["tool_calls"];
    x.finish = r.value("finish_reason", "");
    x.variant = r.value("variant", "");
    x.fault = r.value("fault", "");
    x.afterChunks = r.value("after_chunks", 2);
    x.refusal = r.value("refusal", "");
    if (r.contains("server_tools")) x.serverTools = r["server_tools"];
    x.noUsage = r.value("no_usage", false);
    if (!x.refusal.empty() && !r.contains("text")) x.text = "";
    if (r.contains("usage")) {
      x.in = r["usage"].value("input_tokens", 0);
      x.out = r["usage"].value("output_tokens", 0);
    }
  }
  if (x.in == 0) x.in = 10;
  if (x.out == 0) x.out = static_cast<int64_t>(words(x.text).size()) + 1;
  for (size_t i = 0; i < x.toolCalls.size(); ++i) {
    auto& c = x.toolCalls[i];
    if (!c.contains("id")) c["id"] = "call_fake_" + std::to_string(i);
    if (!c.contains("arguments")) c["arguments"] = json::object();
  }
  return x;
}

// ---------------- per-protocol bodies ----------------

std::string sse(const json& j) { return "data: " + j.dump() + "\n\n"; }
std::string sseEv(const std::string& ev, const std::string& data) { return "event: " + ev + "\ndata: " + data + "\n\n"; }

void openAiPlan(const Reply& r, const json& req, Plan& plan) {
  std::string model = req.value("model", "gpt-fake");
  bool stream = req.value("stream", false);
  std::string finish = !r.toolCalls.empty() ? "tool_calls" : (r.finish.empty() ? "stop" : r.finish);
  json usage = {{"prompt_tokens", r.in}, {"completion_tokens", r.out}, {"total_tokens", r.in + r.out},
                {"prompt_tokens_details", {{"cached_tokens", 0}}}, {"completion_tokens_details", {{"reasoning_tokens", 0}}}};
  if (!stream) {
    json msg = {{"role", "assistant"}, {"content", r.text.empty() && (!r.toolCalls.empty() || !r.refusal.empty()) ? json(nullptr) : json(r.text)},
                {"refusal", r.refusal.empty() ? json(nullptr) : json(r.refusal)}};
    if (!r.reasoning.empty()) msg["reasoning_content"] = r.reasoning;
    if (!r.toolCalls.empty()) {
      json tcs = json::array();
      for (const auto& c : r.toolCalls) {
        tcs.push_back({{"id", c["id"]}, {"type", "function"}, {"function", {{"name", c["name"]}, {"arguments", c["arguments"].dump()}}}});
      }
      msg["tool_calls"] = tcs;
    }
    json body = {{"id", "chatcmpl-fake"}, {"object", "chat.completion"}, {"created", 1727346142}, {"model", model},
                 {"choices", {{{"index", 0}, {"message", msg}, {"logprobs", nullptr}, {"finish_reason", finish}}}},
                 {"usage", usage}, {"system_fingerprint", "fp_fake"}};
    if (r.noUsage) body.erase("usage");
    if (r.fault == "malformed") plan.segments = {body.dump().substr(0, 40)};
    else plan.segments = {body.dump()};
    plan.headers = {{"content-type", "application/json"}, {"x-request-id", "req_fake"}};
    return;
  }
  plan.stream = true;
  plan.headers = {{"content-type", "text/event-stream; charset=utf-8"}};
  bool includeUsage = !r.noUsage && req.contains("stream_options") && req["stream_options"].value("include_usage", false);
  auto chunk = [&](json delta, json fr = nullptr) {
    json c = {{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1727346178}, {"model", model},
              {"system_fingerprint", "fp_fake"},
              {"choices", {{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", fr}}}}};
    if (includeUsage) c["usage"] = nullptr;
    if (r.variant.empty()) c["obfuscation"] = "x1y2";
    return c;
  };
  auto& seg = plan.segments;
  if (r.variant == "openrouter") seg.push_back(": OPENROUTER PROCESSING\n\n");
  json first = chunk({{"role", "assistant"}, {"content", r.toolCalls.empty() ? json("") : json(nullptr)}});
  if (r.variant == "groq") first["x_groq"] = {{"id", "req_fake"}};
  seg.push_back(sse(first));
  for (const auto& w : words(r.reasoning)) seg.push_back(sse(chunk({{"reasoning_content", w}})));
  for (const auto& w : words(r.text)) seg.push_back(sse(chunk({{"content", w}})));
  // A refusal streams as refusal deltas (content stays null); the finish reason is still "stop".
  for (const auto& w : words(r.refusal)) seg.push_back(sse(chunk({{"content", nullptr}, {"refusal", w}})));
  for (size_t i = 0; i < r.toolCalls.size(); ++i) {
    const auto& c = r.toolCalls[i];
    seg.push_back(sse(chunk({{"tool_calls", {{{"index", i}, {"id", c["id"]}, {"type", "function"}, {"function", {{"name", c["name"]}, {"arguments", ""}}}}}}})));
    for (const auto& p : pieces(c["arguments"].dump(), 4)) {
      seg.push_back(sse(chunk({{"tool_calls", {{{"index", i}, {"function", {{"arguments", p}}}}}}})));
    }
  }
  json last = chunk(json::object(), finish);
  if (r.variant == "groq" && !r.noUsage) last["x_groq"] = {{"id", "req_fake"}, {"usage", usage}};
  seg.push_back(sse(last));
  if (includeUsage && r.variant != "groq") {
    seg.push_back(sse({{"id", "chatcmpl-fake"}, {"object", "chat.completion.chunk"}, {"created", 1727346178}, {"model", model}, {"choices", json::array()}, {"usage", usage}}));
  }
  seg.push_back("data: [DONE]\n\n");
}

json openAiStreamError(const Reply& r) {
  if (r.variant == "openrouter") {
    return {{"id", "cmpl-abc123"}, {"object", "chat.completion.chunk"}, {"provider", "openai"},
            {"error", {{"code", "server_error"}, {"message", "Provider disconnected unexpectedly"}}},
            {"choices", {{{"index", 0}, {"delta", {{"content", ""}}}, {"finish_reason", "error"}}}}};
  }
  if (r.variant == "llamacpp") return {{"error", {{"code", 500}, {"message", "llama decode failed"}, {"type", "server_error"}}}};
  return {{"error", {{"message", "The server had an error while processing your request."}, {"type", "server_error"}, {"code", "server_error"}}}};
}

void anthropicPlan(const Reply& r, const json& req, Plan& plan) {
  std::string model = req.value("model", "claude-fake");
  bool stream = req.value("stream", false);
  // Structured output through a forced tool: answer with the tool's input.
  json blocks = json::array();
  std::string forced;
  if (req.contains("tool_choice") && req["tool_choice"].value("type", "") == "tool") forced = req["tool_choice"].value("name", "");
  if (!r.reasoning.empty()) blocks.push_back({{"type", "thinking"}, {"thinking", r.reasoning}, {"signature", "sig_fake_1"}});
  // Server tools (web search...) run by the provider: a server_tool_use block and its result.
  for (size_t i = 0; i < r.serverTools.size(); ++i) {
    const auto& t = r.serverTools[i];
    std::string id = "srvtoolu_fake_" + std::to_string(i);
    std::string name = t.value("name", "web_search");
    blocks.push_back({{"type", "server_tool_use"}, {"id", id}, {"name", name}, {"input", t.value("input", json::object())}});
    blocks.push_back({{"type", name + "_tool_result"}, {"tool_use_id", id},
                      {"content", t.value("result", json::array({{{"type", "web_search_result"}, {"title", "Fake"}, {"url", "https://example.com/"}}}))}});
  }
  json calls = r.toolCalls;
  if (!forced.empty() && r.raw.is_object() && r.raw.contains("json")) {
    calls = json::array({{{"id", "toolu_forced"}, {"name", forced}, {"arguments", r.raw["json"]}}});
  } else if (!r.text.empty()) {
    blocks.push_back({{"type", "text"}, {"text", r.text}});
  }
  for (const auto& c : calls) blocks.push_back({{"type", "tool_use"}, {"id", c["id"]}, {"name", c["name"]}, {"input", c["arguments"]}});
  std::string stop = !calls.empty() ? "tool_use" : (r.finish == "length" ? "max_tokens" : "end_turn");
  json usage = {{"input_tokens", r.in}, {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", 0}, {"output_tokens", r.out}};
  if (!stream) {
    json body = {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", blocks},
                 {"stop_reason", stop}, {"stop_sequence", nullptr}, {"usage", usage}};
    plan.segments = {r.fault == "malformed" ? body.dump().substr(0, 30) : body.dump()};
    plan.headers = {{"content-type", "application/json"}, {"request-id", "req_fake"}};
    return;
  }
  plan.stream = true;
  plan.headers = {{"content-type", "text/event-stream; charset=utf-8"}};
  auto& seg = plan.segments;
  json start = {{"type", "message_start"}, {"message", {{"id", "msg_fake"}, {"type", "message"}, {"role", "assistant"}, {"model", model}, {"content", json::array()}, {"stop_reason", nullptr}, {"stop_sequence", nullptr},
                 {"usage", {{"input_tokens", r.in}, {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", 0}, {"output_tokens", 1}}}}}};
  seg.push_back(sseEv("message_start", start.dump() + "               "));  // recorded padding
  for (size_t i = 0; i < blocks.size(); ++i) {
    const auto& b = blocks[i];
    std::string type = b["type"];
    bool streamedInput = type == "tool_use" || type == "server_tool_use";
    json cb = type == "text" ? json{{"type", "text"}, {"text", ""}}
              : type == "thinking" ? json{{"type", "thinking"}, {"thinking", ""}}
              : streamedInput ? json{{"type", type}, {"id", b["id"]}, {"name", b["name"]}, {"input", json::object()}}
                              : b;  // a server tool's result block arrives whole
    seg.push_back(sseEv("content_block_start", json{{"type", "content_block_start"}, {"index", i}, {"content_block", cb}}.dump() + "           "));
    if (i == 0) seg.push_back(sseEv("ping", R"({"type": "ping"})"));
    auto delta = [&](json d) { seg.push_back(sseEv("content_block_delta", json{{"type", "content_block_delta"}, {"index", i}, {"delta", d}}.dump())); };
    if (type == "text") {
      for (const auto& w : words(b["text"])) delta({{"type", "text_delta"}, {"text", w}});
    } else if (type == "thinking") {
      for (const auto& w : words(b["thinking"])) delta({{"type", "thinking_delta"}, {"thinking", w}});
      delta({{"type", "signature_delta"}, {"signature", b["signature"]}});
    } else if (streamedInput) {
      delta({{"type", "input_json_delta"}, {"partial_json", ""}});
      std::string in = b["input"].dump();
      if (in != "{}") {
        for (const auto& p : pieces(in, 4)) delta({{"type", "input_json_delta"}, {"partial_json", p}});
      }
    }
    seg.push_back(sseEv("content_block_stop", json{{"type", "content_block_stop"}, {"index", i}}.dump() + "            "));
  }
  seg.push_back(sseEv("message_delta", json{{"type", "message_delta"}, {"delta", {{"stop_reason", stop}, {"stop_sequence", nullptr}}}, {"usage", {{"output_tokens", r.out}}}}.dump()));
  seg.push_back(sseEv("message_stop", R"({"type":"message_stop"     })"));
}

void geminiPlan(const Reply& r, const json& req, const std::string& model, bool stream, Plan& plan) {
  std::string finish = r.finish == "length" ? "MAX_TOKENS" : "STOP";
  json usage = {{"promptTokenCount", r.in}, {"candidatesTokenCount", r.out}, {"totalTokenCount", r.in + r.out}};
  auto resp = [&](json parts, bool last) {
    json cand = {{"content", {{"parts", std::move(parts)}, {"role", "model"}}}, {"index", 0}};
    if (last) cand["finishReason"] = finish;
    json out = {{"candidates", {cand}}, {"usageMetadata", usage}, {"modelVersion", model}, {"responseId", "fake_resp"}};
    if (r.noUsage) out.erase("usageMetadata");
    return out;
  };
  json callParts = json::array();
  for (size_t i = 0; i < r.toolCalls.size(); ++i) {
    const auto& c = r.toolCalls[i];
    json part = {{"functionCall", {{"name", c["name"]}, {"args", c["arguments"]}, {"id", c["id"]}}}};
    if (i == 0) part["thoughtSignature"] = "c2lnX2Zha2U=";  // only the first parallel call carries one
    callParts.push_back(part);
  }
  if (r.raw.is_object() && r.raw.value("blocked", false)) {
    json body = {{"promptFeedback", {{"blockReason", "SAFETY"}}}, {"usageMetadata", {{"promptTokenCount", r.in}, {"totalTokenCount", r.in}}}};
    plan.segments = {stream ? "data: " + body.dump() + "\r\n\r\n" : body.dump()};
    plan.stream = stream;
    plan.headers = {{"content-type", stream ? "text/event-stream" : "application/json"}};
    return;
  }
  if (!stream) {
    json parts = json::array();
    if (!r.reasoning.empty()) parts.push_back({{"text", r.reasoning}, {"thought", true}});
    if (!r.text.empty()) parts.push_back({{"text", r.text}});
    for (const auto& p : callParts) parts.push_back(p);
    json body = resp(parts, true);
    plan.segments = {r.fault == "malformed" ? body.dump().substr(0, 30) : body.dump()};
    plan.headers = {{"content-type", "application/json; charset=UTF-8"}};
    return;
  }
  plan.stream = true;
  plan.headers = {{"content-type", "text/event-stream"}};
  auto ev = [](const json& j) { return "data: " + j.dump() + "\r\n\r\n"; };
  for (const auto& w : words(r.reasoning)) plan.segments.push_back(ev(resp({{{"text", w}, {"thought", true}}}, false)));
  for (const auto& w : words(r.text)) plan.segments.push_back(ev(resp({{{"text", w}}}, false)));
  if (!callParts.empty()) plan.segments.push_back(ev(resp(callParts, false)));
  plan.segments.push_back(ev(resp({{{"text", ""}, {"thoughtSignature", "RW5kU2ln"}}}, true)));
  (void)req;
}

void ollamaPlan(const Reply& r, const json& req, Plan& plan) {
  std::string model = req.value("model", "llama-fake");
  bool stream = req.value("stream", true);  // Ollama streams unless told not to
  std::string reason = r.finish == "length" ? "length" : "stop";
  json tcs = json::array();
  for (size_t i = 0; i < r.toolCalls.size(); ++i) {
    const auto& c = r.toolCalls[i];
    tcs.push_back({{"id", c["id"]}, {"function", {{"index", i}, {"name", c["name"]}, {"arguments", c["arguments"]}}}});
  }
  json final = {{"model", model}, {"created_at", "2025-07-07T20:32:53.844124Z"}, {"message", {{"role", "assistant"}, {"content", ""}}},
                {"done", true}, {"done_reason", reason}, {"total_duration", 4883583458}, {"eval_count", r.out}};
  if (r.in > 0) final["prompt_eval_count"] = r.in;  // zero metrics are omitted
  if (r.noUsage) {
    final.erase("prompt_eval_count");
    final.erase("eval_count");
  }
  if (!stream) {
    final["message"]["content"] = r.text;
    if (!r.reasoning.empty()) final["message"]["thinking"] = r.reasoning;
    if (!tcs.empty()) final["message"]["tool_calls"] = tcs;
    plan.segments = {r.fault == "malformed" ? final.dump().substr(0, 30) : final.dump()};
    plan.headers = {{"content-type", "application/json; charset=utf-8"}};
    return;
  }
  plan.stream = true;
  plan.headers = {{"content-type", "application/x-ndjson"}};
  auto line = [&](json msg) {
    return json{{"model", model}, {"created_at", "2023-08-04T08:52:19.385406455-07:00"}, {"message", msg}, {"done", false}}.dump() + "\n";
  };
  for (const auto& w : words(r.reasoning)) plan.segments.push_back(line({{"role", "assistant"}, {"content", ""}, {"thinking", w}}));
  for (const auto& w : words(r.text)) plan.segments.push_back(line({{"role", "assistant"}, {"content", w}}));
  if (!tcs.empty()) plan.segments.push_back(line({{"role", "assistant"}, {"content", ""}, {"tool_calls", tcs}}));
  plan.segments.push_back(final.dump() + "\n");
}

}  // namespace

struct FakeProvider::Impl : std::enable_shared_from_this<FakeProvider::Impl> {
  mutable std::mutex mu;
  std::deque<json> replies;
  std::vector<RecordedRequest> seen;
  std::vector<ResponsePtr> stalled;
  std::mt19937_64 rng;
  std::atomic<bool> wholeEvents{false};  // write each stream event in one piece (benchmarks), not split
  std::atomic<double> defaultChunkDelay{0};  // seconds between stream events unless a reply says
  std::unique_ptr<net::TestHttpServer> server;

  std::optional<json> pop(const char* key = nullptr) {
    std::lock_guard<std::mutex> g(mu);
    if (replies.empty()) return std::nullopt;
    if (key && !(replies.front().is_object() && replies.front().contains(key))) return std::nullopt;
    if (!key && replies.front().is_object() && (replies.front().contains("embeddings") || replies.front().contains("models"))) {
      return std::nullopt;
    }
    json r = replies.front();
    replies.pop_front();
    return r;
  }

  size_t randomSize(size_t max) {
    std::lock_guard<std::mutex> g(mu);
    return 1 + static_cast<size_t>(rng() % std::max<size_t>(1, max));
  }

  void play(Plan plan, ResponsePtr res) {
    auto self = shared_from_this();
    if (!plan.stream) {
      res->after(plan.delay, [plan, res] {
        std::string body;
        for (const auto& s : plan.segments) body += s;
        res->send(plan.status, body, plan.headers);
      });
      return;
    }
    // Pieces at random byte boundaries (one chunk each).
    auto writeSeg = [self, res](const std::string& s) {
      if (self->wholeEvents) {
        res->write(s);
        return;
      }
      size_t i = 0;
      while (i < s.size()) {
        size_t n = std::min(s.size() - i, self->randomSize(std::max<size_t>(4, s.size() / 2)));
        res->write(s.substr(i, n));
        i += n;
      }
    };
    auto finish = [self, res, end = plan.end] {
      if (end == Plan::End::kEnd) res->end();
      // Reset once the queued writes are flushed (aborting with a write in flight races the
      // server's write completion).
      else if (end == Plan::End::kAbort) res->after(0.05, [res] { res->abort(); });
      else {
        std::lock_guard<std::mutex> g(self->mu);
        self->stalled.push_back(res);
      }
    };
    if (plan.chunkDelay <= 0) {
      res->after(plan.delay, [plan, res, writeSeg, finish] {
        res->writeHead(plan.status, plan.headers);
        for (const auto& s : plan.segments) writeSeg(s);
        finish();
      });
      return;
    }
    res->after(plan.delay, [plan, res] { res->writeHead(plan.status, plan.headers); });
    for (size_t i = 0; i < plan.segments.size(); ++i) {
      std::string s = plan.segments[i];
      res->after(plan.delay + plan.chunkDelay * static_cast<double>(i + 1), [writeSeg, s] { writeSeg(s); });
    }
    res->after(plan.delay + plan.chunkDelay * static_cast<double>(plan.segments.size() + 1), finish);
  }

  void sendError(Proto p, ResponsePtr res, int status, const std::string& type, const std::string& msg, Headers extra = {}, const std::string& code = "") {
    Headers h = {{"content-type", "application/json"}};
    for (auto& x : extra) h.push_back(x);
    res->send(status, errorBody(p, status, type, msg, code).dump(), h);
  }

  // Validation the real APIs do; returns true when it answered with an error.
  bool invalid(Proto p, const ServerRequest& rq, const json& body, const std::string& model, ResponsePtr res) {
    if (body.is_discarded()) {
      sendError(p, res, 400, p == Proto::kGemini ? "INVALID_ARGUMENT" : "invalid_request_error", "request body is not valid JSON");
      return true;
    }
    if (p == Proto::kAnthropic) {
      if (rq.header("anthropic-version").empty()) {
        sendError(p, res, 400, "invalid_request_error", "anthropic-version: header is required");
        return true;
      }
      if (!body.contains("max_tokens")) {
        sendError(p, res, 400, "invalid_request_error", "max_tokens: Field required");
        return true;
      }
      // Every tool_use needs a tool_result in the next user message.
      const json& ms = body.value("messages", json::array());
      for (size_t i = 0; i < ms.size(); ++i) {
        if (ms[i].value("role", "") != "assistant" || !ms[i]["content"].is_array()) continue;
        for (const auto& b : ms[i]["content"]) {
          if (b.value("type", "") != "tool_use") continue;
          bool found = false;
          if (i + 1 < ms.size() && ms[i + 1]["content"].is_array()) {
            for (const auto& rb : ms[i + 1]["content"]) found |= rb.value("tool_use_id", "") == b.value("id", "");
          }
          if (!found) {
            sendError(p, res, 400, "invalid_request_error", "tool_use ids were found without tool_result blocks immediately after: " + b.value("id", ""));
            return true;
          }
        }
      }
    }
    if (p == Proto::kOpenAi) {
      bool reasoning = model.rfind("o1", 0) == 0 || model.rfind("o3", 0) == 0 || model.rfind("o4", 0) == 0 || model.rfind("gpt-5", 0) == 0;
      if (reasoning && body.contains("max_tokens")) {
        sendError(p, res, 400, "invalid_request_error", "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", {}, "unsupported_parameter");
        return true;
      }
      const json& ms = body.value("messages", json::array());
      for (size_t i = 0; i < ms.size(); ++i) {
        if (!ms[i].contains("tool_calls")) continue;
        for (const auto& c : ms[i]["tool_calls"]) {
          bool found = false;
          for (size_t k = i + 1; k < ms.size() && ms[k].value("role", "") == "tool"; ++k) found |= ms[k].value("tool_call_id", "") == c.value("id", "");
          if (!found) {
            sendError(p, res, 400, "invalid_request_error", "An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'.");
            return true;
          }
        }
      }
    }
    if (p == Proto::kGemini) {
      for (const auto& c : body.value("contents", json::array())) {
        bool firstCall = true;
        for (const auto& part : c.value("parts", json::array())) {
          if (part.contains("functionCall")) {
            if (model.find("gemini-3") != std::string::npos && firstCall && !part.contains("thoughtSignature")) {
              sendError(p, res, 400, "INVALID_ARGUMENT", "Function call is missing a thought_signature in functionCall parts.");
              return true;
            }
            firstCall = false;
          }
          if (part.contains("functionResponse") && !part["functionResponse"]["response"].is_object()) {
            sendError(p, res, 400, "INVALID_ARGUMENT", "functionResponse.response must be an object");
            return true;
          }
        }
      }
    }
    return false;
  }

  // Faults that replace the whole response; returns true when handled.
  bool fault(Proto p, const Reply& r, ResponsePtr res) {
    const std::string& f = r.fault;
    double ra = r.raw.is_object() ? r.raw.value("retry_after", 0.05) : 0.05;
    if (f == "rate_limit") {
      std::string form = r.raw.value("retry", "seconds");
      Headers h;
      json body = errorBody(p, 429, p == Proto::kGemini ? "RESOURCE_EXHAUSTED" : p == Proto::kAnthropic ? "rate_limit_error" : "rate_limit_exceeded",
                            "Rate limit reached; please retry", "rate_limit_exceeded");
      if (form == "ms") h.emplace_back("retry-after-ms", std::to_string(static_cast<int64_t>(ra * 1000)));
      else if (form == "date") h.emplace_back("retry-after", httpDate(ra));
      else if (form == "retryinfo") {
        body["error"]["details"] = {{{"@type", "type.googleapis.com/google.rpc.RetryInfo"}, {"retryDelay", std::to_string(ra) + "s"}}};
      } else h.emplace_back("retry-after", std::to_string(ra));
      h.emplace_back("content-type", "application/json");
      h.emplace_back("x-ratelimit-reset-requests", "4ms");
      res->send(429, body.dump(), h);
      return true;
    }
    if (f == "quota") {
      sendError(p, res, 429, "insufficient_quota", "You exceeded your current quota, please check your plan and billing details.", {}, "insufficient_quota");
      return true;
    }
    if (f == "server_error") {
      sendError(p, res, 500, p == Proto::kGemini ? "INTERNAL" : p == Proto::kAnthropic ? "api_error" : "server_error", "Internal server error");
      return true;
    }
    if (f == "overloaded") {
      if (p == Proto::kAnthropic) sendError(p, res, 529, "overloaded_error", "Overloaded", {{"retry-after", "0"}});
      else sendError(p, res, 503, p == Proto::kGemini ? "UNAVAILABLE" : "server_error", "The model is overloaded. Please try again later.");
      return true;
    }
    if (f == "auth") {
      if (p == Proto::kGemini) {
        json body = errorBody(p, 400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
        body["error"]["details"] = {{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"}, {"reason", "API_KEY_INVALID"}}};
        res->send(400, body.dump(), {{"content-type", "application/json"}});
      } else {
        sendError(p, res, 401, p == Proto::kAnthropic ? "authentication_error" : "invalid_request_error", "Incorrect API key provided.", {}, "invalid_api_key");
      }
      return true;
    }
    if (r.raw.is_object() && r.raw.contains("status")) {
      Headers h;
      if (r.raw.contains("headers")) for (auto& [k, v] : r.raw["headers"].items()) h.emplace_back(k, v.get<std::string>());
      json b = r.raw.value("body", json(""));
      res->send(r.raw["status"].get<int>(), b.is_string() ? b.get<std::string>() : b.dump(), h);
      return true;
    }
    return false;
  }

  void applyStreamFault(Proto p, const Reply& r, Plan& plan) {
    const std::string& f = r.fault;
    if (f.empty()) return;
    size_t keep = std::min(r.afterChunks, plan.segments.size());
    if (f == "truncate" || f == "reset" || f == "stall") {
      plan.segments.resize(keep);
      plan.end = f == "truncate" ? Plan::End::kEnd : f == "reset" ? Plan::End::kAbort : Plan::End::kStall;
    } else if (f == "malformed") {
      plan.segments.resize(keep);
      plan.segments.push_back(p == Proto::kOllama ? "{\"message\": {\"content\n" : "data: {\"choices\":[{\"delta\":{\"content\":\"x\"\n\n");
    } else if (f == "stream_error") {
      plan.segments.resize(keep);
      switch (p) {
        case Proto::kOpenAi: plan.segments.push_back(sse(openAiStreamError(r))); break;
        case Proto::kAnthropic:
          plan.segments.push_back(sseEv("error", R"({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})"));
          break;
        case Proto::kGemini:
          plan.segments.push_back("data: " + json{{"error", {{"code", 503}, {"message", "The model is overloaded."}, {"status", "UNAVAILABLE"}}}}.dump() + "\r\n\r\n");
          break;
        case Proto::kOllama: plan.segments.push_back(R"({"error":"an error was encountered while running the model"})" "\n"); break;
      }
    }
  }

  void chat(Proto p, const ServerRequest& rq, ResponsePtr res, const std::string& gemModel = "", bool gemStream = false) {
    json body = json::parse(rq.body, nullptr, false);
    std::string model = p == Proto::kGemini ? gemModel : (body.is_object() ? body.value("model", "") : "");
    if (invalid(p, rq, body, model, res)) return;
    auto q = pop();
    Reply r = parseReply(q ? *q : json::object(), lastUserText(p, body));
    if (fault(p, r, res)) return;
    Plan plan;
    switch (p) {
      case Proto::kOpenAi: openAiPlan(r, body, plan); break;
      case Proto::kAnthropic: anthropicPlan(r, body, plan); break;
      case Proto::kGemini: geminiPlan(r, body, model, gemStream, plan); break;
      case Proto::kOllama: ollamaPlan(r, body, plan); break;
    }
    if (plan.stream) applyStreamFault(p, r, plan);
    else if (r.fault == "truncate" || r.fault == "reset") {
      // A body cut short: announce the full length, send half, reset.
      std::string b = plan.segments[0];
      res->after(r.raw.value("delay", 0.0), [res, b, h = plan.headers]() mutable {
        h.emplace_back("content-length", std::to_string(b.size()));
        res->writeHead(200, h);
        res->write(b.substr(0, b.size() / 2));
        res->after(0.05, [res] { res->abort(); });
      });
      return;
    } else if (r.fault == "stall") {
      std::lock_guard<std::mutex> g(mu);
      stalled.push_back(res);
      return;
    }
    plan.chunkDelay = defaultChunkDelay;
    if (r.raw.is_object()) {
      plan.delay = r.raw.value("delay", 0.0);
      plan.chunkDelay = r.raw.value("chunk_delay", plan.chunkDelay);
    }
    play(std::move(plan), res);
  }

  static std::vector<float> vectorFor(const std::string& text, size_t dims) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
    std::vector<float> v;
    for (size_t i = 0; i < dims; ++i) {
      h = h * 6364136223846793005ull + 1442695040888963407ull;
      v.push_back(static_cast<float>((h >> 33) % 2000) / 1000.0f - 1.0f);
    }
    return v;
  }

  void embed(Proto p, const ServerRequest& rq, ResponsePtr res) {
    json body = json::parse(rq.body, nullptr, false);
    std::vector<std::string> texts;
    if (p == Proto::kGemini) {
      for (const auto& r : body.value("requests", json::array())) texts.push_back(r["content"]["parts"][0].value("text", ""));
    } else {
      const json& in = body.value("input", json());
      if (in.is_string()) texts.push_back(in.get<std::string>());
      else if (in.is_array()) for (const auto& t : in) texts.push_back(t.is_string() ? t.get<std::string>() : t.dump());
    }
    auto q = pop("embeddings");
    if (q && listFault(p, *q, res)) return;
    std::vector<std::vector<float>> vecs;
    for (size_t i = 0; i < texts.size(); ++i) {
      if (q && i < (*q)["embeddings"].size()) vecs.push_back((*q)["embeddings"][i].get<std::vector<float>>());
      else vecs.push_back(vectorFor(texts[i], 4));
    }
    json out;
    if (p == Proto::kOpenAi) {
      bool asB64 = body.value("encoding_format", "float") == "base64";
      json data = json::array();
      // Returned in reverse order: clients must sort by index.
      for (size_t i = vecs.size(); i-- > 0;) {
        json e = {{"object", "embedding"}, {"index", i}};
        if (asB64) e["embedding"] = b64(std::string(reinterpret_cast<const char*>(vecs[i].data()), vecs[i].size() * 4));
        else e["embedding"] = vecs[i];
        data.push_back(e);
      }
      out = {{"object", "list"}, {"data", data}, {"model", body.value("model", "")}, {"usage", {{"prompt_tokens", 5}, {"total_tokens", 5}}}};
    } else if (p == Proto::kGemini) {
      out = {{"embeddings", json::array()}};
      for (auto& v : vecs) out["embeddings"].push_back({{"values", v}});
    } else {
      out = {{"model", body.value("model", "")}, {"embeddings", vecs}, {"prompt_eval_count", 8}};
    }
    res->send(200, out.dump(), {{"content-type", "application/json"}});
  }

  // A queued embeddings / models reply with `status` (429, 500, 503...) answers with that error,
  // plus `retry_after_ms` as a retry-after-ms header; one with `location` redirects there.
  bool listFault(Proto p, const json& q, ResponsePtr res) {
    if (q.contains("location")) {  // a redirect (302 unless `status` says otherwise)
      res->send(q.value("status", 302), "", {{"location", q["location"].get<std::string>()}});
      return true;
    }
    if (!q.contains("status")) return false;
    int status = q["status"].get<int>();
    Headers h;
    if (q.contains("retry_after_ms")) h.emplace_back("retry-after-ms", std::to_string(q["retry_after_ms"].get<int>()));
    sendError(p, res, status, status == 429 ? "rate_limit_error" : "server_error", "scripted failure " + std::to_string(status), h);
    return true;
  }

  void models(Proto p, ResponsePtr res) {
    auto q = pop("models");
    if (q && listFault(p, *q, res)) return;
    json ids = q ? (*q)["models"] : json::array();
    json out;
    if (p == Proto::kOpenAi) {
      if (ids.empty()) ids = {"gpt-4o-mini", "gpt-4o"};
      out = {{"object", "list"}, {"data", json::array()}};
      for (auto& id : ids) out["data"].push_back({{"id", id}, {"object", "model"}, {"created", 1721172741}, {"owned_by", "system"}});
    } else if (p == Proto::kAnthropic) {
      if (ids.empty()) ids = {"claude-sonnet-4-5-20250929"};
      out = {{"data", json::array()}, {"has_more", false}};
      for (auto& id : ids) out["data"].push_back({{"type", "model"}, {"id", id}, {"display_name", id}, {"created_at", "2025-09-29T00:00:00Z"}});
    } else if (p == Proto::kGemini) {
      if (ids.empty()) ids = {"gemini-2.5-flash"};
      out = {{"models", json::array()}};
      for (auto& id : ids) out["models"].push_back({{"name", "models/" + id.get<std::string>()}, {"displayName", id}, {"inputTokenLimit", 1048576}, {"outputTokenLimit", 65536}});
    } else {
      if (ids.empty()) ids = {"llama3.2:latest"};
      out = {{"models", json::array()}};
      for (auto& id : ids) out["models"].push_back({{"name", id}, {"model", id}, {"size", 2019393189}});
    }
    res->send(200, out.dump(), {{"content-type", "application/json"}});
  }

  void handle(const ServerRequest& rq, ResponsePtr res) {
    const std::string& path = rq.path;
    if (path.rfind("/_control/", 0) == 0) {
      if (path == "/_control/replies" && rq.method == "POST") {
        json j = json::parse(rq.body, nullptr, false);
        if (j.is_discarded()) {
          res->send(400, R"({"error":"body is not JSON"})", {{"content-type", "application/json"}});
          return;
        }
        push(j);
        res->send(200, R"({"ok":true})", {{"content-type", "application/json"}});
      } else if (path == "/_control/reset") {
        clear();
        res->send(200, R"({"ok":true})", {{"content-type", "application/json"}});
      } else if (path == "/_control/requests") {
        json out = json::array();
        for (const auto& r : requestsCopy()) out.push_back({{"method", r.method}, {"path", r.path}, {"query", r.query}, {"body", r.json()}});
        res->send(200, out.dump(), {{"content-type", "application/json"}});
      } else {
        res->send(404, R"({"error":"unknown control endpoint"})", {{"content-type", "application/json"}});
      }
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu);
      seen.push_back({rq.method, rq.path, rq.query, rq.headers, rq.body});
    }
    if (rq.method == "POST" && (path == "/v1/chat/completions" || path == "/chat/completions")) return chat(Proto::kOpenAi, rq, res);
    if (rq.method == "POST" && path == "/v1/messages") return chat(Proto::kAnthropic, rq, res);
    if (rq.method == "POST" && path == "/api/chat") return chat(Proto::kOllama, rq, res);
    if (rq.method == "POST" && path.rfind("/v1beta/models/", 0) == 0) {
      std::string rest = path.substr(15);
      auto colon = rest.find(':');
      std::string model = rest.substr(0, colon), op = colon == std::string::npos ? "" : rest.substr(colon + 1);
      if (op == "generateContent") return chat(Proto::kGemini, rq, res, model, false);
      if (op == "streamGenerateContent") {
        if (rq.query.find("alt=sse") == std::string::npos) {
          sendError(Proto::kGemini, res, 400, "INVALID_ARGUMENT", "this fake only streams with alt=sse");
          return;
        }
        return chat(Proto::kGemini, rq, res, model, true);
      }
      if (op == "batchEmbedContents") return embed(Proto::kGemini, rq, res);
    }
    if (rq.method == "POST" && path == "/v1/embeddings") return embed(Proto::kOpenAi, rq, res);
    if (rq.method == "POST" && path == "/api/embed") return embed(Proto::kOllama, rq, res);
    if (rq.method == "GET" && path == "/v1/models") return models(rq.header("anthropic-version").empty() ? Proto::kOpenAi : Proto::kAnthropic, res);
    if (rq.method == "GET" && path == "/v1beta/models") return models(Proto::kGemini, res);
    if (rq.method == "GET" && path == "/api/tags") return models(Proto::kOllama, res);
    res->send(404, R"({"error":{"message":"no such route in the fake provider","type":"not_found_error"}})", {{"content-type", "application/json"}});
  }

  void push(const json& j) {
    std::lock_guard<std::mutex> g(mu);
    if (j.is_array()) for (const auto& x : j) replies.push_back(x);
    else replies.push_back(j);
  }
  void clear() {
    std::lock_guard<std::mutex> g(mu);
    replies.clear();
    seen.clear();
  }
  std::vector<RecordedRequest> requestsCopy() const {
    std::lock_guard<std::mutex> g(mu);
    return seen;
  }
};

FakeProvider::FakeProvider(uint64_t seed) : impl_(std::make_shared<Impl>()) {
  impl_->rng.seed(seed);
  std::weak_ptr<Impl> weak = impl_;
  impl_->server = std::make_unique<net::TestHttpServer>([weak](const ServerRequest& rq, ResponsePtr res) {
    if (auto i = weak.lock()) i->handle(rq, std::move(res));
  });
}

FakeProvider::~FakeProvider() {
  impl_->server.reset();  // joins the server thread first
  std::lock_guard<std::mutex> g(impl_->mu);
  impl_->stalled.clear();
}

int FakeProvider::port() const { return impl_->server->port(); }
std::string FakeProvider::url(std::string_view path) const { return impl_->server->url(path.empty() ? "" : path); }

std::string FakeProvider::baseUrl(std::string_view kind) const {
  std::string root = "http://127.0.0.1:" + std::to_string(port());
  if (kind == "openai" || kind == "openai-compatible") return root + "/v1";
  if (kind == "gemini") return root + "/v1beta";
  return root;
}

void FakeProvider::push(nlohmann::json reply) { impl_->push(reply); }
void FakeProvider::setWholeEvents(bool on) { impl_->wholeEvents = on; }
void FakeProvider::setChunkDelay(double seconds) { impl_->defaultChunkDelay = seconds; }
void FakeProvider::clear() { impl_->clear(); }
size_t FakeProvider::queued() const {
  std::lock_guard<std::mutex> g(impl_->mu);
  return impl_->replies.size();
}
std::vector<RecordedRequest> FakeProvider::requests() const { return impl_->requestsCopy(); }
uint64_t FakeProvider::peerCloses() const { return impl_->server->peerCloses(); }

}  // namespace llmspell::fake
