/*
 * fanout: this machine's physical floor for fanning one paced stream of small
 * messages out to many TCP loopback connections, in plain C with epoll.
 *
 *   fanout <connections> <rate_msgs_per_s> <seconds> <payload_bytes>
 *   (defaults 1000 1000 5 150)
 *
 * One writer thread (the "gateway" event loop) writes every due message to every
 * server-side socket, one write()/writev() per socket per pass, so a writer that
 * falls behind batches naturally. One reader thread (the "subscribers" event
 * loop) reads the client-side sockets with level-triggered epoll, checks that
 * sequences are contiguous per connection and records publish->delivery latency
 * (now - due time, `now` taken once per read()). The first second is warm-up.
 *
 * Output (one line):
 *   connections=N rate=R delivered_msgs_per_s=X p50_us=.. p99_us=.. p999_us=..
 *   max_us=.. writer_cpu=.. reader_cpu=..
 * delivered_msgs_per_s counts messages received (all connections) during the
 * window; latencies are of messages whose due time lies in the window, however
 * late they arrive (the run drains the backlog before reporting).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define NS_PER_S 1000000000LL
#define WARMUP_NS NS_PER_S
#define DRAIN_LIMIT_NS (60 * NS_PER_S) /* give up on a backlog this long after the last due time */
#define HIST_BUCKETS 100000            /* 1 us buckets up to 100 ms, then one overflow bucket */
#define READ_BUF (64 * 1024)

static int nconn;
static long rate;
static int seconds;
static int payload;
static int64_t total_msgs;
static int64_t t0, win_start, win_end, drain_deadline;

/* Shared ring of the most recent messages; message k lives in slot k % ring_msgs.
 * Each writer socket only keeps a byte offset into the (virtual) stream. */
static char *ring;
static int64_t ring_msgs;
static int64_t ring_bytes;

static int *wfd; /* server side: the gateway writes */
static int *rfd; /* client side: the subscribers read */

struct cpu_window {
    int64_t wall_start, wall_end, cpu_start, cpu_end;
    int started, ended;
};
static struct cpu_window writer_cpu, reader_cpu;

static uint64_t hist[HIST_BUCKETS + 1];
static uint64_t hist_n;
static int64_t max_lat_ns;
static uint64_t delivered_in_window;

static void die(const char *what) { perror(what); exit(1); }

