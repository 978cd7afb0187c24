/*  chordctl: the command-line client of a chord ring.

    It speaks the peers' own protocol through the shared codec and the
    client connection (client.h). Every command shares one time budget,
    --timeout, so the whole run ends within it plus a little teardown.  */
#include "chordctl.h"

static const char *s_usage_text =
    "usage: chordctl [-s ENDPOINT] [--timeout MS] [--json] [--key FILE | --secret FILE]\n"
    "                [--route entry|owner] COMMAND [ARGS]\n"
    "       chordctl keygen --secret FILE [--keep]\n"
    "       chordctl keygen --client FILE [--secret SECRETFILE | --server-key Z85]\n"
    "       chordctl keygen --http-token ROLE [--file TOKENS [--token-file PATH [--keep]]]\n"
    "\n"
    "Commands:\n"
    "  put KEY VALUE   store VALUE under KEY; VALUE \"-\" reads stdin to EOF (binary-safe)\n"
    "  get KEY         write KEY's value to stdout, byte for byte, no newline added\n"
    "  del KEY         delete KEY\n"
    "  lookup KEY      print KEY's id, its owner's id and endpoint, and the hops taken\n"
    "  replicas KEY    print the id and endpoint of KEY's owner, then of each peer holding\n"
    "                  a copy (by the owner's own view), one per line\n"
    "  info            describe the contacted peer: id, endpoint, state, predecessor,\n"
    "                  successors, fingers, keys stored\n"
    "  ring            walk the ring from the contacted peer through each successor,\n"
    "                  one line per position; one silent for 500 ms is shown down\n"
    "  status          the ring by process, as nodetool status: up or down, joining or\n"
    "                  leaving, endpoint, positions, the share of the id space it owns\n"
    "                  and keeps copies of at R, records owned and replica, bytes\n"
    "  health          print \"ready\" and exit 0 when every position of the contacted\n"
    "                  process answers and is active; else why not, exit 3\n"
    "  leave           ask the contacted peer to hand its data off and leave the ring\n"
    "  keygen          --secret FILE: write a new cluster secret to FILE (which must not\n"
    "                  exist; with --keep an existing secret is kept) and print the\n"
    "                  ring's public key. --client FILE: write a new client key pair\n"
    "                  (with the ring's public key, from --secret or --server-key) and\n"
    "                  print the client's public key, for chordd's --clients file.\n"
    "                  --http-token ROLE: print a line 'ROLE TOKEN' for chordd's\n"
    "                  --http-tokens file; --file TOKENS appends it there and prints\n"
    "                  the token alone; --token-file PATH also writes the token to\n"
    "                  PATH (new, mode 0600) and prints nothing\n"
    "\n"
    "Options (before or after the command; \"--\" ends them, for keys starting with \"-\"):\n"
    "  -s, --server ENDPOINT  peer to contact (tcp://, ipc:// or inproc://); default\n"
    "                         $CHORD_SERVER, else " S_SERVER_DEFAULT "\n"
    "  --timeout MS           budget for the whole command, in milliseconds (default 5000)\n"
    "  --json                 JSON output for lookup, replicas, info, ring and status:\n"
    "                         one document and a newline. A key that is not valid\n"
    "                         UTF-8 appears as \"key\": null (replicas: no \"key\") with\n"
    "                         its bytes in \"key_hex\"; replicas's is GET /v1/lookup's\n"
    "  --key FILE             connect with CURVE as the client in FILE (chordctl keygen\n"
    "                         --client); default $CHORD_KEY\n"
    "  --secret FILE          connect with CURVE as a peer of the ring, from its cluster\n"
    "                         secret; default $CHORD_SECRET\n"
    "  --route entry|owner    how put, get and del travel. entry (default): to the\n"
    "                         contacted peer, which finds the key's owner (two round\n"
    "                         trips when it is not the owner). owner: first learn the\n"
    "                         ring (one INFO per position), then go straight to the\n"
    "                         owner, reading from a copy if it is silent for 500 ms.\n"
    "                         For one operation, learning costs more round trips than\n"
    "                         the hop it saves, hence the default\n"
    "  -h, --help             this text\n"
    "\n"
    "Keys are 1..4096 bytes, values at most 1048576 bytes. Ids print as 40 hex digits.\n"
    "\n"
    "Exit status: 0 success; 1 key not found; 2 usage error (bad command line, oversize\n"
    "key or value); 3 no answer within the timeout, the peer timed out or is not\n"
    "ready, or too few replicas acknowledged a write (it may have landed on some);\n"
    "4 any other error (\"forbidden\": the client's role does not allow it); 5 the\n"
    "peer refused the connection (a secured ring and no key it admits).\n";

