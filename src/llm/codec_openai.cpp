// OpenAI Chat Completions codec, also used (relaxed) for OpenAI-compatible servers.
#include <algorithm>
#include <cstring>

#include "llm/codecs.hpp"
#include "llm/simd_util.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

std::string joinUrl(std::string_view base, std::string_view path) {
  std::string b(base);
  while (!b.empty() && b.back() == '/') b.pop_back();
  if (!path.empty() && path.front() != '/') b += '/';
  b += path;
  return b;
}

void mergeExtra(ojson& body, const Value& extra) {
  if (!extra.isObject()) return;
  for (const auto& [k, v] : extra.asObject()) body[k] = toOjson(v);
}

BodyWriter::BodyWriter(std::string& out, const Value& extra) : j_(out) {
  if (extra.isObject() && !extra.asObject().empty()) extra_ = &extra.asObject();
  j_.beginObject();
}

bool BodyWriter::field(std::string_view name) {
  j_.key(name);
  if (!extra_) return true;
  const Value* v = extra_->find(name);
  if (!v) return true;
  j_.value(*v);
  used_.push_back(name);
  return false;
}

void BodyWriter::finish() {
  if (extra_) {
    for (const auto& [k, v] : *extra_) {
      if (std::find(used_.begin(), used_.end(), k) == used_.end()) j_.key(k).value(v);
    }
  }
  j_.endObject();
}

namespace {

std::string argumentsText(const ToolCall& c) {
  if (!c.rawArguments.empty() && c.argumentsError.empty()) return c.rawArguments;
  return valueJson(c.arguments.isNull() ? Value::object() : c.arguments);
}

std::string imageUrlOf(const ContentPart& p) {
  if (!p.url.empty()) return p.url;
  return "data:" + (p.mediaType.empty() ? std::string("image/png") : p.mediaType) + ";base64," +
         base64Encode(p.data);
}

void writeMessage(JsonOut& j, const Message& m) {
  j.beginObject();
  if (m.role == Role::kTool) {
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolResult) continue;
      j.key("role").str("tool").key("tool_call_id").str(p.toolCallId).key("content").str(p.text);
      j.endObject();
      return;
    }
    fail(codes::kInvalidArgument, "a tool message needs a tool result");
  }
  j.key("role").str(roleName(m.role));
  bool hasImage = false, hasCalls = false;
  for (const auto& p : m.parts) {
    hasImage |= p.kind == ContentPart::Kind::kImage;
    hasCalls |= p.kind == ContentPart::Kind::kToolCall;
  }
  if (hasImage) {
    if (m.role != Role::kUser) fail(codes::kInvalidArgument, "images can only be sent in user messages");
    j.key("content").beginArray();
    for (const auto& p : m.parts) {
      if (p.kind == ContentPart::Kind::kText) {
        j.beginObject().key("type").str("text").key("text").str(p.text).endObject();
      } else if (p.kind == ContentPart::Kind::kImage) {
        j.beginObject().key("type").str("image_url").key("image_url").beginObject();
        j.key("url").str(imageUrlOf(p)).endObject().endObject();
      }
    }
    j.endArray().endObject();
    return;
  }
  std::string text = m.text();
  j.key("content");
  if (m.role == Role::kAssistant && hasCalls && text.empty()) j.null();
  else j.str(text);
  if (hasCalls) {
    j.key("tool_calls").beginArray();
    for (const auto& p : m.parts) {
      if (p.kind != ContentPart::Kind::kToolCall) continue;
      const ToolCall& c = p.call;
      j.beginObject().key("id").str(c.id).key("type").str("function");
      j.key("function").beginObject().key("name").str(c.name).key("arguments").str(argumentsText(c));
      j.endObject().endObject();
    }
    j.endArray();
  }
  j.endObject();
}

FinishReason mapFinish(std::string_view raw) {
  if (raw == "stop") return FinishReason::kStop;
  if (raw == "length") return FinishReason::kLength;
  if (raw == "tool_calls" || raw == "function_call") return FinishReason::kToolCalls;
  if (raw == "content_filter") return FinishReason::kContentFilter;
  if (raw == "error") return FinishReason::kError;
  return FinishReason::kOther;
}

