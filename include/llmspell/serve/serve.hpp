// `llmspell serve`: spells as an HTTP service. The parent process answers HTTP (net's HttpServer)
// and supervises a pool of worker processes, each running one spell at a time, so a spell stuck
// in a built-in call, a memory bomb or an engine crash costs only its own run (docs/design.md).
// Endpoints and their contract: docs/serve.md.
#pragma once

#include <string>
#include <vector>

namespace llmspell::serve {

struct ServeOptions {
  std::string spellsDir = ".";      // each subdirectory with a spell.yaml is a spell
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: an ephemeral port (printed on start)
  int workers = 0;                   // worker processes (runs at once); 0: one per core, plus one
  size_t maxQueued = 10000;          // runs waiting for a worker; past it 503
  size_t keepFinished = 1000;        // finished runs kept in memory for GET and event replay
  double defaultTimeoutSeconds = 300;  // a spell's time limit when its manifest sets none
  double hardStopGraceSeconds = 2;     // past the time limit, the worker is killed after this
  double drainSeconds = 30;          // SIGTERM: in-flight runs get this long, then are cancelled
  size_t bodyLimit = 1u << 20;       // request bodies (413 past it)
  double headerTimeout = 10, idleTimeout = 60;
  std::string tlsCert, tlsKey;
  std::vector<std::string> corsOrigins;
  std::string dataDir;               // passed to runs (default $LLMSPELL_HOME)
  std::string mockReplies;           // the operator's --mock-replies FILE for every run
  // API keys (docs/serve.md): on when the key store has active keys, or always with requireKeys
  // (then a store without keys refuses every request). "" = KeyStore::defaultPath().
  std::string keysPath;
  bool requireKeys = false;
  // A postgres:// URL: runs (POST /v1/runs) go to that run queue for `llmspell worker`
  // processes instead of this process's pool, and /v1/runs/{id} reads them there
  // (docs/scaling.md). The pool still serves /v1/chat/completions.
  std::string queue;
  std::string workerExe = "/proc/self/exe";  // re-executed with `__serve-worker`
  // Printed to stdout once listening: "listening on http://HOST:PORT" (tests read the port).
  bool announce = true;
};

// Serves until SIGTERM or SIGINT (which drain). Returns the process exit code: 0 after a drain,
// 2 for a usage or configuration problem (printed to stderr).
int runServe(const ServeOptions& opts);

// The worker process's main: reads run requests from `fd` (framed JSON), runs each with
// runSpell, and writes its events and result back. Returns when the parent closes `fd`.
int runServeWorker(int fd);

}  // namespace llmspell::serve