/* Prints "chordctl: ..." and a newline on stderr; returns code. */
int chordctl_fail (int code, const char *fmt, ...)
{
    va_list ap;
    fputs ("chordctl: ", stderr);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    return code;
}

/* Milliseconds left of the command's budget; 0 once it is spent. */
static int s_remaining_ms (const chordctl_t *ctl)
{
    int64_t left_ms = ctl->deadline_ms - util_now_ms ();
    return left_ms > 0 ? (int) left_ms : 0;
}

/* Parses a --timeout value: decimal digits only, 1..S_TIMEOUT_MS_MAX. */
static int s_parse_timeout (const char *text, int *timeout_ms)
{
    long value;
    if (util_parse_long (text, 1, S_TIMEOUT_MS_MAX, &value) != 0)
        return -1;
    *timeout_ms = (int) value;
    return 0;
}

/* Writes text to stderr with control bytes shown as '?': it came off the
   network. */
static void s_print_untrusted (const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        fputc (c < 0x20 || c == 0x7f ? '?' : c, stderr);
    }
}

/* Maps an answer's status to an exit code, printing why (with the
   answer's text, if any) when it is not OK. key names the key for "not
   found", or is NULL. */
static int s_check_answer (const chordctl_t *ctl, chord_status_t status, const char *text, size_t text_len,
                           const char *key)
{
    if (status == CHORD_STATUS_OK)
        return S_EXIT_OK;
    if (status == CHORD_STATUS_NOT_FOUND && key)
        return chordctl_fail (S_EXIT_NOT_FOUND, "%s: not found", key);

    /* Transient: the ring may answer if asked again shortly. */
    int code = status == CHORD_STATUS_TIMEOUT || status == CHORD_STATUS_NOT_READY ||
                       status == CHORD_STATUS_NO_QUORUM
                   ? S_EXIT_NO_ANSWER
                   : S_EXIT_ERROR;
    fprintf (stderr, "chordctl: %s: %s", ctl->server, chord_status_name (status));
    if (text && text_len > 0) {
        fputs (": ", stderr);
        s_print_untrusted (text, text_len);
    }
    fputc ('\n', stderr);
    return code;
}

/* The same for a reply. */
static int s_check_status (const chordctl_t *ctl, const chord_msg_t *reply, const char *key)
{
    if (!(reply->fields & CHORD_F_STATUS))
        return chordctl_fail (S_EXIT_ERROR, "%s: reply without a status", ctl->server);
    bool has_text = (reply->fields & CHORD_F_TEXT) && reply->text;
    return s_check_answer (ctl, reply->status, has_text ? reply->text : NULL, has_text ? reply->text_len : 0, key);
}

/* Sends request to the peer at endpoint within what is left of the budget
   and waits for its reply, which must be of type expected. Returns 0 with
   *reply filled (the caller clears it), or an exit code after printing why
   (with *reply holding nothing to clear). */
static int s_call (const chordctl_t *ctl, chord_client_t *client, const char *endpoint,
                   chord_msg_t *request, chord_msg_t *reply, chord_msg_type_t expected)
{
    int remaining_ms = s_remaining_ms (ctl);
    if (remaining_ms <= 0)
        return chordctl_fail (S_EXIT_NO_ANSWER, "%s: no answer within %d ms", endpoint,
                       ctl->timeout_ms);
    if (chord_client_call (client, request, reply, remaining_ms) != 0) {
        if (errno == EACCES)
            return chordctl_fail (S_EXIT_REFUSED, "%s: refused: %s", endpoint, chord_client_refused (client));
        if (errno == EINVAL)
            return chordctl_fail (S_EXIT_ERROR, "cannot encode the %s request",
                           chord_msg_type_name (request->type));
        return chordctl_fail (S_EXIT_NO_ANSWER, "%s: no answer within %d ms", endpoint,
                       ctl->timeout_ms);
    }
    if (reply->type != expected) {
        chord_msg_type_t got = reply->type;
        chord_msg_clear (reply);
        return chordctl_fail (S_EXIT_ERROR, "%s: unexpected reply %s (%u) to %s", endpoint,
                       chord_msg_type_name (got), (unsigned) got,
                       chord_msg_type_name (request->type));
    }
    return 0;
}

