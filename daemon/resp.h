/*  chordd's Redis door (--resp HOST:PORT): RESP2 for redis-cli,
    redis-benchmark and Redis client libraries, served from chordd's main
    loop, with no thread and no ZeroMQ hop.

    The listening socket and the connections are non-blocking fds polled
    in the same zmq_poll as the transport's sockets: chordd_resp_prepare
    gives the items, chordd_resp_handle acts on what they report. Each
    data command becomes one CLIENT_GET/PUT/DEL per key (with a tmo, so
    the node answers TIMEOUT itself), handed to the loop's submit function
    with an origin no ZeroMQ routing id can be (libzmq's own ids are 5
    bytes from 0x00, and ids set by peers cannot start with 0x00): 0x00,
    'r', the connection's slot and generation. The nodes' replies to those
    origins come back through chordd_resp_deliver once the batch that
    wrote them is committed (chordd.c's s_flush), and are written in
    command order (resp_queue.h), one send per connection per iteration;
    a reply for a connection closed since is dropped.

    Bounds: at most CHORDD_RESP_CONNECTIONS connections (beyond, "-ERR max
    clients reached" and close); a connection is not read while it has
    CHORDD_RESP_WAITING_MAX commands queued or CHORDD_RESP_BUFFERED_MAX
    bytes of replies unsent; it is closed after CHORDD_RESP_IDLE_S silent,
    or when it takes none of its replies for CHORDD_RESP_SEND_MS.  */
#ifndef CHORDD_RESP_H
#define CHORDD_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <zmq.h>

#include "http.h"
#include "message.h"
#include "node.h"

#define CHORDD_RESP_CONNECTIONS  256                /* RESP connections open at once */
#define CHORDD_RESP_IDLE_S       300                /* a connection silent this long is closed */
#define CHORDD_RESP_SEND_MS      10000              /* one that takes no reply bytes this long is closed */
#define CHORDD_RESP_WAITING_MAX  256                /* commands queued before a connection is not read */
#define CHORDD_RESP_BUFFERED_MAX (4 * 1024 * 1024)  /* reply bytes held before it is not read */

typedef struct chordd_resp chordd_resp_t;

/*  Hands request (built by the door, borrowed for the call) to the ring
    position that should handle it, with origin as its return address.  */
typedef void (chordd_resp_submit_fn) (void *arg, const chord_msg_t *request, const chord_origin_t *origin,
                                      uint64_t now_ms);

/*  Binds address (--resp; text is what to log) for the peer advertised as
    endpoint, whose --replicas is replicas; secured: the ring has a secret,
    and connections must AUTH. Commands go to submit with submit_arg.
    Returns the door, or NULL after writing why into error.  */
chordd_resp_t *chordd_resp_start (const struct sockaddr_storage *address, socklen_t address_len, const char *text,
                                  const char *endpoint, size_t replicas, bool secured,
                                  chordd_resp_submit_fn *submit, void *submit_arg, char *error, size_t error_size);

/* Reads --http-tokens into the table AUTH checks (http_auth.h); 0 or -1. */
int chordd_resp_tokens_load (chordd_resp_t *self, const char *path, char *error, size_t error_size);

/* Copies snapshot for INFO. self may be NULL. */
void chordd_resp_publish (chordd_resp_t *self, const chordd_http_snapshot_t *snapshot);

/*  Sends the replies ready, closes the connections that are done or were
    silent too long, and points *items at what to poll: returns their
    count, at most 1 + CHORDD_RESP_CONNECTIONS. The items stay the door's;
    fill their revents and call chordd_resp_handle. *busy is set when
    requests read before are ready to run: poll without waiting.  */
size_t chordd_resp_prepare (chordd_resp_t *self, uint64_t now_ms, zmq_pollitem_t **items, bool *busy);

/* Accepts, reads, and submits the commands read, as the items' revents say. */
void chordd_resp_handle (chordd_resp_t *self, uint64_t now_ms);

/* True when origin is one of a door's (whether a door runs or not). */
bool chordd_resp_is_origin (const chord_origin_t *origin);

/*  A node's reply to one of the door's origins (chordd_resp_is_origin):
    takes data (malloc'd) in every case; self may be NULL (then dropped).  */
void chordd_resp_deliver (chordd_resp_t *self, const chord_origin_t *origin, uint8_t *data, size_t size);

/* Closes the connections and the listening socket; sets *self_p to NULL. */
void chordd_resp_stop (chordd_resp_t **self_p);

#endif
