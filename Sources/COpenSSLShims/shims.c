#include "COpenSSLShims.h"

int copenssl_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
int copenssl_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}
long copenssl_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
long copenssl_BIO_get_mem_data(BIO *bio, char **out) { return BIO_get_mem_data(bio, out); }
int copenssl_SSL_set_app_data(SSL *ssl, void *data) { return SSL_set_app_data(ssl, data); }
void *copenssl_SSL_get_app_data(const SSL *ssl) { return SSL_get_app_data(ssl); }
SSL *copenssl_X509_STORE_CTX_get_ssl(X509_STORE_CTX *store) {
    return X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
}
