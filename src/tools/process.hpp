// Starting a child process without a shell: shared by the shell tool (which waits for the child on
// the thread pool) and the MCP client (which talks to it over its pipes from the loop), so both
// start children the same way.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

namespace llmspell::tools {

struct ChildProcess {
  pid_t pid = -1;
  int in = -1;   // the child's stdin (write end), close-on-exec
  int out = -1;  // the child's stdout (read end)
  int err = -1;  // the child's stderr (read end)
};

// Starts argv[0] (looked up on this process's PATH) with exactly `envp` as its environment, in
// `cwd` when non-empty, in a process group of its own (so the whole group can be signalled) and
// with default signal dispositions. Throws not_found, permission_denied (not executable) or
// internal, with messages that start with `what` ("shell").
ChildProcess spawnChild(const std::vector<std::string>& argv, const std::vector<std::string>& envp,
                        const std::string& cwd, std::string_view what);

}  // namespace llmspell::tools