/* The tmo a request carries: most of the remaining budget, so that a peer
   giving up answers TIMEOUT before this client stops listening. */
static uint32_t s_request_timeout_ms (const chordctl_t *ctl)
{
    int remaining_ms = s_remaining_ms (ctl);
    uint32_t timeout_ms = (uint32_t) remaining_ms - (uint32_t) remaining_ms / 10;
    return timeout_ms > 0 ? timeout_ms : 1;
}

/* Starts a request of type carrying key and tmo. */
static void s_key_request (const chordctl_t *ctl, chord_msg_t *request, chord_msg_type_t type,
                           const char *key)
{
    chord_msg_init (request, type, 0);
    request->key = (const uint8_t *) key;
    request->key_len = strlen (key);
    request->timeout_ms = s_request_timeout_ms (ctl);
    request->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
}

static int s_write_stdout (const void *data, size_t size)
{
    if (size > 0 && fwrite (data, 1, size, stdout) != size)
        return chordctl_fail (S_EXIT_ERROR, "writing to stdout: %s", strerror (errno));
    return S_EXIT_OK;
}

/* Prints root compactly with a newline and releases it. */
int chordctl_print_json (json_t *root)
{
    char *text = root ? json_dumps (root, JSON_COMPACT) : NULL;
    json_decref (root);
    if (!text)
        return chordctl_fail (S_EXIT_ERROR, "cannot build the JSON output");
    int code = s_write_stdout (text, strlen (text));
    free (text);
    if (code == S_EXIT_OK)
        code = s_write_stdout ("\n", 1);
    return code;
}

json_t *chordctl_json_id (const chord_id_t *id)
{
    char hex[CHORD_ID_HEX_LEN + 1];
    chord_id_to_hex (id, hex);
    return json_string (hex);
}

/* A JSON string, or null when text is not valid UTF-8. */
json_t *chordctl_json_text (const char *text, size_t len)
{
    json_t *string = json_stringn (text, len);
    return string ? string : json_null ();
}

json_t *chordctl_json_peer (const chord_peer_t *peer)
{
    json_t *object = json_object ();
    json_object_set_new (object, "id", chordctl_json_id (&peer->id));
    json_object_set_new (object, "endpoint", chordctl_json_text (peer->endpoint, strlen (peer->endpoint)));
    return object;
}

static json_t *s_json_peers (const chord_peer_t *peers, size_t count)
{
    json_t *array = json_array ();
    for (size_t i = 0; i < count; i++)
        json_array_append_new (array, chordctl_json_peer (&peers[i]));
    return array;
}

json_t *chordctl_json_count (uint64_t count)
{
    return json_integer (count > (uint64_t) LLONG_MAX ? LLONG_MAX : (json_int_t) count);
}

static const char *s_state_name (uint32_t state)
{
    static const char *names[] = {"idle", "joining", "active", "leaving", "left"};
    return state < sizeof names / sizeof names[0] ? names[state] : "unknown";
}

const char *chordctl_plain (const char *endpoint, char out[CHORD_ENDPOINT_MAX + 1])
{
    size_t i = 0;
    for (; endpoint[i] && i < CHORD_ENDPOINT_MAX; i++) {
        unsigned char c = (unsigned char) endpoint[i];
        //  0x80-0x9f (raw, or after 0xc2 in UTF-8) are C1 controls to many terminals.
        out[i] = c < 0x20 || c > 0x7e ? '?' : (char) c;
    }
    out[i] = 0;
    return out;
}

