/*  chordctl: the ring walk (chordctl ring, on tools/ring_walk.c) and key
    generation (chordctl keygen).  */
#include "chordctl.h"

int chordctl_walk (const chordctl_t *ctl, ring_walk_t *walk)
{
    int64_t left_ms = ctl->deadline_ms - util_now_ms ();
    ring_walk_config_t config = {
        .start = ctl->server,
        .curve = ctl->curve,
        .request_timeout_ms = RING_WALK_TIMEOUT_MS,
        .deadline_ms = left_ms > 0 ? (int) left_ms : 1,
    };
    if (ring_walk_run (&config, walk) == 0)
        return S_EXIT_OK;
    if (errno == EACCES)
        return chordctl_fail (S_EXIT_REFUSED, "%s: refused: the peer does not admit our key", ctl->server);
    if (errno == ENOMEM)
        return chordctl_fail (S_EXIT_ERROR, "out of memory");
    return chordctl_fail (S_EXIT_NO_ANSWER, "%s", walk->why);
}

/* Warns on stderr of what the walk left out: a ring not closed, silent
   positions. */
static void s_ring_warn (const ring_walk_t *walk)
{
    if (!walk->complete)
        fprintf (stderr, "chordctl: warning: ring not closed: %s\n", walk->why);
    size_t down = 0;
    for (size_t i = 0; i < walk->count; i++)
        down += walk->positions[i].down;
    if (down > 0)
        fprintf (stderr, "chordctl: warning: %zu position%s did not answer within %d ms: down\n", down,
                 down == 1 ? "" : "s", RING_WALK_TIMEOUT_MS);
}

static int s_ring_print (const chordctl_t *ctl, const ring_walk_t *walk)
{
    if (ctl->json) {
        json_t *root = json_array ();
        for (size_t i = 0; i < walk->count; i++) {
            const ring_walk_position_t *at = &walk->positions[i];
            json_t *object = json_object ();
            json_object_set_new (object, "id", chordctl_json_id (&at->self.id));
            json_object_set_new (object, "endpoint",
                                 chordctl_json_text (at->self.endpoint, strlen (at->self.endpoint)));
            json_object_set_new (object, "state", json_string (ring_walk_state_name (at)));
            json_object_set_new (object, "predecessor", at->has_pred ? chordctl_json_id (&at->pred) : json_null ());
            json_object_set_new (object, "successor", at->has_succ ? chordctl_json_id (&at->succ) : json_null ());
            json_object_set_new (object, "keys", at->down ? json_null () : chordctl_json_count (at->records));
            json_array_append_new (root, object);
        }
        return chordctl_print_json (root);
    }
    for (size_t i = 0; i < walk->count; i++) {
        const ring_walk_position_t *at = &walk->positions[i];
        char self_hex[CHORD_ID_HEX_LEN + 1], pred_hex[CHORD_ID_HEX_LEN + 1] = "-",
             succ_hex[CHORD_ID_HEX_LEN + 1] = "-";
        chord_id_to_hex (&at->self.id, self_hex);
        if (at->down) {
            printf ("%s %s down\n", self_hex, at->self.endpoint);
            continue;
        }
        if (at->has_pred)
            chord_id_to_hex (&at->pred, pred_hex);
        if (at->has_succ)
            chord_id_to_hex (&at->succ, succ_hex);
        printf ("%s %s pred=%s succ=%s keys=%llu\n", self_hex, at->self.endpoint, pred_hex, succ_hex,
                (unsigned long long) at->records);
    }
    return S_EXIT_OK;
}

/*  Walks from the contacted peer through each first successor until the
    walk comes back to where it started (ring_walk.h), then prints every
    position seen, silent ones as down.  */
int chordctl_cmd_ring (const chordctl_t *ctl)
{
    ring_walk_t walk;
    int code = chordctl_walk (ctl, &walk);
    if (code != S_EXIT_OK)
        return code;
    s_ring_warn (&walk);
    code = s_ring_print (ctl, &walk);
    ring_walk_clear (&walk);
    return code;
}

/* Reads stdin to EOF into *data (malloc'd, the caller frees). */
/* Prints a key in Z85 and a newline on stdout. */
static int s_print_key (const uint8_t key[CHORD_KEY_BYTES])
{
    char z85[CHORD_KEY_Z85_LEN + 1];
    chord_keys_z85_encode (z85, key);
    printf ("%s\n", z85);
    return S_EXIT_OK;
}

