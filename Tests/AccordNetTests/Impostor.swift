import AccordCrypto
import COpenSSL

#if canImport(Glibc)
import Glibc
#endif

/// EVP_PKEY_KEYPAIR: OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | PUBLIC_KEY | PRIVATE_KEY (a macro Swift cannot import).
private let keypairSelection = Int32(OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_PRIVATE_KEY)

/// A key that claims `publicKey` but holds an unrelated private half: what an attacker who
/// copied a pinned certificate (but not its key) can load. OpenSSL 3.0 imports the pair without
/// a consistency check, so the TLS stack accepts it; its handshake signatures cannot verify.
func impostorKey(claiming publicKey: PublicKey) throws -> SigningKey {
    let ctx = try #require(EVP_PKEY_CTX_new_from_name(nil, "ED25519", nil))
    defer { EVP_PKEY_CTX_free(ctx) }
    #expect(EVP_PKEY_fromdata_init(ctx) == 1)
    var privateHalf = try secureRandomBytes(32)
    var publicHalf = publicKey.rawRepresentation
    // OSSL_PARAM keeps the key-name pointers, so they must outlive the call: C strings we own.
    let privName = strdup("priv")!
    let pubName = strdup("pub")!
    defer { free(privName); free(pubName) }
    var pkey: OpaquePointer?
    let rc = privateHalf.withUnsafeMutableBytes { priv in
        publicHalf.withUnsafeMutableBytes { pub in
            var params = [
                OSSL_PARAM_construct_octet_string(privName, priv.baseAddress, 32),
                OSSL_PARAM_construct_octet_string(pubName, pub.baseAddress, 32),
                OSSL_PARAM_construct_end(),
            ]
            return EVP_PKEY_fromdata(ctx, &pkey, keypairSelection, &params)
        }
    }
    #expect(rc == 1)
    return SigningKey(taking: try #require(pkey))
}

import Testing