void readUsage(const ojson& u, Usage& out) {
  if (!u.is_object()) return;
  out.present = true;
  out.inputTokens = num(u, "prompt_tokens");
  out.outputTokens = num(u, "completion_tokens");
  out.totalTokens = num(u, "total_tokens", out.inputTokens + out.outputTokens);
  if (const ojson* d = field(u, "prompt_tokens_details")) out.cachedTokens = num(*d, "cached_tokens");
  if (const ojson* d = field(u, "completion_tokens_details")) {
    out.reasoningTokens = num(*d, "reasoning_tokens");
  }
}

void readUsage(simdjson::dom::element u, Usage& out) {
  if (!u.is_object()) return;
  out.present = true;
  out.inputTokens = simdNumField(u, "prompt_tokens");
  out.outputTokens = simdNumField(u, "completion_tokens");
  out.totalTokens = simdNumField(u, "total_tokens", out.inputTokens + out.outputTokens);
  if (simdjson::dom::element d; simdField(u, "prompt_tokens_details", d)) out.cachedTokens = simdNumField(d, "cached_tokens");
  if (simdjson::dom::element d; simdField(u, "completion_tokens_details", d)) {
    out.reasoningTokens = simdNumField(d, "reasoning_tokens");
  }
}

// readAnyUsage() below over the DOM.
void readAnyUsage(simdjson::dom::element j, Usage& out) {
  simdjson::dom::element u, g;
  if (simdField(j, "usage", u)) readUsage(u, out);
  else if (simdField(j, "x_groq", g) && simdField(g, "usage", u)) readUsage(u, out);
}

void readAnyUsage(const ojson& j, Usage& out) {
  if (const ojson* u = field(j, "usage")) readUsage(*u, out);
  else if (const ojson* g = field(j, "x_groq")) {
    if (const ojson* u = field(*g, "usage")) readUsage(*u, out);
  }
}

// A refusal is its own field and makes finish_reason content_filter; raw_finish_reason stays
// the provider's word ("stop"). The text carries it too when the model wrote nothing else, so
// a spell printing r.text shows why there is no answer.
void applyRefusal(ChatResponse& r, const std::string& refusal) {
  if (refusal.empty()) return;
  r.refusal = refusal;
  if (r.text.empty()) r.text = refusal;
  if (r.finishReason == FinishReason::kStop) r.finishReason = FinishReason::kContentFilter;
}

void finalize(ChatResponse& r, std::string provider) {
  r.provider = std::move(provider);
  if (!r.toolCalls.empty() && r.finishReason == FinishReason::kStop) r.finishReason = FinishReason::kToolCalls;
  r.message.role = Role::kAssistant;
  r.message.parts.clear();
  if (!r.reasoning.empty()) {
    ContentPart rp;
    rp.kind = ContentPart::Kind::kReasoning;
    rp.text = r.reasoning;
    r.message.parts.push_back(std::move(rp));
  }
  if (!r.text.empty() || r.toolCalls.empty()) r.message.parts.push_back(ContentPart::textPart(r.text));
  for (const auto& c : r.toolCalls) r.message.parts.push_back(ContentPart::toolCallPart(c));
}

class OpenAiStream : public StreamDecoder {
 public:
  OpenAiStream(bool compat, bool fast) : compat_(compat), fast_(fast) {}

