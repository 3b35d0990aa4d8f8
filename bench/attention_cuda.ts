// `tensorkern bench attention --device cuda`: tensorkern's fused CUDA attention against the
// materialized baseline (cuBLAS S = scale Q K^T -> softmax kernel -> cuBLAS P V, an Sq x Sk buffer per
// head; cuBLAS by dlopen, the GEMM bench's loader) on the same device tensors, timed with CUDA events
// (median of runs after warm-up). The targets: D = 128, S = 8192 (and 2048 / 4096), fp16 /
// bf16, causal and not (useful TFLOP/s count only visible pairs: causal does half the work); decode
// (Sq = 1 / 4, long Sk, GQA) as GB/s of K / V read. On compute capability 9.0 the opt-in sm90 kernel
// (wgmma + TMA) is also timed, forced through the test hook, for D = 128, S = 8192, float16, causal and
// not, next to the default tier (sm80) and the baseline.
import { CudaDeviceInfo, Tensor, devices } from '../lib';
import { native } from '../lib/binding';
import { DType } from '../lib/dtype';
import { nativeOf } from '../lib/tensor';
import { AttentionCase, attentionFlops, caseName } from './cases/attention';
import { formatTable, median, Progress } from './harness';

export interface AttentionCudaBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

type Timed = { medianS: number; minS: number; runs: number; tflops: number; kvGBs: number } | { skipped: string };

export interface AttentionCudaResult {
  case: string;
  usefulFlops: number;
  kvBytes: number;
  kernel: string;
  tensorkern: Timed;
  baseline: Timed;
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratio?: number;
  /** The opt-in sm90 kernel (compute capability 9.0, D = 128, S = 8192, float16 only), forced. */
  sm90?: Timed;
  sm90Kernel?: string;
}

/** Whether the sm90 tier is timed for this case (on a 9.0 device). */
export const timesSm90 = (c: AttentionCase): boolean => c.D === 128 && c.Sq === 8192 && c.Sk === 8192 && c.dtype === 'float16';

function onSm90(device: string): boolean {
  const idx = Number(device.split(':')[1] ?? 0);
  const g = devices().filter((d): d is CudaDeviceInfo => d.kind === 'cuda')[idx];
  return !!g && g.computeCapability === '9.0';
}

const mk = (c: Omit<AttentionCase, 'name'>): AttentionCase => ({ name: caseName(c), ...c });

export function attentionCudaBenchCases(sizes?: number[]): AttentionCase[] {
  const cases: AttentionCase[] = [];
  for (const S of sizes ?? [2048, 4096, 8192])
    for (const dtype of ['bfloat16', 'float16'] as DType[])
      for (const causal of [false, true]) {
        const H = 16,
          B = Math.max(1, Math.floor(16384 / S)); // ~same work per size
        cases.push(mk({ B, Hq: H, Hkv: H, Sq: S, Sk: S, D: 128, dtype, causal }));
      }
  cases.push(mk({ B: 1, Hq: 32, Hkv: 8, Sq: 1, Sk: 32768, D: 128, dtype: 'bfloat16' }));
  cases.push(mk({ B: 8, Hq: 32, Hkv: 8, Sq: 1, Sk: 8192, D: 128, dtype: 'bfloat16' }));
  cases.push(mk({ B: 8, Hq: 32, Hkv: 32, Sq: 1, Sk: 8192, D: 128, dtype: 'bfloat16' })); // MHA decode: the decode kernel
  cases.push(mk({ B: 4, Hq: 32, Hkv: 8, Sq: 2, Sk: 16384, D: 128, dtype: 'float16', causal: true })); // 8 packed rows
  cases.push(mk({ B: 1, Hq: 32, Hkv: 8, Sq: 4, Sk: 16384, D: 128, dtype: 'bfloat16', causal: true }));
  return cases;
}