/* Writes "<id hex> <endpoint>" and a newline to stdout. */
static void s_print_peer_line (const char *label, const chord_peer_t *peer)
{
    char hex[CHORD_ID_HEX_LEN + 1], plain[CHORD_ENDPOINT_MAX + 1];
    chord_id_to_hex (&peer->id, hex);
    printf ("%s: %s %s\n", label, hex, chordctl_plain (peer->endpoint, plain));
}

static int s_bad_endpoint (const chordctl_t *ctl)
{
    return chordctl_fail (S_EXIT_USAGE, "cannot connect to '%s': want tcp://, ipc:// or inproc:// and at most %d bytes",
                          ctl->server, CHORD_ENDPOINT_MAX);
}

/*  put, get or del through the ring client (ring_client.h), by --route:
    the budget left covers learning the ring and the operation with its
    retries; a get writes the value found to stdout.  */
static int s_cmd_store (const chordctl_t *ctl, chord_msg_type_t type, const char *key, const uint8_t *value,
                        size_t value_len)
{
    int remaining_ms = s_remaining_ms (ctl);
    if (remaining_ms <= 0)
        return chordctl_fail (S_EXIT_NO_ANSWER, "%s: no answer within %d ms", ctl->server, ctl->timeout_ms);
    const char *seeds[1] = {ctl->server};
    ring_client_config_t config = {.seeds = seeds, .seed_count = 1, .curve = ctl->curve, .route = ctl->route,
                                   .inflight_max = 1, .learn_deadline_ms = remaining_ms / 2 + 1};
    char why[256];
    ring_client_t *ring = ring_client_new (&config, why, sizeof why);
    if (!ring && errno == EINVAL && ctl->route == RING_ROUTE_ENTRY)
        return s_bad_endpoint (ctl);
    if (!ring)
        return chordctl_fail (errno == EACCES ? S_EXIT_REFUSED : errno == EINVAL ? S_EXIT_ERROR : S_EXIT_NO_ANSWER,
                              "%s: %s", ctl->server, why);
    /* Most of what is left, so that the ring's TIMEOUT arrives before we stop listening. */
    remaining_ms = s_remaining_ms (ctl);
    ring_client_result_t result;
    int code;
    if (remaining_ms <= 0)
        code = chordctl_fail (S_EXIT_NO_ANSWER, "%s: no answer within %d ms", ctl->server, ctl->timeout_ms);
    else if (ring_client_set_timeout (ring, remaining_ms) != 0 ||
             ring_client_call (ring, type, (const uint8_t *) key, strlen (key), value, value_len, &result) != 0)
        code = chordctl_fail (S_EXIT_ERROR, "cannot send the %s request: %s", chord_msg_type_name (type),
                              strerror (errno));
    else if (result.refused)
        code = chordctl_fail (S_EXIT_REFUSED, "%s: refused: %s", ctl->server, result.text);
    else if (!result.answered)
        code = chordctl_fail (S_EXIT_NO_ANSWER, "%s: no answer within %d ms", ctl->server, ctl->timeout_ms);
    else {
        code = s_check_answer (ctl, result.status, result.text, strlen (result.text), key);
        if (code == S_EXIT_OK && type == CHORD_MSG_CLIENT_GET)
            code = result.value ? s_write_stdout (result.value, result.value_len)
                                : chordctl_fail (S_EXIT_ERROR, "%s: reply without a value", ctl->server);
        free (result.value);
    }
    ring_client_destroy (&ring);
    return code;
}

int chordctl_lookup (const chordctl_t *ctl, chord_client_t *client, const char *key, chord_msg_t *reply)
{
    chord_msg_t request;
    s_key_request (ctl, &request, CHORD_MSG_CLIENT_LOOKUP, key);
    int code = s_call (ctl, client, ctl->server, &request, reply, CHORD_MSG_LOOKUP_REPLY);
    if (code != 0)
        return code;
    code = s_check_status (ctl, reply, key);
    if (code == S_EXIT_OK && !(reply->fields & CHORD_F_PEER))
        code = chordctl_fail (S_EXIT_ERROR, "%s: lookup reply without an owner", ctl->server);
    if (code != S_EXIT_OK)
        chord_msg_clear (reply);
    return code;
}

