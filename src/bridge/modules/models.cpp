// `models` namespace: the built-in model catalog (list, info, find) and refresh from a
// provider's list endpoint.
#include <algorithm>

#include "bridge/modules/llm_service.hpp"
#include "llmspell/llm/catalog.hpp"

namespace llmspell {

namespace {

bool hasCap(const llm::ModelInfo& m, const std::string& cap) {
  return std::find(m.capabilities.begin(), m.capabilities.end(), cap) != m.capabilities.end();
}

// filter: a provider name, or {provider, capability | capabilities, kind, local}.
bool matches(const llm::ModelInfo& m, const Value& f) {
  if (f.isNull()) return true;
  if (f.isString()) return m.provider == f.asString();
  if (f.get("provider").isString() && m.provider != f.getString("provider")) return false;
  if (f.get("kind").isString() && m.kind != f.getString("kind")) return false;
  if (f.get("local").isBool() && m.local != f.getBool("local")) return false;
  if (f.get("capability").isString() && !hasCap(m, f.getString("capability"))) return false;
  const Value& caps = f.get("capabilities");
  if (caps.isArray()) {
    for (const auto& c : caps.asArray()) {
      if (c.isString() && !hasCap(m, c.asString())) return false;
    }
  }
  if (f.get("min_context").isNumber() && static_cast<double>(m.contextWindow) < f.getNumber("min_context")) return false;
  if (f.get("max_input_price").isNumber() && m.inputPrice > f.getNumber("max_input_price")) return false;
  if (f.get("max_output_price").isNumber() && m.outputPrice > f.getNumber("max_output_price")) return false;
  return true;
}

}  // namespace

void llmspell_register_models(Registry& r) {
  r.fn("models", "list")
      .opt("filter", R"({"type":["string","object"]})", "a provider name or {provider, capability, capabilities, kind, local, min_context}")
      .returns("[{id, provider, model, kind, context_window, max_output, capabilities, input_price, output_price, cached_price, local}]")
      .doc("The model catalog (prices in USD per million tokens).")
      .sync([](CallContext&, Args a) {
        Value out = Value::array();
        for (const auto& m : llm::builtinCatalog()) {
          if (matches(m, a[0])) out.asArray().push(llm::toValue(m));
        }
        return out;
      });

  r.fn("models", "info")
      .param("id", R"({"type":"string","minLength":1})", "provider/model")
      .returns("the catalog entry")
      .doc("One model's catalog entry; dated ids match their family (openai/gpt-4o-2024-08-06).")
      .sync([](CallContext&, Args a) {
        const llm::ModelInfo* m = llm::findModel(a[0].asString());
        if (!m) {
          std::string id = a[0].asString();
          if (id.find('/') == std::string::npos) {
            std::string p = llm::providerOfBareModel(id);
            if (!p.empty()) m = llm::findModel(p + "/" + id);
          }
        }
        if (!m) fail(codes::kNotFound, "model " + a[0].asString() + " is not in the catalog (see models.list())");
        return llm::toValue(*m);
      });

  r.fn("models", "find")
      .param("requirements", R"({"type":"object"})", "{capabilities, provider, kind, local, min_context, max_input_price}")
      .returns("matching models, cheapest first (then larger context)")
      .doc("Models meeting requirements, ranked by price then context window.")
      .sync([](CallContext&, Args a) {
        std::vector<const llm::ModelInfo*> hits;
        for (const auto& m : llm::builtinCatalog()) {
          if (m.provider != "mock" && matches(m, a[0])) hits.push_back(&m);
        }
        std::stable_sort(hits.begin(), hits.end(), [](auto* x, auto* y) {
          double px = x->inputPrice + x->outputPrice, py = y->inputPrice + y->outputPrice;
          if (px != py) return px < py;
          return x->contextWindow > y->contextWindow;
        });
        Value out = Value::array();
        for (auto* m : hits) out.asArray().push(llm::toValue(*m));
        return out;
      });

  r.fn("models", "refresh")
      .param("provider", R"({"type":"string","minLength":1})")
      .opt("opts", R"({"type":"object"})", "timeout")
      .returns("[{id, ...}] as the provider lists them")
      .doc("Fetches the provider's model list.")
      .async([](CallContext& cx, Args a) { return LlmService::of(cx).client.listModels(a[0].asString()); });
}

}  // namespace llmspell
