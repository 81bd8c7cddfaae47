// The built-in model catalog: context window, max output, capabilities and prices (USD per
// million tokens) for current models; cost of a call from its usage. Read-only, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "llmspell/core/value.hpp"
#include "llmspell/llm/types.hpp"

namespace llmspell::llm {

struct ModelInfo {
  std::string id;        // "openai/gpt-4o-mini"
  std::string provider;  // "openai"
  std::string model;     // "gpt-4o-mini"
  std::string kind = "chat";  // chat | embedding
  int64_t contextWindow = 0;
  int64_t maxOutput = 0;
  std::vector<std::string> capabilities;  // tools, vision, json_schema, streaming, reasoning
  double inputPrice = 0;   // USD per 1M input tokens
  double outputPrice = 0;  // USD per 1M output tokens
  double cachedPrice = -1; // USD per 1M cached input tokens (-1 = same as input)
  bool local = false;      // runs locally (free)
  std::string source = "builtin";  // builtin | listed (from a provider's list, cached by models.refresh)
};

const std::vector<ModelInfo>& builtinCatalog();
// Exact "provider/model", else the longest catalog model that prefixes it within the same
// provider ("openai/gpt-4o-2024-08-06" -> openai/gpt-4o). nullptr when unknown.
const ModelInfo* findModel(std::string_view id);
// A bare model name ("gpt-4o-mini") -> its provider ("openai"), or "" when unknown.
std::string providerOfBareModel(std::string_view model);
// {id, provider, model, kind, context_window, max_output, capabilities, input_price,
//  output_price, cached_price, local, source}
Value toValue(const ModelInfo& m);
// Model lists fetched by models.refresh, cached per provider in
// <dataDir>/models/<provider>.json = {provider, fetched_at, models = [{id, context_window?,
// max_output?, display_name?}]}.
std::string modelCachePath(const std::string& dataDir, const std::string& provider);
// Writes the cache file atomically (temp file + rename). Throws Exception(internal) naming the
// path when it cannot be written.
void writeModelCache(const std::string& dataDir, const std::string& provider, const Value& models, double fetchedAt);
// The built-in catalog plus, from every cache file in <dataDir>/models, the listed models the
// built-in catalog lacks (source = "listed"): a dated id inherits its family's data and prices
// ("openai/gpt-4o-2024-08-06" from openai/gpt-4o); others have the list's context window /
// max output when it gives them, no capabilities and no prices. Unreadable files are skipped.
std::vector<ModelInfo> catalogWithCache(const std::string& dataDir);

// Cost of `usage` on `modelId`; nullopt when the catalog has no price for it. Cached input
// tokens are billed at the cached price.
std::optional<double> costUsd(const Usage& usage, std::string_view modelId);

}  // namespace llmspell::llm