static int s_cmd_lookup (const chordctl_t *ctl, chord_client_t *client, const char *key)
{
    chord_msg_t reply;
    int code = chordctl_lookup (ctl, client, key, &reply);
    if (code != S_EXIT_OK)
        return code;

    chord_id_t key_id;
    if (reply.fields & CHORD_F_ID)
        key_id = reply.id;
    else
        chord_id_hash (&key_id, key, strlen (key));
    uint32_t hops = (reply.fields & CHORD_F_HOPS) ? reply.hops : 0;

    if (ctl->json) {
        json_t *root = json_object ();
        size_t key_len = strlen (key);
        json_t *key_string = json_stringn (key, key_len);
        json_object_set_new (root, "key", key_string ? key_string : json_null ());
        if (!key_string) {
            /* Keys are at most CHORD_KEY_MAX bytes, checked before sending. */
            char key_hex[2 * CHORD_KEY_MAX + 1];
            sodium_bin2hex (key_hex, sizeof key_hex, (const unsigned char *) key, key_len);
            json_object_set_new (root, "key_hex", json_string (key_hex));
        }
        json_object_set_new (root, "id", chordctl_json_id (&key_id));
        json_object_set_new (root, "owner", chordctl_json_peer (&reply.peer));
        json_object_set_new (root, "hops", json_integer (hops));
        code = chordctl_print_json (root);
    }
    else {
        char key_hex[CHORD_ID_HEX_LEN + 1], owner_hex[CHORD_ID_HEX_LEN + 1], plain[CHORD_ENDPOINT_MAX + 1];
        chord_id_to_hex (&key_id, key_hex);
        chord_id_to_hex (&reply.peer.id, owner_hex);
        printf ("%s %s %s hops=%u\n", key_hex, owner_hex, chordctl_plain (reply.peer.endpoint, plain),
                (unsigned) hops);
    }
    chord_msg_clear (&reply);
    return code;
}

/* Asks the peer at endpoint (the position target, when has_target) for its
   INFO_REPLY. Returns 0 with *reply filled, or an exit code. */
int chordctl_info (const chordctl_t *ctl, chord_client_t *client, const char *endpoint,
                   const chord_id_t *target, chord_msg_t *reply)
{
    chord_msg_t request;
    chord_msg_init (&request, CHORD_MSG_CLIENT_INFO, 0);
    if (target) {
        request.has_target = true;
        request.target = *target;
    }
    int code = s_call (ctl, client, endpoint, &request, reply, CHORD_MSG_INFO_REPLY);
    if (code != 0)
        return code;
    if (!(reply->fields & CHORD_F_PEER)) {
        chord_msg_clear (reply);
        return chordctl_fail (S_EXIT_ERROR, "%s: info reply without the peer's identity", endpoint);
    }
    return 0;
}

static int s_cmd_info (const chordctl_t *ctl, chord_client_t *client)
{
    chord_msg_t reply;
    int code = chordctl_info (ctl, client, ctl->server, NULL, &reply);
    if (code != 0)
        return code;
    bool has_pred = (reply.fields & CHORD_F_PRED) && reply.has_pred;
    size_t succ_count = (reply.fields & CHORD_F_SUCC) ? reply.peer_count : 0;
    size_t finger_count = (reply.fields & CHORD_F_FINGERS) ? reply.finger_count : 0;
    uint64_t keys = (reply.fields & CHORD_F_COUNT) ? reply.count : 0;
    const char *state = (reply.fields & CHORD_F_STATE) ? s_state_name (reply.state) : "unknown";

    if (ctl->json) {
        json_t *root = json_object ();
        json_object_set_new (root, "id", chordctl_json_id (&reply.peer.id));
        json_object_set_new (root, "endpoint",
                             chordctl_json_text (reply.peer.endpoint, strlen (reply.peer.endpoint)));
        json_object_set_new (root, "state", json_string (state));
        json_object_set_new (root, "predecessor", has_pred ? chordctl_json_peer (&reply.pred) : json_null ());
        json_object_set_new (root, "successors", s_json_peers (reply.peers, succ_count));
        json_object_set_new (root, "fingers", s_json_peers (reply.fingers, finger_count));
        json_object_set_new (root, "keys", chordctl_json_count (keys));
        code = chordctl_print_json (root);
    }
    else {
        char hex[CHORD_ID_HEX_LEN + 1], plain[CHORD_ENDPOINT_MAX + 1];
        chord_id_to_hex (&reply.peer.id, hex);
        printf ("id: %s\nendpoint: %s\nstate: %s\n", hex, chordctl_plain (reply.peer.endpoint, plain), state);
        if (has_pred)
            s_print_peer_line ("predecessor", &reply.pred);
        else
            printf ("predecessor: none\n");
        if (succ_count == 0)
            printf ("successor: none\n");
        for (size_t i = 0; i < succ_count; i++)
            s_print_peer_line ("successor", &reply.peers[i]);
        if (finger_count == 0)
            printf ("finger: none\n");
        for (size_t i = 0; i < finger_count; i++)
            s_print_peer_line ("finger", &reply.fingers[i]);
        printf ("keys: %llu\n", (unsigned long long) keys);
    }
    chord_msg_clear (&reply);
    return code;
}

