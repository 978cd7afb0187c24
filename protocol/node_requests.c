/*  node requests: requests sent to peers and not yet answered (see
    node_requests.h).  */

#include "node_internal.h"

#include <assert.h>
#include <stdlib.h>

/* Slots of the table's first allocation: an idle position awaits two or
   three answers (stabilize, a ping, a finger); it doubles under load. */
#define S_REQUESTS_FIRST 8

void node_requests_init (chord_node_t *self)
{
    assert (self);
    self->requests.next_id = self->config.request_id_base ? self->config.request_id_base : 1;
}

void node_requests_destroy (chord_node_t *self)
{
    assert (self);
    free (self->requests.list);
    self->requests.list = NULL;
    self->requests.count = self->requests.alloc = 0;
}

uint64_t node_new_request_id (chord_node_t *self)
{
    assert (self);
    return self->requests.next_id++;
}

node_rpc_t *node_rpc_add (chord_node_t *self, uint64_t request_id, node_rpc_kind_t kind,
                          const chord_peer_t *peer, uint64_t deadline_ms, node_task_t *task)
{
    assert (self);
    assert (peer);
    if (self->requests.count == self->requests.alloc) {
        size_t alloc = self->requests.alloc ? self->requests.alloc * 2 : S_REQUESTS_FIRST;
        node_rpc_t *grown = realloc (self->requests.list, alloc * sizeof *grown);
        if (!grown)
            return NULL;
        self->requests.list = grown;
        self->requests.alloc = alloc;
    }
    node_rpc_t *rpc = &self->requests.list[self->requests.count++];
    rpc->request_id = request_id;
    rpc->kind = kind;
    rpc->peer = *peer;
    rpc->deadline_ms = deadline_ms;
    rpc->task = task;
    return rpc;
}

node_rpc_t *node_rpc_find (chord_node_t *self, uint64_t request_id, node_rpc_kind_t kind)
{
    assert (self);
    for (size_t i = 0; i < self->requests.count; i++)
        if (self->requests.list[i].request_id == request_id && self->requests.list[i].kind == kind)
            return &self->requests.list[i];
    return NULL;
}

bool node_rpc_pending (const chord_node_t *self, node_rpc_kind_t kind)
{
    assert (self);
    for (size_t i = 0; i < self->requests.count; i++)
        if (self->requests.list[i].kind == kind)
            return true;
    return false;
}

/* Removes the entry (swap with the last); pointers to it become invalid. */
void node_rpc_remove (chord_node_t *self, node_rpc_t *rpc)
{
    assert (self);
    assert (rpc);
    size_t i = (size_t) (rpc - self->requests.list);
    assert (i < self->requests.count);
    self->requests.list[i] = self->requests.list[--self->requests.count];
}

void node_rpcs_forget_task (chord_node_t *self, const node_task_t *task)
{
    assert (self);
    assert (task);
    for (size_t i = 0; i < self->requests.count;)
        if (self->requests.list[i].task == task)
            node_rpc_remove (self, &self->requests.list[i]);
        else
            i++;
}

node_rpc_t *node_rpc_find_handoff (chord_node_t *self, uint64_t transfer_id, const chord_id_t *peer_id)
{
    assert (self);
    assert (peer_id);
    for (size_t i = 0; i < self->requests.count; i++)
        if (self->requests.list[i].kind == RPC_HANDOFF && self->requests.list[i].request_id == transfer_id &&
            chord_id_equal (&self->requests.list[i].peer.id, peer_id))
            return &self->requests.list[i];
    return NULL;
}

/* Sends msg to peer as a request whose reply we wait for. */
int node_call (chord_node_t *self, const chord_peer_t *peer, chord_msg_t *msg, node_rpc_kind_t kind,
               node_task_t *task, uint64_t now_ms)
{
    assert (self);
    assert (peer);
    assert (msg);
    return node_call_at (self, peer, true, msg, kind, task, now_ms);
}

int node_call_at (chord_node_t *self, const chord_peer_t *peer, bool targeted, chord_msg_t *msg,
                  node_rpc_kind_t kind, node_task_t *task, uint64_t now_ms)
{
    assert (self);
    assert (peer);
    assert (msg);
    msg->request_id = node_new_request_id (self);
    if (!node_rpc_add (self, msg->request_id, kind, peer, now_ms + self->config.rpc_timeout_ms, task))
        return -1;
    int rc = targeted ? node_send_peer (self, peer, msg)
                      : node_queue (self, msg, CHORD_DEST_PEER, peer->endpoint, NULL);
    if (rc != 0) {
        node_rpc_remove (self, &self->requests.list[self->requests.count - 1]);
        return -1;
    }
    if (task)
        task->rpc_id = msg->request_id;
    return 0;
}

node_rpc_t *node_rpc_due (chord_node_t *self, uint64_t now_ms)
{
    assert (self);
    for (size_t i = 0; i < self->requests.count; i++)
        if (self->requests.list[i].deadline_ms <= now_ms)
            return &self->requests.list[i];
    return NULL;
}

uint64_t node_requests_next_ms (const chord_node_t *self)
{
    assert (self);
    uint64_t next = UINT64_MAX;
    for (size_t i = 0; i < self->requests.count; i++)
        if (self->requests.list[i].deadline_ms < next)
            next = self->requests.list[i].deadline_ms;
    return next;
}
