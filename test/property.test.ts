// Property tests (fast-check) over the public API: random shapes, dtypes, devices, options and
// garbage. Every call either succeeds with the right numbers (checked against the float64 references) or
// fails with a TypeError / RangeError / TensorkernError that carries a string code. Nothing else may escape:
// no plain Error, no crash, no hang, no wrong result.
import fc from 'fast-check';
import * as tk from '../lib';
import { Int4Weights, SparseMatrix, Tensor, TensorkernError } from '../lib';
import { DType } from '../lib/dtype';
import { makeData } from './helpers/data';
import { refGemm } from './reference/gemm';
import { refSpmm } from './reference/spmm';
import { refAttention, refScores } from './reference/attention';

const RUNS = Number(process.env.TK_PROPERTY_RUNS ?? 300);
const abs = Math.abs,
  max = Math.max;

/** The error contract: a known class with a string code. Returns a description of a violation, or null. */
function contractViolation(e: unknown): string | null {
  const ok = e instanceof TypeError || e instanceof RangeError || e instanceof TensorkernError;
  const code = (e as { code?: unknown })?.code;
  if (!ok) return `unexpected error class ${(e as Error)?.constructor?.name}: ${String((e as Error)?.message ?? e)}`;
  if (typeof code !== 'string' || !/^ERR_/.test(code)) return `error without a code: ${(e as Error).message}`;
  return null;
}

/** Runs fn; a failure must meet the contract, a success is returned for checking. */
const tally = { ok: 0, rejected: 0 };
async function attempt<T>(fn: () => T | Promise<T>): Promise<{ ok: true; value: T } | { ok: false }> {
  try {
    const value = await fn();
    tally.ok++;
    return { ok: true, value };
  } catch (e) {
    const v = contractViolation(e);
    if (v) throw new Error(v);
    tally.rejected++;
    return { ok: false };
  }
}
/** Mostly well-formed values, sometimes garbage. */
const mostly = <T>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: a as fc.Arbitrary<unknown>, weight: 5 }, { arbitrary: garbage, weight: 1 });

// Garbage that happens to be a valid thread count (setNumThreads(22)) must not leak into later suites that
// share this jest worker's process (the native pool is per process).
const threadsBefore = tk.getNumThreads();
afterEach(() => {
  tk.setNumThreads(threadsBefore);
  console.log(
    `${expect.getState().currentTestName}: ${tally.ok} calls succeeded (results checked), ${tally.rejected} rejected by the contract`,
  );
  tally.ok = tally.rejected = 0;
});

// Garbage of every kind, for argument positions.
const garbage = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(
    NaN,
    Infinity,
    -1,
    0.5,
    2 ** 53,
    -0,
    '',
    'float32',
    'cuda',
    'cuda:7',
    Symbol('x'),
    () => 1,
    new Float32Array(3),
    new ArrayBuffer(8),
    [1, 2],
    null,
    undefined,
  ),
  fc.bigInt(),
);
const dtypeArb = fc.constantFrom<DType>('float32', 'float16', 'bfloat16', 'int8', 'int32', 'int64', 'int4');
const deviceArb = fc.oneof(
  { arbitrary: fc.constantFrom<unknown>(undefined, undefined, 'cpu', 'auto'), weight: 4 },
  { arbitrary: fc.constantFrom<unknown>('cuda', 'cuda:0', 'cuda:3', 'gpu', 'cuda:-1', 'cuda:x'), weight: 1 },
  { arbitrary: garbage, weight: 1 },
);

function tensorOf(dtype: DType, shape: number[], seed: number): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  if (dtype === 'int64')
    return Tensor.from(
      BigInt64Array.from({ length: n }, (_, i) => BigInt((i * 7 + seed) % 11) - 5n),
      shape,
    );
  const d = makeData(dtype === 'int4' ? 'int8' : dtype, dtype === 'int4' ? Math.ceil(n / 2) : n, seed);
  if (dtype === 'int4') return Tensor.from(new Uint8Array(d.data.buffer, d.data.byteOffset, d.data.byteLength), shape, { dtype });
  return Tensor.from(d.data, shape, { dtype: dtype === 'float16' || dtype === 'bfloat16' ? dtype : undefined });
}
const values = (t: Tensor) => makeValues(t);
function makeValues(t: Tensor): Float64Array {
  const a = t.toArraySync();
  if (t.dtype === 'float16') return Float64Array.from(a as Uint16Array, (h) => tk.float16BitsToFloat32(h));
  if (t.dtype === 'bfloat16') return Float64Array.from(a as Uint16Array, (h) => tk.bfloat16BitsToFloat32(h));
  return Float64Array.from(a as ArrayLike<number>, Number);
}