static int s_cmd_leave (const chordctl_t *ctl, chord_client_t *client)
{
    chord_msg_t request, reply;
    chord_msg_init (&request, CHORD_MSG_CLIENT_LEAVE, 0);
    int code = s_call (ctl, client, ctl->server, &request, &reply, CHORD_MSG_CLIENT_REPLY);
    if (code != 0)
        return code;
    code = s_check_status (ctl, &reply, NULL);
    chord_msg_clear (&reply);
    if (code == S_EXIT_OK)
        fprintf (stderr, "chordctl: peer %s left\n", ctl->server);
    return code;
}

static int s_read_stdin (uint8_t **data, size_t *size)
{
    uint8_t *buffer = malloc (CHORD_VALUE_MAX + 1);
    if (!buffer)
        return chordctl_fail (S_EXIT_ERROR, "out of memory");
    size_t used = 0;
    while (used <= CHORD_VALUE_MAX) {
        size_t got = fread (buffer + used, 1, CHORD_VALUE_MAX + 1 - used, stdin);
        if (got == 0)
            break;
        used += got;
    }
    if (ferror (stdin)) {
        free (buffer);
        return chordctl_fail (S_EXIT_USAGE, "reading the value from stdin: %s", strerror (errno));
    }
    if (used > CHORD_VALUE_MAX) {
        free (buffer);
        return chordctl_fail (S_EXIT_USAGE, "value on stdin is over %d bytes", CHORD_VALUE_MAX);
    }
    *data = buffer;
    *size = used;
    return S_EXIT_OK;
}

static int s_check_key (const char *key)
{
    size_t len = strlen (key);
    if (len == 0)
        return chordctl_fail (S_EXIT_USAGE, "the key is empty");
    if (len > CHORD_KEY_MAX)
        return chordctl_fail (S_EXIT_USAGE, "the key is %zu bytes, over the limit of %d", len,
                       CHORD_KEY_MAX);
    return S_EXIT_OK;
}

