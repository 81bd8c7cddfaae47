// The one place a request to `llmspell serve` is authorized: every route that starts a run, reads
// one or lists what can run calls authorize() before doing anything, with the spell (or model)
// the request names. API keys (include/llmspell/serve/access.hpp: rate limits, budgets, grant
// ceilings) plug in here once enableKeys() is called.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "llmspell/net/http_server.hpp"
#include "llmspell/serve/access.hpp"

namespace llmspell::serve {

struct AuthResult {
  bool allowed = true;
  int status = 200;         // when refused: 401, 403, 429
  std::string code;         // a stable error code: auth_error, permission_denied, rate_limited
  std::string message;      // what the caller can do about it
  net::Headers headers;     // e.g. retry-after
  std::string principal;    // who is calling (a key id), "" when anonymous
  GrantCeiling ceiling;     // the most the caller's runs may be granted (unlimited when anonymous)
};

// From here on every authorized route needs a key of `access`'s store. Called once, before the
// server starts (the I/O thread reads it without a lock).
void enableKeys(std::shared_ptr<Access> access);
bool keysEnabled();

// `route` names the endpoint ("runs.create", "runs.read", "runs.cancel", "spells.list",
// "models.list", "chat.create", "metrics"); `spell` is the spell the request would run or read
// ("" when none). Runs on the server's I/O thread; must not block.
AuthResult authorize(const net::IncomingRequest& rq, std::string_view route, std::string_view spell);

// A finished run's cost counts against the budget of the key that started it.
void chargeRun(const std::string& principal, double usd);

}  // namespace llmspell::serve
