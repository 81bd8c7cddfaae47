// `llmspell keys create|list|revoke`: the API keys of `llmspell serve` (serve/access.hpp).
#include <cstdio>
#include <ctime>

#include "cli/commands.hpp"
#include "llmspell/core/convert.hpp"
#include "llmspell/core/error.hpp"
#include "llmspell/serve/access.hpp"

namespace llmspell::cli {
namespace {

std::string isoDate(double ts) {
  if (ts <= 0) return "-";
  std::time_t t = static_cast<std::time_t>(ts);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s.empty() ? "-" : s;
}

std::string ceilingText(const serve::GrantCeiling& c) {
  if (c.unlimited()) return "manifest";
  std::string s;
  auto kind = [&](const char* name, const std::optional<std::vector<std::string>>& v) {
    if (v && !v->empty()) s += std::string(s.empty() ? "" : " ") + name + "=" + joined(*v);
  };
  kind("net", c.net);
  kind("read", c.read);
  kind("write", c.write);
  kind("env", c.env);
  if (c.run.value_or(false)) s += std::string(s.empty() ? "" : " ") + "run";
  return s.empty() ? "none" : s;
}

int fails(const Exception& e) {
  std::fprintf(stderr, "error[%s]: %s\n", e.error().code.c_str(), e.error().message.c_str());
  return e.error().code == codes::kInvalidArgument ? 2 : 1;
}

}  // namespace

int keys(const KeysOptions& o) {
  try {
    serve::KeyStore store(o.db.empty() ? serve::KeyStore::defaultPath() : o.db);
    if (o.action == "create") {
      serve::KeyInfo spec;
      spec.name = o.name;
      spec.spells = o.spells;
      if (!o.rate.empty()) {
        auto [perSecond, count] = serve::parseRate(o.rate);
        spec.ratePerSecond = perSecond;
        spec.burst = o.burst > 0 ? o.burst : count;
      } else if (o.burst > 0) {
        std::fprintf(stderr, "error[invalid_argument]: --burst sizes a rate limit: give --rate too\n");
        return 2;
      }
      if (!o.budget.empty()) std::tie(spec.budgetUsd, spec.budgetPeriod) = serve::parseBudget(o.budget);
      // Any grant flag makes the ceiling exact: the kinds not named are granted nothing.
      bool ceiling = o.noGrants || !o.net.empty() || !o.read.empty() || !o.write.empty() || !o.env.empty() || o.run;
      if (ceiling) {
        spec.ceiling.net = o.net;
        spec.ceiling.read = o.read;
        spec.ceiling.write = o.write;
        spec.ceiling.env = o.env;
        spec.ceiling.run = o.run;
      }
      auto made = store.create(spec);
      if (o.json) {
        Value v = made.info.toValue();
        v.asObject().set("key", made.key);
        std::printf("%s\n", toJsonText(v, {.pretty = true}).c_str());
      } else {
        std::printf("%s\n", made.key.c_str());
        std::fprintf(stderr,
                     "created key %s (%s) for spells %s, grants: %s\n"
                     "store the key now: only its hash is kept, so it cannot be shown again\n",
                     made.info.id.c_str(), made.info.name.c_str(), joined(made.info.spells).c_str(),
                     ceilingText(made.info.ceiling).c_str());
      }
      return 0;
    }
    if (o.action == "list") {
      auto all = store.list(o.all);
      if (o.json) {
        Value out = Value::array();
        for (const auto& k : all) out.asArray().push(k.toValue());
        std::printf("%s\n", toJsonText(out, {.pretty = true}).c_str());
        return 0;
      }
      if (all.empty()) {
        std::fprintf(stderr, "no API keys%s; `llmspell keys create --spell NAME` makes one\n", o.all ? "" : " (active)");
        return 0;
      }
      std::printf("%-16s  %-16s  %-20s  %-12s  %-12s  %-20s  %-20s  %s\n", "ID", "NAME", "SPELLS", "RATE", "BUDGET", "CREATED",
                  "LAST USED", "GRANTS");
      for (const auto& k : all) {
        char rate[32] = "-", budget[48] = "-";
        if (k.ratePerSecond > 0) std::snprintf(rate, sizeof rate, "%g/s", k.ratePerSecond);
        if (k.budgetUsd > 0) std::snprintf(budget, sizeof budget, "$%g/%s", k.budgetUsd, k.budgetPeriod.c_str());
        std::string id = k.id + (k.revoked > 0 ? " (revoked)" : "");
        std::printf("%-16s  %-16s  %-20s  %-12s  %-12s  %-20s  %-20s  %s\n", id.c_str(), k.name.c_str(), joined(k.spells).c_str(),
                    rate, budget, isoDate(k.created).c_str(), isoDate(k.lastUsed).c_str(), ceilingText(k.ceiling).c_str());
      }
      return 0;
    }
    if (o.action == "revoke") {
      if (!store.revoke(o.target)) {
        std::fprintf(stderr, "error[not_found]: no active API key with id or name '%s' (`llmspell keys list` shows them)\n",
                     o.target.c_str());
        return 1;
      }
      std::fprintf(stderr, "revoked %s\n", o.target.c_str());
      return 0;
    }
  } catch (const Exception& e) {
    return fails(e);
  }
  std::fprintf(stderr, "error[invalid_argument]: llmspell keys create|list|revoke\n");
  return 2;
}

}  // namespace llmspell::cli
