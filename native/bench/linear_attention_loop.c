/* The hand-written C baseline of `tensorkern bench linear-attention`: causal linear attention with a
 * per-head decay as the plain per-token recurrence a user would write first -- for every token the
 * state update S = lambda S + k^T v (D x Dv) and the output o = scale q S -- single-threaded, float32,
 * compiled on this machine with -O3 -march=native (the compiler vectorizes the inner loops as it can).
 *
 *   linear_attention_loop IN OUT B H S D DV SCALE REPS
 *
 * IN holds q [B, H, S, D], k [B, H, S, D], v [B, H, S, DV] and decay [H], float32, one after the other;
 * OUT gets o [B, H, S, DV] of the last rep. Prints "seconds X" once per rep (the loop alone, not the
 * file reading). Written for the bench. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void run(const float* q, const float* k, const float* v, const float* decay, float* o, float* st, long B, long H, long S, long D,
                long Dv, float scale) {
  for (long bh = 0; bh < B * H; ++bh) {
    const float lam = decay[bh % H];
    memset(st, 0, sizeof(float) * D * Dv);
    for (long t = 0; t < S; ++t) {
      const float* qt = q + (bh * S + t) * D;
      const float* kt = k + (bh * S + t) * D;
      const float* vt = v + (bh * S + t) * Dv;
      float* ot = o + (bh * S + t) * Dv;
      for (long i = 0; i < D; ++i)
        for (long j = 0; j < Dv; ++j) st[i * Dv + j] = lam * st[i * Dv + j] + kt[i] * vt[j];
      for (long j = 0; j < Dv; ++j) ot[j] = 0.0f;
      for (long i = 0; i < D; ++i)
        for (long j = 0; j < Dv; ++j) ot[j] += qt[i] * st[i * Dv + j];
      for (long j = 0; j < Dv; ++j) ot[j] *= scale;
    }
  }
}

int main(int argc, char** argv) {
  if (argc != 10) {
    fprintf(stderr, "usage: linear_attention_loop IN OUT B H S D DV SCALE REPS\n");
    return 2;
  }
  const long B = atol(argv[3]), H = atol(argv[4]), S = atol(argv[5]), D = atol(argv[6]), Dv = atol(argv[7]);
  const float scale = (float)atof(argv[8]);
  const int reps = atoi(argv[9]);
  const size_t nq = (size_t)(B * H * S * D), nv = (size_t)(B * H * S * Dv), total = 2 * nq + nv + (size_t)H;
  float* in = malloc(sizeof(float) * total);
  float* o = malloc(sizeof(float) * nv);
  float* st = malloc(sizeof(float) * D * Dv);
  FILE* f = fopen(argv[1], "rb");
  if (!in || !o || !st || !f || fread(in, sizeof(float), total, f) != total) {
    fprintf(stderr, "linear_attention_loop: cannot read %s\n", argv[1]);
    return 1;
  }
  fclose(f);
  for (int r = 0; r < reps; ++r) {
    const double t0 = now_s();
    run(in, in + nq, in + 2 * nq, in + 2 * nq + nv, o, st, B, H, S, D, Dv, scale);
    printf("seconds %.9f\n", now_s() - t0);
  }
  f = fopen(argv[2], "wb");
  if (!f || fwrite(o, sizeof(float), nv, f) != nv) {
    fprintf(stderr, "linear_attention_loop: cannot write %s\n", argv[2]);
    return 1;
  }
  fclose(f);
  return 0;
}
