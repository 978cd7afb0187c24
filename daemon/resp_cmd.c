/*  chordd's Redis door, the commands (resp_cmd.h). Errors use Redis's
    words, so clients that match on them (redis-cli, client libraries)
    behave as they do against Redis.  */
#include "resp_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"

typedef struct {
    chordd_resp_session_t *session;
    size_t argc;
    char **argv;
    const size_t *argvlen;
    chordd_resp_out_t *out;
} s_req_t;

typedef void (s_command_fn) (const s_req_t *req);

typedef struct {
    const char *name;                   /* lower case, as Redis names it in errors */
    int arity;                          /* Redis's: n exactly, -n at least n (the name included) */
    chord_role_t role;                  /* needed on a secured ring; NONE: even before AUTH */
    const char *flags;                  /* COMMAND's flag, e.g. "readonly" */
    int first_key;                      /* COMMAND's key positions: first, last, step */
    int last_key;
    int key_step;
    s_command_fn *run;
} s_command_t;

/* ---------------------------------------------------------------------- */
/* Checks every key and value passes before it goes to the ring. */

static bool s_key_ok (const s_req_t *req, size_t i)
{
    if (req->argvlen[i] == 0)
        chordd_resp_out_error (req->out, "ERR empty keys are not supported by chord");
    else if (req->argvlen[i] > CHORD_KEY_MAX)
        chordd_resp_out_error (req->out, "ERR key over 4096 bytes");
    else
        return true;
    return false;
}

static bool s_value_ok (const s_req_t *req, size_t i)
{
    if (req->argvlen[i] <= CHORD_VALUE_MAX)
        return true;
    chordd_resp_out_error (req->out, "ERR value over 1 MiB (1048576 bytes)");
    return false;
}

/* ---------------------------------------------------------------------- */
/* Commands. */

static void s_ping (const s_req_t *req)
{
    if (req->argc == 2)
        chordd_resp_out_bulk (req->out, req->argv[1], req->argvlen[1]);
    else if (req->argc == 1)
        chordd_resp_out_status (req->out, "PONG");
    else
        chordd_resp_out_error (req->out, "ERR wrong number of arguments for 'ping' command");
}

static void s_echo (const s_req_t *req)
{
    chordd_resp_out_bulk (req->out, req->argv[1], req->argvlen[1]);
}

static void s_quit (const s_req_t *req)
{
    chordd_resp_out_status (req->out, "OK");
}

/* Starts op on the ring; an error if it cannot start. */
static void s_start (const s_req_t *req, chordd_resp_op_t op)
{
    const chordd_resp_ring_t *ring = req->session->ring;
    char error[CHORDD_RESP_ERROR_MAX];
    if (ring->start (ring->ctx, req->session->conn, op, req->argc, req->argv, req->argvlen, error, sizeof error))
        chordd_resp_out_error (req->out, error);
}

static void s_get (const s_req_t *req)
{
    if (s_key_ok (req, 1))
        s_start (req, CHORDD_RESP_OP_GET);
}

/* Redis's SET options, which chord cannot honour (no expiry, no conditions). */
static const char *s_set_options[] = {"EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET"};

static void s_set (const s_req_t *req)
{
    if (req->argc > 3) {
        char text[128];
        snprintf (text, sizeof text, "ERR syntax error");
        for (size_t i = 0; i < sizeof s_set_options / sizeof s_set_options[0]; i++)
            if (strcasecmp (req->argv[3], s_set_options[i]) == 0)
                snprintf (text, sizeof text, "ERR SET option '%s' is not supported by chord", s_set_options[i]);
        chordd_resp_out_error (req->out, text);
        return;
    }
    if (s_key_ok (req, 1) && s_value_ok (req, 2))
        s_start (req, CHORDD_RESP_OP_SET);
}

/* DEL, EXISTS and MGET: every key checked, then one start for them all. */
static void s_keys (const s_req_t *req, chordd_resp_op_t op)
{
    for (size_t i = 1; i < req->argc; i++)
        if (!s_key_ok (req, i))
            return;
    s_start (req, op);
}

static void s_del (const s_req_t *req)
{
    s_keys (req, CHORDD_RESP_OP_DEL);
}

static void s_exists (const s_req_t *req)
{
    s_keys (req, CHORDD_RESP_OP_EXISTS);
}

static void s_mget (const s_req_t *req)
{
    s_keys (req, CHORDD_RESP_OP_MGET);
}

