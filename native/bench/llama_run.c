/* The hand-written C baseline of `tensorkern bench llama`: a float32 llama forward pass over a
 * llama2.c checkpoint, written plainly in the manner of llama2.c's run.c (one dot product per output
 * row, a scalar loop the compiler may vectorize as -O3 -march=native allows without -ffast-math,
 * RMSNorm, interleaved RoPE, GQA attention over a KV cache, SwiGLU), single-threaded, greedy.
 *
 *   llama_run FILE STEPS PROMPT_IDS   (PROMPT_IDS: comma-separated, e.g. 1 or 1,403,9)
 *
 * Prints "generated ID ID ...", "prefill_tok_s X" (prompt tokens per second: one step each, the last
 * one giving the first generated token) and "decode_tok_s Y" (the steps after it). Written for the bench, not copied: it mirrors run.c's arithmetic
 * so the comparison is "the same plain C a user would write", compiled on this machine. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  int dim, hidden, layers, heads, kv_heads, vocab, seq;
} Config;

typedef struct {
  const float *emb, *rms_att, *wq, *wk, *wv, *wo, *rms_ffn, *w1, *w2, *w3, *rms_final, *cls;
} Weights;

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static void rmsnorm(float* o, const float* x, const float* w, int n) {
  float ss = 0.0f;
  for (int i = 0; i < n; i++) ss += x[i] * x[i];
  ss = 1.0f / sqrtf(ss / n + 1e-5f);
  for (int i = 0; i < n; i++) o[i] = w[i] * (ss * x[i]);
}

/* y[d] = W[d, n] x[n] */
static void matvec(float* y, const float* x, const float* w, int n, int d) {
  for (int i = 0; i < d; i++) {
    float v = 0.0f;
    const float* row = w + (size_t)i * n;
    for (int j = 0; j < n; j++) v += row[j] * x[j];
    y[i] = v;
  }
}

