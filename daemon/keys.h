/*  chord key material: the cluster secret, the ring's CURVE key pair derived
    from it, and client key files. Shared by chordd and chordctl.

    The cluster secret is 32 random bytes. Whoever holds it holds the ring's
    CURVE key pair (derived from it deterministically), so every peer has the
    same pair and each recognises the others as peers. A client holds a key
    pair of its own, which the ring admits with a role when it is listed in
    chordd's --clients file.

    Files are text: '#' comment lines, then the keys. A secret file is one
    line of 64 hex digits; a client key file has "public Z85", "secret Z85"
    and optionally "server Z85" lines. Both hold secrets, so they are written
    with mode 0600, and a file that group or others may read is refused.

    Errors are written to error (size bytes) as one line without a prefix;
    functions return 0, or -1 with error filled.  */
#ifndef CHORD_KEYS_H
#define CHORD_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHORD_KEY_BYTES      32     /* a curve25519 key, public or secret */
#define CHORD_KEY_Z85_LEN    40     /* characters of a key in Z85 */
#define CHORD_SECRET_BYTES   32     /* the cluster secret */
#define CHORD_HTTP_TOKEN_LEN 43     /* characters of an HTTP token: 32 random bytes in base64url */

typedef struct {
    uint8_t public_key[CHORD_KEY_BYTES];   /* shown to others */
    uint8_t secret_key[CHORD_KEY_BYTES];   /* never leaves the holder */
} chord_keypair_t;

/* Writes key as 40 Z85 characters and a NUL into text. */
void chord_keys_z85_encode (char text[CHORD_KEY_Z85_LEN + 1], const uint8_t key[CHORD_KEY_BYTES]);

/* Decodes exactly 40 Z85 characters (text may end there or at a NUL).
   Returns 0, or -1 for anything else. */
int chord_keys_z85_decode (uint8_t key[CHORD_KEY_BYTES], const char *text, size_t len);

/* The ring's CURVE key pair for a cluster secret: the same on every peer. */
void chord_keys_ring_pair (const uint8_t secret[CHORD_SECRET_BYTES], chord_keypair_t *pair);

/* Writes a fresh random secret to path, which must not exist yet. */
int chord_keys_secret_create (const char *path, char *error, size_t size);

/* Reads a secret file (mode 0600 or stricter). */
int chord_keys_secret_read (const char *path, uint8_t secret[CHORD_SECRET_BYTES], char *error, size_t size);

/* Writes a fresh client key pair to path, which must not exist yet, with the
   ring's public key when server is not NULL. Fills *pair. */
int chord_keys_client_create (const char *path, const uint8_t *server, chord_keypair_t *pair, char *error,
                              size_t size);

/* Reads a client key file (mode 0600 or stricter). *has_server says whether
   it held the ring's public key, then in server. */
int chord_keys_client_read (const char *path, chord_keypair_t *pair, uint8_t server[CHORD_KEY_BYTES],
                            bool *has_server, char *error, size_t size);

/* A fresh random HTTP bearer token (chordd --http-tokens), NUL-terminated. */
void chord_keys_http_token (char token[CHORD_HTTP_TOKEN_LEN + 1]);

/*  Appends the line "ROLE TOKEN" to a tokens file, made with mode 0600 when
    missing; refuses one that group or others may read or write.  */
int chord_keys_http_token_append (const char *path, const char *role, const char *token, char *error,
                                  size_t size);

/* Writes the token alone and a newline to path, which must not exist yet
   (mode 0600): a credentials file for a client such as Prometheus. */
int chord_keys_http_token_write (const char *path, const char *token, char *error, size_t size);

#endif
