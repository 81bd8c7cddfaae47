// `models` namespace: the built-in model catalog (list, info, find) and refresh from a
// provider's list endpoint.
#include <algorithm>
#include <chrono>

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

// The run's catalog: built in + the lists cached by models.refresh (reloaded after a refresh).
struct ModelsRun {
  bool loaded = false;
  std::vector<llm::ModelInfo> catalog;
};

const std::vector<llm::ModelInfo>& catalogOf(RunContext& run) {
  auto& m = run.service<ModelsRun>([] { return std::make_shared<ModelsRun>(); });
  if (!m.loaded) {
    m.catalog = llm::catalogWithCache(run.dataDir);
    m.loaded = true;
  }
  return m.catalog;
}

const llm::ModelInfo* findIn(RunContext& run, const std::string& id) {
  for (const auto& m : catalogOf(run)) {
    if (m.id == id) return &m;
  }
  return llm::findModel(id);
}

}  // namespace

void llmspell_register_models(Registry& r) {
  r.fn("models", "list")
      .opt("filter", R"({"type":["string","object"]})", "a provider name or {provider, capability, capabilities, kind, local, min_context}")
      .returns("[{id, provider, model, kind, context_window, max_output, capabilities, input_price, output_price, cached_price, local, source (\"builtin\" or \"listed\" by models.refresh)}]")
      .doc("The model catalog (prices in USD per million tokens).")
      .sync([](CallContext& cx, Args a) {
        Value out = Value::array();
        for (const auto& m : catalogOf(cx.run)) {
          if (matches(m, a[0])) out.asArray().push(llm::toValue(m));
        }
        return out;
      });

  r.fn("models", "info")
      .param("id", R"({"type":"string","minLength":1})", "provider/model")
      .returns("the catalog entry")
      .doc("One model's catalog entry; dated ids match their family (openai/gpt-4o-2024-08-06).")
      .sync([](CallContext& cx, Args a) {
        const llm::ModelInfo* m = findIn(cx.run, a[0].asString());
        if (!m) {
          std::string id = a[0].asString();
          if (id.find('/') == std::string::npos) {
            std::string p = llm::providerOfBareModel(id);
            if (!p.empty()) m = findIn(cx.run, p + "/" + id);
          }
        }
        if (!m) fail(codes::kNotFound, "model " + a[0].asString() + " is not in the catalog (see models.list())");
        return llm::toValue(*m);
      });

  r.fn("models", "find")
      .param("requirements",
             R"({"type":"object","additionalProperties":false,"properties":{)"
             R"("capabilities":{"type":"array","items":{"type":"string"}},"capability":{"type":"string"},)"
             R"("provider":{"type":"string"},"kind":{"type":"string"},"local":{"type":"boolean"},)"
             R"("min_context":{"type":"number"},"max_input_price":{"type":"number"},"max_output_price":{"type":"number"}}})",
             "{capabilities, capability, provider, kind, local, min_context, max_input_price, max_output_price}; "
             "an unknown key is refused (a typo would match every model)")
      .returns("matching models, cheapest first (then larger context)")
      .doc("Models meeting requirements, ranked by price then context window (listed models without a known price are left out).")
      .sync([](CallContext& cx, Args a) {
        std::vector<const llm::ModelInfo*> hits;
        for (const auto& m : catalogOf(cx.run)) {
          bool unpriced = m.source == "listed" && m.inputPrice == 0 && m.outputPrice == 0 && !m.local;
          if (m.provider != "mock" && !unpriced && matches(m, a[0])) hits.push_back(&m);
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
      .doc("Fetches the provider's model list and caches it in the data directory (models/<provider>.json); "
           "models.list / info / find include the listed models from then on, in later runs too.")
      .async([](CallContext& cx, Args a) {
        std::string provider = a[0].asString();
        PromisePtr p = LlmService::of(cx).client.listModels(provider);
        PromisePtr out = Promise::create();
        RunContext* run = &cx.run;
        p->onSettle([out, run, provider](const Promise& q) {
          if (q.rejected()) {
            out->reject(q.error());
            return;
          }
          try {
            double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
            llm::writeModelCache(run->dataDir, provider, q.value(), now);
            if (auto* m = run->findService<ModelsRun>()) m->loaded = false;
          } catch (const Exception& e) {
            out->reject(e.error());
            return;
          }
          out->resolve(q.value());
        });
        std::weak_ptr<Promise> wp = p;
        out->setCanceller([wp] { if (auto x = wp.lock()) x->cancel(); });
        return out;
      });
}

}  // namespace llmspell
