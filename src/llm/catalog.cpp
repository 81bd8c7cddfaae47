// The built-in model catalog (prices in USD per 1M tokens, list prices as published by the
// providers in 2025; refreshable from provider list endpoints by models.refresh).
#include "llmspell/llm/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"

namespace llmspell::llm {

namespace {

ModelInfo m(std::string provider, std::string model, int64_t ctx, int64_t out,
            std::vector<std::string> caps, double in, double outp, double cached = -1) {
  ModelInfo i;
  i.id = provider + "/" + model;
  i.provider = std::move(provider);
  i.model = std::move(model);
  i.contextWindow = ctx;
  i.maxOutput = out;
  i.capabilities = std::move(caps);
  i.inputPrice = in;
  i.outputPrice = outp;
  i.cachedPrice = cached;
  return i;
}

ModelInfo embedding(std::string provider, std::string model, int64_t ctx, double in) {
  ModelInfo i = m(std::move(provider), std::move(model), ctx, 0, {"embeddings"}, in, 0);
  i.kind = "embedding";
  return i;
}

std::vector<ModelInfo> build() {
  const std::vector<std::string> full = {"tools", "vision", "json_schema", "streaming"};
  const std::vector<std::string> reason = {"tools", "vision", "json_schema", "streaming", "reasoning"};
  std::vector<ModelInfo> c = {
      m("openai", "gpt-5", 400000, 128000, reason, 1.25, 10.0, 0.125),
      m("openai", "gpt-5-mini", 400000, 128000, reason, 0.25, 2.0, 0.025),
      m("openai", "gpt-5-nano", 400000, 128000, reason, 0.05, 0.40, 0.005),
      m("openai", "gpt-4.1", 1047576, 32768, full, 2.0, 8.0, 0.50),
      m("openai", "gpt-4.1-mini", 1047576, 32768, full, 0.40, 1.60, 0.10),
      m("openai", "gpt-4.1-nano", 1047576, 32768, full, 0.10, 0.40, 0.025),
      m("openai", "gpt-4o", 128000, 16384, full, 2.50, 10.0, 1.25),
      m("openai", "gpt-4o-mini", 128000, 16384, full, 0.15, 0.60, 0.075),
      m("openai", "o3", 200000, 100000, reason, 2.0, 8.0, 0.50),
      m("openai", "o4-mini", 200000, 100000, reason, 1.10, 4.40, 0.275),
      embedding("openai", "text-embedding-3-small", 8191, 0.02),
      embedding("openai", "text-embedding-3-large", 8191, 0.13),
      m("anthropic", "claude-opus-4-1", 200000, 32000, reason, 15.0, 75.0, 1.50),
      m("anthropic", "claude-sonnet-4-5", 200000, 64000, reason, 3.0, 15.0, 0.30),
      m("anthropic", "claude-sonnet-4", 200000, 64000, reason, 3.0, 15.0, 0.30),
      m("anthropic", "claude-haiku-4-5", 200000, 64000, reason, 1.0, 5.0, 0.10),
      m("anthropic", "claude-3-5-haiku", 200000, 8192, full, 0.80, 4.0, 0.08),
      m("gemini", "gemini-2.5-pro", 1048576, 65536, reason, 1.25, 10.0, 0.31),
      m("gemini", "gemini-2.5-flash", 1048576, 65536, reason, 0.30, 2.50, 0.075),
      m("gemini", "gemini-2.5-flash-lite", 1048576, 65536, reason, 0.10, 0.40, 0.025),
      m("gemini", "gemini-2.0-flash", 1048576, 8192, full, 0.10, 0.40, 0.025),
      embedding("gemini", "gemini-embedding-001", 2048, 0.15),
      m("ollama", "llama3.2", 131072, 131072, {"tools", "streaming", "json_schema"}, 0, 0),
      m("ollama", "qwen3", 40960, 40960, {"tools", "streaming", "json_schema", "reasoning"}, 0, 0),
      embedding("ollama", "all-minilm", 512, 0),
      m("mock", "echo", 1000000, 1000000, {"tools", "streaming", "json_schema"}, 0, 0),
      m("mock", "script", 1000000, 1000000, {"tools", "streaming", "json_schema"}, 0, 0),
  };
  for (auto& i : c) {
    if (i.provider == "ollama" || i.provider == "mock") i.local = true;
  }
  return c;
}

}  // namespace

const std::vector<ModelInfo>& builtinCatalog() {
  static const std::vector<ModelInfo> c = build();
  return c;
}

const ModelInfo* findModel(std::string_view id) {
  const ModelInfo* best = nullptr;
  for (const auto& i : builtinCatalog()) {
    if (i.id == id) return &i;
    if (id.size() > i.id.size() && id.substr(0, i.id.size()) == i.id &&
        (id[i.id.size()] == '-' || id[i.id.size()] == ':' || id[i.id.size()] == '@')) {
      if (!best || i.id.size() > best->id.size()) best = &i;
    }
  }
  return best;
}

std::string providerOfBareModel(std::string_view model) {
  for (const auto& i : builtinCatalog()) {
    if (i.model == model) return i.provider;
  }
  return "";
}

Value toValue(const ModelInfo& m) {
  auto caps = Value::array();
  for (const auto& c : m.capabilities) caps.asArray().push(c);
  return Value::object({{"id", m.id},
                        {"provider", m.provider},
                        {"model", m.model},
                        {"kind", m.kind},
                        {"context_window", m.contextWindow},
                        {"max_output", m.maxOutput},
                        {"capabilities", caps},
                        {"input_price", m.inputPrice},
                        {"output_price", m.outputPrice},
                        {"cached_price", m.cachedPrice < 0 ? m.inputPrice : m.cachedPrice},
                        {"local", m.local},
                        {"source", m.source}});
}

std::string modelCachePath(const std::string& dataDir, const std::string& provider) {
  std::string safe;
  for (char c : provider) safe.push_back(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_');
  return (dataDir.empty() ? std::string(".") : dataDir) + "/models/" + safe + ".json";
}

void writeModelCache(const std::string& dataDir, const std::string& provider, const Value& models, double fetchedAt) {
  std::string path = modelCachePath(dataDir, provider);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << toJsonText(Value::object({{"provider", provider}, {"fetched_at", fetchedAt}, {"models", models}}));
    if (!out) fail(codes::kInternal, "cannot write the model cache " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) fail(codes::kInternal, "cannot write the model cache " + path);
}

std::vector<ModelInfo> catalogWithCache(const std::string& dataDir) {
  std::vector<ModelInfo> out = builtinCatalog();
  if (dataDir.empty()) return out;
  std::set<std::string> known;
  for (const auto& m : out) known.insert(m.id);
  std::error_code ec;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dataDir + "/models", ec)) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<ModelInfo> listed;
  for (const auto& f : files) {
    Value doc;
    try {
      std::ifstream in(f, std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      doc = parseJson(ss.str());
    } catch (const Exception&) {
      continue;
    }
    std::string provider = doc.getString("provider");
    if (provider.empty() || !doc.get("models").isArray()) continue;
    for (const auto& e : doc.get("models").asArray()) {
      std::string model = e.getString("id");
      if (model.empty()) continue;
      std::string id = provider + "/" + model;
      if (!known.insert(id).second) continue;
      ModelInfo i;
      if (const ModelInfo* fam = findModel(id)) i = *fam;
      else {
        i.kind = model.find("embed") != std::string::npos ? "embedding" : "chat";
        i.local = provider == "ollama";
      }
      i.id = id;
      i.provider = provider;
      i.model = model;
      i.source = "listed";
      if (e.get("context_window").isNumber()) i.contextWindow = e.getInt("context_window");
      if (e.get("max_output").isNumber()) i.maxOutput = e.getInt("max_output");
      listed.push_back(std::move(i));
    }
  }
  std::sort(listed.begin(), listed.end(), [](const ModelInfo& a, const ModelInfo& b) { return a.id < b.id; });
  out.insert(out.end(), listed.begin(), listed.end());
  return out;
}

std::optional<double> costUsd(const Usage& u, std::string_view modelId) {
  const ModelInfo* m = findModel(modelId);
  if (!m) return std::nullopt;
  double cachedPrice = m->cachedPrice < 0 ? m->inputPrice : m->cachedPrice;
  int64_t uncached = u.inputTokens - u.cachedTokens;
  if (uncached < 0) uncached = 0;
  return (static_cast<double>(uncached) * m->inputPrice +
          static_cast<double>(u.cachedTokens) * cachedPrice +
          static_cast<double>(u.outputTokens) * m->outputPrice) / 1e6;
}

}  // namespace llmspell::llm
