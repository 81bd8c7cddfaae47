// The per-run LLM service shared by the `llm` and `models` modules: the run's LlmClient, the
// default model choice, spending totals. Loop-affine (one per RunContext).
#pragma once

#include <functional>
#include <string>

#include "llmspell/bridge/registry.hpp"
#include "llmspell/hooks/hooks.hpp"
#include "llmspell/llm/call_log.hpp"
#include "llmspell/llm/client.hpp"

namespace llmspell {

class LlmService {
 public:
  LlmService(RunContext& run, Loop& loop);
  // Writes the run's logged calls (the log itself may stay open for the process's next run).
  ~LlmService();
  llm::LlmClient client;
  std::string chosen;          // set by llm.use
  double spentUsd = 0;         // cost of the calls made so far
  int64_t spentTokens = 0;
  std::string mockRepliesError;  // a --mock-replies file that failed to load
  std::string setupError;        // a --record / --replay file that failed to open
  int pools = 0;                 // unnamed pools created (for their names)
  // The SQLite call log (config `call_log` or LLMSPELL_CALL_LOG), or null; CallLog::shared.
  std::shared_ptr<llm::CallLog> log;

  // The model for a call: opts.model, else llm.use, else config/--model/manifest, else
  // LLMSPELL_MODEL, else the first provider with a key, else mock/script when scripted mock
  // replies were given; else throws config_error naming --model, LLMSPELL_MODEL and the key
  // variables. Aliases from config `aliases` are resolved.
  std::string resolve(RunContext& run, const Value& opts);

  static LlmService& of(CallContext& cx) {
    return cx.run.service<LlmService>([&] { return std::make_shared<LlmService>(cx.run, cx.loop); });
  }
};

// One chat call exactly as llm.chat makes it: through the llm.call hooks, with the run's budget
// checked, llm.request / llm.response / llm.error emitted and the call logged. `messages` is a
// prompt string or an array of message tables; `opts` is llm.chat's options table (model,
// tools, ...). Streams when `onChunk` is set. Resolves with llm.chat's result table. Other
// modules (agent, workflow) call this rather than the client so every call is accounted.
// `hooks` replaces the run's registry for the llm.call hooks (an agent's own, whose parent is
// the run's).
PromisePtr llmChat(RunContext& run, Loop& loop, const Value& messages, const Value& opts,
                   std::function<void(const llm::StreamChunk&)> onChunk = nullptr,
                   HookRegistry* hooks = nullptr);

// A script's on_chunk callback as a stream's chunk handler: calls `fn` with each chunk's table;
// a callback that fails cancels the stream (`*stream`, set once the call has started) with its
// error.
std::function<void(const llm::StreamChunk&)> scriptChunkHandler(
    FunctionPtr fn, std::shared_ptr<std::weak_ptr<Promise>> stream);

}  // namespace llmspell
