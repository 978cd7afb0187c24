/*  chordd's HTTP roles. See http_auth.h. */
#include "http_auth.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

#define S_HASH_BYTES  32                  /* BLAKE2b digest kept of each token */
#define S_FILE_MAX    (1024 * 1024)       /* bytes of a tokens file, at most */

/* One token of the table. */
typedef struct {
    uint8_t hash[S_HASH_BYTES];     /* BLAKE2b of the token; the token itself is not kept */
    chord_role_t role;              /* READ, WRITE or ADMIN */
} s_token_t;

struct chordd_http_auth {
    bool secured;                   /* the ring has a secret: the rules apply */
    pthread_mutex_t lock;           /* guards tokens and count: connection threads read, SIGHUP swaps */
    s_token_t *tokens;              /* the table, in file order */
    size_t count;                   /* entries of tokens */
};

static const char *s_role_names[] = {"none", "read", "write", "admin", "peer"};

chordd_http_auth_t *chordd_http_auth_new (bool secured)
{
    chordd_http_auth_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->secured = secured;
    pthread_mutex_init (&self->lock, NULL);
    return self;
}

void chordd_http_auth_destroy (chordd_http_auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    chordd_http_auth_t *self = *self_p;
    if (self->tokens)
        sodium_memzero (self->tokens, self->count * sizeof *self->tokens);
    free (self->tokens);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

bool chordd_http_auth_secured (const chordd_http_auth_t *self)
{
    return self->secured;
}

static void s_hash (uint8_t hash[S_HASH_BYTES], const char *token, size_t len)
{
    crypto_generichash (hash, S_HASH_BYTES, (const unsigned char *) token, len, NULL, 0);
}

/* True when text[0..len) is a token: 32..256 characters of [A-Za-z0-9._~-]. */
static bool s_token_ok (const char *text, size_t len)
{
    if (len < CHORDD_HTTP_TOKEN_MIN || len > CHORDD_HTTP_TOKEN_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text[i];
        if (!isalnum (c) && c != '.' && c != '_' && c != '~' && c != '-')
            return false;
    }
    return true;
}

/*  Reads the whole file into a new buffer (NUL-terminated), refusing what
    is not a regular file, is too large, or that group or others may read:
    it holds secrets.  */
static char *s_read_private (const char *path, char *error, size_t size)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        chordd_error (error, size, "cannot open %s: %s", path, strerror (errno));
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
        chordd_error (error, size, "%s is not a regular file", path);
    else if (st.st_mode & (S_IRWXG | S_IRWXO))
        chordd_error (error, size, "%s may be read or written by group or others (mode %03o): it holds "
                      "tokens; chmod 600 %s", path, (unsigned) (st.st_mode & 0777), path);
    else if (st.st_size > S_FILE_MAX)
        chordd_error (error, size, "%s is over %d bytes", path, S_FILE_MAX);
    else if (!(text = malloc ((size_t) st.st_size + 1)))
        chordd_error (error, size, "out of memory");
    else {
        ssize_t got = read (fd, text, (size_t) st.st_size + 1);
        //  A NUL byte would end the parse early and drop the lines after it unseen.
        if (got < 0 || got > st.st_size || memchr (text, 0, (size_t) got)) {
            chordd_error (error, size, got < 0 ? "cannot read %s" : got > st.st_size ? "%s grew while read"
                          : "%s holds a NUL byte: not a tokens file", path);
            free (text);
            text = NULL;
        }
        else
            text[got] = 0;
    }
    close (fd);
    return text;
}

/* Parses "ROLE TOKEN" (trimmed, not a comment) into token. */
static int s_parse_line (char *line, s_token_t *token, const char *where, char *error, size_t size)
{
    char *role = strtok (line, " \t\r");
    char *text = strtok (NULL, " \t\r");
    if (!role || !text || strtok (NULL, " \t\r"))
        return chordd_error (error, size, "%s: want 'ROLE TOKEN'", where);
    token->role = CHORD_ROLE_NONE;
    for (int r = CHORD_ROLE_READ; r <= CHORD_ROLE_ADMIN; r++)
        if (strcmp (role, s_role_names[r]) == 0)
            token->role = (chord_role_t) r;
    if (token->role == CHORD_ROLE_NONE)
        return chordd_error (error, size, "%s: role '%.20s' is not read, write or admin", where, role);
    size_t len = strlen (text);
    if (!s_token_ok (text, len))
        return chordd_error (error, size, "%s: a token is %d to %d characters of A-Z a-z 0-9 . _ ~ - "
                             "(chordctl keygen --http-token ROLE makes one)", where, CHORDD_HTTP_TOKEN_MIN,
                             CHORDD_HTTP_TOKEN_MAX);
    s_hash (token->hash, text, len);
    sodium_memzero (text, len);
    return 0;
}