static void s_mset (const s_req_t *req)
{
    if (req->argc % 2 == 0) {
        chordd_resp_out_error (req->out, "ERR wrong number of arguments for 'mset' command");
        return;
    }
    for (size_t i = 1; i < req->argc; i += 2)
        if (!s_key_ok (req, i) || !s_value_ok (req, i + 1))
            return;
    s_start (req, CHORDD_RESP_OP_MSET);
}

static void s_info (const s_req_t *req)
{
    chordd_resp_out_t text = {0};
    const chordd_resp_ring_t *ring = req->session->ring;
    ring->info (ring->ctx, req->argc > 1 ? req->argv[1] : "", &text);
    if (text.failed)
        req->out->failed = true;
    else
        chordd_resp_out_bulk (req->out, text.data, text.len);
    chordd_resp_out_free (&text);
}

static void s_select (const s_req_t *req)
{
    char *end = NULL;
    long db = strtol (req->argv[1], &end, 10);
    if (req->argvlen[1] == 0 || *end || end != req->argv[1] + req->argvlen[1])
        chordd_resp_out_error (req->out, "ERR value is not an integer or out of range");
    else if (db != 0)
        chordd_resp_out_error (req->out, "ERR DB index is out of range");
    else
        chordd_resp_out_status (req->out, "OK");
}

/* CONFIG GET's answers, enough for redis-benchmark, which asks for these. */
static const char *s_config[][2] = {{"save", ""}, {"appendonly", "no"}, {"databases", "1"}};
#define S_CONFIG_COUNT (sizeof s_config / sizeof s_config[0])

static void s_config_cmd (const s_req_t *req)
{
    if (strcasecmp (req->argv[1], "GET") != 0) {
        char text[300];
        snprintf (text, sizeof text, "ERR unknown subcommand '%.128s'. Try CONFIG HELP.", req->argv[1]);
        chordd_resp_out_error (req->out, text);
        return;
    }
    if (req->argc < 3) {
        chordd_resp_out_error (req->out, "ERR wrong number of arguments for 'config|get' command");
        return;
    }
    bool match[S_CONFIG_COUNT] = {false};
    size_t count = 0;
    for (size_t i = 2; i < req->argc; i++)
        for (size_t k = 0; k < S_CONFIG_COUNT; k++)
            if (!match[k] && (strcmp (req->argv[i], "*") == 0 || strcasecmp (req->argv[i], s_config[k][0]) == 0)) {
                match[k] = true;
                count++;
            }
    chordd_resp_out_array (req->out, count * 2);
    for (size_t k = 0; k < S_CONFIG_COUNT; k++)
        if (match[k]) {
            chordd_resp_out_bulk (req->out, s_config[k][0], strlen (s_config[k][0]));
            chordd_resp_out_bulk (req->out, s_config[k][1], strlen (s_config[k][1]));
        }
}