static void softmax(float* x, int n) {
  float m = x[0];
  for (int i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
  float s = 0.0f;
  for (int i = 0; i < n; i++) {
    x[i] = expf(x[i] - m);
    s += x[i];
  }
  for (int i = 0; i < n; i++) x[i] /= s;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: llama_run FILE STEPS PROMPT_IDS\n");
    return 2;
  }
  FILE* f = fopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  Config c;
  if (fread(&c, sizeof(int), 7, f) != 7) return 1;
  const int shared = c.vocab > 0;
  if (c.vocab < 0) c.vocab = -c.vocab;
  fseek(f, 0, SEEK_END);
  long bytes = ftell(f) - 28;
  fseek(f, 28, SEEK_SET);
  float* data = malloc(bytes);
  if (!data || fread(data, 1, bytes, f) != (size_t)bytes) return 1;
  fclose(f);
  const int D = c.dim, HD = c.dim / c.heads, KVD = c.kv_heads * HD, L = c.layers, F = c.hidden;
  Weights w;
  const float* p = data;
  w.emb = p, p += (size_t)c.vocab * D;
  w.rms_att = p, p += (size_t)L * D;
  w.wq = p, p += (size_t)L * D * D;
  w.wk = p, p += (size_t)L * KVD * D;
  w.wv = p, p += (size_t)L * KVD * D;
  w.wo = p, p += (size_t)L * D * D;
  w.rms_ffn = p, p += (size_t)L * D;
  w.w1 = p, p += (size_t)L * F * D;
  w.w2 = p, p += (size_t)L * D * F;
  w.w3 = p, p += (size_t)L * F * D;
  w.rms_final = p, p += D;
  p += (size_t)c.seq * HD; /* the legacy freq_cis arrays: RoPE is computed */
  w.cls = shared ? w.emb : p;

  float *x = calloc(D, 4), *xb = calloc(D, 4), *xb2 = calloc(D, 4), *hb = calloc(F, 4), *hb2 = calloc(F, 4);
  float *q = calloc(D, 4), *att = calloc(c.seq, 4), *logits = calloc(c.vocab, 4);
  float* kc = calloc((size_t)L * c.seq * KVD, 4);
  float* vc = calloc((size_t)L * c.seq * KVD, 4);
  int prompt[1024], np = 0;
  for (char* s = strtok(argv[3], ","); s && np < 1024; s = strtok(NULL, ",")) prompt[np++] = atoi(s);
  const int steps = atoi(argv[2]);
  int total = np + steps;
  if (total > c.seq) total = c.seq;
  int token = prompt[0];
  double t0 = now_s(), t_prefill = t0;
  printf("generated");
  for (int pos = 0; pos < total - 1; pos++) {
    memcpy(x, w.emb + (size_t)token * D, D * 4);
    for (int l = 0; l < L; l++) {
      rmsnorm(xb, x, w.rms_att + l * D, D);
      float* k = kc + ((size_t)l * c.seq + pos) * KVD;
      float* v = vc + ((size_t)l * c.seq + pos) * KVD;
      matvec(q, xb, w.wq + (size_t)l * D * D, D, D);
      matvec(k, xb, w.wk + (size_t)l * KVD * D, D, KVD);
      matvec(v, xb, w.wv + (size_t)l * KVD * D, D, KVD);
      for (int i = 0; i < D; i += 2) {
        const int hi = i % HD;
        const float freq = 1.0f / powf(10000.0f, hi / (float)HD);
        const float a = pos * freq, fc = cosf(a), fs = sinf(a);
        for (int r = 0; r < (i < KVD ? 2 : 1); r++) {
          float* t = r == 0 ? q : k;
          const float v0 = t[i], v1 = t[i + 1];
          t[i] = v0 * fc - v1 * fs;
          t[i + 1] = v0 * fs + v1 * fc;
        }
      }
      for (int h = 0; h < c.heads; h++) {
        const float* qh = q + h * HD;
        const int kh = h / (c.heads / c.kv_heads);
        for (int t = 0; t <= pos; t++) {
          const float* kt = kc + ((size_t)l * c.seq + t) * KVD + kh * HD;
          float s = 0.0f;
          for (int i = 0; i < HD; i++) s += qh[i] * kt[i];
          att[t] = s / sqrtf(HD);
        }
        softmax(att, pos + 1);
        float* o = xb + h * HD;
        memset(o, 0, HD * 4);
        for (int t = 0; t <= pos; t++) {
          const float* vt = vc + ((size_t)l * c.seq + t) * KVD + kh * HD;
          for (int i = 0; i < HD; i++) o[i] += att[t] * vt[i];
        }
      }
      matvec(xb2, xb, w.wo + (size_t)l * D * D, D, D);
      for (int i = 0; i < D; i++) x[i] += xb2[i];
      rmsnorm(xb, x, w.rms_ffn + l * D, D);
      matvec(hb, xb, w.w1 + (size_t)l * F * D, D, F);
      matvec(hb2, xb, w.w3 + (size_t)l * F * D, D, F);
      for (int i = 0; i < F; i++) hb[i] = hb[i] * (1.0f / (1.0f + expf(-hb[i]))) * hb2[i];
      matvec(xb, hb, w.w2 + (size_t)l * D * F, F, D);
      for (int i = 0; i < D; i++) x[i] += xb[i];
    }
    rmsnorm(x, x, w.rms_final, D);
    matvec(logits, x, w.cls, D, c.vocab);
    if (pos + 1 < np) {
      token = prompt[pos + 1];
    } else {
      int best = 0;
      for (int i = 1; i < c.vocab; i++) best = logits[i] > logits[best] ? i : best;
      token = best;
      printf(" %d", token);
    }
    if (pos + 1 == np) t_prefill = now_s();
  }
  const double t1 = now_s();
  const int generated = total - np;
  printf("\nprefill_tok_s %.3f\ndecode_tok_s %.3f\n", np / (t_prefill - t0),
         generated > 1 ? (generated - 1) / (t1 - t_prefill) : 0.0);
  return 0;
}