/* Takes an option's value from "--name=value" or the next argument. */
static const char *s_option_value (int argc, char **argv, int *i, const char *inline_value)
{
    if (inline_value)
        return inline_value;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

/* Parses options anywhere on the line and collects the other words.
   Returns -1 after printing the usage text (for --help), 0, or an exit code. */
static int s_parse (chordctl_t *ctl, int argc, char **argv, char **words, int *word_count)
{
    bool options_done = false;
    *word_count = 0;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            if (*word_count == S_WORDS_MAX)
                return chordctl_fail (S_EXIT_USAGE, "too many arguments (see --help)");
            words[(*word_count)++] = arg;
            continue;
        }
        if (strcmp (arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            fputs (s_usage_text, stdout);
            return -1;
        }
        if (strcmp (arg, "--json") == 0) {
            ctl->json = true;
            continue;
        }
        const char *inline_value = NULL;
        const char *equals = strchr (arg, '=');
        size_t name_len = equals && arg[1] == '-' ? (size_t) (equals - arg) : strlen (arg);
        if (equals && arg[1] == '-')
            inline_value = equals + 1;

        if ((name_len == 2 && strncmp (arg, "-s", 2) == 0)
            || (name_len == 8 && strncmp (arg, "--server", 8) == 0)) {
            const char *value = s_option_value (argc, argv, &i, inline_value);
            if (!value || !*value)
                return chordctl_fail (S_EXIT_USAGE, "%.*s needs an endpoint", (int) name_len, arg);
            ctl->server = value;
        }
        else if ((name_len == 5 && strncmp (arg, "--key", 5) == 0)
                 || (name_len == 8 && strncmp (arg, "--secret", 8) == 0)) {
            const char *value = s_option_value (argc, argv, &i, inline_value);
            if (!value || !*value)
                return chordctl_fail (S_EXIT_USAGE, "%.*s needs a file", (int) name_len, arg);
            if (name_len == 5)
                ctl->key_file = value;
            else
                ctl->secret_file = value;
        }
        else if (name_len == 7 && strncmp (arg, "--route", 7) == 0) {
            const char *value = s_option_value (argc, argv, &i, inline_value);
            if (!value || (strcmp (value, "entry") != 0 && strcmp (value, "owner") != 0))
                return chordctl_fail (S_EXIT_USAGE, "--route wants entry or owner");
            ctl->route = value[0] == 'e' ? RING_ROUTE_ENTRY : RING_ROUTE_OWNER;
        }
        else if (name_len == 9 && strncmp (arg, "--timeout", 9) == 0) {
            const char *value = s_option_value (argc, argv, &i, inline_value);
            if (!value)
                return chordctl_fail (S_EXIT_USAGE, "--timeout needs a number of milliseconds");
            if (s_parse_timeout (value, &ctl->timeout_ms) != 0)
                return chordctl_fail (S_EXIT_USAGE, "bad --timeout '%s': want 1..%d milliseconds",
                               value, S_TIMEOUT_MS_MAX);
        }
        else
            return chordctl_fail (S_EXIT_USAGE, "unknown option '%s' (see --help)", arg);
    }
    return 0;
}

/* The number of arguments each command takes, or -1 for no such command. */
static int s_command_arity (const char *command)
{
    static const struct {
        const char *name;
        int arity;
    } commands[] = {
        {"put", 2},    {"get", 1},  {"del", 1},   {"lookup", 1}, {"replicas", 1},
        {"info", 0},   {"ring", 0}, {"leave", 0}, {"status", 0}, {"health", 0},
    };
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp (commands[i].name, command) == 0)
            return commands[i].arity;
    return -1;
}

/*  Fills *curve from --key or --secret (else $CHORD_KEY, $CHORD_SECRET) and
    points ctl->curve at it; leaves ctl->curve NULL when none is given.
    Returns 0 or an exit code after printing.  */
static int s_load_curve (chordctl_t *ctl, chord_client_curve_t *curve)
{
    if (ctl->key_file && ctl->secret_file)
        return chordctl_fail (S_EXIT_USAGE, "give --key or --secret, not both");
    if (!ctl->key_file && !ctl->secret_file) {
        const char *key = getenv ("CHORD_KEY"), *secret = getenv ("CHORD_SECRET");
        ctl->key_file = key && *key ? key : NULL;
        ctl->secret_file = !ctl->key_file && secret && *secret ? secret : NULL;
    }
    char error[1024];
    if (ctl->secret_file) {
        uint8_t secret[CHORD_SECRET_BYTES];
        if (chord_keys_secret_read (ctl->secret_file, secret, error, sizeof error) != 0)
            return chordctl_fail (S_EXIT_USAGE, "%s", error);
        chord_keys_ring_pair (secret, &curve->own);
        sodium_memzero (secret, sizeof secret);
        memcpy (curve->server, curve->own.public_key, CHORD_KEY_BYTES);
    }
    else if (ctl->key_file) {
        bool has_server = false;
        if (chord_keys_client_read (ctl->key_file, &curve->own, curve->server, &has_server, error,
                                    sizeof error) != 0)
            return chordctl_fail (S_EXIT_USAGE, "%s", error);
        if (!has_server)
            return chordctl_fail (S_EXIT_USAGE, "%s has no 'server' line with the ring's public key (chordctl keygen "
                           "--client FILE --server-key Z85 writes one)", ctl->key_file);
    }
    else
        return 0;
    ctl->curve = curve;
    return 0;
}

