/*  Tests of chordd's key material (daemon/keys) and ZAP handler
    (daemon/auth): Z85, the ring's key pair, secret and client key files
    (modes, overwrites, damage), clients files (good, bad lines, the table
    kept on a bad reload), and the handler's answers to real ZAP requests
    over inproc, well-formed and hostile (wrong sizes, frame counts,
    mechanism, domain).

    Files live under one mkdtemp directory in /tmp, removed at exit.  */
#define _XOPEN_SOURCE 700

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "auth.h"
#include "keys.h"
#include "log.h"
#include "tap.h"

#define S_PATH_MAX 512                 //  bytes of a path under the test directory

static char s_dir[] = "/tmp/chord-test-auth-XXXXXX";

static const char *s_path (const char *name)
{
    static char paths[8][S_PATH_MAX];
    static int next;
    char *path = paths[next++ % 8];
    snprintf (path, S_PATH_MAX, "%s/%s", s_dir, name);
    return path;
}

static void s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    fputs (text, file);
    fclose (file);
    chmod (path, mode);
}

static int s_remove (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st, (void) flag, (void) ftw;
    return remove (path);
}

static void s_test_z85_and_pair (void)
{
    uint8_t key[CHORD_KEY_BYTES], back[CHORD_KEY_BYTES];
    randombytes_buf (key, sizeof key);
    char text[CHORD_KEY_Z85_LEN + 1];
    chord_keys_z85_encode (text, key);
    tap_ok (strlen (text) == 40 && chord_keys_z85_decode (back, text, 40) == 0 && memcmp (key, back, 32) == 0,
            "z85: a key survives encode and decode");
    tap_ok (chord_keys_z85_decode (back, text, 39) != 0, "z85: 39 characters are refused");
    text[5] = '"';
    tap_ok (chord_keys_z85_decode (back, text, 40) != 0, "z85: a character outside the alphabet is refused");

    uint8_t secret[CHORD_SECRET_BYTES], other[CHORD_SECRET_BYTES];
    randombytes_buf (secret, sizeof secret);
    memcpy (other, secret, sizeof other);
    other[31] ^= 1;
    chord_keypair_t a, b, c;
    chord_keys_ring_pair (secret, &a);
    chord_keys_ring_pair (secret, &b);
    chord_keys_ring_pair (other, &c);
    uint8_t derived[CHORD_KEY_BYTES];
    crypto_scalarmult_base (derived, a.secret_key);
    tap_ok (memcmp (&a, &b, sizeof a) == 0, "ring pair: the same secret gives the same pair");
    tap_ok (memcmp (a.public_key, c.public_key, 32) != 0, "ring pair: a secret one bit apart gives another pair");
    tap_ok (memcmp (derived, a.public_key, 32) == 0, "ring pair: the public key belongs to the secret key");
}

static void s_test_secret_files (void)
{
    char error[1024];
    const char *path = s_path ("ring.secret");
    tap_ok (chord_keys_secret_create (path, error, sizeof error) == 0, "secret: created");
    struct stat st;
    stat (path, &st);
    tap_ok ((st.st_mode & 0777) == 0600, "secret: mode 0600 (got %03o)", (unsigned) (st.st_mode & 0777));
    uint8_t secret[CHORD_SECRET_BYTES], again[CHORD_SECRET_BYTES];
    tap_ok (chord_keys_secret_read (path, secret, error, sizeof error) == 0, "secret: read back");
    tap_ok (chord_keys_secret_create (path, error, sizeof error) != 0 && strstr (error, "exists"),
            "secret: an existing file is not overwritten (%s)", error);
    tap_ok (chord_keys_secret_read (path, again, error, sizeof error) == 0 && memcmp (secret, again, 32) == 0,
            "secret: unchanged after the refused overwrite");
    chmod (path, 0640);
    tap_ok (chord_keys_secret_read (path, secret, error, sizeof error) != 0 && strstr (error, "group or others"),
            "secret: a file the group may read is refused (%s)", error);
    static const char *bad[] = {"", "# only a comment\n", "abcd\n", "zz" "00000000000000000000000000000000000000000"
                                "000000000000000000000\n",
                                "0000000000000000000000000000000000000000000000000000000000000000\nmore\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *damaged = s_path ("damaged.secret");
        unlink (damaged);
        s_write (damaged, bad[i], 0600);
        tap_ok (chord_keys_secret_read (damaged, secret, error, sizeof error) != 0,
                "secret: damaged file %zu is refused (%s)", i, error);
    }
    tap_ok (chord_keys_secret_read (s_path ("missing"), secret, error, sizeof error) != 0,
            "secret: a missing file is an error (%s)", error);
}

