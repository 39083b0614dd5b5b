/*
 * Closed-loop load for NUT servers (test/bench/nut.bench.ts compiles and runs it): N
 * clients, each on its own TCP connection, send one request line and send the next when
 * the answer's line arrives. One thread, epoll, no allocation per request, so the
 * generator costs both servers measured the same few microseconds per request and leaves
 * most of the shared CPU to them (the Node generator it replaces cost more per request
 * than upsd itself).
 *
 *   nut-load PORT CLIENTS WARMUP_S SECONDS 'REQUEST\n'
 *
 * Prints one line: requests seconds p50_ms p99_ms errors cpu_s, for the measured window
 * (cpu_s: the generator's own CPU time, warm-up included).
 * An answer that does not start with "VAR " counts as an error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 4096
#define MAX_SAMPLES 8000000

struct client {
  int fd;
  int column;  /* bytes of the current answer line read so far */
  int bad;     /* the current line does not start with "VAR " */
  double sent_ms;
};

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *what) {
  perror(what);
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s PORT CLIENTS WARMUP_S SECONDS REQUEST\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]);
  double warmup = atof(argv[3]) * 1e3, seconds = atof(argv[4]) * 1e3;
  const char *req = argv[5];
  size_t req_len = strlen(req);
  if (n < 1 || n > MAX_CLIENTS || port < 1 || port > 65535 || req_len == 0 || req[req_len - 1] != '\n') {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  static struct client clients[MAX_CLIENTS];
  float *samples = malloc(sizeof(float) * MAX_SAMPLES);
  if (!samples) die("malloc");
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    clients[i] = (struct client){.fd = fd};
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  double start = now_ms(), from = start + warmup, until = from + seconds;
  for (int i = 0; i < n; i++) {
    clients[i].sent_ms = now_ms();
    if (write(clients[i].fd, req, req_len) != (ssize_t)req_len) die("write");
  }
  long count = 0, errors = 0;
  char buf[65536];
  struct epoll_event events[256];
  for (;;) {
    int k = epoll_wait(ep, events, 256, 1000);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    double t = now_ms();
    if (t >= until) break;
    for (int e = 0; e < k; e++) {
      struct client *c = &clients[events[e].data.u32];
      ssize_t got = read(c->fd, buf, sizeof buf);
      if (got <= 0) {
        fprintf(stderr, "server closed a connection (%s)\n", got < 0 ? strerror(errno) : "EOF");
        return 1;
      }
      for (ssize_t i = 0; i < got; i++) {
        if (buf[i] != '\n') {
          if (c->column < 4 && buf[i] != "VAR "[c->column]) c->bad = 1;
          c->column++;
          continue;
        }
        if (c->bad || c->column < 4) errors += t >= from;
        c->column = 0;
        c->bad = 0;
        if (t >= from && count < MAX_SAMPLES) samples[count++] = (float)(t - c->sent_ms);
        c->sent_ms = t;
        if (write(c->fd, req, req_len) != (ssize_t)req_len) die("write");
      }
    }
  }
  double measured_s = (now_ms() - from) / 1e3;
  qsort(samples, count, sizeof(float), by_value);
  double p50 = count ? samples[count / 2] : 0, p99 = count ? samples[(long)(count * 0.99)] : 0;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu_s = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  printf("%ld %.3f %.3f %.3f %ld %.3f\n", count, measured_s, p50, p99, errors, cpu_s);
  return 0;
}
