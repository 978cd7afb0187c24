/*  chord-bench: starting the peers, connecting to them, and waiting for
    their ring to form.  */
#include "bench.h"

/* ---------------------------------------------------------------- peers */

/* The default chordd: next to this program. */
int bench_default_chordd (char *path, size_t size, const char *argv0)
{
    char self[PATH_MAX];
    const char *slash = strrchr (argv0, '/');
    if (slash) {
        snprintf (self, sizeof self, "%.*s", (int)(slash - argv0), argv0);
    } else {
        /* Found through $PATH: ask the kernel where we are. */
        ssize_t len = readlink ("/proc/self/exe", self, sizeof self - 1);
        if (len <= 0)
            return -1;
        self[len] = '\0';
        char *last = strrchr (self, '/');
        if (!last)
            return -1;
        *last = '\0';
    }
    int written = snprintf (path, size, "%s/chordd", self[0] ? self : "/");
    return written > 0 && (size_t)written < size ? 0 : -1;
}

/* Picks count distinct free ports on 127.0.0.1 by binding port 0, holding
   every socket until all are chosen. */
static int s_free_ports (bench_child_t *children, int count)
{
    int fds[S_PEERS_MAX];
    int opened = 0, rc = 0;
    for (; opened < count; opened++) {
        fds[opened] = socket (AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
        addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fds[opened] < 0 || bind (fds[opened], (struct sockaddr *)&addr, sizeof addr) != 0 ||
            getsockname (fds[opened], (struct sockaddr *)&addr, &len) != 0) {
            bench_error ("cannot find a free port: %s", strerror (errno));
            if (fds[opened] >= 0)
                close (fds[opened]);
            rc = -1;
            break;
        }
        children[opened].port = ntohs (addr.sin_port);
        snprintf (children[opened].endpoint, sizeof children[opened].endpoint, "tcp://127.0.0.1:%d",
                  children[opened].port);
    }
    for (int i = 0; i < opened; i++)
        close (fds[i]);
    return rc;
}

/* In the child: becomes chordd for peer index, or exits 127. */
static void s_exec_peer (bench_t *self, int index, pid_t parent)
{
    /* Die with the bench, even if it is killed with SIGKILL. */
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);
    /* Our own process group: a Ctrl-C at the terminal reaches only the
       bench, which then stops the peers in order. */
    setpgid (0, 0);
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    signal (SIGHUP, SIG_DFL);
    signal (SIGPIPE, SIG_DFL);

    char log_path[PATH_MAX + 32];
    snprintf (log_path, sizeof log_path, "%s/chordd-%d.log", self->log_dir, index);
    int null_fd = open ("/dev/null", O_RDWR);
    int log_fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (null_fd >= 0) {
        dup2 (null_fd, STDIN_FILENO);
        dup2 (null_fd, STDOUT_FILENO);
    }
    if (log_fd >= 0)
        dup2 (log_fd, STDERR_FILENO);

    char stabilize[16];
    snprintf (stabilize, sizeof stabilize, "%d", self->options.stabilize_ms);
    const char *args[16];
    int n = 0;
    args[n++] = self->chordd_path;
    args[n++] = "--listen";
    args[n++] = self->children[index].endpoint;
    if (index > 0) {
        args[n++] = "--join";
        args[n++] = self->children[0].endpoint;
    }
    args[n++] = "--stabilize-ms";
    args[n++] = stabilize;
    args[n++] = "--log-level";
    args[n++] = "warn";
    //  One position a peer: the figures compare peers, and the convergence
    //  check walks one position per peer.
    args[n++] = "--vnodes";
    args[n++] = "1";
    if (self->options.secret) {
        args[n++] = "--secret";
        args[n++] = self->options.secret;
    }
    args[n] = NULL;
    execv (self->chordd_path, (char *const *)args);
    fprintf (stderr, "chord-bench: cannot run %s: %s\n", self->chordd_path, strerror (errno));
    _exit (127);
}

/* Starts every peer: the first begins the ring, the others join through it. */
int bench_peers_start (bench_t *self)
{
    if (access (self->chordd_path, X_OK) != 0) {
        bench_error ("cannot run %s: %s (see --chordd)", self->chordd_path, strerror (errno));
        return -1;
    }
    const char *tmp = getenv ("TMPDIR");
    snprintf (self->log_dir, sizeof self->log_dir, "%s/chord-bench.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp (self->log_dir)) {
        bench_error ("cannot make a directory for the peers' logs: %s", strerror (errno));
        self->log_dir[0] = '\0';
        return -1;
    }
    int count = self->options.peer_count;
    if (s_free_ports (self->children, count) != 0)
        return -1;
    fflush (NULL);
    pid_t parent = getpid ();
    for (int i = 0; i < count; i++) {
        pid_t pid = fork ();
        if (pid < 0) {
            bench_error ("cannot start a peer: %s", strerror (errno));
            return -1;
        }
        if (pid == 0)
            s_exec_peer (self, i, parent);
        self->children[i].pid = pid;
        self->child_count = i + 1;
        self->endpoints[i] = self->children[i].endpoint;
    }
    self->peer_count = count;
    return 0;
}

