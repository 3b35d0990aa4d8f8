// `tensorkern bench monarch`: monarchMatmul beside the dense gemm a user would otherwise call for the
// same layer (x [batch, n] @ W^T, W [n, n] in the nn.Linear layout), both in the default call form
// (no `out`, default threads, result dropped), interleaved in one run, medians. The goals:
// n = 4096 as 64 blocks of 64, batch 1024: >= 10x the dense gemm's speed (the flops fall 32x), and a
// rate (counted as the two block-diagonal products) >= 50% of the dense gemm's.
import { Tensor, gemmSync, monarchMatmulSync } from '../lib';
import { native } from '../lib/binding';
import { DEFAULT_FORM_WARMUP, Progress, formatTable, measure } from './harness';

export interface MonarchBenchOptions {
  /** n values (default 4096); blocks = sqrt(n) rounded down to a divisor of n. */
  sizes?: number[];
  runs?: number;
  batch?: number;
  log: (line: string) => void;
}

export interface MonarchResult {
  n: number;
  blocks: number;
  batch: number;
  kernel: string;
  monarch: { medianS: number; gflops: number };
  dense: { medianS: number; gflops: number };
  /** dense time / monarch time (goal >= 10 at n = 4096). */
  speedup: number;
  /** monarch GFLOP/s / dense GFLOP/s (goal >= 0.5). */
  rateRatio: number;
}

function fill(n: number, seed: number): Float32Array {
  let s = seed;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  return d;
}

function blocksFor(n: number): number {
  let b = Math.floor(Math.sqrt(n));
  while (n % b !== 0) b--;
  return b;
}

export function benchMonarch(o: MonarchBenchOptions): MonarchResult[] {
  const sizes = o.sizes ?? [4096];
  const batch = o.batch ?? 1024;
  const progress = new Progress(sizes.length);
  const results: MonarchResult[] = [];
  sizes.forEach((n, idx) => {
    const b = blocksFor(n),
      p = n / b;
    progress.step(idx, `n=${n} blocks=${b}`);
    const x = Tensor.from(fill(batch * n, 1), [batch, n]);
    const w1 = Tensor.from(fill(b * b * p, 2), [b, b, p]); // k = b, q = b, p = n / b
    const w2 = Tensor.from(fill(b * p * b, 3), [b, p, b]); // l = b, s = n / b, r = b
    const W = Tensor.from(fill(n * n, 4), [n, n]);
    monarchMatmulSync(x, w1, w2);
    const kernel = native.debug.lastKernel('monarch', 'cpu');
    const [tm, td] = measure(
      [
        { name: 'monarch', warmup: DEFAULT_FORM_WARMUP, run: () => void monarchMatmulSync(x, w1, w2) },
        { name: 'dense gemm', warmup: DEFAULT_FORM_WARMUP, run: () => void gemmSync(x, W, { transB: true }) },
      ],
      { minRuns: o.runs ?? 7, minTime: 1 },
    );
    const mFlops = 2 * batch * (b * b * p + b * p * b),
      dFlops = 2 * batch * n * n;
    const r: MonarchResult = {
      n,
      blocks: b,
      batch,
      kernel,
      monarch: { medianS: tm.medianS, gflops: mFlops / tm.medianS / 1e9 },
      dense: { medianS: td.medianS, gflops: dFlops / td.medianS / 1e9 },
      speedup: td.medianS / tm.medianS,
      rateRatio: mFlops / tm.medianS / (dFlops / td.medianS),
    };
    results.push(r);
  });
  progress.done();
  o.log(`monarch (CPU kernel ${results[0]?.kernel ?? '-'}) vs dense gemm of the same n, default call form, medians:`);
  o.log(
    formatTable(
      ['n', 'blocks', 'batch', 'monarch ms', 'GFLOP/s', 'dense gemm ms', 'GFLOP/s', 'speedup (goal >= 10x)', 'rate ratio (goal >= 50%)'],
      results.map((r) => [
        String(r.n),
        `${r.blocks} of ${r.n / r.blocks}`,
        String(r.batch),
        (r.monarch.medianS * 1e3).toFixed(2),
        r.monarch.gflops.toFixed(1),
        (r.dense.medianS * 1e3).toFixed(2),
        r.dense.gflops.toFixed(1),
        `${r.speedup.toFixed(1)}x`,
        `${(r.rateRatio * 100).toFixed(0)}%`,
      ]),
    ),
  );
  return results;
}
