// The decode kernel: few query rows (a decode step's GQA group, Sq of 1..8) against a long KV cache,
// no mask and no softcap. Included by attention_kernel_impl.h (each ISA unit, internal linkage).
//
// The tile kernel (attention_kernel_impl.h) packs every K block transposed and every V block to
// aligned float rows so that many query rows can reuse them; with a handful of rows that packing is
// a second pass over the cache for nothing, and decoding is a pure stream of K and V. Here each key
// row is read once, straight from the cache in its own dtype: per block of kKeys keys,
//   1. s[r][j] = (scale q_r) . k_j: the key row loaded a vector at a time against the rows' scaled q
//      (held as float in L1), one horizontal sum per (row, key);
//   2. per row: keys past the row's last visible key (causal Sq > 1, kvLengths) to -inf, the running
//      max, the rescale of o and l, p = exp(s - m) (the tile kernel's vexp), the running sum;
//   3. o_r += p[r][j] v_j: each V row loaded once, a vector at a time, into every row's accumulator.
// While scoring key j, K and V rows j + kDist are prefetched, a row at a time. Measured on Zen 5 (2
// threads, float32, D 128, both builds in one process): a whole block's lines prefetched in one burst
// filled the line-fill buffers and stalled (15.6 GB/s, below the tile kernel's 19-24); no software
// prefetch, 20 GB/s; a row per key scored, 28-33 GB/s, at distances of 32, 64 or 128 keys alike.
#pragma once