export function benchAttentionCuda(o: AttentionCudaBenchOptions): {
  cublas: ReturnType<typeof native.bench.cublasLoad>;
  cases: AttentionCudaResult[];
} {
  const cublas = native.bench.cublasLoad();
  o.log(
    cublas.available
      ? `baseline cuBLAS ${cublas.version} (${cublas.path}) GEMM -> softmax -> GEMM, materialized`
      : `baseline cuBLAS: missing: ${cublas.why}`,
  );
  const cases = attentionCudaBenchCases(o.sizes);
  const sm90 = onSm90(o.device);
  if (!sm90) o.log('sm90 kernel: not timed (the device is not compute capability 9.0)');
  const progress = new Progress(cases.length);
  const out: AttentionCudaResult[] = [];
  cases.forEach((c, idx) => {
    progress.step(idx, c.name);
    const fill = (n: number, shape: number[]) =>
      Tensor.from(
        new Uint16Array(n).map((_, i) => (c.dtype === 'bfloat16' ? 0x3f80 ^ ((i * 7919) & 0x7f) : 0x3c00 ^ ((i * 7919) & 0x03ff))),
        shape,
        { dtype: c.dtype, device: o.device as 'cuda' },
      );
    const q = fill(c.B * c.Hq * c.Sq * c.D, [c.B, c.Hq, c.Sq, c.D]);
    const k = fill(c.B * c.Hkv * c.Sk * c.D, [c.B, c.Hkv, c.Sk, c.D]);
    const v = fill(c.B * c.Hkv * c.Sk * c.D, [c.B, c.Hkv, c.Sk, c.D]);
    const y = Tensor.zeros([c.B, c.Hq, c.Sq, c.D], { dtype: c.dtype, device: o.device as 'cuda' });
    const flops = attentionFlops(c);
    const kvBytes = 2 * 2 * c.B * c.Hkv * c.Sk * c.D;
    const runs = o.runs ?? (flops > 1e12 ? 10 : 30);
    const time = (which: string): Timed => {
      try {
        const t = native.bench.gpuAttentionTime(
          which,
          {
            q: nativeOf(q, 'q'),
            k: nativeOf(k, 'k'),
            v: nativeOf(v, 'v'),
            out: nativeOf(y, 'out'),
            causal: !!c.causal,
            scale: 1 / Math.sqrt(c.D),
          },
          3,
          runs,
        );
        const m = median(t);
        return { medianS: m, minS: Math.min(...t), runs: t.length, tflops: flops / m / 1e12, kvGBs: kvBytes / m / 1e9 };
      } catch (e) {
        return { skipped: (e as Error).message };
      }
    };
    const tk = time('tensorkern');
    const kernel = native.debug.lastKernel('attention', 'cuda');
    const base = cublas.available ? time('cublas') : { skipped: 'library missing' };
    const r: AttentionCudaResult = { case: c.name, usefulFlops: flops, kvBytes, kernel, tensorkern: tk, baseline: base };
    if ('medianS' in tk && 'medianS' in base) r.ratio = base.medianS / tk.medianS;
    if (sm90 && timesSm90(c)) {
      native.debug.setPath('attention', 'cuda', 'sm90', 0);
      try {
        r.sm90 = time('tensorkern');
        r.sm90Kernel = native.debug.lastKernel('attention', 'cuda');
      } finally {
        native.debug.setPath('attention', 'cuda', 'auto', 0);
      }
    }
    out.push(r);
    for (const t of [q, k, v, y]) t.dispose();
  });
  progress.done();
  const f = (t: Timed, w: 'tflops' | 'kvGBs') => ('medianS' in t ? t[w].toFixed(1) : '-');
  const rows = out.map((r) => [
    r.case,
    r.kernel,
    f(r.tensorkern, 'tflops'),
    f(r.tensorkern, 'kvGBs'),
    f(r.baseline, 'tflops'),
    r.ratio !== undefined ? `${r.ratio.toFixed(2)}x` : '-',
  ]);
  o.log(formatTable(['case', 'kernel', 'tensorkern TFLOP/s', 'KV GB/s', 'baseline TFLOP/s', 'tk / baseline'], rows));
  const s90 = out.filter((r) => r.sm90);
  if (s90.length)
    o.log(
      formatTable(
        ['case', 'sm90 kernel', 'sm90 TFLOP/s', 'default kernel', 'default TFLOP/s', 'baseline TFLOP/s', 'sm90 / default'],
        s90.map((r) => [
          r.case,
          r.sm90Kernel ?? '-',
          f(r.sm90!, 'tflops'),
          r.kernel,
          f(r.tensorkern, 'tflops'),
          f(r.baseline, 'tflops'),
          'medianS' in r.sm90! && 'medianS' in r.tensorkern ? `${(r.tensorkern.medianS / r.sm90!.medianS).toFixed(2)}x` : '-',
        ]),
      ),
    );
  for (const r of s90) if ('skipped' in r.sm90!) o.log(`${r.case}: sm90 skipped: ${r.sm90!.skipped}`);
  for (const r of out) if ('skipped' in r.tensorkern) o.log(`${r.case}: tensorkern skipped: ${r.tensorkern.skipped}`);
  return { cublas, cases: out };
}
