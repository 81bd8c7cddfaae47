// libssl (OpenSSL 3), loaded the first time `llmspell serve` is given a certificate.
//
// TLS is Asio's SSL stream, which calls OpenSSL directly. Linking libssl would load it and
// libcrypto at every start of the binary, a spell that never serves included (issue #13, the
// LazyLibraries test); this file defines the libssl functions Asio's server side calls, each
// forwarding to the real one on first use (llmspell/core/lazy_library.hpp). The libcrypto ones
// it calls (BIO pairs, the error queue) are in core/lazy_crypto.cpp with the others.
//
// Asio's OpenSSL initialisation object runs nothing at start-up with OpenSSL >= 1.1 (OpenSSL
// initialises itself on first use), so no libssl function runs before a TLS context is made.
// A function Asio starts calling in a later Boost fails to link here rather than at run time.
#include <openssl/ssl.h>

#include <cstdint>

#include "llmspell/core/lazy_library.hpp"

namespace {
void* ssl(const char* name) {
  static void* lib = llmspell::lazy::library("libssl.so.3", "libssl3");
  return llmspell::lazy::symbol(lib, "libssl.so.3", name);
}
}  // namespace

#define LLMSPELL_SSL_FORWARD(ret, name, params, args) LLMSPELL_LAZY_FORWARD(ssl, ret, name, params, args)

LLMSPELL_SSL_FORWARD(const SSL_METHOD*, TLS_method, (void), ())
LLMSPELL_SSL_FORWARD(const SSL_METHOD*, TLS_server_method, (void), ())
LLMSPELL_SSL_FORWARD(const SSL_METHOD*, TLS_client_method, (void), ())

LLMSPELL_SSL_FORWARD(SSL_CTX*, SSL_CTX_new, (const SSL_METHOD* m), (m))
LLMSPELL_SSL_FORWARD(void, SSL_CTX_free, (SSL_CTX * c), (c))
LLMSPELL_SSL_FORWARD(long, SSL_CTX_ctrl, (SSL_CTX * c, int cmd, long larg, void* parg), (c, cmd, larg, parg))
LLMSPELL_SSL_FORWARD(uint64_t, SSL_CTX_set_options, (SSL_CTX * c, uint64_t op), (c, op))
LLMSPELL_SSL_FORWARD(void*, SSL_CTX_get_default_passwd_cb_userdata, (SSL_CTX * c), (c))
LLMSPELL_SSL_FORWARD(void, SSL_CTX_set_default_passwd_cb_userdata, (SSL_CTX * c, void* u), (c, u))
LLMSPELL_SSL_FORWARD(void*, SSL_CTX_get_ex_data, (const SSL_CTX* c, int i), (c, i))
LLMSPELL_SSL_FORWARD(int, SSL_CTX_set_ex_data, (SSL_CTX * c, int i, void* d), (c, i, d))
LLMSPELL_SSL_FORWARD(pem_password_cb*, SSL_CTX_get_default_passwd_cb, (SSL_CTX * c), (c))
LLMSPELL_SSL_FORWARD(int, SSL_CTX_use_certificate, (SSL_CTX * c, X509* x), (c, x))
LLMSPELL_SSL_FORWARD(int, SSL_CTX_use_PrivateKey, (SSL_CTX * c, EVP_PKEY* k), (c, k))

LLMSPELL_SSL_FORWARD(SSL*, SSL_new, (SSL_CTX * c), (c))
LLMSPELL_SSL_FORWARD(void, SSL_free, (SSL * s), (s))
LLMSPELL_SSL_FORWARD(long, SSL_ctrl, (SSL * s, int cmd, long larg, void* parg), (s, cmd, larg, parg))
LLMSPELL_SSL_FORWARD(void, SSL_set_bio, (SSL * s, BIO* rbio, BIO* wbio), (s, rbio, wbio))
LLMSPELL_SSL_FORWARD(void*, SSL_get_ex_data, (const SSL* s, int i), (s, i))
LLMSPELL_SSL_FORWARD(int, SSL_set_ex_data, (SSL * s, int i, void* d), (s, i, d))
LLMSPELL_SSL_FORWARD(int, SSL_accept, (SSL * s), (s))
LLMSPELL_SSL_FORWARD(int, SSL_connect, (SSL * s), (s))
LLMSPELL_SSL_FORWARD(int, SSL_read, (SSL * s, void* buf, int n), (s, buf, n))
LLMSPELL_SSL_FORWARD(int, SSL_write, (SSL * s, const void* buf, int n), (s, buf, n))
LLMSPELL_SSL_FORWARD(int, SSL_get_error, (const SSL* s, int ret), (s, ret))
LLMSPELL_SSL_FORWARD(int, SSL_get_shutdown, (const SSL* s), (s))