/* Reaps any peer that has exited. Returns the index of one that exited
   (reporting it), or -1 when all still run. */
int bench_peers_check (bench_t *self)
{
    int died = -1;
    for (int i = 0; i < self->child_count; i++) {
        bench_child_t *child = &self->children[i];
        if (child->pid == 0)
            continue;
        if (waitpid (child->pid, &child->status, WNOHANG) == child->pid) {
            child->pid = 0;
            if (WIFEXITED (child->status))
                bench_error ("peer %d (%s) exited with status %d", i, child->endpoint,
                         WEXITSTATUS (child->status));
            else if (WIFSIGNALED (child->status))
                bench_error ("peer %d (%s) was killed by signal %d", i, child->endpoint,
                         WTERMSIG (child->status));
            died = i;
            self->peer_died = true;
            if (i < self->peer_count && !self->client_dead[i]) {
                self->client_dead[i] = true;
                self->clients_alive--;
            }
            self->keep_logs = true;
        }
    }
    return died;
}

/* Stops every peer still running: SIGTERM (a graceful leave), then SIGKILL
   for any not gone within S_STOP_TERM_MS; reaps them all. */
void bench_peers_stop (bench_t *self)
{
    int running = 0;
    for (int i = 0; i < self->child_count; i++)
        if (self->children[i].pid > 0) {
            kill (self->children[i].pid, SIGTERM);
            running++;
        }
    int64_t deadline_ns = util_now_ns () + (int64_t)S_STOP_TERM_MS * 1000000;
    while (running > 0 && util_now_ns () < deadline_ns) {
        for (int i = 0; i < self->child_count; i++) {
            bench_child_t *child = &self->children[i];
            if (child->pid > 0 && waitpid (child->pid, &child->status, WNOHANG) == child->pid) {
                child->pid = 0;
                running--;
            }
        }
        if (running > 0)
            bench_sleep_ms (10);
    }
    for (int i = 0; i < self->child_count; i++) {
        bench_child_t *child = &self->children[i];
        if (child->pid <= 0)
            continue;
        kill (child->pid, SIGKILL);
        while (waitpid (child->pid, &child->status, 0) < 0 && errno == EINTR)
            ;
        child->pid = 0;
    }
}

/* Removes the log directory, unless something failed. */
void bench_logs_cleanup (bench_t *self)
{
    if (!self->log_dir[0])
        return;
    if (self->keep_logs) {
        fprintf (stderr, "chord-bench: the peers' logs are in %s\n", self->log_dir);
        return;
    }
    for (int i = 0; i < self->child_count; i++) {
        char log_path[PATH_MAX + 32];
        snprintf (log_path, sizeof log_path, "%s/chordd-%d.log", self->log_dir, i);
        unlink (log_path);
    }
    rmdir (self->log_dir);
}

/* ------------------------------------------------------------- clients */

int bench_clients_open (bench_t *self)
{
    for (int i = 0; i < self->peer_count; i++) {
        self->clients[i] =
            chord_client_new_curve (self->endpoints[i], self->options.secret ? &self->curve : NULL);
        if (!self->clients[i]) {
            bench_error ("cannot connect to %s", self->endpoints[i]);
            return -1;
        }
        self->items[i] = (zmq_pollitem_t){chord_client_socket (self->clients[i]), 0, ZMQ_POLLIN, 0};
        self->clients_alive++;
    }
    return 0;
}

/* One round: asks every peer for INFO and waits up to S_INFO_WAIT_MS for
   the answers, filling infos[]. */
