/*  chordctl replicas KEY: the key's owner, then the peers holding its
    copies, named by the owner's own view of the ring (its INFO_REPLY:
    successors, fingers, predecessor and rf) through the rule the owner
    itself follows (protocol/replica_set.h). --json prints what chordd's
    GET /v1/lookup/{key} answers.  */
#include "chordctl.h"
#include "node.h"
#include "replica_set.h"

/* The owner's INFO_REPLY, through client when the owner is its peer. */
static int s_owner_info (const chordctl_t *ctl, chord_client_t *client, const chord_peer_t *owner,
                         chord_msg_t *info)
{
    if (strcmp (owner->endpoint, ctl->server) == 0)
        return chordctl_info (ctl, client, owner->endpoint, &owner->id, info);
    chord_client_t *other = chord_client_new_curve (owner->endpoint, ctl->curve);
    if (!other)
        return chordctl_fail (S_EXIT_ERROR, "cannot connect to the owner at '%s'", owner->endpoint);
    int code = chordctl_info (ctl, other, owner->endpoint, &owner->id, info);
    chord_client_destroy (&other);
    return code;
}

static int s_print_json (const char *key, const chord_msg_t *lookup, const chord_peer_t *peers, size_t count)
{
    size_t key_len = strlen (key);
    //  Keys are at most CHORD_KEY_MAX bytes, checked before sending.
    char key_hex[2 * CHORD_KEY_MAX + 1];
    sodium_bin2hex (key_hex, sizeof key_hex, (const unsigned char *) key, key_len);
    chord_id_t key_id;
    if (lookup->fields & CHORD_F_ID)
        key_id = lookup->id;
    else
        chord_id_hash (&key_id, key, key_len);
    json_t *root = json_object ();
    json_t *key_string = json_stringn (key, key_len);
    if (key_string)
        json_object_set_new (root, "key", key_string);
    json_object_set_new (root, "key_hex", json_string (key_hex));
    json_object_set_new (root, "id", chordctl_json_id (&key_id));
    json_object_set_new (root, "owner", chordctl_json_peer (&lookup->peer));
    json_t *replicas = json_array ();
    for (size_t i = 0; i < count; i++)
        json_array_append_new (replicas, chordctl_json_peer (&peers[i]));
    json_object_set_new (root, "replicas", replicas);
    json_object_set_new (root, "hops", json_integer ((lookup->fields & CHORD_F_HOPS) ? lookup->hops : 0));
    return chordctl_print_json (root);
}

int chordctl_cmd_replicas (const chordctl_t *ctl, chord_client_t *client, const char *key)
{
    chord_msg_t lookup;
    int code = chordctl_lookup (ctl, client, key, &lookup);
    if (code != S_EXIT_OK)
        return code;
    //  The lookup's owner is copied out: the info call may reuse client,
    //  whose next receive ends the lookup reply's borrowed fields.
    chord_peer_t owner = lookup.peer;
    chord_msg_t *info = malloc (sizeof *info);
    if (!info) {
        chord_msg_clear (&lookup);
        return chordctl_fail (S_EXIT_ERROR, "out of memory");
    }
    code = s_owner_info (ctl, client, &owner, info);
    if (code == S_EXIT_OK) {
        chord_peer_t peers[CHORD_REPLICA_SET_MAX];
        size_t count = chord_replica_set_of_info (info, peers);
        if (ctl->json)
            code = s_print_json (key, &lookup, peers, count);
        else {
            char hex[CHORD_ID_HEX_LEN + 1], plain[CHORD_ENDPOINT_MAX + 1];
            chord_id_to_hex (&owner.id, hex);
            printf ("%s %s\n", hex, chordctl_plain (owner.endpoint, plain));
            for (size_t i = 0; i < count; i++) {
                chord_id_to_hex (&peers[i].id, hex);
                printf ("%s %s\n", hex, chordctl_plain (peers[i].endpoint, plain));
            }
        }
        chord_msg_clear (info);
    }
    free (info);
    chord_msg_clear (&lookup);
    return code;
}