int main (int argc, char **argv)
{
    chordctl_t ctl = {.server = NULL, .timeout_ms = S_TIMEOUT_MS_DEFAULT, .route = RING_ROUTE_ENTRY};
    if (argc >= 2 && strcmp (argv[1], "keygen") == 0) {
        if (sodium_init () < 0)
            return chordctl_fail (S_EXIT_ERROR, "libsodium failed to initialise");
        return chordctl_keygen (argc, argv);
    }
    char *words[S_WORDS_MAX];
    int word_count;
    int code = s_parse (&ctl, argc, argv, words, &word_count);
    if (code < 0)
        return S_EXIT_OK;
    if (code != 0)
        return code;
    if (!ctl.server) {
        const char *env = getenv ("CHORD_SERVER");
        ctl.server = env && *env ? env : S_SERVER_DEFAULT;
    }
    if (word_count == 0)
        return chordctl_fail (S_EXIT_USAGE, "no command (see --help)");
    const char *command = words[0];
    int arity = s_command_arity (command);
    if (arity < 0)
        return chordctl_fail (S_EXIT_USAGE, "unknown command '%s' (see --help)", command);
    if (word_count - 1 != arity)
        return chordctl_fail (S_EXIT_USAGE, "%s takes %d argument%s, not %d (see --help)", command,
                       arity, arity == 1 ? "" : "s", word_count - 1);

    const char *key = arity > 0 ? words[1] : NULL;
    if (key && (code = s_check_key (key)) != 0)
        return code;

    uint8_t *stdin_value = NULL;
    const uint8_t *value = NULL;
    size_t value_len = 0;
    if (strcmp (command, "put") == 0) {
        if (strcmp (words[2], "-") == 0) {
            if ((code = s_read_stdin (&stdin_value, &value_len)) != 0)
                return code;
            value = stdin_value;
        }
        else {
            value = (const uint8_t *) words[2];
            value_len = strlen (words[2]);
            if (value_len > CHORD_VALUE_MAX)
                return chordctl_fail (S_EXIT_USAGE, "the value is %zu bytes, over the limit of %d",
                               value_len, CHORD_VALUE_MAX);
        }
    }

    chord_client_curve_t curve;
    if ((code = s_load_curve (&ctl, &curve)) != 0) {
        free (stdin_value);
        return code;
    }
    /* put, get and del make their own connections (the ring client's). */
    bool keyed = strcmp (command, "put") == 0 || strcmp (command, "get") == 0 || strcmp (command, "del") == 0;
    chord_client_t *client = keyed ? NULL : chord_client_new_curve (ctl.server, ctl.curve);
    if (!keyed && !client) {
        free (stdin_value);
        return s_bad_endpoint (&ctl);
    }
    ctl.deadline_ms = util_now_ms () + ctl.timeout_ms;

    if (strcmp (command, "put") == 0)
        code = s_cmd_store (&ctl, CHORD_MSG_CLIENT_PUT, key, value, value_len);
    else if (strcmp (command, "get") == 0)
        code = s_cmd_store (&ctl, CHORD_MSG_CLIENT_GET, key, NULL, 0);
    else if (strcmp (command, "del") == 0)
        code = s_cmd_store (&ctl, CHORD_MSG_CLIENT_DEL, key, NULL, 0);
    else if (strcmp (command, "lookup") == 0)
        code = s_cmd_lookup (&ctl, client, key);
    else if (strcmp (command, "replicas") == 0)
        code = chordctl_cmd_replicas (&ctl, client, key);
    else if (strcmp (command, "info") == 0)
        code = s_cmd_info (&ctl, client);
    else if (strcmp (command, "ring") == 0)
        code = chordctl_cmd_ring (&ctl);
    else if (strcmp (command, "status") == 0)
        code = chordctl_cmd_status (&ctl);
    else if (strcmp (command, "health") == 0)
        code = chordctl_cmd_health (&ctl);
    else
        code = s_cmd_leave (&ctl, client);

    chord_client_destroy (&client);
    free (stdin_value);
    if (fflush (stdout) != 0 && code == S_EXIT_OK)
        code = chordctl_fail (S_EXIT_ERROR, "writing to stdout: %s", strerror (errno));
    return code;
}