/* Parses every line of text into a new table. */
static int s_parse (char *text, const char *path, s_token_t **table_p, size_t *count_p, char *error, size_t size)
{
    s_token_t *table = NULL;
    size_t count = 0, room = 0, line_number = 0;
    char where[512];
    int rc = 0;
    for (char *line = text, *next; rc == 0 && line && *line; line = next) {
        next = strchr (line, '\n');
        if (next)
            *next++ = 0;
        snprintf (where, sizeof where, "%s:%zu", path, ++line_number);
        while (isspace ((unsigned char) *line))
            line++;
        if (!*line || *line == '#')
            continue;
        if (count == CHORDD_HTTP_TOKENS_MAX) {
            rc = chordd_error (error, size, "%s: more than %d tokens", where, CHORDD_HTTP_TOKENS_MAX);
            break;
        }
        if (count == room) {
            room = room ? room * 2 : 16;
            s_token_t *grown = realloc (table, room * sizeof *table);
            if (!grown) {
                rc = chordd_error (error, size, "%s: out of memory", where);
                break;
            }
            table = grown;
        }
        rc = s_parse_line (line, &table[count], where, error, size);
        for (size_t i = 0; rc == 0 && i < count; i++)
            if (memcmp (table[i].hash, table[count].hash, S_HASH_BYTES) == 0)
                rc = chordd_error (error, size, "%s: this token is listed already (line of role %s)", where,
                                   s_role_names[table[i].role]);
        count += rc == 0;
    }
    if (rc != 0) {
        free (table);
        return -1;
    }
    *table_p = table;
    *count_p = count;
    return 0;
}

int chordd_http_auth_load (chordd_http_auth_t *self, const char *path, char *error, size_t size)
{
    char *text = s_read_private (path, error, size);
    if (!text)
        return -1;
    size_t len = strlen (text);
    s_token_t *table = NULL;
    size_t count = 0;
    int rc = s_parse (text, path, &table, &count, error, size);
    sodium_memzero (text, len);
    free (text);
    if (rc != 0)
        return -1;
    pthread_mutex_lock (&self->lock);
    s_token_t *old = self->tokens;
    size_t old_count = self->count;
    self->tokens = table;
    self->count = count;
    pthread_mutex_unlock (&self->lock);
    if (old)
        sodium_memzero (old, old_count * sizeof *old);
    free (old);
    return 0;
}

size_t chordd_http_auth_count (chordd_http_auth_t *self, chord_role_t role)
{
    size_t count = 0;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->count; i++)
        count += self->tokens[i].role == role;
    pthread_mutex_unlock (&self->lock);
    return count;
}

chord_role_t chordd_http_auth_role (chordd_http_auth_t *self, const char *authorization)
{
    if (!authorization || strncasecmp (authorization, "Bearer ", 7) != 0)
        return CHORD_ROLE_NONE;
    const char *token = authorization + 7;
    while (*token == ' ')
        token++;
    size_t len = strnlen (token, CHORDD_HTTP_TOKEN_MAX + 1);
    while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
        len--;
    if (!s_token_ok (token, len))
        return CHORD_ROLE_NONE;
    uint8_t hash[S_HASH_BYTES];
    s_hash (hash, token, len);
    //  Every entry is compared, to the end, whatever matched: the time
    //  taken says nothing of which token, or how much of one, matched.
    chord_role_t role = CHORD_ROLE_NONE;
    pthread_mutex_lock (&self->lock);
    for (size_t i = 0; i < self->count; i++) {
        bool same = sodium_memcmp (hash, self->tokens[i].hash, S_HASH_BYTES) == 0;
        role = same ? self->tokens[i].role : role;
    }
    pthread_mutex_unlock (&self->lock);
    return role;
}

bool chordd_http_auth_loopback (const struct sockaddr *address)
{
    if (!address)
        return false;
    if (address->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) address;
        return (ntohl (in->sin_addr.s_addr) >> 24) == 127;
    }
    if (address->sa_family != AF_INET6)
        return false;
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) address;
    if (IN6_IS_ADDR_LOOPBACK (&in6->sin6_addr))
        return true;
    return IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
}

unsigned chordd_http_auth_decide (bool secured, chordd_http_access_t access, bool changes, bool loopback,
                                  chord_role_t held, char *why, size_t why_size)
{
    if (!secured || access == CHORDD_HTTP_PUBLIC || (access == CHORDD_HTTP_PROBE && loopback && !changes))
        return 0;
    chord_role_t needed = access == CHORDD_HTTP_ADMIN ? CHORD_ROLE_ADMIN
                        : access == CHORDD_HTTP_WRITE || changes ? CHORD_ROLE_WRITE : CHORD_ROLE_READ;
    if (held == CHORD_ROLE_NONE) {
        snprintf (why, why_size, "unauthorized: this ring is secured; send a token of role %s or higher "
                  "(Authorization: Bearer TOKEN)", s_role_names[needed]);
        return 401;
    }
    if (held < needed) {
        snprintf (why, why_size, "forbidden: this token's role is %s; this request needs %s",
                  s_role_names[held], s_role_names[needed]);
        return 403;
    }
    return 0;
}