namespace {

// Rows per call at most (attention_cpu.cc routes by it). 16 on AVX-512 ran Hq 32 / Hkv 8, Sq 4 at the
// tile kernel's speed (9.8 vs 9.7 ms, compute-bound there), so more rows stay on the tile kernel.
constexpr int kDecodeRows = 8;
constexpr int kKeys = 64;  // keys per block (16: 8-12% slower, K and V then alternate in 8 KB runs)
constexpr int kDist = 64;  // prefetch distance in keys

template <class T>
inline void prefetch_row(const T* row, int64_t D) {
  const int64_t bytes = D * int64_t(sizeof(T));
  for (int64_t off = 0; off < bytes; off += 64) prefetch(reinterpret_cast<const char*>(row) + off);
}

template <class T, int R>
void decode_rows(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t j0, int64_t j1, const RowState& st) {
  constexpr int KP = R <= 2 ? 4 : R <= 4 ? 2 : 1;  // keys per score step
  const int64_t D = p.D, Dv = p.Dv, ldo = st.ldo;
  const int64_t Dq = round_up(std::max<int64_t>(D, 1), kW), Dvec = D - D % kW;
  float* qf = static_cast<float*>(tk::thread_scratch(tk::ScratchSlot::kPackA, sizeof(float) * size_t(R * Dq)));
  int64_t last[R];
  const T* q = static_cast<const T*>(p.q);
  for (int r = 0; r < R; ++r) {
    const int64_t row = r0 + r, i = row / p.group, hq = hkv * p.group + row % p.group;
    last[r] = p.last_key(b, i);
    const T* qr = q + b * p.qb + hq * p.qh + i * p.qs;
    for (int64_t d = 0; d < D; ++d) qf[r * Dq + d] = p.scale * load1<T>(qr, d);
    for (int64_t d = D; d < Dq; ++d) qf[r * Dq + d] = 0.0f;
    for (int64_t d = 0; d < ldo; ++d) st.o[r * ldo + d] = 0.0f;
    st.m[r] = kNegInf;
    st.l[r] = 0.0f;
  }
  const T* kbase = static_cast<const T*>(p.k) + b * p.kb + hkv * p.kh;
  const T* vbase = static_cast<const T*>(p.v) + b * p.vb + hkv * p.vh;
  alignas(64) float s[R][kKeys];
  for (int64_t jb = j0; jb < j1; jb += kKeys) {
    const int64_t nk = std::min<int64_t>(kKeys, j1 - jb);
    // 1. scores, KP keys at a time: KP * R independent FMA chains over the head dim (one key's R
    // chains alone are latency-bound when R is small)
    for (int64_t jj = 0; jj < nk; jj += KP) {
      const int kp = static_cast<int>(std::min<int64_t>(KP, nk - jj));
      const T* kr[KP];
      for (int u = 0; u < KP; ++u) kr[u] = kbase + (jb + jj + (u < kp ? u : 0)) * p.ks;
      VF acc[KP][R];
      for (int u = 0; u < KP; ++u)
        for (int r = 0; r < R; ++r) acc[u][r] = vzero();
      // The same keys of the next block, K and V, a row at a time (a burst of a whole block's lines
      // fills the line-fill buffers and stalls; the hardware prefetcher alone runs 20% slower).
      if (jb + jj + kDist < j1)
        for (int u = 0; u < kp; ++u) {
          prefetch_row(kbase + (jb + jj + u + kDist) * p.ks, D);
          prefetch_row(vbase + (jb + jj + u + kDist) * p.vs, Dv);
        }
      for (int64_t d = 0; d < Dvec; d += kW) {
        for (int u = 0; u < KP; ++u) {
          const VF kv = loadv<T>(kr[u] + d);
          for (int r = 0; r < R; ++r) acc[u][r] = vfma(vload(qf + r * Dq + d), kv, acc[u][r]);
        }
      }
      for (int u = 0; u < kp; ++u)
        for (int r = 0; r < R; ++r) {
          float t = vhsum(acc[u][r]);
          for (int64_t d = Dvec; d < D; ++d) t += qf[r * Dq + d] * load1<T>(kr[u], d);
          s[r][jj + u] = jb + jj + u <= last[r] ? t : kNegInf;
        }
    }
    // 2. online softmax per row; p overwrites s
    for (int r = 0; r < R; ++r) {
      float mx = kNegInf;
      for (int64_t jj = 0; jj < nk; ++jj) mx = s[r][jj] > mx ? s[r][jj] : mx;
      for (int64_t jj = nk; jj < kKeys; ++jj) s[r][jj] = kNegInf;
      const float m_new = mx > st.m[r] ? mx : st.m[r];
      if (m_new == kNegInf) {  // nothing visible yet: p = 0
        for (int jj = 0; jj < kKeys; ++jj) s[r][jj] = 0.0f;
        continue;
      }
      const float alpha = st.m[r] == kNegInf ? 0.0f : std::exp(st.m[r] - m_new);
      st.m[r] = m_new;
      VF sum = vzero();
      for (int jj = 0; jj < kKeys; jj += kW) {
        const VF e = vexp(vadd(vload(&s[r][jj]), vset1(-m_new)));
        vstore(&s[r][jj], e);
        sum = vadd(sum, e);
      }
      st.l[r] = st.l[r] * alpha + vhsum(sum);
      if (alpha != 1.0f) {
        float* o = st.o + r * ldo;
        const VF a = vset1(alpha);
        for (int64_t d = 0; d < ldo; d += kW) vstore(o + d, vmul(vload(o + d), a));
      }
    }
    // 3. o += p v, a vector of the head dim at a time (o's rows are padded to ldo, V's tail by scalars)
    const int64_t Dvv = Dv - Dv % kW;
    for (int64_t d = 0; d < Dvv; d += kW) {
      VF acc[R];
      for (int r = 0; r < R; ++r) acc[r] = vload(st.o + r * ldo + d);
      for (int64_t jj = 0; jj < nk; ++jj) {
        const VF vv = loadv<T>(vbase + (jb + jj) * p.vs + d);
        for (int r = 0; r < R; ++r) acc[r] = vfma(vset1(s[r][jj]), vv, acc[r]);
      }
      for (int r = 0; r < R; ++r) vstore(st.o + r * ldo + d, acc[r]);
    }
    for (int64_t d = Dvv; d < Dv; ++d)
      for (int64_t jj = 0; jj < nk; ++jj) {
        const float vv = load1<T>(vbase + (jb + jj) * p.vs, d);
        for (int r = 0; r < R; ++r) st.o[r * ldo + d] += s[r][jj] * vv;
      }
  }
}

template <class T>
void decode_any_rows(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st) {
  using Fn = void (*)(const Problem&, int64_t, int64_t, int64_t, int64_t, int64_t, const RowState&);
  static const Fn t[kDecodeRows] = {decode_rows<T, 1>, decode_rows<T, 2>, decode_rows<T, 3>, decode_rows<T, 4>,
                                    decode_rows<T, 5>, decode_rows<T, 6>, decode_rows<T, 7>, decode_rows<T, 8>};
  t[r1 - r0 - 1](p, b, hkv, r0, j0, j1, st);
}

// Kernels::decode: rows [r0, r1) (at most kDecodeRows) of (b, hkv) against keys [j0, j1); no mask, no
// softcap (the driver's routing rule).
void attention_decode_any(const Problem& p, int64_t b, int64_t hkv, int64_t r0, int64_t r1, int64_t j0, int64_t j1, const RowState& st,
                          const void*) {
  switch (p.dtype) {
    case tk::DType::kFloat16: return decode_any_rows<F16>(p, b, hkv, r0, r1, j0, j1, st);
    case tk::DType::kBFloat16: return decode_any_rows<BF16>(p, b, hkv, r0, r1, j0, j1, st);
    default: return decode_any_rows<float>(p, b, hkv, r0, r1, j0, j1, st);
  }
}

}  // namespace
