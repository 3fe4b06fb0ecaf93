#ifndef COPENSSL_SHIMS_H
#define COPENSSL_SHIMS_H

#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

// OpenSSL function-like macros are invisible to Swift; each shim is a real function with the
// same contract. Prefix: copenssl_<original name>.
int copenssl_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int copenssl_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);
long copenssl_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);
long copenssl_BIO_get_mem_data(BIO *bio, char **out);
int copenssl_SSL_set_app_data(SSL *ssl, void *data);
void *copenssl_SSL_get_app_data(const SSL *ssl);
/// The SSL a certificate-verification store context belongs to (inside a verify callback).
SSL *copenssl_X509_STORE_CTX_get_ssl(X509_STORE_CTX *store);

#endif
