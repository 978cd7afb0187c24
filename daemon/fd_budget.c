/*  chordd's file descriptors (fd_budget.h): the open-file limit, and how
    many connections to our port it leaves room for.  */
#include "fd_budget.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "conn_guard.h"
#include "http.h"
#include "log.h"
#include "resp.h"
#include "transport.h"

/* File descriptors kept back from --max-connections: stdio, ZeroMQ's own
   (I/O thread, reaper, each socket's mailbox), the listener, and room for
   the accepts libzmq makes before the guard hears of them. */
#define CHORDD_FDS_BASE       64
#define CHORDD_FDS_PER_DEALER 2      /* a DEALER to another peer: its mailbox and its connection */
#define CHORDD_FDS_PER_STORE  4      /* an LMDB store: data file, lock file, directory, slack */

/*  Raises the soft open-file limit to the hard one: each connection to our
    port costs a descriptor, and the usual soft limit of 1024 is a few
    hundred clients. Returns the limit in force.  */
uint64_t chordd_fd_limit_raise (void)
{
    struct rlimit limit;
    if (getrlimit (RLIMIT_NOFILE, &limit) != 0)
        return 1024;
    if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit (RLIMIT_NOFILE, &raised) == 0)
            limit = raised;
        else
            chordd_log (CHORD_LOG_WARN, "cannot raise the open-file limit from %llu to %llu: %s",
                        (unsigned long long) limit.rlim_cur, (unsigned long long) limit.rlim_max,
                        strerror (errno));
    }
    //  Unlimited: as good as the most connections we would take anyway.
    return limit.rlim_cur == RLIM_INFINITY ? (uint64_t) CHORDD_CONNECTIONS_MAX * 2 : (uint64_t) limit.rlim_cur;
}

/*  --max-connections, or what fd_limit allows after the reserve; a value
    above that is lowered, since accept would run out of fds first.  */
size_t chordd_fd_max_connections (const chordd_options_t *options, uint64_t fd_limit)
{
    uint64_t reserve = CHORDD_FDS_BASE + CHORDD_FDS_PER_DEALER * CHORDD_DEALERS_MAX +
                       (options->data_dir ? CHORDD_FDS_PER_STORE * (uint64_t) options->vnodes : 0) +
                       (options->http ? CHORDD_HTTP_CONNECTIONS + 8 : 0) +
                       (options->resp ? CHORDD_RESP_CONNECTIONS + 8 : 0);
    size_t allowed = chordd_conn_guard_max_for (fd_limit, reserve);
    if (allowed > CHORDD_CONNECTIONS_MAX)
        allowed = CHORDD_CONNECTIONS_MAX;
    if (!options->max_connections)
        return allowed;
    if (options->max_connections > allowed) {
        chordd_log (CHORD_LOG_WARN,
                    "--max-connections %zu lowered to %zu: %llu open files, %llu kept for the peer's own "
                    "sockets and stores",
                    options->max_connections, allowed, (unsigned long long) fd_limit,
                    (unsigned long long) reserve);
        return allowed;
    }
    return options->max_connections;
}