/* keygen --client FILE [--secret SECRETFILE | --server-key Z85]. */
static int s_keygen_client (const char *path, const char *secret_path, const char *server_z85)
{
    char error[1024];
    uint8_t server[CHORD_KEY_BYTES];
    if (secret_path && server_z85)
        return chordctl_fail (S_EXIT_USAGE, "keygen --client: give --secret or --server-key, not both");
    if (secret_path) {
        uint8_t secret[CHORD_SECRET_BYTES];
        chord_keypair_t ring;
        if (chord_keys_secret_read (secret_path, secret, error, sizeof error) != 0)
            return chordctl_fail (S_EXIT_USAGE, "%s", error);
        chord_keys_ring_pair (secret, &ring);
        memcpy (server, ring.public_key, CHORD_KEY_BYTES);
        sodium_memzero (secret, sizeof secret);
        sodium_memzero (&ring, sizeof ring);
    }
    else if (server_z85 && chord_keys_z85_decode (server, server_z85, strlen (server_z85)) != 0)
        return chordctl_fail (S_EXIT_USAGE, "--server-key wants the ring's public key: 40 Z85 characters");
    chord_keypair_t pair;
    if (chord_keys_client_create (path, secret_path || server_z85 ? server : NULL, &pair, error,
                                  sizeof error) != 0)
        return chordctl_fail (S_EXIT_ERROR, "%s", error);
    sodium_memzero (pair.secret_key, sizeof pair.secret_key);
    return s_print_key (pair.public_key);
}

/*  keygen --http-token ROLE [--file TOKENS] [--token-file PATH [--keep]]:
    without --file prints the line "ROLE TOKEN" for chordd's --http-tokens
    file; with it appends that line there and prints the token alone, for
    the client. --token-file also writes the token alone to PATH (a new
    file, mode 0600) and prints nothing, so that a container's log never
    shows it; --keep then does nothing when PATH exists already.  */
static int s_keygen_http_token (const char *role, const char *file, const char *token_file, bool keep)
{
    if (strcmp (role, "read") != 0 && strcmp (role, "write") != 0 && strcmp (role, "admin") != 0)
        return chordctl_fail (S_EXIT_USAGE, "keygen --http-token: the role is read, write or admin, not '%s'", role);
    if (token_file && !file)
        return chordctl_fail (S_EXIT_USAGE, "keygen --http-token: --token-file needs --file (the tokens file)");
    struct stat st;
    if (token_file && keep && stat (token_file, &st) == 0)
        return S_EXIT_OK;
    char token[CHORD_HTTP_TOKEN_LEN + 1], error[1024];
    chord_keys_http_token (token);
    int code = S_EXIT_OK;
    if (!file)
        printf ("%s %s\n", role, token);
    else if (chord_keys_http_token_append (file, role, token, error, sizeof error) != 0)
        code = chordctl_fail (S_EXIT_ERROR, "%s", error);
    else if (token_file && chord_keys_http_token_write (token_file, token, error, sizeof error) != 0)
        code = chordctl_fail (S_EXIT_ERROR, "%s (the token was added to %s)", error, file);
    else if (!token_file)
        printf ("%s\n", token);
    sodium_memzero (token, sizeof token);
    return code;
}

/*  chordctl keygen: writes a cluster secret or a client key pair and prints
    the public key others need (the ring's, or the client's), or makes an
    HTTP token.  */
int chordctl_keygen (int argc, char **argv)
{
    const char *secret = NULL, *client = NULL, *server = NULL;
    const char *http_token = NULL, *file = NULL, *token_file = NULL;
    bool keep = false;
    for (int i = 2; i < argc; i++) {
        if (strcmp (argv[i], "--keep") == 0) {
            keep = true;
            continue;
        }
        const char **slot = strcmp (argv[i], "--secret") == 0 ? &secret
                          : strcmp (argv[i], "--client") == 0 ? &client
                          : strcmp (argv[i], "--server-key") == 0 ? &server
                          : strcmp (argv[i], "--http-token") == 0 ? &http_token
                          : strcmp (argv[i], "--file") == 0 ? &file
                          : strcmp (argv[i], "--token-file") == 0 ? &token_file : NULL;
        if (!slot)
            return chordctl_fail (S_EXIT_USAGE, "keygen: unexpected '%s' (see --help)", argv[i]);
        if (i + 1 >= argc || !*argv[i + 1])
            return chordctl_fail (S_EXIT_USAGE, "keygen: %s needs a value", argv[i]);
        *slot = argv[++i];
    }
    if (http_token && !secret && !client && !server)
        return s_keygen_http_token (http_token, file, token_file, keep);
    if (file || token_file || http_token)
        return chordctl_fail (S_EXIT_USAGE, "keygen: --file and --token-file go with --http-token ROLE alone");
    if (client)
        return s_keygen_client (client, secret, server);
    if (!secret || server)
        return chordctl_fail (S_EXIT_USAGE, "keygen: want --secret FILE, or --client FILE [--secret FILE | "
                       "--server-key Z85]");
    char error[1024];
    uint8_t bytes[CHORD_SECRET_BYTES];
    chord_keypair_t ring;
    /* --keep: a container entrypoint makes the secret once, then finds it. */
    struct stat st;
    bool exists = keep && stat (secret, &st) == 0;
    if (!exists && chord_keys_secret_create (secret, error, sizeof error) != 0)
        return chordctl_fail (S_EXIT_ERROR, "%s", error);
    if (chord_keys_secret_read (secret, bytes, error, sizeof error) != 0)
        return chordctl_fail (S_EXIT_ERROR, "%s", error);
    chord_keys_ring_pair (bytes, &ring);
    sodium_memzero (bytes, sizeof bytes);
    sodium_memzero (ring.secret_key, sizeof ring.secret_key);
    return s_print_key (ring.public_key);
}

