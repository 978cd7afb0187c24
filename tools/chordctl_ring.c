/*  chordctl: the ring walk (chordctl ring) and key generation (chordctl
    keygen).  */
#include "chordctl.h"

/* The walk's connection to endpoint: first for the contacted server, else a
   cached one, or a new one evicting the least recently used. NULL when the
   endpoint cannot be connected to. */
static chord_client_t *s_ring_link (const chordctl_t *ctl, chord_client_t *first,
                                     ring_link_t *links, const char *endpoint, uint64_t step)
{
    if (strcmp (endpoint, ctl->server) == 0)
        return first;
    ring_link_t *slot = &links[0];
    for (size_t i = 0; i < S_RING_CLIENTS_MAX; i++) {
        if (links[i].client && strcmp (links[i].endpoint, endpoint) == 0) {
            links[i].used = step;
            return links[i].client;
        }
        if (!links[i].client)
            slot = &links[i];
        else if (slot->client && links[i].used < slot->used)
            slot = &links[i];
    }
    chord_client_destroy (&slot->client);
    slot->client = chord_client_new_curve (endpoint, ctl->curve);
    if (!slot->client)
        return NULL;
    snprintf (slot->endpoint, sizeof slot->endpoint, "%s", endpoint);
    slot->used = step;
    return slot->client;
}

static bool s_ring_seen (const ring_position_t *walked, size_t count, const chord_id_t *id)
{
    for (size_t i = 0; i < count; i++)
        if (chord_id_equal (&walked[i].self.id, id))
            return true;
    return false;
}

static int s_ring_print (const chordctl_t *ctl, const ring_position_t *walked, size_t count)
{
    if (ctl->json) {
        json_t *root = json_array ();
        for (size_t i = 0; i < count; i++) {
            const ring_position_t *at = &walked[i];
            json_t *object = json_object ();
            json_object_set_new (object, "id", chordctl_json_id (&at->self.id));
            json_object_set_new (object, "endpoint",
                                 chordctl_json_text (at->self.endpoint, strlen (at->self.endpoint)));
            json_object_set_new (object, "predecessor",
                                 at->has_pred ? chordctl_json_id (&at->pred) : json_null ());
            json_object_set_new (object, "successor",
                                 at->has_succ ? chordctl_json_id (&at->succ) : json_null ());
            json_object_set_new (object, "keys", chordctl_json_count (at->keys));
            json_array_append_new (root, object);
        }
        return chordctl_print_json (root);
    }
    for (size_t i = 0; i < count; i++) {
        const ring_position_t *at = &walked[i];
        char self_hex[CHORD_ID_HEX_LEN + 1], pred_hex[CHORD_ID_HEX_LEN + 1] = "-",
             succ_hex[CHORD_ID_HEX_LEN + 1] = "-";
        chord_id_to_hex (&at->self.id, self_hex);
        if (at->has_pred)
            chord_id_to_hex (&at->pred, pred_hex);
        if (at->has_succ)
            chord_id_to_hex (&at->succ, succ_hex);
        printf ("%s %s pred=%s succ=%s keys=%llu\n", self_hex, at->self.endpoint, pred_hex,
                succ_hex, (unsigned long long) at->keys);
    }
    return S_EXIT_OK;
}

/* Walks from the contacted peer through each first successor until the walk
   comes back to where it started, then prints every position seen. */
int chordctl_cmd_ring (const chordctl_t *ctl, chord_client_t *first)
{
    ring_position_t *walked = calloc (S_RING_STEPS_MAX, sizeof *walked);
    ring_link_t *links = calloc (S_RING_CLIENTS_MAX, sizeof *links);
    if (!walked || !links) {
        free (walked);
        free (links);
        return chordctl_fail (S_EXIT_ERROR, "out of memory");
    }
    size_t count = 0;
    int code = S_EXIT_OK;
    chord_client_t *client = first;
    char endpoint[CHORD_ENDPOINT_MAX + 1];
    snprintf (endpoint, sizeof endpoint, "%s", ctl->server);
    chord_id_t target;
    bool has_target = false;

    while (true) {
        if (count == S_RING_STEPS_MAX) {
            fprintf (stderr, "chordctl: warning: ring not closed after %d positions\n",
                     S_RING_STEPS_MAX);
            break;
        }
        if (!client) {
            client = s_ring_link (ctl, first, links, endpoint, count);
            if (!client) {
                code = chordctl_fail (S_EXIT_NO_ANSWER, "cannot connect to '%s'", endpoint);
                break;
            }
        }
        chord_msg_t reply;
        code = chordctl_info (ctl, client, endpoint, has_target ? &target : NULL, &reply);
        if (code != 0)
            break;
        if (has_target && !chord_id_equal (&reply.peer.id, &target)) {
            char want_hex[CHORD_ID_HEX_LEN + 1], got_hex[CHORD_ID_HEX_LEN + 1];
            chord_id_to_hex (&target, want_hex);
            chord_id_to_hex (&reply.peer.id, got_hex);
            fprintf (stderr, "chordctl: warning: asked %s for position %s, %s answered\n",
                     endpoint, want_hex, got_hex);
        }
        if (s_ring_seen (walked, count, &reply.peer.id)) {
            char hex[CHORD_ID_HEX_LEN + 1];
            chord_id_to_hex (&reply.peer.id, hex);
            fprintf (stderr, "chordctl: warning: ring not closed: %s repeats\n", hex);
            chord_msg_clear (&reply);
            break;
        }
        ring_position_t *at = &walked[count++];
        at->self = reply.peer;
        at->has_pred = (reply.fields & CHORD_F_PRED) && reply.has_pred;
        if (at->has_pred)
            at->pred = reply.pred.id;
        at->has_succ = (reply.fields & CHORD_F_SUCC) && reply.peer_count > 0;
        chord_peer_t next;
        if (at->has_succ) {
            next = reply.peers[0];
            at->succ = next.id;
        }
        at->keys = (reply.fields & CHORD_F_COUNT) ? reply.count : 0;
        chord_msg_clear (&reply);

        char hex[CHORD_ID_HEX_LEN + 1];
        chord_id_to_hex (&at->self.id, hex);
        if (!at->has_succ) {
            fprintf (stderr, "chordctl: warning: ring not closed: %s has no successor\n", hex);
            break;
        }
        if (chord_id_equal (&next.id, &walked[0].self.id))
            break;   /* back where the walk began: the ring is closed */
        if (s_ring_seen (walked, count, &next.id)) {
            char next_hex[CHORD_ID_HEX_LEN + 1];
            chord_id_to_hex (&next.id, next_hex);
            fprintf (stderr,
                     "chordctl: warning: ring not closed: %s leads back to %s, not to the start\n",
                     hex, next_hex);
            break;
        }
        snprintf (endpoint, sizeof endpoint, "%s", next.endpoint);
        target = next.id;
        has_target = true;
        client = NULL;
    }

    int print_code = s_ring_print (ctl, walked, count);
    if (code == S_EXIT_OK)
        code = print_code;
    for (size_t i = 0; i < S_RING_CLIENTS_MAX; i++)
        chord_client_destroy (&links[i].client);
    free (links);
    free (walked);
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

