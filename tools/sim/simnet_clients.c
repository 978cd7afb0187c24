/*  simnet: the endpoint map, clients and timers, and membership (who is
    a member, in id order, and who owns an id).  */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simnet_internal.h"

/* ---------------------------------------------------------------- endpoint map */

static uint64_t s_endpoint_hash (const char *endpoint)
{
    return simnet_fnv (S_FNV_OFFSET, endpoint, strlen (endpoint));
}

static size_t s_map_slot (const simnet_t *self, const char *endpoint, bool *found)
{
    size_t mask = self->map_alloc - 1;
    size_t slot = (size_t) s_endpoint_hash (endpoint) & mask;
    while (self->map[slot]) {
        if (strcmp (self->nodes[self->map[slot] - 1]->peer.endpoint, endpoint) == 0) {
            *found = true;
            return slot;
        }
        slot = (slot + 1) & mask;
    }
    *found = false;
    return slot;
}

int simnet_map_grow (simnet_t *self)
{
    size_t alloc = self->map_alloc ? self->map_alloc * 2 : S_MAP_MIN;
    uint32_t *old = self->map;
    size_t old_alloc = self->map_alloc;
    uint32_t *map = calloc (alloc, sizeof *map);
    if (!map)
        return -1;
    self->map = map;
    self->map_alloc = alloc;
    for (size_t i = 0; i < old_alloc; i++)
        if (old[i]) {
            bool found;
            size_t slot = s_map_slot (self, self->nodes[old[i] - 1]->peer.endpoint, &found);
            self->map[slot] = old[i];
        }
    free (old);
    return 0;
}

int simnet_map_put (simnet_t *self, size_t index)
{
    if ((self->map_count + 1) * 2 > self->map_alloc && simnet_map_grow (self) != 0)
        return -1;
    bool found;
    size_t slot = s_map_slot (self, self->nodes[index]->peer.endpoint, &found);
    if (found)
        return -1;
    self->map[slot] = (uint32_t) index + 1;
    self->map_count++;
    return 0;
}

/* Removes an endpoint by backward-shift deletion: no tombstones. */
void simnet_map_remove (simnet_t *self, const char *endpoint)
{
    bool found;
    size_t hole = s_map_slot (self, endpoint, &found);
    if (!found)
        return;
    size_t mask = self->map_alloc - 1;
    self->map[hole] = 0;
    self->map_count--;
    for (size_t slot = (hole + 1) & mask; self->map[slot]; slot = (slot + 1) & mask) {
        size_t home = (size_t) s_endpoint_hash (self->nodes[self->map[slot] - 1]->peer.endpoint) & mask;
        /* Move the entry into the hole unless its home lies in (hole, slot]. */
        bool stays = hole <= slot ? (home > hole && home <= slot) : (home > hole || home <= slot);
        if (!stays) {
            self->map[hole] = self->map[slot];
            self->map[slot] = 0;
            hole = slot;
        }
    }
}

size_t simnet_find (const simnet_t *self, const char *endpoint)
{
    if (!self->map_alloc)
        return SIMNET_NONE;
    bool found;
    size_t slot = s_map_slot (self, endpoint, &found);
    return found ? self->map[slot] - 1 : SIMNET_NONE;
}

/* ---------------------------------------------------------------- clients */

void simnet_on_deliver (simnet_t *self, simnet_deliver_fn *fn, void *arg)
{
    self->deliver_fn = fn;
    self->deliver_arg = arg;
}

void simnet_on_send (simnet_t *self, simnet_send_fn *fn, void *arg)
{
    self->send_fn = fn;
    self->send_arg = arg;
}

void simnet_on_reply (simnet_t *self, simnet_reply_fn *fn, void *arg)
{
    self->reply_fn = fn;
    self->reply_arg = arg;
}

