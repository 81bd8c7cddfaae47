// hiredis, loaded on first use: only spells whose state lives in Redis connect to one. See
// lazy_library.hpp. redisCommand is variadic and cannot be forwarded; llmspell uses the Argv
// forms (binary-safe anyway).
#include <hiredis/hiredis.h>

#include "llmspell/core/lazy_library.hpp"

namespace {
void* hiredis(const char* name) {
  static void* lib = llmspell::lazy::library("libhiredis.so.0.14", "libhiredis0.14");
  return llmspell::lazy::symbol(lib, "libhiredis.so.0.14", name);
}
}  // namespace

#define F(ret, name, params, args) LLMSPELL_LAZY_FORWARD(hiredis, ret, name, params, args)
F(redisContext*, redisConnectWithTimeout, (const char* ip, int port, const struct timeval tv), (ip, port, tv))
F(int, redisReconnect, (redisContext * c), (c))
F(int, redisSetTimeout, (redisContext * c, const struct timeval tv), (c, tv))
F(int, redisEnableKeepAlive, (redisContext * c), (c))
F(void, redisFree, (redisContext * c), (c))
F(void, freeReplyObject, (void* reply), (reply))
F(int, redisGetReply, (redisContext * c, void** reply), (c, reply))
F(int, redisAppendCommandArgv, (redisContext * c, int argc, const char** argv, const size_t* argvlen),
  (c, argc, argv, argvlen))
F(void*, redisCommandArgv, (redisContext * c, int argc, const char** argv, const size_t* argvlen),
  (c, argc, argv, argvlen))
#undef F
