// libcrypto (OpenSSL 3), loaded on first use: the program calls only its message digests
// (crypto.hash, the hash tool), and loading it (4,000 relocations, BIND_NOW) was a quarter of
// the dynamic linking at every start-up. See lazy_library.hpp.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "llmspell/core/lazy_library.hpp"

namespace {
void* crypto(const char* name) {
  static void* lib = llmspell::lazy::library("libcrypto.so.3", "libssl3");
  return llmspell::lazy::symbol(lib, "libcrypto.so.3", name);
}
}  // namespace

LLMSPELL_LAZY_FORWARD(crypto, int, EVP_Digest,
                      (const void* data, size_t count, unsigned char* md, unsigned int* size, const EVP_MD* type,
                       ENGINE* impl),
                      (data, count, md, size, type, impl))
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_md5, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha1, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha224, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha256, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha384, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha512, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha3_256, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_sha3_512, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_blake2b512, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const EVP_MD*, EVP_blake2s256, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, unsigned char*, HMAC,
                      (const EVP_MD* md, const void* key, int keyLen, const unsigned char* data, size_t dataLen,
                       unsigned char* out, unsigned int* outLen),
                      (md, key, keyLen, data, dataLen, out, outLen))