int simnet_client (simnet_t *self, size_t node, chord_msg_type_t type, const void *key, size_t key_len,
                   const void *value, size_t value_len, uint32_t tmo_ms, uint64_t token)
{
    if (node >= self->node_count || !key || key_len == 0 || key_len > CHORD_KEY_MAX ||
        (type == CHORD_MSG_CLIENT_PUT && !value) || value_len > CHORD_VALUE_MAX ||
        (type != CHORD_MSG_CLIENT_LOOKUP && type != CHORD_MSG_CLIENT_PUT && type != CHORD_MSG_CLIENT_GET &&
         type != CHORD_MSG_CLIENT_DEL))
        return -1;
    if (self->client_count == self->client_alloc) {
        size_t alloc = self->client_alloc ? self->client_alloc * 2 : 1024;
        s_client_t *grown = realloc (self->clients, alloc * sizeof *grown);
        if (!grown)
            return -1;
        self->clients = grown;
        self->client_alloc = alloc;
    }
    uint64_t client_id = self->client_count + 1;
    chord_msg_t *msg = self->scratch;
    chord_msg_init (msg, type, client_id);
    msg->fields = CHORD_F_KEY | CHORD_F_TIMEOUT;
    msg->key = key;
    msg->key_len = key_len;
    msg->timeout_ms = tmo_ms;
    if (type == CHORD_MSG_CLIENT_PUT) {
        msg->fields |= CHORD_F_VALUE;
        msg->value = value;
        msg->value_len = value_len;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0)
        return -1;
    s_client_t *client = &self->clients[self->client_count++];
    memset (client, 0, sizeof *client);
    client->token = token;
    client->node = node;
    client->request = type;
    chord_id_hash (&client->key_id, key, key_len);
    client->sent_ms = self->now_ms;
    self->stats.client_requests++;
    if (simnet_push_packet (self, self->now_ms, S_EV_CLIENT_REQUEST, S_CLIENT_SOURCE, (uint32_t) node, false,
                       client_id, data, size) != 0 ||
        !simheap_push (self->heap, self->now_ms + tmo_ms, S_TAG (S_EV_CLIENT_DEADLINE, client_id), NULL)) {
        self->client_count--;
        self->stats.client_requests--;
        return -1;
    }
    return 0;
}

void simnet_client_request (simnet_t *self, s_packet_t *packet)
{
    s_node_t *rec = simnet_up (self, packet->dst);
    if (!rec)
        return; /* nobody there: the client's deadline will answer */
    simnet_trace (self, S_CLIENT_SOURCE, packet->dst, packet->data, packet->size);
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = 1 + sizeof (uint64_t);
    origin.bytes[0] = S_ORIGIN_CLIENT;
    memcpy (origin.bytes + 1, &packet->client_id, sizeof packet->client_id);
    chord_node_receive (rec->node, packet->data, packet->size, &origin, CHORD_ROLE_PEER, self->now_ms);
    simnet_after (self, rec, false);
}

void simnet_client_reply (simnet_t *self, s_packet_t *packet)
{
    if (packet->client_id == 0 || packet->client_id > self->client_count)
        return;
    s_client_t *client = &self->clients[packet->client_id - 1];
    if (client->done)
        return; /* its deadline passed first */
    simnet_trace (self, packet->src, S_CLIENT_SOURCE, packet->data, packet->size);
    simnet_reply_t reply;
    memset (&reply, 0, sizeof reply);
    reply.token = client->token;
    reply.node = client->node;
    reply.request = client->request;
    reply.key_id = client->key_id;
    reply.owner_node = SIMNET_NONE;
    reply.sent_ms = client->sent_ms;
    reply.done_ms = self->now_ms;
    chord_msg_t *msg = self->scratch;
    if (chord_msg_decode (msg, packet->data, packet->size) == 0) {
        reply.answered = true;
        reply.status = msg->status;
        reply.type = msg->type;
        reply.hops = msg->hops;
        if (msg->fields & CHORD_F_PEER) {
            reply.has_owner = true;
            reply.owner = msg->peer;
            reply.owner_node = simnet_find (self, msg->peer.endpoint);
        }
        if (msg->fields & CHORD_F_VALUE) {
            reply.value = msg->value; /* points into packet->data */
            reply.value_len = msg->value_len;
        }
        chord_msg_clear (msg);
    }
    client->done = true;
    self->stats.client_answered++;
    if (self->reply_fn)
        self->reply_fn (self->reply_arg, self, &reply);
}

