// libcrypto (OpenSSL 3), loaded on first use: the program calls only its message digests
// (crypto.hash, the hash tool) and auth's signatures, and loading it (4,000 relocations,
// BIND_NOW) was a quarter of the dynamic linking at every start-up. See lazy_library.hpp.
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

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

// auth: JWT signatures (RS256, ES256, EdDSA) and HMAC key sizes.
LLMSPELL_LAZY_FORWARD(crypto, BIO*, BIO_new_mem_buf, (const void* buf, int len), (buf, len))
LLMSPELL_LAZY_FORWARD(crypto, int, BIO_free, (BIO * a), (a))
LLMSPELL_LAZY_FORWARD(crypto, EVP_PKEY*, PEM_read_bio_PrivateKey, (BIO * bp, EVP_PKEY** x, pem_password_cb* cb, void* u),
                      (bp, x, cb, u))
LLMSPELL_LAZY_FORWARD(crypto, EVP_PKEY*, PEM_read_bio_PUBKEY, (BIO * bp, EVP_PKEY** x, pem_password_cb* cb, void* u),
                      (bp, x, cb, u))
LLMSPELL_LAZY_FORWARD(crypto, void, EVP_PKEY_free, (EVP_PKEY * k), (k))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_PKEY_get_base_id, (const EVP_PKEY* k), (k))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_PKEY_get_bits, (const EVP_PKEY* k), (k))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_PKEY_get_group_name, (const EVP_PKEY* k, char* name, size_t size, size_t* len),
                      (k, name, size, len))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_MD_get_size, (const EVP_MD* md), (md))
LLMSPELL_LAZY_FORWARD(crypto, EVP_MD_CTX*, EVP_MD_CTX_new, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, void, EVP_MD_CTX_free, (EVP_MD_CTX * c), (c))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_DigestSignInit,
                      (EVP_MD_CTX * c, EVP_PKEY_CTX** pc, const EVP_MD* md, ENGINE* e, EVP_PKEY* k), (c, pc, md, e, k))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_DigestSign,
                      (EVP_MD_CTX * c, unsigned char* sig, size_t* siglen, const unsigned char* tbs, size_t tbslen),
                      (c, sig, siglen, tbs, tbslen))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_DigestVerifyInit,
                      (EVP_MD_CTX * c, EVP_PKEY_CTX** pc, const EVP_MD* md, ENGINE* e, EVP_PKEY* k), (c, pc, md, e, k))
LLMSPELL_LAZY_FORWARD(crypto, int, EVP_DigestVerify,
                      (EVP_MD_CTX * c, const unsigned char* sig, size_t siglen, const unsigned char* tbs, size_t tbslen),
                      (c, sig, siglen, tbs, tbslen))
LLMSPELL_LAZY_FORWARD(crypto, ECDSA_SIG*, d2i_ECDSA_SIG, (ECDSA_SIG * *sig, const unsigned char** pp, long len),
                      (sig, pp, len))
LLMSPELL_LAZY_FORWARD(crypto, int, i2d_ECDSA_SIG, (const ECDSA_SIG* sig, unsigned char** pp), (sig, pp))
LLMSPELL_LAZY_FORWARD(crypto, ECDSA_SIG*, ECDSA_SIG_new, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, void, ECDSA_SIG_free, (ECDSA_SIG * sig), (sig))
LLMSPELL_LAZY_FORWARD(crypto, void, ECDSA_SIG_get0, (const ECDSA_SIG* sig, const BIGNUM** r, const BIGNUM** s),
                      (sig, r, s))
LLMSPELL_LAZY_FORWARD(crypto, int, ECDSA_SIG_set0, (ECDSA_SIG * sig, BIGNUM* r, BIGNUM* s), (sig, r, s))
LLMSPELL_LAZY_FORWARD(crypto, int, BN_bn2binpad, (const BIGNUM* a, unsigned char* to, int tolen), (a, to, tolen))
LLMSPELL_LAZY_FORWARD(crypto, BIGNUM*, BN_bin2bn, (const unsigned char* s, int len, BIGNUM* ret), (s, len, ret))
LLMSPELL_LAZY_FORWARD(crypto, void, BN_free, (BIGNUM * a), (a))
LLMSPELL_LAZY_FORWARD(crypto, void, CRYPTO_free, (void* p, const char* file, int line), (p, file, line))

// serve's TLS (Asio's SSL stream, net/ssl_lazy.cpp): the certificate it reads, the BIO pair it
// moves records through and the error queue.
LLMSPELL_LAZY_FORWARD(crypto, X509*, PEM_read_bio_X509, (BIO * bp, X509** x, pem_password_cb* cb, void* u),
                      (bp, x, cb, u))
LLMSPELL_LAZY_FORWARD(crypto, X509*, PEM_read_bio_X509_AUX, (BIO * bp, X509** x, pem_password_cb* cb, void* u),
                      (bp, x, cb, u))
LLMSPELL_LAZY_FORWARD(crypto, void, X509_free, (X509 * x), (x))
LLMSPELL_LAZY_FORWARD(crypto, int, BIO_new_bio_pair, (BIO * *a, size_t aSize, BIO** b, size_t bSize),
                      (a, aSize, b, bSize))
LLMSPELL_LAZY_FORWARD(crypto, long, BIO_ctrl, (BIO * b, int cmd, long larg, void* parg), (b, cmd, larg, parg))
LLMSPELL_LAZY_FORWARD(crypto, size_t, BIO_ctrl_pending, (BIO * b), (b))
LLMSPELL_LAZY_FORWARD(crypto, int, BIO_read, (BIO * b, void* data, int n), (b, data, n))
LLMSPELL_LAZY_FORWARD(crypto, int, BIO_write, (BIO * b, const void* data, int n), (b, data, n))
LLMSPELL_LAZY_FORWARD(crypto, unsigned long, ERR_get_error, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, unsigned long, ERR_peek_error, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, unsigned long, ERR_peek_last_error, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, void, ERR_clear_error, (void), ())
LLMSPELL_LAZY_FORWARD(crypto, const char*, ERR_reason_error_string, (unsigned long e), (e))
