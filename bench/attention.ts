// `tensorkern bench attention`: the cases of test/cases/attention.ts (B = 1, D = 64, H = 8 / 16,
// S = 512..2048, causal and not; decode shapes) against the baselines found on the machine, in the
// same run: the project's own unfused GEMM -> softmax -> GEMM (an S x S buffer per head), and
// onnxruntime-node's MultiHeadAttention when installed. Useful GFLOP/s count 4 D flops per visible
// (query, key) pair, exactly (about half the pairs under causal masking). Then one long head
// (S = 32768) in a fresh process: time and the peak memory above the inputs.
import { spawnSync } from 'child_process';
import { Tensor, attentionSync, castSync } from '../lib';
import { native } from '../lib/binding';
import { PACKAGE_ROOT } from '../lib/root';
import { nativeOf } from '../lib/tensor';
import { AttentionCase, attentionBenchCases, attentionFlops } from './cases/attention';
import { AsyncImpl, DEFAULT_FORM, DEFAULT_FORM_WARMUP, Progress, Timing, defaultFormCell, formatTable, measureAsync } from './harness';
import { OrtSession, loadOrt, multiHeadAttentionModel, ortSession } from './onnx';

export interface AttentionBenchOptions {
  device: string;
  sizes?: number[];
  runs?: number;
  log: (line: string) => void;
}

type Result = { medianS: number; minS: number; runs: number; gflops: number } | { skipped: string };

export interface AttentionResult {
  case: string;
  B: number;
  H: number;
  Hkv: number;
  Sq: number;
  Sk: number;
  D: number;
  causal: boolean;
  dtype: string;
  usefulFlops: number;
  kernel: string;
  results: Record<string, Result>;
  /** tensorkern speed / baseline speed (> 1: tensorkern is faster). */
  ratios: Record<string, number>;
}

export interface LongResult {
  S: number;
  D: number;
  causal: boolean;
  seconds: number;
  gflops: number;
  /** Peak resident memory above the inputs and the output during the call. */
  extraMB: number;
}

export interface AttentionBenchReport {
  baselines: Record<string, { available: boolean; version: string; why: string }>;
  cases: AttentionResult[];
  long: LongResult[];
}

function fill(n: number, seed: number): Float32Array {
  let s = seed;
  const d = new Float32Array(n);
  for (let i = 0; i < n; i++) d[i] = ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  return d;
}

/** One call in a fresh process: its time and peak RSS above what was resident before it. */
function longRun(S: number, D: number, causal: boolean): LongResult | { skipped: string } {
  const code = `
    const tk = require(${JSON.stringify(PACKAGE_ROOT)});
    const S = ${S}, D = ${D};
    const fill = (n, s) => { const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; a[i] = s / 4294967296 - 0.5; } return a; };
    const q = tk.Tensor.from(fill(S * D, 1), [1, 1, S, D]), k = tk.Tensor.from(fill(S * D, 2), [1, 1, S, D]), v = tk.Tensor.from(fill(S * D, 3), [1, 1, S, D]);
    const out = tk.Tensor.from(new Float32Array(S * D).fill(1), [1, 1, S, D]);
    tk.attentionSync(tk.Tensor.zeros([1, 1, 64, D]), tk.Tensor.zeros([1, 1, 64, D]), tk.Tensor.zeros([1, 1, 64, D]));
    const fs = require('fs');
    const hwm = () => { try { return Number(/VmHWM:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]) * 1024; } catch { return process.resourceUsage().maxRSS * 1024; } };
    try { fs.writeFileSync('/proc/self/clear_refs', '5'); } catch {}
    const before = process.memoryUsage().rss;
    const t0 = process.hrtime.bigint();
    tk.attentionSync(q, k, v, { causal: ${causal}, out });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(JSON.stringify({ s, extra: hwm() - before }));
  `;
  const r = spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8',
    env: { ...process.env, TENSORKERN_NUM_THREADS: String(native.runtime.getNumThreads()) },
  });
  if (r.status !== 0) return { skipped: `child failed: ${r.stderr.split('\n')[0]}` };
  const { s, extra } = JSON.parse(r.stdout) as { s: number; extra: number };
  const c: AttentionCase = { name: '', B: 1, Hq: 1, Hkv: 1, Sq: S, Sk: S, D, dtype: 'float32', causal };
  return { S, D, causal, seconds: s, gflops: attentionFlops(c) / s / 1e9, extraMB: extra / 2 ** 20 };
}

