/*  chordd's file descriptors: the open-file limit, and how many
    connections to the peer's port it leaves room for once the peer's own
    sockets, stores, HTTP and RESP connections are kept back.  */
#ifndef CHORDD_FD_BUDGET_H
#define CHORDD_FD_BUDGET_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"

/*  Raises the soft open-file limit to the hard one: each connection to our
    port costs a descriptor, and the usual soft limit of 1024 is a few
    hundred clients. Returns the limit in force.  */
uint64_t chordd_fd_limit_raise (void);

/*  --max-connections, or what fd_limit allows after the reserve; a value
    above that is lowered (and logged), since accept would run out of fds
    first.  */
size_t chordd_fd_max_connections (const chordd_options_t *options, uint64_t fd_limit);

#endif