static int64_t ts_ns(clockid_t clk) {
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
static int64_t now_ns(void) { return ts_ns(CLOCK_MONOTONIC); }

static struct timespec to_ts(int64_t ns) {
    struct timespec ts = { ns / NS_PER_S, ns % NS_PER_S };
    return ts;
}

/* Due time of message k; integer math so that it is exact for any rate. */
static int64_t due_ns(int64_t k) {
    return t0 + (int64_t)((__int128)k * NS_PER_S / rate);
}

/* Number of messages due at time t (k is due iff due_ns(k) <= t). */
static int64_t due_count(int64_t t) {
    if (t < t0) return 0;
    int64_t n = (int64_t)((__int128)(t - t0) * rate / NS_PER_S) + 1;
    return n > total_msgs ? total_msgs : n;
}

/* Sample the calling thread's CPU clock as the wall clock crosses the window edges. */
static void cpu_tick(struct cpu_window *w, int64_t now) {
    if (!w->started && now >= win_start) {
        w->started = 1;
        w->wall_start = now;
        w->cpu_start = ts_ns(CLOCK_THREAD_CPUTIME_ID);
    }
    if (w->started && !w->ended && now >= win_end) {
        w->ended = 1;
        w->wall_end = now;
        w->cpu_end = ts_ns(CLOCK_THREAD_CPUTIME_ID);
    }
}

/* At thread exit: a thread done before the window ends would have idled to its end. */
static void cpu_finish(struct cpu_window *w) {
    int64_t now = now_ns();
    cpu_tick(w, now);
    if (w->started && !w->ended) {
        w->ended = 1;
        w->wall_end = win_end;
        w->cpu_end = ts_ns(CLOCK_THREAD_CPUTIME_ID);
    }
}

static double cpu_cores(const struct cpu_window *w) {
    if (!w->ended || w->wall_end <= w->wall_start) return -1;
    return (double)(w->cpu_end - w->cpu_start) / (double)(w->wall_end - w->wall_start);
}

static void fill_message(int64_t k) {
    char *m = ring + (k % ring_msgs) * payload;
    int64_t due = due_ns(k);
    memcpy(m, &due, 8);
    memcpy(m + 8, &k, 8);
}

static void *writer_main(void *arg) {
    (void)arg;
    /* The due time stands for the publish instant: the default 50 us timer slack
     * on our wake-ups would only add measurement noise, not fan-out cost. */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);

    int64_t *off = calloc(nconn, sizeof *off); /* stream bytes already written per socket */
    char *blocked = calloc(nconn, 1);          /* got EAGAIN, waiting for EPOLLOUT */
    struct epoll_event *evs = calloc(nconn, sizeof *evs);
    if (!off || !blocked || !evs) die("calloc");

    /* Edge-triggered EPOLLOUT only tells us when a full socket has room again. */
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < nconn; i++) {
        struct epoll_event ev = { .events = EPOLLOUT | EPOLLET, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, wfd[i], &ev) < 0) die("epoll_ctl writer");
    }
    int nblocked = 0;
    int64_t produced = 0;       /* messages filled into the ring */
    int64_t min_msg = 0;        /* slowest socket's position, in whole messages */
    int64_t total_bytes = total_msgs * payload;

    struct timespec start = to_ts(t0);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &start, NULL) == EINTR) {}

    for (;;) {
        int64_t now = now_ns();
        cpu_tick(&writer_cpu, now);
        if (now > drain_deadline) {
            fprintf(stderr, "fanout: writer gave up draining its backlog\n");
            break;
        }

        /* Never let a slow socket's unsent bytes be overwritten in the ring: such a
         * message is just produced late (its due time, hence its latency, stays). */
        int64_t due = due_count(now);
        if (due > min_msg + ring_msgs) due = min_msg + ring_msgs;
        for (; produced < due; produced++) fill_message(produced);
        int64_t target = produced * payload;

        if (nblocked > 0) {
            int n = epoll_wait(ep, evs, nconn, 0);
            for (int e = 0; e < n; e++) {
                int i = (int)evs[e].data.u32;
                if (blocked[i]) { blocked[i] = 0; nblocked--; }
            }
        }

        int retry_now = 0, all_done = 1;
        int64_t lowest = target;
        for (int i = 0; i < nconn; i++) {
            if (!blocked[i] && off[i] < target) {
                /* Everything due and not yet written, in one syscall: at most two
                 * pieces because the range may wrap around the ring. */
                int64_t pos = off[i] % ring_bytes, len = target - off[i];
                int64_t first = len < ring_bytes - pos ? len : ring_bytes - pos;
                struct iovec iov[2] = {
                    { ring + pos, (size_t)first },
                    { ring, (size_t)(len - first) },
                };
                ssize_t w = writev(wfd[i], iov, len > first ? 2 : 1);
                if (w > 0) {
                    off[i] += w;
                    if (off[i] < target) retry_now = 1; /* partial: retry next pass */
                } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    blocked[i] = 1;
                    nblocked++;
                } else if (w < 0 && errno != EINTR) {
                    die("writev");
                }
            }
            if (off[i] < lowest) lowest = off[i];
            if (off[i] < total_bytes) all_done = 0;
        }
        min_msg = lowest / payload;
        if (all_done) break;
        if (retry_now) continue;

        /* Nothing writable right now: wait for the next due message, or for a
         * blocked socket to drain, whichever comes first. */
        int64_t next = produced < total_msgs ? due_ns(produced) : drain_deadline;
        if (produced < due_count(now_ns()) && produced < min_msg + ring_msgs) continue;
        if (nblocked == 0) {
            struct timespec ts = to_ts(next);
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
        } else {
            int64_t rel = next - now_ns();
            if (rel < 0) rel = 0;
            struct timespec ts = to_ts(rel);
            int n = epoll_pwait2(ep, evs, nconn, &ts, NULL);
            for (int e = 0; e < n; e++) {
                int i = (int)evs[e].data.u32;
                if (blocked[i]) { blocked[i] = 0; nblocked--; }
            }
        }
    }
    cpu_finish(&writer_cpu);
    close(ep);
    free(off);
    free(blocked);
    free(evs);
    return NULL;
}