  void feed(std::string_view event, std::string_view data, std::vector<StreamChunk>& out) override {
    if (done_) return;
    if (data == "[DONE]") {
      done_ = true;
      return;
    }
    if (event == "error") {  // old llama.cpp field line turned into an event by the caller
      if (auto e = inBandError(name(), data)) throw Exception(*e);
      fail(codes::kProviderError, name() + " reported an error: " + std::string(data.substr(0, 300)));
    }
    if (fast_ && feedFast(data, out)) return;
    ojson j = parseOjson(data, name() + " stream event");
    if (auto e = inBandError(name(), data); e && field(j, "error")) throw Exception(*e);
    if (!str(j, "model").empty()) resp_.model = str(j, "model");
    readAnyUsage(j, resp_.usage);
    const ojson* choices = field(j, "choices");
    if (!choices || !choices->is_array()) return;
    for (const auto& c : *choices) {
      if (num(c, "index") != 0) continue;
      if (const ojson* d = field(c, "delta")) {
        StreamChunk ch;
        std::string t = str(*d, "content");
        if (!t.empty()) {
          resp_.text += t;
          ch.text = t;
        }
        std::string r = str(*d, "reasoning_content");
        if (r.empty()) r = str(*d, "reasoning");
        if (!r.empty()) {
          resp_.reasoning += r;
          ch.reasoning = r;
        }
        std::string refusal = str(*d, "refusal");
        if (!refusal.empty()) {
          refusal_ += refusal;
          ch.refusal = refusal;
        }
        if (!ch.text.empty() || !ch.reasoning.empty() || !ch.refusal.empty()) out.push_back(std::move(ch));
        if (const ojson* tcs = field(*d, "tool_calls"); tcs && tcs->is_array()) {
          for (const auto& tc : *tcs) {
            ToolCallDelta td;
            td.id = str(tc, "id");
            if (const ojson* ix = field(tc, "index"); ix && ix->is_number()) {
              td.index = ix->get<int64_t>();
            } else {
              // Some compat layers omit index: a new id starts a new slot.
              if (!td.id.empty() && td.id != lastId_) ++lastIndex_;
              td.index = std::max<int64_t>(lastIndex_, 0);
            }
            if (!td.id.empty()) lastId_ = td.id;
            if (const ojson* fn = field(tc, "function")) {
              td.name = str(*fn, "name");
              if (const ojson* a = field(*fn, "arguments")) {
                td.argumentsDelta = a->is_string() ? a->get<std::string>() : a->dump();
              }
            }
            calls_.apply(td);
            StreamChunk tch;
            tch.toolCall = td;
            out.push_back(std::move(tch));
          }
        }
      }
      std::string fr = str(c, "finish_reason");
      if (!fr.empty()) {
        resp_.rawFinishReason = fr;
        sawFinish_ = true;
      }
    }
  }

  bool finished() const override { return done_; }

  ChatResponse finish() override {
    if (!done_ && !sawFinish_) {
      fail(codes::kProviderError, name() + " stream ended before the response was complete "
                                           "(no finish_reason and no [DONE])", true);
    }
    ChatResponse r = resp_;
    r.finishReason = mapFinish(r.rawFinishReason);
    applyRefusal(r, refusal_);
    r.toolCalls = calls_.finish();
    finalize(r, name());
    return r;
  }

