/*  chord key material: see keys.h. */
#include "keys.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "error.h"

#define S_FILE_MAX 4096     /* bytes a key file may have: ours are a few hundred */

/* Changing it changes every ring's key pair: it names the derivation. */
static const char s_ring_context[] = "chord ring CURVE key pair v1";

void chord_keys_z85_encode (char text[CHORD_KEY_Z85_LEN + 1], const uint8_t key[CHORD_KEY_BYTES])
{
    zmq_z85_encode (text, key, CHORD_KEY_BYTES);
}

int chord_keys_z85_decode (uint8_t key[CHORD_KEY_BYTES], const char *text, size_t len)
{
    if (len != CHORD_KEY_Z85_LEN)
        return -1;
    char copy[CHORD_KEY_Z85_LEN + 1];
    memcpy (copy, text, CHORD_KEY_Z85_LEN);
    copy[CHORD_KEY_Z85_LEN] = 0;
    /* zmq_z85_decode checks each character against the alphabet. */
    return zmq_z85_decode (key, copy) ? 0 : -1;
}

void chord_keys_ring_pair (const uint8_t secret[CHORD_SECRET_BYTES], chord_keypair_t *pair)
{
    uint8_t seed[crypto_box_SEEDBYTES];
    crypto_generichash_state state;
    crypto_generichash_init (&state, NULL, 0, sizeof seed);
    crypto_generichash_update (&state, (const uint8_t *) s_ring_context, sizeof s_ring_context - 1);
    crypto_generichash_update (&state, secret, CHORD_SECRET_BYTES);
    crypto_generichash_final (&state, seed, sizeof seed);
    crypto_box_seed_keypair (pair->public_key, pair->secret_key, seed);
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (&state, sizeof state);
}

/*  Creates path (which must not exist) with mode 0600 holding text. The
    text goes to a temporary file first, linked to path only when complete:
    link() fails if path exists, so of several processes racing to make the
    same file one wins, and none ever reads it half written.  */
static int s_write_new (const char *path, const char *text, char *error, size_t size)
{
    char temporary[4096];
    if (snprintf (temporary, sizeof temporary, "%s.tmp-XXXXXX", path) >= (int) sizeof temporary)
        return chordd_error (error, size, "%s: path too long", path);
    int fd = mkstemp (temporary);
    if (fd < 0)
        return chordd_error (error, size, "cannot create %s: %s", path, strerror (errno));
    size_t len = strlen (text);
    bool good = fchmod (fd, 0600) == 0 && write (fd, text, len) == (ssize_t) len && fsync (fd) == 0;
    int saved = errno;
    if (close (fd) != 0 && good) {
        good = false;
        saved = errno;
    }
    if (good && link (temporary, path) != 0) {
        good = false;
        saved = errno;
    }
    unlink (temporary);
    if (!good && saved == EEXIST)
        return chordd_error (error, size, "%s already exists: not overwriting it", path);
    if (!good)
        return chordd_error (error, size, "cannot write %s: %s", path, strerror (saved));
    return 0;
}

/*  Reads a whole key file into buffer (NUL-terminated). Refuses what is not
    a regular file, is larger than S_FILE_MAX, or is readable by group or
    others: a secret others could read is no secret, so better stop than
    run with it.  */
static int s_read_private (const char *path, char buffer[S_FILE_MAX + 1], char *error, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return chordd_error (error, size, "cannot open %s: %s", path, strerror (errno));
    struct stat st;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
        close (fd);
        return chordd_error (error, size, "%s is not a regular file", path);
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close (fd);
        return chordd_error (error, size, "%s may be read or written by group or others (mode %03o): it holds a "
                             "secret; chmod 600 %s", path, (unsigned) (st.st_mode & 0777), path);
    }
    ssize_t got = read (fd, buffer, S_FILE_MAX + 1);
    int saved = errno;
    close (fd);
    if (got < 0)
        return chordd_error (error, size, "cannot read %s: %s", path, strerror (saved));
    if (got > S_FILE_MAX)
        return chordd_error (error, size, "%s is over %d bytes: not a chord key file", path, S_FILE_MAX);
    buffer[got] = 0;
    return 0;
}

