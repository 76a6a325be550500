/* SPDX-License-Identifier: MIT */
/* mlsecd_bench: what mlsecd sustains. P reporter processes each send N auth events as the
 * PAM module does (one request, wait for the reply), timing every round trip; prints the
 * ingest rate over the whole run and the round trip's p50/p99. Events the daemon did not
 * acknowledge are counted as failures (the benchmark is void then).
 * Usage: mlsecd_bench SOCKET PROCESSES EVENTS_PER_PROCESS [--persistent [WINDOW]]
 * --persistent: each reporter keeps one connection (a long-lived reporter) instead of one
 * connection per report (the PAM module, a new process per login); with a WINDOW it keeps
 * that many reports in flight (pipelining; mlsecd answers in order), each timed from its
 * send to its reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "event.h"
#include "proto.h"
#include "seal.h"

static double now_us(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
        float x = *(const float *)a, y = *(const float *)b;

        return x < y ? -1 : x > y;
}

static bool persistent; /* one connection per reporter instead of one per report */
static long window = 1;  /* reports in flight on a kept connection */

static int send_on(int fd, const struct proto_request *req)
{
        static char buf[PROTO_MSG_MAX + 1];
        size_t len;
        int r = proto_encode_request(req, buf, PROTO_MSG_MAX, &len);

        if (r < 0)
                return r;
        return send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EIO;
}

static int recv_on(int fd)
{
        static char buf[PROTO_MSG_MAX + 1];
        struct proto_obj *res = NULL;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        int r;

        if (n <= 0)
                return -EIO;
        r = proto_decode_reply(buf, (size_t)n, &res, NULL, 0, NULL, 0);
        proto_obj_free(res);
        return r;
}

/* One request on an open connection, as a long-lived reporter would send it. */
static int call_on(int fd, const struct proto_request *req)
{
        int r = send_on(fd, req);

        return r < 0 ? r : recv_on(fd);
}

static int connect_to(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
                return -1;
        return fd;
}

static void make_report(struct proto_request *req, long i, int id)
{
        *req = (struct proto_request){.method = PROTO_REPORT};
        event_init(&req->event, EVENT_AUTH);
        req->event.pid = getpid();
        snprintf(req->event.user, sizeof(req->event.user), "user%04ld", (i * 7 + id) % 10000);
        snprintf(req->event.service, sizeof(req->event.service), "sshd");
        snprintf(req->event.rhost, sizeof(req->event.rhost), "198.51.100.%ld", i % 250 + 1);
        snprintf(req->event.ip, sizeof(req->event.ip), "198.51.100.%ld", i % 250 + 1);
        snprintf(req->event.result, sizeof(req->event.result), i % 5 ? "ok" : "fail");
        snprintf(req->event.reason, sizeof(req->event.reason), i % 5 ? "ok" : "wrong code");
        snprintf(req->event.method, sizeof(req->event.method), "totp");
}

/* WINDOW reports in flight on connection FD; report i's round trip into RTT[i]. */
static long pipelined(int fd, long n, float *rtt, int id)
{
        double *t0 = calloc((size_t)n, sizeof(*t0));
        long sent = 0, done = 0, failed = 0;

        if (!t0)
                return n;
        while (done < n) {
                while (sent < n && sent - done < window) {
                        struct proto_request req;

                        make_report(&req, sent, id);
                        t0[sent] = now_us();
                        if (send_on(fd, &req) < 0) {
                                free(t0);
                                return n - done;
                        }
                        sent++;
                }
                if (recv_on(fd) < 0)
                        failed++;
                rtt[done] = (float)(now_us() - t0[done]);
                done++;
        }
        free(t0);
        return failed;
}

/* One reporter: N events, each round trip's time into RTT[0..N). Returns failures. */
static long reporter(const char *sock, long n, float *rtt, int id)
{
        int fd = persistent ? connect_to(sock) : -1;
        long failed = 0;

        if (persistent && fd < 0)
                return n;
        if (persistent && window > 1)
                return pipelined(fd, n, rtt, id);
        for (long i = 0; i < n; i++) {
                struct proto_request req;
                struct proto_obj *res = NULL;
                double t0;

                make_report(&req, i, id);
                t0 = now_us();
                if ((persistent ? call_on(fd, &req) : client_call(sock, &req, 2000, &res, NULL, 0, NULL, 0)) < 0)
                        failed++;
                rtt[i] = (float)(now_us() - t0);
                proto_obj_free(res);
        }
        return failed;
}

int main(int argc, char **argv)
{
        long procs, n, total, failed = 0;
        double t0, secs;
        float *rtt;

        if (argc == 6 && strcmp(argv[4], "--persistent") == 0) {
                window = atol(argv[5]);
                argc--;
        }
        if (argc == 5 && strcmp(argv[4], "--persistent") == 0) {
                persistent = true;
                argc--;
        }
        if (argc != 4 || (procs = atol(argv[2])) < 1 || (n = atol(argv[3])) < 1 || window < 1 || window > 1024) {
                fprintf(stderr, "usage: mlsecd_bench SOCKET PROCESSES EVENTS_PER_PROCESS [--persistent [WINDOW]]\n");
                return 2;
        }
        if (seal_init() < 0)
                return 1;
        total = procs * n;
        rtt = mmap(NULL, (size_t)total * sizeof(float), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (rtt == MAP_FAILED)
                return 1;
        t0 = now_us();
        for (long p = 0; p < procs; p++) {
                pid_t pid = fork();
                if (pid == 0)
                        _exit(reporter(argv[1], n, rtt + p * n, (int)p) ? 1 : 0);
                if (pid < 0)
                        return 1;
        }
        for (long p = 0; p < procs; p++) {
                int st;
                if (wait(&st) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
                        failed++;
        }
        secs = (now_us() - t0) / 1e6;
        qsort(rtt, (size_t)total, sizeof(float), cmp);
        printf("mlsecd %ld reporters %ld events %.0f events/s rtt p50 %.0f us p99 %.0f us %s%s\n", procs, total,
               (double)total / secs, rtt[total / 2], rtt[total * 99 / 100], persistent ? "persistent" : "per-report",
               failed ? " (FAILURES)" : "");
        return failed ? 1 : 0;
}