export async function benchAttention(o: AttentionBenchOptions): Promise<AttentionBenchReport> {
  const threads = native.runtime.getNumThreads();
  const ort = loadOrt();
  const baselines: AttentionBenchReport['baselines'] = {
    plain: { available: true, version: 'tensorkern GEMM -> softmax -> GEMM', why: '' },
    onnxruntime: ort.available
      ? {
          available: true,
          version: `onnxruntime-node ${ort.version}, com.microsoft MultiHeadAttention, ${threads} intra-op threads`,
          why: '',
        }
      : { available: false, version: '', why: ort.why },
  };
  for (const [name, b] of Object.entries(baselines))
    o.log(b.available ? `baseline ${name}: ${b.version}` : `baseline ${name}: missing: ${b.why}`);

  const cases = attentionBenchCases(o.sizes);
  const progress = new Progress(cases.length);
  const out: AttentionResult[] = [];
  for (const [idx, c] of cases.entries()) {
    progress.step(idx, c.name);
    // One set of numbers in both layouts: 'bshd' ([B, S, H*D], what onnxruntime's MultiHeadAttention
    // takes) for tensorkern and onnxruntime, 'bhsd' for the plain baseline (per-head GEMMs).
    const [qd, kd, vd] = [fill(c.B * c.Hq * c.Sq * c.D, 1), fill(c.B * c.Hkv * c.Sk * c.D, 2), fill(c.B * c.Hkv * c.Sk * c.D, 3)];
    const toBhsd = (x: Float32Array, H: number, S: number) => {
      const y = new Float32Array(x.length);
      for (let b = 0; b < c.B; b++)
        for (let s = 0; s < S; s++)
          for (let h = 0; h < H; h++)
            y.set(x.subarray(((b * S + s) * H + h) * c.D, ((b * S + s) * H + h + 1) * c.D), ((b * H + h) * S + s) * c.D);
      return y;
    };
    const q = Tensor.from(qd, [c.B, c.Sq, c.Hq, c.D]),
      k = Tensor.from(kd, [c.B, c.Sk, c.Hkv, c.D]),
      v = Tensor.from(vd, [c.B, c.Sk, c.Hkv, c.D]);
    const qb = Tensor.from(toBhsd(qd, c.Hq, c.Sq), [c.B, c.Hq, c.Sq, c.D]),
      kb = Tensor.from(toBhsd(kd, c.Hkv, c.Sk), [c.B, c.Hkv, c.Sk, c.D]);
    const vb = Tensor.from(toBhsd(vd, c.Hkv, c.Sk), [c.B, c.Hkv, c.Sk, c.D]);
    const o1 = Tensor.zeros(q.shape),
      o2 = Tensor.zeros(qb.shape);
    const impls: AsyncImpl[] = [
      { name: 'tensorkern', run: () => attentionSync(q, k, v, { causal: c.causal, layout: 'bshd', out: o1 }) },
      { name: DEFAULT_FORM, warmup: DEFAULT_FORM_WARMUP, run: () => void attentionSync(q, k, v, { causal: c.causal, layout: 'bshd' }) },
    ];
    // The same call on bfloat16 and float16 inputs (default form): the 16-bit paths against float32's.
    const half = (['bfloat16', 'float16'] as const).map((dt) => ({ dt, q: castSync(q, dt), k: castSync(k, dt), v: castSync(v, dt) }));
    for (const h of half)
      impls.push({
        name: h.dt,
        warmup: DEFAULT_FORM_WARMUP,
        run: () => void attentionSync(h.q, h.k, h.v, { causal: c.causal, layout: 'bshd' }),
      });
    const skipped: Record<string, string> = {};
    let session: OrtSession | undefined;
    if (!ort.available) skipped.onnxruntime = 'onnxruntime-node missing';
    else if (c.causal && c.Sq !== c.Sk)
      skipped.onnxruntime = "causal with Sq != Sk: onnxruntime's unidirectional mask is not bottom-right aligned";
    else {
      // MultiHeadAttention has one head count for q, k and v: GQA cases feed it the KV heads repeated
      // (what running a GQA model through that op takes).
      const g = c.Hq / c.Hkv;
      const rep = (x: Float32Array) => {
        if (g === 1) return x;
        const y = new Float32Array(c.B * c.Sk * c.Hq * c.D);
        for (let r = 0; r < c.B * c.Sk; r++)
          for (let h = 0; h < c.Hq; h++)
            y.set(x.subarray((r * c.Hkv + Math.floor(h / g)) * c.D, (r * c.Hkv + Math.floor(h / g) + 1) * c.D), (r * c.Hq + h) * c.D);
        return y;
      };
      session = await ortSession(
        multiHeadAttentionModel({ B: c.B, S: c.Sq, Sk: c.Sk, numHeads: c.Hq, headDim: c.D, causal: !!c.causal }),
        threads,
      );
      const run = session.prepare({
        query: { data: qd, dims: [c.B, c.Sq, c.Hq * c.D] },
        key: { data: rep(kd), dims: [c.B, c.Sk, c.Hq * c.D] },
        value: { data: rep(vd), dims: [c.B, c.Sk, c.Hq * c.D] },
      });
      // The same numbers: a baseline that computes something else is not a baseline.
      const ref = (await run()).output,
        mine = o1.toArraySync() as Float32Array;
      attentionSync(q, k, v, { causal: c.causal, layout: 'bshd', out: o1 });
      let err = 0;
      for (let i = 0; i < ref.length; i++) err = Math.max(err, Math.abs(ref[i] - mine[i]));
      if (!(err < 1e-4)) throw new Error(`${c.name}: onnxruntime and tensorkern differ by ${err}`);
      impls.push({ name: 'onnxruntime', run });
    }
    if (c.Sq * c.Sk <= 4096 * 4096) {
      impls.push({
        name: 'plain',
        run: () =>
          native.bench.attentionPlain({
            q: nativeOf(qb, 'q'),
            k: nativeOf(kb, 'k'),
            v: nativeOf(vb, 'v'),
            out: nativeOf(o2, 'out'),
            causal: !!c.causal,
            scale: 1 / Math.sqrt(c.D),
          }),
      });
    } else skipped.plain = 'the S x S buffer would not fit';
    // The kernel the 'tensorkern' row runs: what the dispatch records as it runs (one call, before timing).
    attentionSync(q, k, v, { causal: c.causal, layout: 'bshd', out: o1 });
    const kernel = native.debug.lastKernel('attention', 'cpu');
    const flops = attentionFlops(c);
    const timings: Timing[] = await measureAsync(impls, { minRuns: o.runs ?? 5, minTime: 0.5 });
    await session?.release();
    const results: AttentionResult['results'] = {};
    for (const t of timings) results[t.name] = { medianS: t.medianS, minS: t.minS, runs: t.runs, gflops: flops / t.medianS / 1e9 };
    for (const [n, why] of Object.entries(skipped)) results[n] = { skipped: why };
    const ratios: Record<string, number> = {};
    for (const t of timings.slice(1)) ratios[t.name] = t.medianS / timings[0].medianS;
    const def = timings.find((t) => t.name === DEFAULT_FORM);
    for (const t of timings.filter((x) => x.name === 'bfloat16' || x.name === 'float16'))
      if (def) ratios[`${t.name} over float32 (default calls)`] = def.medianS / t.medianS;
    out.push({
      case: c.name,
      B: c.B,
      H: c.Hq,
      Hkv: c.Hkv,
      Sq: c.Sq,
      Sk: c.Sk,
      D: c.D,
      causal: !!c.causal,
      dtype: c.dtype,
      usefulFlops: flops,
      kernel,
      results,
      ratios,
    });
    for (const t of [q, k, v, qb, kb, vb, o1, o2, ...half.flatMap((h) => [h.q, h.k, h.v])]) t.dispose();
  }
  progress.done();

  const names = ['tensorkern', DEFAULT_FORM, 'bfloat16', 'float16', 'onnxruntime', 'plain'];
  const rows = out.map((r) => {
    const cell = (n: string) => {
      const x = r.results[n];
      if (!x) return '';
      if ('skipped' in x) return '-';
      if (n === DEFAULT_FORM) return defaultFormCell(x.gflops, x.medianS, (r.results.tensorkern as { medianS: number }).medianS);
      // 16-bit inputs: their speed over the float32 default call's
      if (n === 'bfloat16' || n === 'float16')
        return `${x.gflops.toFixed(1)} (${((r.results[DEFAULT_FORM] as { medianS: number }).medianS / x.medianS).toFixed(2)}x f32)`;
      return n === 'tensorkern' ? x.gflops.toFixed(1) : `${x.gflops.toFixed(1)} (${r.ratios[n].toFixed(2)}x)`;
    };
    return [r.case, ...names.map(cell)];
  });
  o.log(
    formatTable(
      [
        'case',
        'tensorkern useful GFLOP/s (out reused)',
        'default call (no out)',
        'bfloat16 inputs (vs float32)',
        'float16 inputs (vs float32)',
        'onnxruntime MHA (tk speedup)',
        'plain unfused (tk speedup)',
      ],
      rows,
    ),
  );

  const long: LongResult[] = [];
  if (!o.sizes) {
    for (const causal of [true, false]) {
      o.log(`long: S = 32768, D = 64, one head${causal ? ', causal' : ''} (fresh process)...`);
      const r = longRun(32768, 64, causal);
      if ('skipped' in r) o.log(`  ${r.skipped}`);
      else {
        long.push(r);
        o.log(
          `  ${r.seconds.toFixed(2)} s, ${r.gflops.toFixed(1)} useful GFLOP/s, ${r.extraMB.toFixed(1)} MB above the inputs (the S x S scores would be 4096 MB)`,
        );
      }
    }
  }
  return { baselines, cases: out, long };
}