static void s_info_round (bench_t *self, bench_info_t *infos)
{
    uint64_t asked[S_PEERS_MAX];
    int pending = 0;
    for (int i = 0; i < self->peer_count; i++) {
        infos[i] = (bench_info_t){0};
        chord_msg_t *request = self->request;
        chord_msg_init (request, CHORD_MSG_CLIENT_INFO, 0);
        asked[i] = 0;
        if (chord_client_send (self->clients[i], request) == 0) {
            asked[i] = request->request_id;
            pending++;
        }
        chord_msg_clear (request);
    }
    int64_t deadline_ns = util_now_ns () + (int64_t)S_INFO_WAIT_MS * 1000000;
    while (pending > 0 && !bench_interrupted) {
        int64_t left_ms = (deadline_ns - util_now_ns ()) / 1000000;
        if (left_ms <= 0)
            break;
        if (zmq_poll (self->items, self->peer_count, (long)left_ms) < 0 && errno != EINTR)
            break;
        for (int i = 0; i < self->peer_count; i++) {
            chord_msg_t *reply = self->reply;
            while (chord_client_recv (self->clients[i], reply, 0) == 0) {
                bench_info_t *info = &infos[i];
                if (reply->request_id == asked[i] && reply->type == CHORD_MSG_INFO_REPLY && !info->answered) {
                    info->answered = true;
                    pending--;
                    info->state = (reply->fields & CHORD_F_STATE) ? reply->state : UINT32_MAX;
                    if (reply->fields & CHORD_F_PEER)
                        info->id = reply->peer.id;
                    info->has_succ = (reply->fields & CHORD_F_SUCC) && reply->peer_count > 0;
                    if (info->has_succ)
                        info->succ = reply->peers[0].id;
                    info->has_pred = (reply->fields & CHORD_F_PRED) && reply->has_pred;
                    if (info->has_pred)
                        info->pred = reply->pred.id;
                }
                chord_msg_clear (reply);
            }
        }
    }
}

/* The index of the peer with this id, or -1. */
static int s_peer_index (const bench_info_t *infos, int count, const chord_id_t *id)
{
    for (int i = 0; i < count; i++)
        if (chord_id_equal (&infos[i].id, id))
            return i;
    return -1;
}

/* True when every peer is active and following successors from the first
   visits each peer once and comes back, each peer being its successor's
   predecessor: one consistent cycle of all of them. */
static bool s_ring_converged (const bench_info_t *infos, int count)
{
    for (int i = 0; i < count; i++)
        if (!infos[i].answered || infos[i].state != CHORD_NODE_ACTIVE || !infos[i].has_succ)
            return false;
    bool seen[S_PEERS_MAX] = {false};
    int at = 0;
    for (int step = 0; step < count; step++) {
        if (seen[at])
            return false;
        seen[at] = true;
        int next = s_peer_index (infos, count, &infos[at].succ);
        if (next < 0)
            return false;
        /* A lone peer may know no predecessor; in a ring each must. */
        if (count > 1 && (!infos[next].has_pred || !chord_id_equal (&infos[next].pred, &infos[at].id)))
            return false;
        at = next;
    }
    return at == 0;
}

/* Waits until the started ring has converged, or a peer dies, or time is
   up. Returns 0 with converge_s set, or -1 after saying why. */
int bench_wait_converged (bench_t *self, int64_t started_ns)
{
    bench_info_t *infos = self->infos;
    int64_t limit_ms = (int64_t)self->options.stabilize_ms * S_CONVERGE_INTERVALS;
    if (limit_ms < S_CONVERGE_MS_MIN)
        limit_ms = S_CONVERGE_MS_MIN;
    int64_t deadline_ns = started_ns + limit_ms * 1000000;
    while (!bench_interrupted) {
        if (bench_peers_check (self) >= 0) {
            bench_error ("a peer exited before the ring converged");
            return -1;
        }
        s_info_round (self, infos);
        if (s_ring_converged (infos, self->peer_count)) {
            self->converge_s = (double)(util_now_ns () - started_ns) / 1e9;
            return 0;
        }
        if (util_now_ns () >= deadline_ns)
            break;
        bench_sleep_ms (S_ROUND_PAUSE_MS);
    }
    if (bench_interrupted)
        return -1;
    int active = 0, answered = 0;
    for (int i = 0; i < self->peer_count; i++) {
        answered += infos[i].answered;
        active += infos[i].answered && infos[i].state == CHORD_NODE_ACTIVE;
    }
    bench_error ("the ring of %d peers did not converge within %.1f s (%d answered, %d active)",
                 self->peer_count,
             (double)limit_ms / 1000, answered, active);
    self->keep_logs = true;
    return -1;
}

/* For --connect: waits until every given peer answers and is active. */
int bench_wait_connected (bench_t *self)
{
    bench_info_t *infos = self->infos;
    int64_t deadline_ns = util_now_ns () + (int64_t)S_CONNECT_WAIT_MS * 1000000;
    while (!bench_interrupted) {
        s_info_round (self, infos);
        int bad = -1;
        for (int i = 0; i < self->peer_count && bad < 0; i++)
            if (!infos[i].answered || infos[i].state != CHORD_NODE_ACTIVE)
                bad = i;
        if (bad < 0)
            return 0;
        if (util_now_ns () >= deadline_ns) {
            bench_error ("%s %s within %d ms", self->endpoints[bad],
                     infos[bad].answered ? "is not an active peer" : "did not answer", S_CONNECT_WAIT_MS);
            return -1;
        }
        bench_sleep_ms (S_ROUND_PAUSE_MS);
    }
    return -1;
}

