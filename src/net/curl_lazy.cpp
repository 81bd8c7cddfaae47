// libcurl, loaded the first time the program uses it.
//
// libcurl brings 28 more shared libraries (OpenSSL, GnuTLS for RTMP, Kerberos, LDAP, SSH,
// IDN, ...) whose loading and symbol relocation were most of the start-up of a spell that makes
// no HTTP request (`llmspell exec 'return 1'`: issue #13). This file defines the libcurl
// functions the net layer calls; each forwards to the real one, found with dlopen/dlsym on first
// use, so the program does not link libcurl at all (llmspell/core/lazy_library.hpp).
//
// The variadic setters forward their one argument by the type curl's option numbering gives it
// (CURLOPTTYPE_*), as curl itself reads it.
#include <curl/curl.h>

#include <cstdarg>

#include "llmspell/core/lazy_library.hpp"

namespace {

void* curl(const char* name) {
  // The ABI of libcurl.so.4 has been stable since 2006; the headers built against are 7.x.
  static void* lib = llmspell::lazy::library("libcurl.so.4", "libcurl4");
  return llmspell::lazy::symbol(lib, "libcurl.so.4", name);
}

// The variadic functions' real entry point, by type.
template <typename F>
F resolve(const char* name) {
  return reinterpret_cast<F>(curl(name));
}

// A setter's argument read by its option's type: long, pointer, function pointer or curl_off_t.
template <typename Handle, typename Option, typename Result>
Result setOption(Result (*real)(Handle, Option, ...), Handle h, Option option, va_list ap) {
  long o = static_cast<long>(option);
  if (o < CURLOPTTYPE_OBJECTPOINT) return real(h, option, va_arg(ap, long));
  if (o < CURLOPTTYPE_FUNCTIONPOINT) return real(h, option, va_arg(ap, void*));
  if (o < CURLOPTTYPE_OFF_T) return real(h, option, va_arg(ap, void (*)()));
  if (o < CURLOPTTYPE_BLOB) return real(h, option, va_arg(ap, curl_off_t));
  return real(h, option, va_arg(ap, void*));
}

}  // namespace

#define LLMSPELL_CURL_FORWARD(ret, name, params, args) LLMSPELL_LAZY_FORWARD(curl, ret, name, params, args)

LLMSPELL_CURL_FORWARD(CURLcode, curl_global_init, (long flags), (flags))
LLMSPELL_CURL_FORWARD(void, curl_global_cleanup, (void), ())
LLMSPELL_CURL_FORWARD(char*, curl_version, (void), ())
LLMSPELL_CURL_FORWARD(void, curl_free, (void* p), (p))
LLMSPELL_CURL_FORWARD(curl_slist*, curl_slist_append, (curl_slist * list, const char* s), (list, s))
LLMSPELL_CURL_FORWARD(void, curl_slist_free_all, (curl_slist * list), (list))

LLMSPELL_CURL_FORWARD(CURL*, curl_easy_init, (void), ())
LLMSPELL_CURL_FORWARD(void, curl_easy_cleanup, (CURL * h), (h))
LLMSPELL_CURL_FORWARD(void, curl_easy_reset, (CURL * h), (h))
LLMSPELL_CURL_FORWARD(CURL*, curl_easy_duphandle, (CURL * h), (h))
LLMSPELL_CURL_FORWARD(CURLcode, curl_easy_perform, (CURL * h), (h))
LLMSPELL_CURL_FORWARD(CURLcode, curl_easy_pause, (CURL * h, int bitmask), (h, bitmask))
LLMSPELL_CURL_FORWARD(const char*, curl_easy_strerror, (CURLcode c), (c))
LLMSPELL_CURL_FORWARD(char*, curl_easy_escape, (CURL * h, const char* s, int n), (h, s, n))
LLMSPELL_CURL_FORWARD(char*, curl_easy_unescape, (CURL * h, const char* s, int n, int* out), (h, s, n, out))

extern "C" CURLcode curl_easy_setopt(CURL* h, CURLoption option, ...) {
  static const auto real = resolve<CURLcode (*)(CURL*, CURLoption, ...)>("curl_easy_setopt");
  va_list ap;
  va_start(ap, option);
  CURLcode r = setOption(real, h, option, ap);
  va_end(ap);
  return r;
}

extern "C" CURLcode curl_easy_getinfo(CURL* h, CURLINFO info, ...) {
  static const auto real = resolve<CURLcode (*)(CURL*, CURLINFO, ...)>("curl_easy_getinfo");
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);  // every CURLINFO takes a pointer to where the value goes
  va_end(ap);
  return real(h, info, out);
}

LLMSPELL_CURL_FORWARD(CURLM*, curl_multi_init, (void), ())
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_cleanup, (CURLM * m), (m))
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_add_handle, (CURLM * m, CURL* h), (m, h))
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_remove_handle, (CURLM * m, CURL* h), (m, h))
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_socket_action, (CURLM * m, curl_socket_t s, int mask, int* running),
                      (m, s, mask, running))
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_assign, (CURLM * m, curl_socket_t s, void* p), (m, s, p))
LLMSPELL_CURL_FORWARD(CURLMcode, curl_multi_timeout, (CURLM * m, long* ms), (m, ms))
LLMSPELL_CURL_FORWARD(CURLMsg*, curl_multi_info_read, (CURLM * m, int* left), (m, left))
LLMSPELL_CURL_FORWARD(const char*, curl_multi_strerror, (CURLMcode c), (c))

extern "C" CURLMcode curl_multi_setopt(CURLM* m, CURLMoption option, ...) {
  static const auto real = resolve<CURLMcode (*)(CURLM*, CURLMoption, ...)>("curl_multi_setopt");
  va_list ap;
  va_start(ap, option);
  CURLMcode r = setOption(real, m, option, ap);
  va_end(ap);
  return r;
}

LLMSPELL_CURL_FORWARD(CURLSH*, curl_share_init, (void), ())
LLMSPELL_CURL_FORWARD(CURLSHcode, curl_share_cleanup, (CURLSH * s), (s))
LLMSPELL_CURL_FORWARD(const char*, curl_share_strerror, (CURLSHcode c), (c))

extern "C" CURLSHcode curl_share_setopt(CURLSH* s, CURLSHoption option, ...) {
  static const auto real = resolve<CURLSHcode (*)(CURLSH*, CURLSHoption, ...)>("curl_share_setopt");
  va_list ap;
  va_start(ap, option);
  // CURLSHOPT_SHARE/UNSHARE take a long (curl_lock_data); the rest take pointers.
  CURLSHcode r = option == CURLSHOPT_SHARE || option == CURLSHOPT_UNSHARE ? real(s, option, va_arg(ap, long))
                                                                          : real(s, option, va_arg(ap, void*));
  va_end(ap);
  return r;
}

LLMSPELL_CURL_FORWARD(CURLU*, curl_url, (void), ())
LLMSPELL_CURL_FORWARD(void, curl_url_cleanup, (CURLU * u), (u))
LLMSPELL_CURL_FORWARD(CURLU*, curl_url_dup, (CURLU * u), (u))
LLMSPELL_CURL_FORWARD(CURLUcode, curl_url_get, (CURLU * u, CURLUPart what, char** part, unsigned int flags),
                      (u, what, part, flags))
LLMSPELL_CURL_FORWARD(CURLUcode, curl_url_set, (CURLU * u, CURLUPart what, const char* part, unsigned int flags),
                      (u, what, part, flags))
LLMSPELL_CURL_FORWARD(const char*, curl_url_strerror, (CURLUcode c), (c))