 private:
  // The common events (text, reasoning, refusal and tool-call deltas, usage; no error) read
  // from simdjson's DOM without building nlohmann values: most of a streamed reply's events, and
  // the per-chunk cost is what streaming pays. Anything else returns false having changed
  // nothing, and the general path above handles it. Must mean exactly what that path means (the
  // codec test feeds both the same random events).
  bool feedFast(std::string_view data, std::vector<StreamChunk>& out) {
    simdjson::dom::element doc;
    simdjson::dom::object root;
    if (threadParser().parse(data.data(), data.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(root) != simdjson::SUCCESS) {
      return false;
    }
    std::string_view model;
    simdjson::dom::element choices;
    bool haveChoices = false, haveUsage = false;
    for (auto f : root) {  // duplicate keys: the last one counts, as in the general path
      if (f.key == "model") {
        model = simdStr(f.value);
      } else if (f.key == "usage" || f.key == "x_groq") {
        haveUsage |= !f.value.is_null();  // "usage": null rides on every chunk
      } else if (f.key == "choices") {
        choices = f.value;
        haveChoices = f.value.is_array();
      } else if (f.key == "error" || (f.key == "object" && simdStr(f.value) == "error")) {
        return false;  // what inBandError reads as an error: the general path reports it
      }
    }
    struct Delta {
      std::string_view text, reasoning, refusal, finish;
      simdjson::dom::array calls;
      bool haveCalls = false;
    };
    Delta ds[4];
    size_t nd = 0;
    if (haveChoices) {
      for (auto c : simdjson::dom::array(choices)) {
        simdjson::dom::object co;
        if (c.get_object().get(co) != simdjson::SUCCESS) continue;
        int64_t index = 0;
        simdjson::dom::element delta, finish;
        bool haveDelta = false, haveFinish = false;
        for (auto f : co) {
          if (f.key == "index") index = simdNum(f.value);
          else if (f.key == "delta") delta = f.value, haveDelta = true;
          else if (f.key == "finish_reason") finish = f.value, haveFinish = true;
        }
        if (index != 0) continue;
        if (nd == std::size(ds)) return false;
        Delta& d = ds[nd++];
        if (haveFinish) d.finish = simdStr(finish);
        simdjson::dom::object dobj;
        if (!haveDelta || delta.get_object().get(dobj) != simdjson::SUCCESS) continue;
        std::string_view rc, rs;
        simdjson::dom::element calls;
        bool haveCalls = false;
        for (auto f : dobj) {
          if (f.key == "content") d.text = simdStr(f.value);
          else if (f.key == "reasoning_content") rc = simdStr(f.value);
          else if (f.key == "reasoning") rs = simdStr(f.value);
          else if (f.key == "refusal") d.refusal = simdStr(f.value);
          else if (f.key == "tool_calls") calls = f.value, haveCalls = true;
        }
        d.reasoning = rc.empty() ? rs : rc;
        if (haveCalls && calls.get_array().get(d.calls) == simdjson::SUCCESS) {
          d.haveCalls = true;
          for (auto tc : d.calls) {
            if (!fastCallReadable(tc)) return false;
          }
        }
      }
    }
    if (!model.empty() && model != resp_.model) resp_.model = model;
    if (haveUsage) readAnyUsage(doc, resp_.usage);
    for (size_t i = 0; i < nd; ++i) {
      const Delta& d = ds[i];
      if (!d.text.empty() || !d.reasoning.empty() || !d.refusal.empty()) {
        StreamChunk& ch = out.emplace_back();
        ch.text = d.text;
        ch.reasoning = d.reasoning;
        ch.refusal = d.refusal;
        resp_.text += d.text;
        resp_.reasoning += d.reasoning;
      }
      refusal_ += d.refusal;
      if (d.haveCalls) {
        for (auto tc : d.calls) applyFastCall(tc, out);
      }
      if (!d.finish.empty()) {
        resp_.rawFinishReason = d.finish;
        sawFinish_ = true;
      }
    }
    return true;
  }

  // A tool_calls[] entry the fast path reads as the general path does: its index a number that
  // has an int64 value, its arguments a string (others are dumped by nlohmann there).
  static bool fastCallReadable(simdjson::dom::element tc) {
    simdjson::dom::element ix, fn, a;
    if (simdField(tc, "index", ix) && ix.type() == simdjson::dom::element_type::DOUBLE &&
        int64OrDefault(double(ix), INT64_MIN) == INT64_MIN) {
      return false;
    }
    if (simdField(tc, "function", fn) && simdField(fn, "arguments", a) && !a.is_string()) return false;
    return true;
  }

  // The general path's handling of one tool_calls[] entry (any shape: fields that are absent or
  // of another type read as "" / no index).
  void applyFastCall(simdjson::dom::element tc, std::vector<StreamChunk>& out) {
    ToolCallDelta td;
    td.id = simdStrField(tc, "id");
    simdjson::dom::element ix;
    if (simdField(tc, "index", ix) && ix.is_number()) {
      // nlohmann's get<int64_t>(): an unsigned wraps, a double truncates (checked in range).
      switch (ix.type()) {
        case simdjson::dom::element_type::INT64: td.index = int64_t(ix); break;
        case simdjson::dom::element_type::UINT64: td.index = static_cast<int64_t>(uint64_t(ix)); break;
        default: td.index = static_cast<int64_t>(double(ix)); break;
      }
    } else {
      if (!td.id.empty() && td.id != lastId_) ++lastIndex_;
      td.index = std::max<int64_t>(lastIndex_, 0);
    }
    if (!td.id.empty()) lastId_ = td.id;
    if (simdjson::dom::element fn; simdField(tc, "function", fn)) {
      td.name = simdStrField(fn, "name");
      if (simdjson::dom::element a; simdField(fn, "arguments", a)) td.argumentsDelta = simdStr(a);
    }
    calls_.apply(td);
    out.emplace_back().toolCall = std::move(td);
  }

  std::string name() const { return compat_ ? "openai-compatible" : "openai"; }
  bool compat_;
  bool fast_;
  bool done_ = false, sawFinish_ = false;
  ChatResponse resp_;
  std::string refusal_;
  ToolCallAssembler calls_;
  std::string lastId_;
  int64_t lastIndex_ = -1;
};

}  // namespace

