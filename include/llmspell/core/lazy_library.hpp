// Shared libraries loaded on first use, for the few C libraries whose loading was most of
// llmspell's start-up (issue #13): libcurl and its 28 dependencies, libcrypto, libsqlite3. A
// shim file defines the library's functions the program calls, each forwarding to the real one
// found with dlopen/dlsym the first time it runs; the program does not link the library.
// Written by hand: Debian packages no lazy-loading stub generator (Implib.so is not packaged).
#pragma once

namespace llmspell::lazy {

// The library with this soname, opened once. A library that cannot be loaded is a broken
// installation: the process ends with a message naming the Debian package to install.
void* library(const char* soname, const char* package);
// `name` in it; ends the process the same way when the library is too old to have it.
void* symbol(void* library, const char* soname, const char* name);

}  // namespace llmspell::lazy

// Defines `ret name params` forwarding to the library's `name`.
#define LLMSPELL_LAZY_FORWARD(LIB, ret, name, params, args)                         \
  extern "C" ret name params {                                                      \
    static const auto real = reinterpret_cast<ret(*) params>(LIB(#name));           \
    return real args;                                                               \
  }
