/*  Tests of tools/ring_walk and chordctl against a hostile peer: a ZeroMQ
    ROUTER in a thread answers every CLIENT_INFO with itself as the
    position (rf 4) and, as its predecessor and successors, positions
    bound to endpoints that hold terminal control bytes (a UTF-8 C1 CSI,
    a raw 0x9b, DEL), and every CLIENT_LOOKUP with itself as the owner.
    The walk must not record those endpoints (chordctl status and ring
    print them on the operator's terminal, /v1/ring hands them to the
    dashboard), and chordctl replicas and info must not print them raw.
    chordctl is $CHORD_BIN/chordctl (./bin by default).  */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "message.h"
#include "node.h"
#include "ring_walk.h"
#include "tap.h"

#define S_SERVE_MS 3000             /* the fake peer gives up after this long without a request */

static const char *s_evil[] = {
    "tcp://127.0.0.1:1\xc2\x9b" "2J",    /* U+009B, CSI, as UTF-8 */
    "tcp://127.0.0.1:2\x9b" "2J",        /* CSI as a raw 8-bit byte */
    "tcp://127.0.0.1:3\x7f",             /* DEL */
};
#define S_EVIL_COUNT (sizeof s_evil / sizeof s_evil[0])

typedef struct {
    void *socket;                   /* the fake peer's ROUTER */
    char endpoint[CHORD_ENDPOINT_MAX + 1];  /* where it listens */
    int answered;                   /* CLIENT_INFOs it answered */
} s_fake_t;

/* Answers one request (identity frame, then the message) with an INFO_REPLY. */
static int s_answer (s_fake_t *fake, zmq_msg_t *identity, zmq_msg_t *body)
{
    chord_msg_t *request = calloc (1, sizeof *request), *reply = calloc (1, sizeof *reply);
    int rc = -1;
    if (request && reply && chord_msg_decode (request, zmq_msg_data (body), zmq_msg_size (body)) == 0) {
        bool lookup = request->type == CHORD_MSG_CLIENT_LOOKUP;
        chord_msg_init (reply, lookup ? CHORD_MSG_LOOKUP_REPLY : CHORD_MSG_INFO_REPLY, request->request_id);
        reply->fields = lookup ? CHORD_F_STATUS | CHORD_F_PEER | CHORD_F_HOPS
                               : CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS |
                                     CHORD_F_COUNT | CHORD_F_REPLICAS;
        snprintf (reply->peer.endpoint, sizeof reply->peer.endpoint, "%s", fake->endpoint);
        chord_id_of_position (&reply->peer.id, fake->endpoint, 0);
        reply->status = CHORD_STATUS_OK;
        reply->state = CHORD_NODE_ACTIVE;
        reply->replicas = 4;
        reply->has_pred = true;
        snprintf (reply->pred.endpoint, sizeof reply->pred.endpoint, "%s", s_evil[0]);
        chord_id_of_position (&reply->pred.id, s_evil[0], 0);
        for (size_t i = 0; i < S_EVIL_COUNT; i++) {
            snprintf (reply->peers[i].endpoint, sizeof reply->peers[i].endpoint, "%s", s_evil[i]);
            chord_id_of_position (&reply->peers[i].id, s_evil[i], 0);
        }
        reply->peer_count = S_EVIL_COUNT;
        uint8_t *data = NULL;
        size_t size = 0;
        if (chord_msg_encode (reply, &data, &size) == 0) {
            zmq_msg_send (identity, fake->socket, ZMQ_SNDMORE);
            zmq_send (fake->socket, data, size, 0);
            fake->answered++;
            rc = 0;
        }
        free (data);
        chord_msg_clear (request);
    }
    free (request);
    free (reply);
    return rc;
}

static void *s_serve (void *arg)
{
    s_fake_t *fake = arg;
    while (true) {
        zmq_pollitem_t item = {fake->socket, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, S_SERVE_MS) <= 0)
            break;
        zmq_msg_t identity, body;
        zmq_msg_init (&identity);
        zmq_msg_init (&body);
        if (zmq_msg_recv (&identity, fake->socket, 0) >= 0 && zmq_msg_more (&identity) &&
            zmq_msg_recv (&body, fake->socket, 0) >= 0) {
            //  Skip delimiter frames, as a REQ-style client may send one.
            while (zmq_msg_size (&body) == 0 && zmq_msg_more (&body))
                zmq_msg_recv (&body, fake->socket, 0);
            s_answer (fake, &identity, &body);
        }
        zmq_msg_close (&identity);
        zmq_msg_close (&body);
    }
    return NULL;
}

