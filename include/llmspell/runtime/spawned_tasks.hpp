// The tasks a spell spawned, kept so that the runner can name the ones that failed while nothing
// waited for them: without this their errors vanished and the spell exited 0.
#pragma once

#include <vector>

#include "llmspell/runtime/promise.hpp"

namespace llmspell {

struct SpawnedTasks {
  std::vector<PromisePtr> list;
  size_t pruneAt = 64;

  void add(PromisePtr p) {
    // Held strongly: a failed task the spell dropped must still be reported at the end. Tasks that
    // succeeded or whose failure someone observed are let go now and then, so the list stays
    // about as long as the failures nobody has looked at yet.
    if (list.size() >= pruneAt) {
      std::erase_if(list, [](const PromisePtr& t) { return t->fulfilled() || (t->rejected() && t->handled()); });
      pruneAt = std::max<size_t>(64, list.size() * 2);
    }
    list.push_back(std::move(p));
  }
};

}  // namespace llmspell