static void record_latency(int64_t lat) {
    if (lat < 0) lat = 0;
    int64_t us = lat / 1000;
    hist[us < HIST_BUCKETS ? us : HIST_BUCKETS]++;
    hist_n++;
    if (lat > max_lat_ns) max_lat_ns = lat;
}

static void *reader_main(void *arg) {
    (void)arg;
    char *buf = malloc(READ_BUF);
    char *partial = calloc((size_t)nconn, (size_t)payload); /* an incomplete message per connection */
    int *pfill = calloc(nconn, sizeof *pfill);
    int64_t *expect = calloc(nconn, sizeof *expect);
    struct epoll_event *evs = calloc(nconn, sizeof *evs);
    if (!buf || !partial || !pfill || !expect || !evs) die("alloc reader");

    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    for (int i = 0; i < nconn; i++) {
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, rfd[i], &ev) < 0) die("epoll_ctl reader");
    }
    int complete = 0;
    while (complete < nconn) {
        /* The short timeout only keeps the CPU-window sampling on time when idle. */
        int n = epoll_wait(ep, evs, nconn, 10);
        if (n < 0 && errno != EINTR) die("epoll_wait");
        int64_t t = now_ns();
        cpu_tick(&reader_cpu, t);
        if (t > drain_deadline + NS_PER_S) {
            fprintf(stderr, "fanout: reader gave up, %d of %d connections complete\n", complete, nconn);
            break;
        }
        for (int e = 0; e < n; e++) {
            int i = (int)evs[e].data.u32;
            ssize_t r = read(rfd[i], buf, READ_BUF);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r < 0) die("read");
            if (r == 0) { fprintf(stderr, "fanout: connection %d closed early\n", i); exit(1); }
            int64_t now = now_ns(); /* once per read(), as a real client would */
            char *p = buf, *end = buf + r;
            char *slot = partial + (size_t)i * payload;
            while (p < end) {
                const char *m;
                if (pfill[i] > 0 || end - p < payload) {
                    int take = payload - pfill[i];
                    if (take > end - p) take = (int)(end - p);
                    memcpy(slot + pfill[i], p, take);
                    pfill[i] += take;
                    p += take;
                    if (pfill[i] < payload) break;
                    pfill[i] = 0;
                    m = slot;
                } else {
                    m = p;
                    p += payload;
                }
                int64_t due, seq;
                memcpy(&due, m, 8);
                memcpy(&seq, m + 8, 8);
                if (seq != expect[i]) {
                    fprintf(stderr, "fanout: connection %d expected seq %lld, got %lld\n",
                            i, (long long)expect[i], (long long)seq);
                    abort();
                }
                expect[i]++;
                if (due >= win_start && due < win_end) record_latency(now - due);
                if (now >= win_start && now < win_end) delivered_in_window++;
                if (expect[i] == total_msgs) complete++;
            }
        }
    }
    cpu_finish(&reader_cpu);
    close(ep);
    free(buf);
    free(partial);
    free(pfill);
    free(expect);
    free(evs);
    return NULL;
}

static double percentile_us(double q) {
    if (hist_n == 0) return -1;
    uint64_t rank = (uint64_t)(q * (double)hist_n);
    if (rank >= hist_n) rank = hist_n - 1;
    uint64_t cum = 0;
    for (int b = 0; b < HIST_BUCKETS; b++) {
        cum += hist[b];
        if (cum > rank) return b; /* lower edge of the 1 us bucket */
    }
    return (double)max_lat_ns / 1000.0; /* in the overflow bucket: all we know is the max */
}