/* The next line of *cursor that is neither blank nor a '#' comment, with
   surrounding spaces trimmed; NULL at the end. Cuts the buffer in place. */
static char *s_next_line (char **cursor, size_t *line_number)
{
    while (*cursor && **cursor) {
        char *line = *cursor;
        char *end = strchr (line, '\n');
        *cursor = end ? end + 1 : NULL;
        if (end)
            *end = 0;
        (*line_number)++;
        while (isspace ((unsigned char) *line))
            line++;
        size_t len = strlen (line);
        while (len > 0 && isspace ((unsigned char) line[len - 1]))
            line[--len] = 0;
        if (len > 0 && line[0] != '#')
            return line;
    }
    return NULL;
}

int chord_keys_secret_create (const char *path, char *error, size_t size)
{
    uint8_t secret[CHORD_SECRET_BYTES];
    randombytes_buf (secret, sizeof secret);
    char hex[CHORD_SECRET_BYTES * 2 + 1];
    sodium_bin2hex (hex, sizeof hex, secret, sizeof secret);
    char text[256];
    snprintf (text, sizeof text,
              "# chord cluster secret: every peer of the ring holds it, and whoever holds it is a peer.\n"
              "# Keep it mode 0600; share it only over a channel you trust.\n%s\n", hex);
    int rc = s_write_new (path, text, error, size);
    sodium_memzero (secret, sizeof secret);
    sodium_memzero (hex, sizeof hex);
    sodium_memzero (text, sizeof text);
    return rc;
}

int chord_keys_secret_read (const char *path, uint8_t secret[CHORD_SECRET_BYTES], char *error, size_t size)
{
    char buffer[S_FILE_MAX + 1];
    if (s_read_private (path, buffer, error, size) != 0)
        return -1;
    char *cursor = buffer;
    size_t line_number = 0;
    char *line = s_next_line (&cursor, &line_number);
    size_t used = 0;
    int rc = 0;
    if (!line)
        rc = chordd_error (error, size, "%s holds no secret (make one with chordctl keygen --secret FILE)", path);
    else if (strlen (line) != CHORD_SECRET_BYTES * 2
        || sodium_hex2bin (secret, CHORD_SECRET_BYTES, line, strlen (line), NULL, &used, NULL) != 0
        || used != CHORD_SECRET_BYTES)
        rc = chordd_error (error, size, "%s:%zu: want the secret as 64 hex digits (make one with chordctl keygen "
                           "--secret FILE)", path, line_number);
    else if (s_next_line (&cursor, &line_number))
        rc = chordd_error (error, size, "%s:%zu: unexpected text after the secret", path, line_number);
    sodium_memzero (buffer, sizeof buffer);
    return rc;
}

int chord_keys_client_create (const char *path, const uint8_t *server, chord_keypair_t *pair, char *error,
                              size_t size)
{
    crypto_box_keypair (pair->public_key, pair->secret_key);
    char public_z85[CHORD_KEY_Z85_LEN + 1], secret_z85[CHORD_KEY_Z85_LEN + 1];
    char server_line[CHORD_KEY_Z85_LEN + 16] = "";
    chord_keys_z85_encode (public_z85, pair->public_key);
    chord_keys_z85_encode (secret_z85, pair->secret_key);
    if (server) {
        char server_z85[CHORD_KEY_Z85_LEN + 1];
        chord_keys_z85_encode (server_z85, server);
        snprintf (server_line, sizeof server_line, "server %s\n", server_z85);
    }
    char text[512];
    snprintf (text, sizeof text,
              "# chord client key pair. Keep it mode 0600. The ring admits it when its public key is\n"
              "# listed in chordd's --clients file with a role (read, write or admin).\n"
              "public %s\nsecret %s\n%s", public_z85, secret_z85, server_line);
    int rc = s_write_new (path, text, error, size);
    sodium_memzero (secret_z85, sizeof secret_z85);
    sodium_memzero (text, sizeof text);
    return rc;
}