WireRequest OpenAiCodec::encodeChat(const ChatRequest& req, const ProviderConfig& cfg) const {
  WireRequest w;
  w.body.reserve(1024);
  BodyWriter b(w.body, req.extra);
  JsonOut& j = b.json();
  if (b.field("model")) j.str(req.model);
  if (b.field("messages")) {
    j.beginArray();
    for (const auto& m : req.messages) writeMessage(j, m);
    j.endArray();
  }
  if (req.temperature && b.field("temperature")) j.number(*req.temperature);
  if (req.topP && b.field("top_p")) j.number(*req.topP);
  if (req.maxTokens) {
    bool mct = compatible_ ? cfg.useMaxCompletionTokens : true;
    if (b.field(mct ? "max_completion_tokens" : "max_tokens")) j.integer(*req.maxTokens);
  }
  if (!req.stop.empty() && b.field("stop")) {
    j.beginArray();
    for (const auto& s : req.stop) j.str(s);
    j.endArray();
  }
  if (req.seed && b.field("seed")) j.integer(*req.seed);
  if (!req.tools.empty()) {
    if (b.field("tools")) {
      j.beginArray();
      for (const auto& t : req.tools) {
        j.beginObject().key("type").str("function").key("function").beginObject().key("name").str(t.name);
        if (!t.description.empty()) j.key("description").str(t.description);
        j.key("parameters").value(t.parameters).endObject().endObject();
      }
      j.endArray();
    }
    if (!req.toolChoice.mode.empty() && b.field("tool_choice")) {
      if (req.toolChoice.mode == "tool") {
        j.beginObject().key("type").str("function").key("function").beginObject();
        j.key("name").str(req.toolChoice.name).endObject().endObject();
      } else {
        j.str(req.toolChoice.mode);
      }
    }
    if (req.parallelToolCalls && b.field("parallel_tool_calls")) j.boolean(*req.parallelToolCalls);
  }
  if (!req.responseSchema.isNull()) {
    if (b.field("response_format")) {
      j.beginObject().key("type").str("json_schema").key("json_schema").beginObject();
      j.key("name").str(req.responseSchemaName).key("schema").value(req.responseSchema);
      j.endObject().endObject();
    }
  } else if (req.jsonMode && b.field("response_format")) {
    j.beginObject().key("type").str("json_object").endObject();
  }
  if (b.field("stream")) j.boolean(req.stream);
  if (req.stream && cfg.streamUsage && b.field("stream_options")) {
    j.beginObject().key("include_usage").boolean(true).endObject();
  }
  b.finish();

  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/chat/completions");
  w.headers.emplace_back("Content-Type", "application/json");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("Authorization", "Bearer " + cfg.apiKey);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
  w.framing = req.stream ? Framing::kSse : Framing::kJson;
  return w;
}

// Read from simdjson's DOM straight into the response: no nlohmann tree (the reply is parsed
// once; tool arguments given as objects become Values directly). The DOM rather than simdjson's
// on-demand API because a repeated key must resolve to its last value, as the stream decoder's
// reference path (nlohmann's tree) resolves it, and on-demand reads forward only.
ChatResponse OpenAiCodec::decodeChat(std::string_view body) const {
  std::string nm(kind());
  if (auto e = inBandError(nm, body)) throw Exception(*e);
  std::string scratch;
  simdjson::dom::element j = parseReply(body, nm + " response", scratch);
  ChatResponse r;
  r.model = simdStrField(j, "model");
  readAnyUsage(j, r.usage);
  simdjson::dom::element choices;
  simdjson::dom::array ca;
  if (!simdField(j, "choices", choices) || choices.get_array().get(ca) != simdjson::SUCCESS || ca.size() == 0) {
    fail(codes::kProviderError, nm + " response has no choices");
  }
  simdjson::dom::element c = ca.at(0).value_unsafe();
  std::string_view refusal;
  if (simdjson::dom::element m; simdField(c, "message", m)) {
    r.text = simdStrField(m, "content");
    r.reasoning = simdStrField(m, "reasoning_content");
    if (r.reasoning.empty()) r.reasoning = simdStrField(m, "reasoning");
    refusal = simdStrField(m, "refusal");
    simdjson::dom::element tcs;
    if (simdField(m, "tool_calls", tcs) && tcs.is_array()) {
      for (auto tc : simdjson::dom::array(tcs)) {
        ToolCall call;
        call.id = simdStrField(tc, "id");
        if (simdjson::dom::element fn; simdField(tc, "function", fn)) {
          call.name = simdStrField(fn, "name");
          if (simdjson::dom::element a; simdField(fn, "arguments", a)) {
            if (a.is_string()) {
              call.rawArguments = simdStr(a);
              call.arguments = parseToolArguments(call.rawArguments, &call.argumentsError);
            } else if (a.is_object()) {
              call.arguments = simdToValue(a);
            }
          }
        }
        r.toolCalls.push_back(std::move(call));
      }
    }
  }
  r.rawFinishReason = simdStrField(c, "finish_reason");
  r.finishReason = mapFinish(r.rawFinishReason);
  applyRefusal(r, std::string(refusal));
  finalize(r, nm);
  return r;
}