static void s_auth (const s_req_t *req)
{
    chordd_resp_session_t *session = req->session;
    if (!session->secured) {
        chordd_resp_out_error (req->out, "ERR AUTH <password> called without any password configured for the "
                                         "default user. Are you sure your configuration is correct?");
        return;
    }
    size_t last = req->argc - 1;
    chord_role_t role = CHORD_ROLE_NONE;
    if (req->argc == 2 || strcmp (req->argv[1], "default") == 0)
        role = session->ring->auth (session->ring->ctx, req->argv[last], req->argvlen[last]);
    if (role == CHORD_ROLE_NONE || req->argc > 3) {
        chordd_resp_out_error (req->out, req->argc > 3 ? "ERR syntax error"
                                                       : "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    session->role = role;
    chordd_resp_out_status (req->out, "OK");
}

static void s_command (const s_req_t *req);

static const s_command_t s_commands[] = {
    {"ping", -1, CHORD_ROLE_NONE, "fast", 0, 0, 0, s_ping},
    {"auth", -2, CHORD_ROLE_NONE, "fast", 0, 0, 0, s_auth},
    {"quit", -1, CHORD_ROLE_NONE, "fast", 0, 0, 0, s_quit},
    {"command", -1, CHORD_ROLE_NONE, "loading", 0, 0, 0, s_command},
    {"echo", 2, CHORD_ROLE_READ, "fast", 0, 0, 0, s_echo},
    {"select", 2, CHORD_ROLE_READ, "fast", 0, 0, 0, s_select},
    {"config", -2, CHORD_ROLE_READ, "admin", 0, 0, 0, s_config_cmd},
    {"info", -1, CHORD_ROLE_READ, "loading", 0, 0, 0, s_info},
    {"get", 2, CHORD_ROLE_READ, "readonly", 1, 1, 1, s_get},
    {"exists", -2, CHORD_ROLE_READ, "readonly", 1, -1, 1, s_exists},
    {"mget", -2, CHORD_ROLE_READ, "readonly", 1, -1, 1, s_mget},
    {"set", -3, CHORD_ROLE_WRITE, "write", 1, 1, 1, s_set},
    {"del", -2, CHORD_ROLE_WRITE, "write", 1, -1, 1, s_del},
    {"mset", -3, CHORD_ROLE_WRITE, "write", 1, -1, 2, s_mset},
};
#define S_COMMANDS (sizeof s_commands / sizeof s_commands[0])

/* COMMAND's entry for one command: name, arity, flags, key positions. */
static void s_command_info (chordd_resp_out_t *out, const s_command_t *command)
{
    chordd_resp_out_array (out, 6);
    chordd_resp_out_bulk (out, command->name, strlen (command->name));
    chordd_resp_out_integer (out, command->arity);
    chordd_resp_out_array (out, 1);
    chordd_resp_out_status (out, command->flags);
    chordd_resp_out_integer (out, command->first_key);
    chordd_resp_out_integer (out, command->last_key);
    chordd_resp_out_integer (out, command->key_step);
}

static void s_command (const s_req_t *req)
{
    if (req->argc == 1) {
        chordd_resp_out_array (req->out, S_COMMANDS);
        for (size_t i = 0; i < S_COMMANDS; i++)
            s_command_info (req->out, &s_commands[i]);
    } else if (strcasecmp (req->argv[1], "COUNT") == 0 && req->argc == 2)
        chordd_resp_out_integer (req->out, (long long) S_COMMANDS);
    else if (strcasecmp (req->argv[1], "DOCS") == 0)
        chordd_resp_out_array (req->out, 0);    /* no docs: redis-cli then gives no hints */
    else {
        char text[300];
        snprintf (text, sizeof text, "ERR unknown subcommand or wrong number of arguments for '%.128s'. "
                  "Try COMMAND HELP.", req->argv[1]);
        chordd_resp_out_error (req->out, text);
    }
}

/* ---------------------------------------------------------------------- */
/* The dispatcher. */

/* Redis's answer to an unknown command: its name and the first arguments. */
static void s_unknown (const s_req_t *req)
{
    char args[160] = "";
    size_t used = 0;
    for (size_t i = 1; i < req->argc && used < 128; i++) {
        int n = snprintf (args + used, sizeof args - used, "'%.*s' ", (int) (128 - used), req->argv[i]);
        if (n < 0 || (size_t) n >= sizeof args - used)
            break;
        used += (size_t) n;
    }
    char text[400];
    snprintf (text, sizeof text, "ERR unknown command '%.128s', with args beginning with: %s", req->argv[0], args);
    chordd_resp_out_error (req->out, text);
}

bool chordd_resp_dispatch (void *ctx, size_t argc, char **argv, const size_t *argvlen, chordd_resp_out_t *out)
{
    chordd_resp_session_t *session = ctx;
    s_req_t req = {session, argc, argv, argvlen, out};
    const s_command_t *command = NULL;
    for (size_t i = 0; i < S_COMMANDS && !command; i++)
        if (strlen (argv[0]) == argvlen[0] && strcasecmp (argv[0], s_commands[i].name) == 0)
            command = &s_commands[i];
    char text[200];
    if (!command) {
        s_unknown (&req);
        return true;
    }
    int arity = command->arity;
    if ((arity > 0 && argc != (size_t) arity) || (arity < 0 && argc < (size_t) -arity)) {
        snprintf (text, sizeof text, "ERR wrong number of arguments for '%s' command", command->name);
        chordd_resp_out_error (out, text);
        return true;
    }
    if (session->secured && command->role > session->role) {
        if (session->role == CHORD_ROLE_NONE)
            snprintf (text, sizeof text, "NOAUTH Authentication required.");
        else
            snprintf (text, sizeof text, "NOPERM this user has no permissions to run the '%s' command",
                      command->name);
        chordd_resp_out_error (out, text);
        return true;
    }
    command->run (&req);
    return command->run != s_quit;
}
