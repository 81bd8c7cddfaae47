// Authorization for `llmspell serve`. Without API keys every request is allowed: the service
// listens on loopback by default, and docs/serve.md says to keep it there until keys are on.
// With keys (a key store with active keys, or --require-keys), Access decides: 401 without a
// valid key, 403 for a spell the key may not run, 429 with Retry-After when its rate or budget
// is spent.
#include "serve/authorize.hpp"

#include <cmath>

namespace llmspell::serve {
namespace {
std::shared_ptr<Access> gAccess;
}  // namespace

void enableKeys(std::shared_ptr<Access> access) { gAccess = std::move(access); }
bool keysEnabled() { return gAccess != nullptr; }

AuthResult authorize(const net::IncomingRequest& rq, std::string_view, std::string_view spell) {
  if (!gAccess) return {};
  Decision d = gAccess->authorize(rq.header("authorization"), spell);
  AuthResult r;
  r.allowed = d.allowed;
  r.status = d.allowed ? 200 : d.status;
  r.code = d.code;
  r.message = d.message;
  if (d.retryAfter > 0) r.headers.emplace_back("retry-after", std::to_string(static_cast<long long>(std::ceil(d.retryAfter))));
  r.principal = d.key.id;
  r.ceiling = d.key.ceiling;
  return r;
}

void chargeRun(const std::string& principal, double usd) {
  if (gAccess && !principal.empty() && usd > 0) gAccess->recordCost(principal, usd);
}

}  // namespace llmspell::serve
