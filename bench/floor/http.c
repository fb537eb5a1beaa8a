/*
 * http: this machine's physical floor for keep-alive HTTP/1.1 request/response
 * over TCP loopback, in plain C with epoll. Not a realistic server: it answers
 * every request with the same fixed 200 and does nothing else, so whatever wrk
 * measures against it is the cost of the sockets, the syscalls and wrk itself.
 *
 *   http <port> [threads]      (threads default 2)
 *
 * Each thread has its own epoll instance and its own SO_REUSEPORT listener on
 * 127.0.0.1:<port>; the kernel spreads new connections across them, and a
 * connection stays on the thread that accepted it (no locks, no hand-offs).
 * Per readable connection: one read(), parse every complete request in the
 * buffer (request line + headers to CRLFCRLF, then Content-Length bytes of
 * body), append one response per request, and one write() for all of them,
 * so pipelined requests are answered with one syscall. A partial write keeps
 * the rest and waits for EPOLLOUT, not reading more until it has drained.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_CAP (64 * 1024) /* request headers must fit; bodies are skipped, not buffered */
#define MAX_EVENTS 256

#define BODY "{\"stream\":\"bench.http\",\"seq\":12345}"
static const char RESPONSE[] = "HTTP/1.1 200 OK\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: %zu\r\n"
                               "\r\n" BODY;
static char response[256];
static size_t response_len;

static int port;

struct conn {
    int fd;
    size_t in_len;      /* bytes buffered in in[] */
    size_t body_left;   /* body bytes of the current request still to skip */
    int in_body;        /* headers parsed, waiting for the body */
    char *out;          /* responses not yet written */
    size_t out_len, out_off, out_cap;
    char in[IN_CAP];
};

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* Content-Length of the header block hdr[0..len), 0 when absent. */
static size_t content_length(const char *hdr, size_t len) {
    const char *p = hdr, *end = hdr + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', end - p);
        if (!eol) break;
        if (eol - p > 15 && strncasecmp(p, "Content-Length:", 15) == 0)
            return strtoull(p + 15, NULL, 10);
        p = eol + 1;
    }
    return 0;
}

static void append_response(struct conn *c) {
    if (c->out_len + response_len > c->out_cap) {
        c->out_cap = c->out_cap ? c->out_cap * 2 : 16 * 1024;
        while (c->out_cap < c->out_len + response_len) c->out_cap *= 2;
        if (!(c->out = realloc(c->out, c->out_cap))) die("realloc");
    }
    memcpy(c->out + c->out_len, response, response_len);
    c->out_len += response_len;
}

/* Consume every complete request in c->in; returns -1 on a request we cannot take. */
static int parse(struct conn *c) {
    size_t pos = 0;
    for (;;) {
        if (c->in_body) {
            size_t n = c->in_len - pos < c->body_left ? c->in_len - pos : c->body_left;
            pos += n;
            c->body_left -= n;
            if (c->body_left) break; /* rest of the body in a later read */
            c->in_body = 0;
            append_response(c);
            continue;
        }
        char *hdr = c->in + pos;
        char *eoh = memmem(hdr, c->in_len - pos, "\r\n\r\n", 4);
        if (!eoh) {
            if (pos == 0 && c->in_len == IN_CAP) return -1; /* headers larger than the buffer */
            break;
        }
        size_t hlen = eoh + 4 - hdr;
        c->body_left = content_length(hdr, hlen);
        c->in_body = 1;
        pos += hlen;
    }
    /* keep the incomplete tail at the front; usually nothing is left */
    if (pos < c->in_len) memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    return 0;
}

static void close_conn(struct conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c->out);
    free(c);
}

static void set_interest(int ep, struct conn *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl mod");
}

/* Write what is pending; returns -1 if the connection is gone, else whether output remains. */
static int flush(struct conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0) {
            if (errno == EAGAIN) return 1;
            if (errno == EINTR) continue;
            return -1;
        }
        c->out_off += n;
    }
    c->out_off = c->out_len = 0;
    return 0;
}

static void on_readable(int ep, struct conn *c) {
    ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(c);
        return;
    }
    if (n < 0) return;
    c->in_len += n;
    if (parse(c) < 0) {
        close_conn(c);
        return;
    }
    int r = flush(c);
    if (r < 0)
        close_conn(c);
    else if (r > 0) /* client is not reading: stop reading it too until the output drains */
        set_interest(ep, c, EPOLLOUT);
}

static void on_writable(int ep, struct conn *c) {
    int r = flush(c);
    if (r < 0)
        close_conn(c);
    else if (r == 0)
        set_interest(ep, c, EPOLLIN);
}

static int listener(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) die("SO_REUSEADDR");
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(fd, 4096) < 0) die("listen");
    return fd;
}

static void *loop(void *arg) {
    int lfd = (int)(long)arg;
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    /* the listener is told apart from connections by a NULL data.ptr */
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl listener");

    struct epoll_event evs[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *nc = malloc(sizeof *nc);
                    if (!nc) die("malloc");
                    memset(nc, 0, offsetof(struct conn, in)); /* not the 64 KiB buffer */
                    nc->fd = fd;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev) < 0) die("epoll_ctl conn");
                }
                continue;
            }
            /* errors and hang-ups surface as a failing read() or write() */
            if (evs[i].events & EPOLLOUT)
                on_writable(ep, c);
            else
                on_readable(ep, c);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: http <port> [threads]\n");
        return 2;
    }
    port = atoi(argv[1]);
    int threads = argc > 2 ? atoi(argv[2]) : 2;
    if (port <= 0 || port > 65535 || threads < 1) {
        fprintf(stderr, "http: bad port or threads\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); /* a client closing mid-write is an EPIPE, not a kill */
    response_len = snprintf(response, sizeof response, RESPONSE, strlen(BODY));

    /* bind every listener before serving, so "accepts" means all threads are up */
    int lfds[threads];
    for (int t = 0; t < threads; t++) lfds[t] = listener();
    pthread_t tid[threads];
    for (int t = 1; t < threads; t++)
        if (pthread_create(&tid[t], NULL, loop, (void *)(long)lfds[t])) die("pthread_create");
    loop((void *)(long)lfds[0]);
    return 0;
}