void simnet_client_deadline (simnet_t *self, uint64_t client_id)
{
    s_client_t *client = &self->clients[client_id - 1];
    if (client->done)
        return;
    client->done = true;
    self->stats.client_unanswered++;
    simnet_reply_t reply;
    memset (&reply, 0, sizeof reply);
    reply.token = client->token;
    reply.node = client->node;
    reply.request = client->request;
    reply.key_id = client->key_id;
    reply.owner_node = SIMNET_NONE;
    reply.status = CHORD_STATUS_TIMEOUT;
    reply.sent_ms = client->sent_ms;
    reply.done_ms = self->now_ms;
    if (self->reply_fn)
        self->reply_fn (self->reply_arg, self, &reply);
}

int simnet_at (simnet_t *self, uint64_t at_ms, simnet_timer_fn *fn, void *arg, uint64_t token)
{
    s_timer_t *timer = malloc (sizeof *timer);
    if (!timer)
        return -1;
    timer->fn = fn;
    timer->arg = arg;
    timer->token = token;
    if (!simheap_push (self->heap, at_ms > self->now_ms ? at_ms : self->now_ms, S_TAG (S_EV_TIMER, 0),
                       timer)) {
        free (timer);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- info and membership */

int simnet_info (simnet_t *self, size_t node, simnet_info_t *info)
{
    s_node_t *rec = simnet_up (self, node);
    if (!rec || !info)
        return -1;
    chord_msg_t *msg = self->scratch;
    chord_msg_init (msg, CHORD_MSG_CLIENT_INFO, 0);
    uint8_t *data = NULL;
    size_t size = 0;
    if (chord_msg_encode (msg, &data, &size) != 0)
        return -1;
    chord_origin_t origin;
    memset (&origin, 0, sizeof origin);
    origin.size = 1;
    origin.bytes[0] = S_ORIGIN_INFO;
    self->info_target = info;
    self->info_ok = false;
    chord_node_receive (rec->node, data, size, &origin, CHORD_ROLE_PEER, self->now_ms);
    free (data);
    simnet_after (self, rec, false);
    self->info_target = NULL;
    return self->info_ok ? 0 : -1;
}

size_t simnet_members (simnet_t *self, const size_t **sorted)
{
    if (!self->sorted_valid || self->sorted_version != self->membership_version) {
        size_t count = 0;
        for (size_t i = 0; i < self->node_count; i++)
            if (self->nodes[i]->status == SIMNET_NODE_UP &&
                simnet_is_member_state (self->nodes[i]->last_state))
                count++;
        if (count > self->sorted_alloc) {
            size_t *indices = realloc (self->sorted, count * sizeof *indices);
            if (indices)
                self->sorted = indices;
            chord_id_t *ids = realloc (self->sorted_ids, count * sizeof *ids);
            if (ids)
                self->sorted_ids = ids;
            if (!indices || !ids) {
                *sorted = NULL;
                return 0;
            }
            self->sorted_alloc = count;
        }
        s_member_t *members = malloc ((count ? count : 1) * sizeof *members);
        if (!members) {
            *sorted = NULL;
            return 0;
        }
        size_t k = 0;
        for (size_t i = 0; i < self->node_count; i++)
            if (self->nodes[i]->status == SIMNET_NODE_UP &&
                simnet_is_member_state (self->nodes[i]->last_state)) {
                members[k].id = self->nodes[i]->peer.id;
                members[k].index = i;
                k++;
            }
        qsort (members, count, sizeof *members, simnet_cmp_member);
        for (size_t i = 0; i < count; i++) {
            self->sorted[i] = members[i].index;
            self->sorted_ids[i] = members[i].id;
        }
        free (members);
        self->sorted_count = count;
        self->sorted_version = self->membership_version;
        self->sorted_valid = true;
    }
    *sorted = self->sorted;
    return self->sorted_count;
}

size_t simnet_owner (simnet_t *self, const chord_id_t *id)
{
    const size_t *sorted;
    size_t count = simnet_members (self, &sorted);
    if (count == 0)
        return SIMNET_NONE;
    return sorted[simnet_successor_at (self->sorted_ids, count, id)];
}

uint64_t simnet_membership_version (const simnet_t *self)
{
    return self->membership_version;
}