static void set_nonblocking(int fd) {
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) die("fcntl");
}

static void open_connections(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit");
    rlim_t need = (rlim_t)nconn * 2 + 64;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need;
        if (rl.rlim_max < need) rl.rlim_max = need; /* only works with privilege */
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit RLIMIT_NOFILE");
    }

    int ls = socket(AF_INET, SOCK_STREAM, 0);
    if (ls < 0) die("socket");
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
    if (listen(ls, 1024) < 0) die("listen");
    socklen_t sl = sizeof sa;
    if (getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) die("getsockname");

    wfd = calloc(nconn, sizeof *wfd);
    rfd = calloc(nconn, sizeof *rfd);
    if (!wfd || !rfd) die("calloc");
    /* One connect, one accept: never more than one pending in the backlog. */
    for (int i = 0; i < nconn; i++) {
        rfd[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (rfd[i] < 0) die("socket client");
        if (connect(rfd[i], (struct sockaddr *)&sa, sizeof sa) < 0) die("connect");
        wfd[i] = accept(ls, NULL, NULL);
        if (wfd[i] < 0) die("accept");
        int one = 1;
        if (setsockopt(wfd[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0) die("TCP_NODELAY");
        set_nonblocking(wfd[i]);
        set_nonblocking(rfd[i]);
    }
    close(ls);
}

int main(int argc, char **argv) {
    nconn = argc > 1 ? atoi(argv[1]) : 1000;
    rate = argc > 2 ? atol(argv[2]) : 1000;
    seconds = argc > 3 ? atoi(argv[3]) : 5;
    payload = argc > 4 ? atoi(argv[4]) : 150;
    if (nconn < 1 || rate < 1 || seconds < 2 || payload < 16) {
        fprintf(stderr, "usage: fanout <connections>=1000 <rate_msgs_per_s>=1000 <seconds>=5 (>= 2) "
                        "<payload_bytes>=150 (>= 16)\n");
        return 2;
    }
    total_msgs = rate * seconds;

    /* Room for 64 s of lag at this rate (at least 64k messages): ample for a 5 s run. */
    ring_msgs = rate * 64 < 65536 ? 65536 : rate * 64;
    if (ring_msgs > total_msgs) ring_msgs = total_msgs;
    ring_bytes = ring_msgs * payload;
    ring = calloc((size_t)ring_msgs, (size_t)payload);
    if (!ring) die("calloc ring");
    for (int64_t k = 0; k < ring_msgs; k++) /* recognisable filler after the header */
        memset(ring + k * payload + 16, 'x', payload - 16);

    open_connections();

    t0 = now_ns() + 100 * 1000 * 1000LL; /* both threads up before the first message is due */
    win_start = t0 + WARMUP_NS;
    win_end = t0 + (int64_t)seconds * NS_PER_S;
    drain_deadline = win_end + DRAIN_LIMIT_NS;

    pthread_t wt, rt;
    if (pthread_create(&rt, NULL, reader_main, NULL) != 0) die("pthread_create reader");
    if (pthread_create(&wt, NULL, writer_main, NULL) != 0) die("pthread_create writer");
    pthread_join(wt, NULL);
    pthread_join(rt, NULL);

    double window_s = (double)(win_end - win_start) / NS_PER_S;
    printf("connections=%d rate=%ld delivered_msgs_per_s=%.0f p50_us=%.0f p99_us=%.0f p999_us=%.0f "
           "max_us=%.0f writer_cpu=%.3f reader_cpu=%.3f\n",
           nconn, rate, (double)delivered_in_window / window_s, percentile_us(0.50),
           percentile_us(0.99), percentile_us(0.999), (double)max_lat_ns / 1000.0,
           cpu_cores(&writer_cpu), cpu_cores(&reader_cpu));
    for (int i = 0; i < nconn; i++) {
        close(wfd[i]);
        close(rfd[i]);
    }
    return 0;
}
