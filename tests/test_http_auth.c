/*  Tests of chordd's HTTP roles (daemon/http_auth): the tokens file
    (good, comments, every kind of bad line, modes, a bad reload keeping
    the table), the Authorization header (scheme, spaces, lengths, bytes),
    loopback addresses, and the decision for every access, method, address
    and role, on an open and a secured ring; and the token keygen makes
    (daemon/keys), which the parser must accept.

    Files live under one mkdtemp directory in /tmp, removed at exit.  */
#define _XOPEN_SOURCE 700

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_auth.h"
#include "keys.h"
#include "tap.h"

#define S_PATH_MAX 512                  /* bytes of a path under the test directory */

static char s_dir[] = "/tmp/chord-test-http-auth-XXXXXX";

/* Tokens of the tests: 32 characters and more, of the allowed set. */
static const char *s_read = "read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *s_write = "write.token_bbbbbbbbbbbbbbbbbbbbbbbbbbbb~";
static const char *s_admin = "ADMINtoken0123456789cccccccccccccccccccccc";

static const char *s_path (const char *name)
{
    static char paths[4][S_PATH_MAX];
    static int next;
    char *path = paths[next++ % 4];
    snprintf (path, S_PATH_MAX, "%s/%s", s_dir, name);
    return path;
}

static void s_write_file (const char *path, const char *text, mode_t mode)
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

static chord_role_t s_role_of (chordd_http_auth_t *auth, const char *token)
{
    char header[512];
    snprintf (header, sizeof header, "Bearer %s", token);
    return chordd_http_auth_role (auth, header);
}