/* Parses one "NAME Z85" line of a client key file into the matching key. */
static int s_client_line (const char *path, size_t line_number, const char *line, chord_keypair_t *pair,
                          uint8_t server[CHORD_KEY_BYTES], unsigned *seen, char *error, size_t size)
{
    static const char *names[] = {"public", "secret", "server"};
    uint8_t *keys[] = {pair->public_key, pair->secret_key, server};
    for (unsigned i = 0; i < 3; i++) {
        size_t name_len = strlen (names[i]);
        if (strncmp (line, names[i], name_len) != 0 || !isspace ((unsigned char) line[name_len]))
            continue;
        const char *value = line + name_len;
        while (isspace ((unsigned char) *value))
            value++;
        if (*seen & (1u << i))
            return chordd_error (error, size, "%s:%zu: a second '%s' line", path, line_number, names[i]);
        if (chord_keys_z85_decode (keys[i], value, strlen (value)) != 0)
            return chordd_error (error, size, "%s:%zu: '%s' wants a key of 40 Z85 characters", path, line_number,
                                 names[i]);
        *seen |= 1u << i;
        return 0;
    }
    return chordd_error (error, size, "%s:%zu: want 'public', 'secret' or 'server' and a Z85 key", path, line_number);
}

int chord_keys_client_read (const char *path, chord_keypair_t *pair, uint8_t server[CHORD_KEY_BYTES],
                            bool *has_server, char *error, size_t size)
{
    char buffer[S_FILE_MAX + 1];
    if (s_read_private (path, buffer, error, size) != 0)
        return -1;
    char *cursor = buffer;
    size_t line_number = 0;
    unsigned seen = 0;
    int rc = 0;
    char *line;
    while (rc == 0 && (line = s_next_line (&cursor, &line_number)))
        rc = s_client_line (path, line_number, line, pair, server, &seen, error, size);
    sodium_memzero (buffer, sizeof buffer);
    if (rc != 0)
        return -1;
    if ((seen & 3) != 3)
        return chordd_error (error, size, "%s: want both a 'public' and a 'secret' line (make one with chordctl "
                             "keygen --client FILE)", path);
    /* A pair whose halves do not match would fail every handshake with no
       clue why: check it here, where the message can say so. */
    uint8_t derived[CHORD_KEY_BYTES];
    crypto_scalarmult_base (derived, pair->secret_key);
    if (sodium_memcmp (derived, pair->public_key, CHORD_KEY_BYTES) != 0)
        return chordd_error (error, size, "%s: its public key does not belong to its secret key", path);
    *has_server = (seen & 4) != 0;
    return 0;
}

void chord_keys_http_token (char token[CHORD_HTTP_TOKEN_LEN + 1])
{
    uint8_t bytes[32];
    randombytes_buf (bytes, sizeof bytes);
    sodium_bin2base64 (token, CHORD_HTTP_TOKEN_LEN + 1, bytes, sizeof bytes,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero (bytes, sizeof bytes);
}

int chord_keys_http_token_append (const char *path, const char *role, const char *token, char *error,
                                  size_t size)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return chordd_error (error, size, "cannot open %s: %s", path, strerror (errno));
    struct stat st;
    int rc = 0;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
        rc = chordd_error (error, size, "%s is not a regular file", path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        rc = chordd_error (error, size, "%s may be read or written by group or others (mode %03o): it holds "
                           "tokens; chmod 600 %s", path, (unsigned) (st.st_mode & 0777), path);
    char line[CHORD_HTTP_TOKEN_LEN + 32];
    int len = snprintf (line, sizeof line, "%s %s\n", role, token);
    if (rc == 0 && (len < 0 || (size_t) len >= sizeof line))
        rc = chordd_error (error, size, "role or token too long");
    if (rc == 0 && (write (fd, line, (size_t) len) != len || fsync (fd) != 0))
        rc = chordd_error (error, size, "cannot write %s: %s", path, strerror (errno));
    sodium_memzero (line, sizeof line);
    if (close (fd) != 0 && rc == 0)
        rc = chordd_error (error, size, "cannot write %s: %s", path, strerror (errno));
    return rc;
}

int chord_keys_http_token_write (const char *path, const char *token, char *error, size_t size)
{
    char text[CHORD_HTTP_TOKEN_LEN + 2];
    snprintf (text, sizeof text, "%s\n", token);
    int rc = s_write_new (path, text, error, size);
    sodium_memzero (text, sizeof text);
    return rc;
}
