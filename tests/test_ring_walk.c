/*  Tests of tools/ring_walk and chordctl against a hostile peer: a ZeroMQ
    ROUTER in a thread answers every CLIENT_INFO with itself as the
    position (rf 4) and, as its predecessor and successors, positions
    bound to endpoints that hold terminal control bytes (a UTF-8 C1 CSI,
    a raw 0x9b, DEL), and every CLIENT_LOOKUP with itself as the owner.
    The walk must not record those endpoints (chordctl status and ring
    print them on the operator's terminal, /v1/ring hands them to the
    dashboard), and chordctl replicas and info must not print them raw.
    chordctl is $CHORD_BIN/chordctl (./bin by default).  */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "fake_peer.h"
#include "message.h"
#include "node.h"
#include "ring_walk.h"
#include "tap.h"

#define S_IDLE_MS 3000              /* the fake peer gives up after this long without a request */

static const char *s_evil[] = {
    "tcp://127.0.0.1:1\xc2\x9b" "2J",    /* U+009B, CSI, as UTF-8 */
    "tcp://127.0.0.1:2\x9b" "2J",        /* CSI as a raw 8-bit byte */
    "tcp://127.0.0.1:3\x7f",             /* DEL */
};
#define S_EVIL_COUNT (sizeof s_evil / sizeof s_evil[0])

typedef struct {
    fake_peer_t peer;               /* the socket and its thread */
    _Atomic int answered;           /* requests it answered */
} s_fake_t;

/* Answers CLIENT_LOOKUP with itself as the owner, anything else with an
   INFO_REPLY naming the evil endpoints as predecessor and successors. */
static bool s_answer (void *arg, const chord_msg_t *request, chord_msg_t *reply)
{
    s_fake_t *fake = arg;
    bool lookup = request->type == CHORD_MSG_CLIENT_LOOKUP;
    chord_msg_init (reply, lookup ? CHORD_MSG_LOOKUP_REPLY : CHORD_MSG_INFO_REPLY, request->request_id);
    reply->fields = lookup ? CHORD_F_STATUS | CHORD_F_PEER | CHORD_F_HOPS
                           : CHORD_F_PEER | CHORD_F_STATE | CHORD_F_PRED | CHORD_F_SUCC | CHORD_F_FINGERS |
                                 CHORD_F_COUNT | CHORD_F_REPLICAS;
    snprintf (reply->peer.endpoint, sizeof reply->peer.endpoint, "%s", fake->peer.endpoint);
    chord_id_of_position (&reply->peer.id, fake->peer.endpoint, 0);
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
    fake->answered++;
    return true;
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
    static s_fake_t fake;
    if (fake_peer_start (&fake.peer, context, s_answer, &fake, S_IDLE_MS) != 0) {
        printf ("Bail out! cannot start a fake peer on loopback\n");
        return 1;
    }

    ring_walk_config_t config = {.start = fake.peer.endpoint, .request_timeout_ms = 300, .deadline_ms = 2000};
    ring_walk_t walk;
    int rc = ring_walk_run (&config, &walk);
    tap_ok (rc == 0 && walk.count >= 1 && strcmp (walk.positions[0].self.endpoint, fake.peer.endpoint) == 0,
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
    s_chordctl (fake.peer.endpoint, "replicas k", 4);
    //  id, endpoint, state, the predecessor, the successors, ...: any number of lines.
    s_chordctl (fake.peer.endpoint, "info", -1);

    fake_peer_stop (&fake.peer);
    zmq_ctx_term (context);
    return tap_done ();
}