describe('public API under random and garbage input', () => {
  test('Tensor.from / zeros / cast: random shapes, dtypes, devices and garbage', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Dimensions small, or invalid, or large enough that the product overflows 2^53 (2^27 alone would be a
        // real 512 MB allocation: the size limits have their own test in limits.test.ts).
        fc.array(
          fc.oneof(
            { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 6 },
            fc.constantFrom(-1, 1.5, NaN, Infinity, 2 ** 53, 2 ** 60, '3', 2n),
          ),
          { maxLength: 9 },
        ),
        dtypeArb,
        dtypeArb,
        deviceArb,
        fc.boolean(),
        async (dims, dtype, to, device, useGarbageData) => {
          const shape = dims as number[];
          const made = await attempt(() => {
            if (useGarbageData) return Tensor.from(new Float32Array(7) as never, shape, { dtype, device: device as never });
            return Tensor.zeros(shape, { dtype, device: device as never });
          });
          if (!made.ok) return;
          const t = made.value;
          const n = shape.reduce((a, b) => a * b, 1);
          expect(t.shape).toEqual(shape);
          expect(t.size).toBe(n);
          const c = await attempt(() => tk.cast(t, to));
          if (c.ok) {
            expect(c.value.dtype).toBe(to);
            expect(c.value.shape).toEqual(shape);
            if (n > 0 && !useGarbageData) expect(makeValues(c.value).every((v) => v === 0)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('gemm: random sizes, dtypes, transposes, options and garbage; successes match the float64 reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          M: fc.integer({ min: 0, max: 13 }),
          N: fc.integer({ min: 0, max: 13 }),
          K: fc.integer({ min: 0, max: 19 }),
          kB: fc.integer({ min: 0, max: 19 }), // usually K: a mismatch sometimes
          mismatch: fc.boolean(),
          dtA: dtypeArb,
          dtB: dtypeArb,
          sameDtype: fc.boolean(),
          transA: mostly(fc.boolean()),
          transB: fc.boolean(),
          alpha: mostly(fc.double({ min: -4, max: 4, noNaN: true })),
          withBias: fc.boolean(),
          withC: fc.boolean(),
          beta: fc.double({ min: -2, max: 2, noNaN: true }),
          device: deviceArb,
          sync: fc.boolean(),
          extra: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), garbage, { maxKeys: 2 })),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async (r) => {
          const K2 = r.mismatch ? r.kB : r.K;
          const mk = await attempt(() => ({
            a: tensorOf(r.dtA, r.transA === true ? [r.K, r.M] : [r.M, r.K], r.seed),
            b: tensorOf(r.sameDtype ? r.dtA : r.dtB, r.transB ? [r.N, K2] : [K2, r.N], r.seed + 1),
          }));
          if (!mk.ok) return;
          const { a, b } = mk.value;
          const bias = r.withBias ? tensorOf('float32', [r.N], r.seed + 2) : undefined;
          const c = r.withC ? tensorOf('float32', [r.M, r.N], r.seed + 3) : undefined;
          const opts = {
            transA: r.transA,
            transB: r.transB,
            alpha: r.alpha,
            bias,
            c,
            beta: r.withC ? r.beta : undefined,
            device: r.device,
            ...(r.extra ?? {}),
          } as never;
          const res = await attempt(() => (r.sync ? tk.gemmSync(a, b, opts) : tk.gemm(a, b, opts)));
          if (!res.ok) return;
          const out = res.value;
          expect(out.shape).toEqual([r.M, r.N]);
          const int8 = r.dtA === 'int8';
          const ref = refGemm({
            a: values(a),
            b: values(b),
            aShape: a.shape,
            bShape: b.shape,
            transA: r.transA === true,
            transB: r.transB,
            alpha: typeof r.alpha === 'number' ? r.alpha : 1,
            beta: r.withC ? r.beta : 0,
            c: c && values(c),
            bias: bias && values(bias),
          });
          const got = values(out);
          for (let i = 0; i < got.length; i++) {
            const tol = int8 ? 0 : 1e-5 * (ref.absSum[i] * abs(typeof r.alpha === 'number' ? r.alpha : 1) + 4) + 1e-6;
            if (!(abs(got[i] - ref.out[i]) <= tol))
              throw new Error(`gemm ${JSON.stringify({ ...r, extra: undefined })}: out[${i}] = ${got[i]}, reference ${ref.out[i]}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('SparseMatrix.fromCsr + spmm: random and corrupted CSR, int32 and int64 indices', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 7 }),
        fc.array(fc.tuple(fc.nat(12), fc.nat(12), fc.double({ min: -3, max: 3, noNaN: true })), { maxLength: 30 }),
        fc.constantFrom('none', 'rowPtr', 'colIdx', 'values', 'bigint', 'shape'),
        fc.boolean(),
        fc.boolean(),
        async (rows, cols, n, entries, corrupt, int64, sync) => {
          // A valid CSR from the entries that fit, then maybe one corruption.
          const kept = entries.filter(([i, j]) => i < rows && j < cols).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
          const uniq = kept.filter((e, k) => k === 0 || e[0] !== kept[k - 1][0] || e[1] !== kept[k - 1][1]);
          const rowPtr = new Array(rows + 1).fill(0);
          for (const [i] of uniq) rowPtr[i + 1]++;
          for (let i = 0; i < rows; i++) rowPtr[i + 1] += rowPtr[i];
          const colIdx = uniq.map((e) => e[1]);
          const vals = uniq.map((e) => e[2]);
          let rp: unknown = int64 ? BigInt64Array.from(rowPtr, BigInt) : Int32Array.from(rowPtr);
          let ci: unknown = int64 ? BigInt64Array.from(colIdx, BigInt) : Int32Array.from(colIdx);
          let vs: unknown = Float32Array.from(vals);
          let shape: unknown = [rows, cols];
          if (corrupt === 'rowPtr')
            rp = int64
              ? BigInt64Array.from([...rowPtr.slice(0, -1), rowPtr[rows] + 1].map(BigInt))
              : Int32Array.from([...rowPtr.slice(0, -1), rowPtr[rows] + 1]);
          if (corrupt === 'colIdx' && colIdx.length) ci = Int32Array.from(colIdx.map((c, k) => (k === 0 ? cols + c : c)));
          if (corrupt === 'values') vs = Float32Array.from([...vals, 1]);
          if (corrupt === 'bigint' && colIdx.length) ci = BigInt64Array.from(colIdx.map((c, k) => (k === 0 ? 2n ** 62n : BigInt(c))));
          if (corrupt === 'shape') shape = [rows, -cols - 1];
          const m = await attempt(() => SparseMatrix.fromCsr({ shape, rowPtr: rp, colIdx: ci, values: vs } as never));
          if (!m.ok) return;
          const b = tensorOf('float32', [cols, n], rows * 31 + cols);
          const res = await attempt(() => (sync ? tk.spmmSync(m.value, b) : tk.spmm(m.value, b)));
          if (!res.ok) throw new Error(`spmm rejected a CSR that fromCsr accepted (corrupt = ${corrupt})`);
          const ref = refSpmm({ rows, cols, rowPtr, colIdx, values: Float32Array.from(vals) } as never, values(b), n);
          const got = values(res.value);
          for (let i = 0; i < got.length; i++) {
            if (!(abs(got[i] - ref.y[i]) <= 1e-5 * (ref.mag[i] + 1))) throw new Error(`spmm out[${i}] = ${got[i]}, reference ${ref.y[i]}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('attention: random heads, lengths, layouts, options and garbage; successes match the float64 reference', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          B: fc.integer({ min: 1, max: 2 }),
          Hkv: fc.integer({ min: 1, max: 2 }),
          groups: fc.integer({ min: 1, max: 3 }),
          Sq: fc.integer({ min: 0, max: 9 }),
          Sk: fc.integer({ min: 0, max: 11 }),
          D: fc.constantFrom(1, 3, 8, 16, 33),
          Dv: fc.constantFrom(0, 1, 5), // v's head dim D + Dv (ONNX's v_head_size may differ)
          causal: mostly(fc.boolean()),
          causalOffset: fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 3 },
            { arbitrary: fc.integer({ min: -12, max: 14 }), weight: 2 },
            { arbitrary: garbage, weight: 1 },
          ),
          maskLen: fc.option(fc.integer({ min: 0, max: 13 })), // a rank-1 bool mask of this many keys
          qkStage: fc.option(
            fc.oneof({ arbitrary: fc.constantFrom('qk', 'softcap', 'mask', 'softmax'), weight: 4 }, { arbitrary: garbage, weight: 1 }),
          ),
          softcap: fc.oneof(
            { arbitrary: fc.constant(undefined), weight: 3 },
            { arbitrary: fc.double({ min: 0.5, max: 20, noNaN: true }), weight: 2 },
            { arbitrary: garbage, weight: 1 },
          ),
          scale: fc.oneof(fc.constant(undefined), fc.double({ min: -2, max: 2, noNaN: true })),
          layout: fc.constantFrom<unknown>(undefined, 'bhsd', 'bshd', 'hbsd'),
          device: deviceArb,
          sync: fc.boolean(),
          seed: fc.integer({ min: 1, max: 1e6 }),
        }),
        async (r) => {
          const Hq = r.Hkv * r.groups;
          const bshd = r.layout === 'bshd';
          const shape = (H: number, S: number, D: number) => (bshd ? [r.B, S, H, D] : [r.B, H, S, D]);
          const q = tensorOf('float32', shape(Hq, r.Sq, r.D), r.seed);
          const k = tensorOf('float32', shape(r.Hkv, r.Sk, r.D), r.seed + 1);
          const v = tensorOf('float32', shape(r.Hkv, r.Sk, r.D + r.Dv), r.seed + 2);
          const keep =
            r.maskLen === null
              ? undefined
              : Uint8Array.from({ length: r.maskLen }, (_, j) => ((r.seed >> (j % 16)) & 1) | (j === 0 ? 1 : 0));
          const mask = keep && Tensor.from(keep, [keep.length], { dtype: 'bool' });
          const qkOut = r.qkStage === null ? undefined : Tensor.zeros([r.B, Hq, r.Sq, r.Sk]);
          const qkOutput = qkOut && { out: qkOut, stage: r.qkStage };
          const opts = {
            causal: r.causal,
            causalOffset: r.causalOffset,
            softcap: r.softcap,
            scale: r.scale,
            layout: r.layout,
            device: r.device,
            mask,
            qkOutput,
          } as never;
          const res = await attempt(() => (r.sync ? tk.attentionSync(q, k, v, opts) : tk.attention(q, k, v, opts)));
          if (!res.ok) return;
          const off = r.causalOffset as number | undefined;
          if (off !== undefined) expect([r.causal, off >= -r.Sq && off <= r.Sk]).toEqual([true, true]);
          if (keep) expect(keep.length === 1 || keep.length === r.Sk || (keep.length >= 1 && keep.length < r.Sk)).toBe(true);
          const ref = refAttention({
            q: values(q),
            k: values(k),
            v: values(v),
            B: r.B,
            Hq,
            Hkv: r.Hkv,
            Sq: r.Sq,
            Sk: r.Sk,
            D: r.D,
            Dv: r.D + r.Dv,
            layout: bshd ? 'bshd' : 'bhsd',
            causal: r.causal === true,
            causalOffset: off,
            scale: r.scale,
            softcap: r.softcap as number | undefined,
            mask: keep && { values: Float64Array.from(keep), shape: [keep.length], bool: true },
          });
          if (qkOut) {
            const stage = r.qkStage as 'qk' | 'softcap' | 'mask' | 'softmax';
            const want = refScores(
              {
                q: values(q),
                k: values(k),
                v: values(v),
                B: r.B,
                Hq,
                Hkv: r.Hkv,
                Sq: r.Sq,
                Sk: r.Sk,
                D: r.D,
                layout: bshd ? 'bshd' : 'bhsd',
                causal: r.causal === true,
                causalOffset: off,
                scale: r.scale,
                softcap: r.softcap as number | undefined,
                mask: keep && { values: Float64Array.from(keep), shape: [keep.length], bool: true },
              },
              stage,
            );
            const have = values(qkOut);
            for (let i = 0; i < have.length; i++) {
              const ok = want[i] === -Infinity ? have[i] === -Infinity : abs(have[i] - want[i]) <= 2 ** -22 * abs(want[i]) + 1e-30;
              if (!ok) throw new Error(`attention qkOutput ${JSON.stringify(r)}: [${i}] = ${have[i]}, reference ${want[i]}`);
            }
          }
          const got = values(res.value as unknown as Tensor);
          for (let i = 0; i < got.length; i++) {
            const e = abs(got[i] - ref.out[i]);
            if (!(e <= 2e-5 * max(1, abs(ref.out[i])) + 1e-5))
              throw new Error(`attention ${JSON.stringify(r)}: out[${i}] = ${got[i]}, reference ${ref.out[i]}`);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('w4a4: quantize and matmul with random sizes, group sizes and garbage; Int4Weights.fromBuffer on corrupted buffers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 9 }),
        fc.integer({ min: 0, max: 9 }),
        fc.constantFrom(0, 2, 8, 32, 34, 64),
        mostly(fc.constantFrom<unknown>('channel', 2, 8, 16, 32, 3, 0, -2)),
        fc.constantFrom('w4a4', 'w4a8', 'int4'),
        fc.array(fc.tuple(fc.nat(4096), fc.nat(255)), { maxLength: 4 }),
        fc.boolean(),
        async (M, N, K, groupSize, kind, flips, sync) => {
          const w = tensorOf('float32', [N, K], N * 100 + K);
          const q = await attempt(() =>
            sync
              ? tk.quantizeWeightsInt4Sync(w, { groupSize: groupSize as never })
              : tk.quantizeWeightsInt4(w, { groupSize: groupSize as never }),
          );
          if (!q.ok) return;
          const x = tensorOf('float32', [M, K], M * 7 + K);
          const fn = kind === 'w4a4' ? tk.w4a4Matmul : kind === 'w4a8' ? tk.w4a8Matmul : tk.int4Matmul;
          const res = await attempt(() => fn(x, q.value));
          if (!res.ok)
            throw new Error(`${kind} rejected weights its own quantizer made (M ${M}, N ${N}, K ${K}, groupSize ${String(groupSize)})`);
          expect(res.value.shape).toEqual([M, N]);
          expect(makeValues(res.value).every(Number.isFinite)).toBe(true);
          // The serialized weights, round-tripped and then corrupted: a clean load or a contract error.
          const buf = q.value.toBuffer();
          const back = Int4Weights.fromBuffer(buf);
          expect(Buffer.from(back.toBuffer()).equals(Buffer.from(buf))).toBe(true);
          const bad = Uint8Array.from(buf);
          for (const [pos, val] of flips) if (bad.length) bad[pos % bad.length] = val;
          const loaded = await attempt(() =>
            Int4Weights.fromBuffer(bad.subarray(0, flips.length % 2 ? bad.length - ((flips[0]?.[0] ?? 0) % (bad.length + 1)) : bad.length)),
          );
          if (loaded.ok) {
            // Whatever it holds, the op either runs or errors cleanly. A flip in the header of a K = 0 buffer can
            // declare a consistent N in the billions (every section is empty); the output [M, N] of zeros would
            // then take seconds to gigabytes to fill, so such weights meet an x of no rows.
            const xs = M * loaded.value.N > 1 << 20 ? tensorOf('float32', [0, loaded.value.K], 1) : x;
            await attempt(() => fn(xs, loaded.value));
          }
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('every op given garbage in every argument position fails by the contract', async () => {
    const good = Tensor.from(new Float32Array(4), [2, 2]);
    const ops: ((a: unknown, b: unknown, c: unknown) => unknown)[] = [
      (a, b) => tk.gemmSync(a as never, b as never),
      (a, b, c) => tk.gemm(good, a as never, b as never).then(() => c),
      (a, b) => tk.castSync(a as never, b as never),
      (a, b) => tk.cast(good, a as never, b as never),
      (a, b, c) => tk.attentionSync(a as never, b as never, c as never),
      (a, b) => tk.attention(good, good, good, a as never).then(() => b),
      (a, b) => tk.spmmSync(a as never, b as never),
      (a) => SparseMatrix.fromCsr(a as never),
      (a) => SparseMatrix.fromCoo(a as never),
      (a) => SparseMatrix.fromMatrixMarket(a as never),
      (a) => Int4Weights.fromBuffer(a as never),
      (a, b) => tk.quantizeWeightsInt4Sync(a as never, b as never),
      (a, b) => tk.w4a4MatmulSync(a as never, b as never),
      (a, b) => tk.Tensor.from(a as never, b as never),
      (a, b) => tk.Tensor.zeros(a as never, b as never),
      (a) => tk.setNumThreads(a as never),
      (a) => tk.memoryInfo(a as never),
    ];
    await fc.assert(
      fc.asyncProperty(fc.nat(ops.length - 1), garbage, garbage, garbage, async (i, a, b, c) => {
        await attempt(() => ops[i](a, b, c));
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