static void s_test_load (chordd_http_auth_t *auth)
{
    char text[1024];
    snprintf (text, sizeof text, "# tokens\n\n   # indented comment\nread %s\nwrite\t%s\r\n  admin   %s  \n", s_read,
              s_write, s_admin);
    s_write_file (s_path ("good"), text, 0600);
    char error[512] = "";
    tap_ok (chordd_http_auth_load (auth, s_path ("good"), error, sizeof error) == 0, "a good file loads (%s)",
            error);
    tap_ok (chordd_http_auth_count (auth, CHORD_ROLE_READ) == 1 && chordd_http_auth_count (auth, CHORD_ROLE_WRITE) == 1
            && chordd_http_auth_count (auth, CHORD_ROLE_ADMIN) == 1, "one token of each role");
    tap_ok (s_role_of (auth, s_read) == CHORD_ROLE_READ && s_role_of (auth, s_write) == CHORD_ROLE_WRITE
            && s_role_of (auth, s_admin) == CHORD_ROLE_ADMIN, "each token maps to its role");

    static const struct {
        const char *text;
        const char *why;
    } bad[] = {
        {"reader read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "role"},
        {"peer read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", "role"},
        {"read short-token\n", "characters"},
        {"read read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\n", "characters"},
        {"read\n", "ROLE TOKEN"},
        {"read read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa comment\n", "ROLE TOKEN"},
        {"read read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\nwrite read-token-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
         "listed already"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_write_file (s_path ("bad"), bad[i].text, 0600);
        error[0] = 0;
        int rc = chordd_http_auth_load (auth, s_path ("bad"), error, sizeof error);
        tap_ok (rc == -1 && strstr (error, bad[i].why) && strstr (error, ":"),
                "bad line %zu refused, naming file:line and '%s' (%s)", i, bad[i].why, error);
        tap_ok (!strstr (error, "aaaaaaaaaaaaaaaaaaaa"), "the error shows no token");
    }
    //  A NUL byte would hide the lines after it: the file is refused.
    FILE *nul = fopen (s_path ("nul"), "w");
    fprintf (nul, "read %s\n", s_read);
    fputc (0, nul);
    fprintf (nul, "write %s\n", s_write);
    fclose (nul);
    chmod (s_path ("nul"), 0600);
    tap_ok (chordd_http_auth_load (auth, s_path ("nul"), error, sizeof error) == -1 && strstr (error, "NUL"),
            "a file holding a NUL byte is refused (%s)", error);
    //  A token of 257 characters, and one of 256, which is allowed.
    char longer[300] = "read ", *token = longer + 5;
    memset (token, 'x', 257);
    strcpy (token + 257, "\n");
    s_write_file (s_path ("long"), longer, 0600);
    tap_ok (chordd_http_auth_load (auth, s_path ("long"), error, sizeof error) == -1, "a token of 257 characters "
            "is refused");
    strcpy (token + 256, "\n");
    s_write_file (s_path ("long"), longer, 0600);
    tap_ok (chordd_http_auth_load (auth, s_path ("long"), error, sizeof error) == 0, "one of 256 loads (%s)", error);
    token[256] = 0;
    tap_ok (s_role_of (auth, token) == CHORD_ROLE_READ, "and is known");

    //  Modes and missing files: refused, and the table in use stays.
    chordd_http_auth_load (auth, s_path ("good"), error, sizeof error);
    s_write_file (s_path ("open"), text, 0644);
    tap_ok (chordd_http_auth_load (auth, s_path ("open"), error, sizeof error) == -1 && strstr (error, "chmod 600"),
            "a file others may read is refused (%s)", error);
    tap_ok (chordd_http_auth_load (auth, s_path ("missing"), error, sizeof error) == -1, "a missing file is refused");
    tap_ok (chordd_http_auth_load (auth, s_dir, error, sizeof error) == -1, "a directory is refused");
    tap_ok (s_role_of (auth, s_write) == CHORD_ROLE_WRITE && s_role_of (auth, token) == CHORD_ROLE_NONE,
            "after refusals the last good table is in use");
    s_write_file (s_path ("empty"), "# no tokens\n", 0600);
    tap_ok (chordd_http_auth_load (auth, s_path ("empty"), error, sizeof error) == 0
            && s_role_of (auth, s_write) == CHORD_ROLE_NONE, "an empty file loads and revokes every token");
    chordd_http_auth_load (auth, s_path ("good"), error, sizeof error);
}

static void s_test_header (chordd_http_auth_t *auth)
{
    char header[512];
    tap_ok (chordd_http_auth_role (auth, NULL) == CHORD_ROLE_NONE, "no header: none");
    tap_ok (chordd_http_auth_role (auth, "") == CHORD_ROLE_NONE, "an empty header: none");
    tap_ok (chordd_http_auth_role (auth, "Bearer") == CHORD_ROLE_NONE, "'Bearer' alone: none");
    tap_ok (chordd_http_auth_role (auth, "Bearer ") == CHORD_ROLE_NONE, "'Bearer ' alone: none");
    snprintf (header, sizeof header, "bEaReR   %s  ", s_write);
    tap_ok (chordd_http_auth_role (auth, header) == CHORD_ROLE_WRITE, "the scheme in any case, spaces around");
    snprintf (header, sizeof header, "Basic %s", s_write);
    tap_ok (chordd_http_auth_role (auth, header) == CHORD_ROLE_NONE, "another scheme: none");
    snprintf (header, sizeof header, "Bearer %s", s_write);
    header[strlen (header) - 1] = 0;
    tap_ok (chordd_http_auth_role (auth, header) == CHORD_ROLE_NONE, "a token one character short: none");
    snprintf (header, sizeof header, "Bearer %sx", s_write);
    tap_ok (chordd_http_auth_role (auth, header) == CHORD_ROLE_NONE, "a token one character long: none");
    snprintf (header, sizeof header, "Bearer %s\x01", s_write);
    tap_ok (chordd_http_auth_role (auth, header) == CHORD_ROLE_NONE, "a control byte: none");
    static char huge[70000];
    memset (huge, 'a', sizeof huge - 1);
    memcpy (huge, "Bearer ", 7);
    tap_ok (chordd_http_auth_role (auth, huge) == CHORD_ROLE_NONE, "a header of 70,000 bytes: none");
}

static void s_test_loopback (void)
{
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
    inet_pton (AF_INET, "127.0.0.1", &in.sin_addr);
    tap_ok (chordd_http_auth_loopback ((struct sockaddr *) &in), "127.0.0.1 is loopback");
    inet_pton (AF_INET, "127.255.3.4", &in.sin_addr);
    tap_ok (chordd_http_auth_loopback ((struct sockaddr *) &in), "127.255.3.4 is loopback");
    inet_pton (AF_INET, "10.0.0.1", &in.sin_addr);
    tap_ok (!chordd_http_auth_loopback ((struct sockaddr *) &in), "10.0.0.1 is not");
    inet_pton (AF_INET, "128.0.0.1", &in.sin_addr);
    tap_ok (!chordd_http_auth_loopback ((struct sockaddr *) &in), "128.0.0.1 is not");
    inet_pton (AF_INET6, "::1", &in6.sin6_addr);
    tap_ok (chordd_http_auth_loopback ((struct sockaddr *) &in6), "::1 is loopback");
    inet_pton (AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
    tap_ok (chordd_http_auth_loopback ((struct sockaddr *) &in6), "::ffff:127.0.0.1 is loopback");
    inet_pton (AF_INET6, "::ffff:10.0.0.1", &in6.sin6_addr);
    tap_ok (!chordd_http_auth_loopback ((struct sockaddr *) &in6), "::ffff:10.0.0.1 is not");
    inet_pton (AF_INET6, "fe80::1", &in6.sin6_addr);
    tap_ok (!chordd_http_auth_loopback ((struct sockaddr *) &in6), "fe80::1 is not");
    tap_ok (!chordd_http_auth_loopback (NULL), "no address is not");
}

/* The expected status, written out as the README's rules say it. */
static unsigned s_expected (bool secured, chordd_http_access_t access, bool changes, bool loopback,
                            chord_role_t held)
{
    if (!secured || access == CHORDD_HTTP_PUBLIC)
        return 0;
    if (access == CHORDD_HTTP_PROBE && loopback && !changes)
        return 0;
    chord_role_t needed = access == CHORDD_HTTP_ADMIN ? CHORD_ROLE_ADMIN
                        : access == CHORDD_HTTP_WRITE || changes ? CHORD_ROLE_WRITE : CHORD_ROLE_READ;
    return held == CHORD_ROLE_NONE ? 401 : held < needed ? 403 : 0;
}

static void s_test_decide (void)
{
    char why[256];
    //  The cases a reader checks first, by name.
    tap_ok (chordd_http_auth_decide (false, CHORDD_HTTP_WRITE, true, false, CHORD_ROLE_NONE, why, sizeof why) == 0,
            "open ring: a PUT without a token from anywhere passes");
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_PROBE, false, true, CHORD_ROLE_NONE, why, sizeof why) == 0,
            "secured: /metrics from loopback without a token passes");
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_PROBE, false, false, CHORD_ROLE_NONE, why, sizeof why) == 401
            && strstr (why, "Bearer"), "secured: /metrics from elsewhere without a token is 401 (%s)", why);
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_PROBE, false, false, CHORD_ROLE_READ, why, sizeof why) == 0,
            "secured: /metrics from elsewhere with a read token passes");
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_READ, true, true, CHORD_ROLE_READ, why, sizeof why) == 403
            && strstr (why, "write"), "secured: a PUT with a read token is 403, even from loopback (%s)", why);
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_READ, false, true, CHORD_ROLE_NONE, why, sizeof why) == 401,
            "secured: a read route from loopback without a token is 401");
    tap_ok (chordd_http_auth_decide (true, CHORDD_HTTP_PUBLIC, false, false, CHORD_ROLE_NONE, why, sizeof why) == 0,
            "secured: the dashboard's page needs nothing");
    //  Then every combination against the rules as written above.
    int wrong = 0, cases = 0;
    for (int secured = 0; secured < 2; secured++)
        for (int access = CHORDD_HTTP_PUBLIC; access <= CHORDD_HTTP_ADMIN; access++)
            for (int changes = 0; changes < 2; changes++)
                for (int loopback = 0; loopback < 2; loopback++)
                    for (int held = CHORD_ROLE_NONE; held <= CHORD_ROLE_ADMIN; held++) {
                        unsigned want = s_expected (secured, access, changes, loopback, held);
                        why[0] = 0;
                        unsigned got = chordd_http_auth_decide (secured, access, changes, loopback, held, why,
                                                                sizeof why);
                        cases++;
                        if (got != want || (got && !why[0])) {
                            wrong++;
                            tap_diag ("secured %d access %d changes %d loopback %d held %d: %u, want %u", secured,
                                      access, changes, loopback, held, got, want);
                        }
                    }
    tap_ok (wrong == 0, "all %d combinations decide as the rules say, with a reason for each refusal", cases);
}