std::unique_ptr<StreamDecoder> openAiStreamDecoder(bool compatible, bool fastPath) {
  return std::make_unique<OpenAiStream>(compatible, fastPath);
}

std::unique_ptr<StreamDecoder> OpenAiCodec::streamDecoder() const {
  return openAiStreamDecoder(compatible_, true);
}

WireRequest OpenAiCodec::encodeEmbed(const std::vector<std::string>& texts, const std::string& model,
                                     const Value& opts, const ProviderConfig& cfg) const {
  ojson body = {{"model", model}, {"input", texts}, {"encoding_format", "float"}};
  if (opts.get("dimensions").isNumber()) body["dimensions"] = opts.getInt("dimensions");
  WireRequest w;
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/embeddings");
  w.headers.emplace_back("Content-Type", "application/json");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("Authorization", "Bearer " + cfg.apiKey);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
  w.body = dumpJson(body);
  return w;
}

std::vector<std::vector<double>> OpenAiCodec::decodeEmbed(std::string_view body) const {
  std::string nm(kind());
  if (auto e = inBandError(nm, body)) throw Exception(*e);
  ojson j = parseOjson(body, nm + " embeddings response");
  const ojson* data = field(j, "data");
  if (!data || !data->is_array()) fail(codes::kProviderError, nm + " embeddings response has no data");
  std::vector<std::pair<int64_t, std::vector<double>>> items;
  for (const auto& d : *data) {
    std::vector<double> vec;
    const ojson* e = field(d, "embedding");
    if (e && e->is_array()) {
      for (const auto& x : *e) vec.push_back(x.get<double>());
    } else if (e && e->is_string()) {  // base64 little-endian float32
      std::string raw;
      if (!base64Decode(e->get<std::string>(), raw)) fail(codes::kProviderError, "bad base64 embedding");
      for (size_t i = 0; i + 4 <= raw.size(); i += 4) {
        float f;
        std::memcpy(&f, raw.data() + i, 4);
        vec.push_back(f);
      }
    }
    items.emplace_back(num(d, "index", static_cast<int64_t>(items.size())), std::move(vec));
  }
  std::stable_sort(items.begin(), items.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<std::vector<double>> out;
  for (auto& [i, v] : items) out.push_back(std::move(v));
  return out;
}

WireRequest OpenAiCodec::encodeListModels(const ProviderConfig& cfg) const {
  WireRequest w;
  w.method = "GET";
  w.url = joinUrl(cfg.baseUrl.empty() ? defaultBaseUrl(kind()) : cfg.baseUrl, "/models");
  if (!cfg.apiKey.empty()) w.headers.emplace_back("Authorization", "Bearer " + cfg.apiKey);
  for (const auto& h : cfg.headers) w.headers.push_back(h);
  return w;
}

Value OpenAiCodec::decodeListModels(std::string_view body) const {
  ojson j = parseOjson(body, std::string(kind()) + " model list");
  Value out = Value::array();
  if (const ojson* data = field(j, "data"); data && data->is_array()) {
    for (const auto& m : *data) {
      Value v = Value::object({{"id", str(m, "id")}});
      if (!str(m, "owned_by").empty()) v.asObject().set("owned_by", str(m, "owned_by"));
      if (num(m, "max_model_len") > 0) v.asObject().set("context_window", num(m, "max_model_len"));
      out.asArray().push(v);
    }
  }
  return out;
}

}  // namespace llmspell::llm
