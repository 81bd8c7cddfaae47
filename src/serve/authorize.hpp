// The one place a request to `llmspell serve` is authorized: every route that starts a run, reads
// one or lists what can run calls authorize() before doing anything, with the spell (or model)
// the request names. API keys (rate limits, budgets, grant ceilings) plug in here.
#pragma once

#include <string>
#include <string_view>

#include "llmspell/net/http_server.hpp"

namespace llmspell::serve {

struct AuthResult {
  bool allowed = true;
  int status = 200;         // when refused: 401, 403, 429
  std::string code;         // a stable error code: auth_error, permission_denied, rate_limited
  std::string message;      // what the caller can do about it
  net::Headers headers;     // e.g. retry-after
  std::string principal;    // who is calling (a key id), "" when anonymous
};

// `route` names the endpoint ("runs.create", "runs.read", "runs.cancel", "spells.list",
// "models.list", "chat.create", "metrics"); `spell` is the spell the request would run or read
// ("" when none). Runs on the server's I/O thread; must not block.
AuthResult authorize(const net::IncomingRequest& rq, std::string_view route, std::string_view spell);

}  // namespace llmspell::serve