static void s_test_client_files (void)
{
    char error[1024];
    uint8_t server[CHORD_KEY_BYTES], got_server[CHORD_KEY_BYTES];
    randombytes_buf (server, sizeof server);
    chord_keypair_t pair, got;
    bool has_server = false;
    const char *path = s_path ("client.key");
    tap_ok (chord_keys_client_create (path, server, &pair, error, sizeof error) == 0, "client key: created");
    tap_ok (chord_keys_client_read (path, &got, got_server, &has_server, error, sizeof error) == 0
                && memcmp (&got, &pair, sizeof got) == 0 && has_server && memcmp (server, got_server, 32) == 0,
            "client key: read back with the server key");
    const char *plain = s_path ("plain.key");
    chord_keys_client_create (plain, NULL, &pair, error, sizeof error);
    tap_ok (chord_keys_client_read (plain, &got, got_server, &has_server, error, sizeof error) == 0 && !has_server,
            "client key: without a server key, says so");
    char public_z85[41], other_z85[41];
    chord_keys_z85_encode (public_z85, pair.public_key);
    chord_keypair_t other;
    crypto_box_keypair (other.public_key, other.secret_key);
    chord_keys_z85_encode (other_z85, other.secret_key);
    char text[256];
    snprintf (text, sizeof text, "public %s\nsecret %s\n", public_z85, other_z85);
    const char *mismatched = s_path ("mismatched.key");
    s_write (mismatched, text, 0600);
    tap_ok (chord_keys_client_read (mismatched, &got, got_server, &has_server, error, sizeof error) != 0
                && strstr (error, "does not belong"),
            "client key: halves of two pairs are refused (%s)", error);
    snprintf (text, sizeof text, "public %s\npublic %s\n", public_z85, public_z85);
    s_write (mismatched, text, 0600);
    tap_ok (chord_keys_client_read (mismatched, &got, got_server, &has_server, error, sizeof error) != 0,
            "client key: a second public line is refused (%s)", error);
    chmod (path, 0604);
    tap_ok (chord_keys_client_read (path, &got, got_server, &has_server, error, sizeof error) != 0,
            "client key: a file others may read is refused (%s)", error);
}

/* Runs the handler once a request is waiting (what chordd's poll does). */
static void s_serve (chordd_auth_t *auth)
{
    zmq_pollitem_t item = {chordd_auth_socket (auth), 0, ZMQ_POLLIN, 0};
    zmq_poll (&item, 1, 1000);
    chordd_auth_handle (auth);
}

/* Sends one ZAP request of count frames on req, lets the handler answer,
   and returns the status ("200"/"400") and User-Id of the reply. */
static void s_zap (chordd_auth_t *auth, void *req, const char *const *frames, const size_t *sizes, int count,
                   char *status, char *user)
{
    for (int i = 0; i < count; i++)
        zmq_send (req, frames[i], sizes[i], i + 1 < count ? ZMQ_SNDMORE : 0);
    s_serve (auth);
    char parts[6][64];
    int n = 0, more = 1;
    size_t more_size = sizeof more;
    while (more && n < 6) {
        int got = zmq_recv (req, parts[n], sizeof parts[n] - 1, 0);
        parts[n][got < 0 ? 0 : got < 63 ? got : 63] = 0;
        n++;
        zmq_getsockopt (req, ZMQ_RCVMORE, &more, &more_size);
    }
    strcpy (status, n >= 3 ? parts[2] : "");
    strcpy (user, n >= 5 ? parts[4] : "");
}

/* A CURVE request for key, with the frames changed as asked. */
static void s_ask (chordd_auth_t *auth, void *req, const uint8_t *key, size_t key_size, const char *mechanism,
                   const char *domain, int extra_frames, char *status, char *user)
{
    const char *frames[12] = {"1.0", "7", domain, "127.0.0.1", "", mechanism, (const char *) key};
    size_t sizes[12] = {3, 1, strlen (domain), 9, 0, strlen (mechanism), key_size};
    for (int i = 0; i < extra_frames; i++) {
        frames[7 + i] = "x";
        sizes[7 + i] = 1;
    }
    s_zap (auth, req, frames, sizes, 7 + extra_frames, status, user);
}