static void s_test_keygen (chordd_http_auth_t *auth)
{
    char token[CHORD_HTTP_TOKEN_LEN + 1], other[CHORD_HTTP_TOKEN_LEN + 1], error[512] = "";
    chord_keys_http_token (token);
    chord_keys_http_token (other);
    tap_ok (strlen (token) == CHORD_HTTP_TOKEN_LEN && strcmp (token, other) != 0, "keygen's tokens are %d "
            "characters and differ", CHORD_HTTP_TOKEN_LEN);
    const char *file = s_path ("keygen");
    int rc = chord_keys_http_token_append (file, "write", token, error, sizeof error);
    rc |= chord_keys_http_token_append (file, "read", other, error, sizeof error);
    struct stat st;
    tap_ok (rc == 0 && stat (file, &st) == 0 && (st.st_mode & 0777) == 0600, "append makes the file mode 0600 (%s)",
            error);
    tap_ok (chordd_http_auth_load (auth, file, error, sizeof error) == 0 && s_role_of (auth, token) == CHORD_ROLE_WRITE
            && s_role_of (auth, other) == CHORD_ROLE_READ, "chordd reads what keygen appended (%s)", error);
    chmod (file, 0640);
    tap_ok (chord_keys_http_token_append (file, "read", other, error, sizeof error) == -1,
            "append refuses a file group may read (%s)", error);
    const char *alone = s_path ("alone");
    tap_ok (chord_keys_http_token_write (alone, token, error, sizeof error) == 0
            && chord_keys_http_token_write (alone, token, error, sizeof error) == -1,
            "the token-alone file is written once, never overwritten");
}

int main (void)
{
    if (sodium_init () < 0 || !mkdtemp (s_dir)) {
        printf ("Bail out! cannot set up\n");
        return 1;
    }
    chordd_http_auth_t *auth = chordd_http_auth_new (true);
    tap_ok (auth && chordd_http_auth_secured (auth) && chordd_http_auth_count (auth, CHORD_ROLE_READ) == 0,
            "a new table is secured and empty");
    s_test_load (auth);
    s_test_header (auth);
    s_test_loopback ();
    s_test_decide ();
    s_test_keygen (auth);
    chordd_http_auth_destroy (&auth);
    chordd_http_auth_destroy (&auth);
    tap_ok (auth == NULL, "destroy sets the pointer to NULL and may be called twice");
    nftw (s_dir, s_remove, 8, FTW_DEPTH | FTW_PHYS);
    printf ("1..%d\n", tap_count);
    return tap_failed ? 1 : 0;
}