/* True when text holds only printable ASCII (and newlines, when lines). */
static bool s_plain_text (const char *text, bool lines)
{
    for (const unsigned char *c = (const unsigned char *) text; *c; c++)
        if ((*c < 0x20 || *c > 0x7e) && !(lines && *c == '\n'))
            return false;
    return true;
}

static bool s_plain (const char *text)
{
    return s_plain_text (text, false);
}

/*  Runs chordctl against the fake peer; checks that it exits 0 and prints
    `lines` lines (any number when negative) of plain ASCII. */
static void s_chordctl (const char *endpoint, const char *command, int lines)
{
    const char *bin = getenv ("CHORD_BIN") ? getenv ("CHORD_BIN") : "./bin";
    char line[512], output[4096] = "";
    snprintf (line, sizeof line, "%s/chordctl -s '%s' --timeout 2000 %s", bin, endpoint, command);
    FILE *pipe = popen (line, "r");
    size_t got = pipe ? fread (output, 1, sizeof output - 1, pipe) : 0;
    output[got] = 0;
    int status = pipe ? pclose (pipe) : -1;
    int count = 0;
    for (const char *c = output; *c; c++)
        count += *c == '\n';
    tap_ok (status == 0 && (lines < 0 || count == lines) && count > 0 && s_plain_text (output, true),
            "chordctl %s exits 0 and prints %s lines of plain ASCII (exit %d, %d lines)", command,
            lines < 0 ? "its" : lines == 4 ? "4" : "the", status, count);
    if (!s_plain_text (output, true)) {
        //  Shown with the offending bytes as '?', not sent to the terminal running the tests.
        for (char *c = output; *c; c++)
            *c = *c == '\n' ? '|' : ((unsigned char) *c < 0x20 || (unsigned char) *c > 0x7e) ? '?' : *c;
        tap_diag ("printed: %s", output);
    }
}

int main (void)
{
    void *context = zmq_ctx_new ();
    s_fake_t fake = {.socket = zmq_socket (context, ZMQ_ROUTER)};
    size_t size = sizeof fake.endpoint;
    if (zmq_bind (fake.socket, "tcp://127.0.0.1:*") != 0 ||
        zmq_getsockopt (fake.socket, ZMQ_LAST_ENDPOINT, fake.endpoint, &size) != 0) {
        printf ("Bail out! cannot bind a ROUTER on loopback\n");
        return 1;
    }
    pthread_t thread;
    pthread_create (&thread, NULL, s_serve, &fake);

    ring_walk_config_t config = {.start = fake.endpoint, .request_timeout_ms = 300, .deadline_ms = 2000};
    ring_walk_t walk;
    int rc = ring_walk_run (&config, &walk);
    tap_ok (rc == 0 && walk.count >= 1 && strcmp (walk.positions[0].self.endpoint, fake.endpoint) == 0,
            "the walk starts at the fake peer (rc %d, %zu positions)", rc, rc == 0 ? walk.count : 0);
    size_t bad = 0;
    for (size_t i = 0; rc == 0 && i < walk.count; i++)
        if (!s_plain (walk.positions[i].self.endpoint)) {
            tap_diag ("position %zu recorded with endpoint %s", i, walk.positions[i].self.endpoint);
            bad++;
        }
    tap_ok (rc == 0 && bad == 0, "no endpoint with control bytes (C1 CSI, 0x9b, DEL) is recorded (%zu were)", bad);
    tap_ok (rc == 0 && walk.count == 1 && fake.answered >= 1,
            "such successors are skipped, not recorded down: the walk holds the fake peer alone (%zu positions)",
            rc == 0 ? walk.count : 0);
    if (rc == 0)
        ring_walk_clear (&walk);
    //  The owner, then R - 1 = 3 holders: the three successors.
    s_chordctl (fake.endpoint, "replicas k", 4);
    //  id, endpoint, state, the predecessor, the successors, ...: any number of lines.
    s_chordctl (fake.endpoint, "info", -1);

    pthread_join (thread, NULL);
    zmq_close (fake.socket);
    zmq_ctx_term (context);
    return tap_done ();
}