static void s_test_handler (void)
{
    chord_keypair_t ring, reader, writer, stranger;
    uint8_t secret[CHORD_SECRET_BYTES];
    randombytes_buf (secret, sizeof secret);
    chord_keys_ring_pair (secret, &ring);
    crypto_box_keypair (reader.public_key, reader.secret_key);
    crypto_box_keypair (writer.public_key, writer.secret_key);
    crypto_box_keypair (stranger.public_key, stranger.secret_key);
    char reader_z85[41], writer_z85[41], text[512], error[1024] = "";
    chord_keys_z85_encode (reader_z85, reader.public_key);
    chord_keys_z85_encode (writer_z85, writer.public_key);
    chordd_auth_t *auth = chordd_auth_new (ring.public_key);
    const char *clients = s_path ("clients");
    snprintf (text, sizeof text, "# clients\n\n%s read  the reader\n   %s write\n", reader_z85, writer_z85);
    s_write (clients, text, 0644);
    tap_ok (chordd_auth_load (auth, clients, error, sizeof error) == 0
                && chordd_auth_count (auth, CHORD_ROLE_READ) == 1 && chordd_auth_count (auth, CHORD_ROLE_WRITE) == 1,
            "clients: a good file admits 1 read and 1 write client (%s)", error);
    static const char *bad[] = {"%s reader\n", "%s\n", "%s peer\n", "not-a-key read\n", "%s read\n%s admin\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf (text, sizeof text, bad[i], reader_z85, reader_z85);
        const char *bad_path = s_path ("bad-clients");
        s_write (bad_path, text, 0644);
        char want[S_PATH_MAX + 8];
        snprintf (want, sizeof want, "%s:%d", bad_path, i == 4 ? 2 : 1);
        tap_ok (chordd_auth_load (auth, bad_path, error, sizeof error) != 0 && strstr (error, want)
                    && chordd_auth_count (auth, CHORD_ROLE_WRITE) == 1,
                "clients: bad file %zu is refused naming file:line, the table in use stays (%s)", i, error);
    }

    void *context = zmq_ctx_new ();
    tap_ok (chordd_auth_bind (auth, context) == 0, "handler: binds " CHORDD_AUTH_ENDPOINT);
    void *req = zmq_socket (context, ZMQ_REQ);
    zmq_connect (req, CHORDD_AUTH_ENDPOINT);
    char status[64], user[64];
    struct {
        const char *name;
        const uint8_t *key;
        size_t size;
        const char *mechanism, *domain;
        int extra;
        const char *status, *user;
    } cases[] = {
        {"the ring's key is a peer", ring.public_key, 32, "CURVE", "chord", 0, "200", "peer"},
        {"a listed client gets its role", reader.public_key, 32, "CURVE", "chord", 0, "200", "read"},
        {"another listed client", writer.public_key, 32, "CURVE", "chord", 0, "200", "write"},
        {"an unknown key is refused", stranger.public_key, 32, "CURVE", "chord", 0, "400", ""},
        {"a 31-byte key is refused", ring.public_key, 31, "CURVE", "chord", 0, "400", ""},
        {"a 33-byte credential is refused", (const uint8_t *) "0123456789abcdef0123456789abcdefX", 33, "CURVE",
         "chord", 0, "400", ""},
        {"mechanism PLAIN is refused", ring.public_key, 32, "PLAIN", "chord", 0, "400", ""},
        {"mechanism NULL is refused", ring.public_key, 32, "NULL", "chord", 0, "400", ""},
        {"another domain is refused", ring.public_key, 32, "CURVE", "other", 0, "400", ""},
        {"an extra frame is refused", ring.public_key, 32, "CURVE", "chord", 1, "400", ""},
        {"five extra frames (past the frames kept) are refused", ring.public_key, 32, "CURVE", "chord", 5, "400",
         ""},
        {"after all that the ring's key is still a peer", ring.public_key, 32, "CURVE", "chord", 0, "200", "peer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        s_ask (auth, req, cases[i].key, cases[i].size, cases[i].mechanism, cases[i].domain, cases[i].extra,
               status, user);
        tap_ok (strcmp (status, cases[i].status) == 0 && strcmp (user, cases[i].user) == 0,
                "handler: %s (status %s, User-Id '%s')", cases[i].name, status, user);
    }
    tap_ok (chordd_auth_role ("peer") == CHORD_ROLE_PEER && chordd_auth_role ("admin") == CHORD_ROLE_ADMIN
                && chordd_auth_role ("none") == CHORD_ROLE_NONE && chordd_auth_role ("Peer") == CHORD_ROLE_NONE
                && chordd_auth_role (NULL) == CHORD_ROLE_NONE,
            "role: User-Ids map to roles, anything else to none");
    zmq_close (req);
    chordd_auth_destroy (&auth);
    zmq_ctx_term (context);
}

int main (void)
{
    if (sodium_init () < 0 || !mkdtemp (s_dir)) {
        printf ("Bail out! cannot initialise libsodium or make %s\n", s_dir);
        return 1;
    }
    chordd_log_set_level (CHORD_LOG_ERROR);
    s_test_z85_and_pair ();
    s_test_secret_files ();
    s_test_client_files ();
    s_test_handler ();
    nftw (s_dir, s_remove, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done ();
}
