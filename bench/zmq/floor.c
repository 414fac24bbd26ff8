/*
 * libzmq's own floor for request/reply at concurrency 1: a DEALER -> ROUTER ping-pong in C, two processes,
 * no JavaScript. Built and run by bench/zmq.bench.ts (`cc -O2 floor.c -lzmq`, needs libzmq3-dev).
 *
 *   floor server            binds a ROUTER on tcp://127.0.0.1:*, prints its endpoint, echoes every message
 *   floor client <endpoint> <ms> <bytes>
 *                           one request in flight for <ms>, prints "p50_us <n> p99_us <n> calls <n>"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  void *ctx = zmq_ctx_new();
  if (argc >= 2 && strcmp(argv[1], "server") == 0) {
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0) return 1;
    char endpoint[256];
    size_t len = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len);
    printf("%s\n", endpoint);
    fflush(stdout);
    char id[256], body[65536];
    for (;;) {
      int n = zmq_recv(router, id, sizeof id, 0);
      int m = zmq_recv(router, body, sizeof body, 0);
      if (n < 0 || m < 0) return 1;
      zmq_send(router, id, n, ZMQ_SNDMORE);
      zmq_send(router, body, m > (int)sizeof body ? (int)sizeof body : m, 0);
    }
  }
  if (argc < 5) return 2;
  double ms = atof(argv[3]);
  int bytes = atoi(argv[4]);
  void *dealer = zmq_socket(ctx, ZMQ_DEALER);
  zmq_connect(dealer, argv[2]);
  char *body = calloc(1, bytes > 0 ? bytes : 1);
  char reply[65536];
  size_t cap = 1000000, count = 0;
  double *samples = malloc(cap * sizeof(double));
  /* warm-up: 200 round trips */
  for (int i = 0; i < 200; i++) {
    zmq_send(dealer, body, bytes, 0);
    zmq_recv(dealer, reply, sizeof reply, 0);
  }
  double end = now_us() + ms * 1000;
  while (count < cap) {
    double t = now_us();
    if (t > end) break;
    zmq_send(dealer, body, bytes, 0);
    zmq_recv(dealer, reply, sizeof reply, 0);
    samples[count++] = now_us() - t;
  }
  qsort(samples, count, sizeof(double), cmp);
  printf("p50_us %.1f p99_us %.1f calls %zu\n", samples[count / 2], samples[count * 99 / 100], count);
  return 0;
}
