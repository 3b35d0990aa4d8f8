// Warm host memory (lib/host-memory.ts, native/core/host_pool.h): op outputs of 64 KiB and up come from a cache
// of mapped blocks. Recycled blocks hold whatever the last tensor left there, so every op must write every
// element of its output: each case below first fills a block with 0xff bytes (NaN / -1), gives it back, and
// checks that the op's default-form output, which reuses that very block, equals the same call with a fresh
// zeroed `out` bit for bit (and, for GEMM, the float64 reference). Then the lifecycle: dispose() gives a block
// back at once and detaches its buffer, async ops pin what they use, outputs dropped in a synchronous loop are
// reclaimed, the cap and trim, the environment variable, worker threads, and runtimes with a moving transfer().
import * as os from 'os';
import {
  SparseMatrix,
  Tensor,
  TensorkernError,
  attention,
  cast,
  castSync,
  gemm,
  gemmSync,
  hostMemoryStats,
  int4MatmulSync,
  quantizeWeightsInt4Sync,
  setHostCacheLimit,
  spmmSync,
  trimHostCache,
  w4a4MatmulSync,
} from '../lib';
import { DType } from '../lib/dtype';
import { runNode } from './helpers/child';
import { makeData } from './helpers/data';
import { expectError } from './helpers/errors';
import { refGemm } from './reference/gemm';

/** A block of this shape's size, filled with 0xff bytes and given back: the next output of that size reuses it. */
function poison(shape: number[], dtype: DType = 'float32'): void {
  const t = Tensor.zeros(shape, { dtype });
  const d = t.toArraySync();
  new Uint8Array(d.buffer, d.byteOffset, d.byteLength).fill(0xff);
  t.dispose();
}

function bytes(t: Tensor): Buffer {
  const d = t.toArraySync();
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Runs `defaultForm` on a poisoned block (checking the cache served it) and compares it with the `out` form's result. */
function onPoisoned(name: string, expected: Tensor, defaultForm: () => Tensor): Tensor {
  poison([...expected.shape], expected.dtype);
  const hits = hostMemoryStats().hits;
  const y = defaultForm();
  expect([name, hostMemoryStats().hits > hits]).toEqual([name, true]); // the poisoned block (and any pooled workspace)
  expect([name, bytes(y).equals(bytes(expected))]).toEqual([name, true]);
  return y;
}

describe('every op writes every element of a recycled output', () => {
  test('gemm: float32 (blocked, skinny M = 1, K = 0 with bias), int8 -> int32; float64 reference', () => {
    const cases: [number, number, number, DType, boolean][] = [
      [80, 301, 70, 'float32', false],
      [1, 16400, 37, 'float32', false],
      [37, 1000, 0, 'float32', true],
      [130, 129, 67, 'int8', false],
    ];
    for (const [M, N, K, dt, withBias] of cases) {
      const a = makeData(dt, M * K, 1),
        b = makeData(dt, K * N, 2),
        bias = makeData('float32', N, 3);
      const A = Tensor.from(a.data, [M, K]),
        B = Tensor.from(b.data, [K, N]);
      const opts = withBias ? { bias: Tensor.from(bias.data, [N]) } : {};
      const out = dt === 'int8' ? Tensor.from(new Int32Array(M * N), [M, N]) : Tensor.from(new Float32Array(M * N), [M, N]);
      gemmSync(A, B, { ...opts, out });
      const y = onPoisoned(`gemm ${M}x${N}x${K} ${dt}`, out, () => gemmSync(A, B, opts));
      const ref = refGemm({ a: a.values, b: b.values, aShape: [M, K], bShape: [K, N], bias: withBias ? bias.values : undefined });
      const got = y.toArraySync() as Float32Array | Int32Array;
      let worst = 0;
      for (let i = 0; i < M * N; i++)
        worst = Math.max(worst, Math.abs(got[i] - ref.out[i]) - (dt === 'int8' ? 0 : (K + 4) * 2 ** -24 * ref.absSum[i] + 1e-30));
      expect([`gemm ${M}x${N}x${K}`, worst <= 0]).toEqual([`gemm ${M}x${N}x${K}`, true]);
    }
  });

  test('spmm with empty rows', () => {
    const rows = 5000,
      cols = 300,
      n = 16;
    const rowPtr = new Int32Array(rows + 1),
      colIdx: number[] = [],
      values: number[] = [];
    for (let r = 0; r < rows; r++) {
      if (r % 2 === 0)
        for (let j = 0; j < 3; j++) {
          colIdx.push((r * 7 + j * 31) % cols);
          values.push(((r + j) % 13) / 13 - 0.5);
        }
      rowPtr[r + 1] = colIdx.length;
    }
    for (let r = 0; r < rows; r++)
      colIdx.splice(rowPtr[r], rowPtr[r + 1] - rowPtr[r], ...colIdx.slice(rowPtr[r], rowPtr[r + 1]).sort((x, y) => x - y));
    const A = SparseMatrix.fromCsr({ rowPtr, colIdx: Int32Array.from(colIdx), values: Float32Array.from(values), shape: [rows, cols] });
    const B = Tensor.from(makeData('float32', cols * n, 4).data, [cols, n]);
    const out = Tensor.from(new Float32Array(rows * n), [rows, n]);
    spmmSync(A, B, { out });
    onPoisoned('spmm', out, () => spmmSync(A, B));
  });

  test('attention with a batch that sees no key (kvLengths 0), and its lse', async () => {
    const Bt = 2,
      H = 2,
      S = 64,
      D = 64;
    const q = Tensor.from(makeData('float32', Bt * H * S * D, 5).data, [Bt, H, S, D]);
    const kv = Tensor.from(makeData('float32', Bt * H * S * D, 6).data, [Bt, H, S, D]);
    const out = Tensor.from(new Float32Array(Bt * H * S * D), [Bt, H, S, D]);
    await attention(q, kv, kv, { kvLengths: [0, 40], out });
    poison([Bt, H, S, D]);
    const y = (await attention(q, kv, kv, { kvLengths: [0, 40] })) as Tensor;
    expect(bytes(y).equals(bytes(out))).toBe(true);
    expect(Array.from((y.toArraySync() as Float32Array).subarray(0, H * S * D)).every((x) => x === 0)).toBe(true);
  });

  test('w4a4, int4 weight-only (its dequantized-weights workspace is pooled too), cast', async () => {
    const M = 64,
      N = 512,
      K = 256;
    const w = quantizeWeightsInt4Sync(Tensor.from(makeData('float32', N * K, 7).data, [N, K]), { groupSize: 64 });
    const x = Tensor.from(makeData('float32', M * K, 8).data, [M, K]);
    const out = Tensor.from(new Float32Array(M * N), [M, N]);
    w4a4MatmulSync(x, w, { out });
    onPoisoned('w4a4', out, () => w4a4MatmulSync(x, w));
    const out2 = Tensor.from(new Float32Array(M * N), [M, N]);
    int4MatmulSync(x, w, { out: out2 });
    onPoisoned('int4 weight-only', out2, () => int4MatmulSync(x, w));
    const v = Tensor.from(makeData('float32', 40000, 9).data, [40000]);
    const c = Tensor.from(new Uint16Array(40000), [40000], { dtype: 'bfloat16' });
    castSync(v, 'bfloat16', { out: c });
    onPoisoned('cast', c, () => castSync(v, 'bfloat16'));
    poison([40000], 'bfloat16');
    expect(bytes(await cast(v, 'bfloat16')).equals(bytes(c))).toBe(true);
  });

  test('Tensor.zeros is zero in every dtype on recycled memory', () => {
    for (const dt of ['float32', 'float16', 'bfloat16', 'int8', 'int4', 'int32', 'int64'] as DType[]) {
      poison([300, 256], dt);
      const z = Tensor.zeros([300, 256], { dtype: dt });
      expect([dt, bytes(z).every((x) => x === 0)]).toEqual([dt, true]);
    }
  });
});

/** The documented default cap: 1/16 of physical memory, at least 64 MiB, at most 1 GiB. */
const DEFAULT_LIMIT = Math.min(2 ** 30, Math.max(64 * 2 ** 20, Math.floor(os.totalmem() / 16)));

describe('lifecycle', () => {
  test('dispose() gives the block back at once and detaches its buffer; reshapes see it; your own arrays are never detached', () => {
    const a = Tensor.from(makeData('float32', 256 * 256, 1).data, [256, 256]);
    const before = hostMemoryStats();
    const y = gemmSync(a, a);
    expect(hostMemoryStats().inUse).toBe(before.inUse + 256 * 256 * 4);
    const arr = y.toArraySync();
    const r = y.reshape([65536]);
    y.dispose();
    expect(hostMemoryStats().inUse).toBe(before.inUse);
    expect(arr.length).toBe(0); // detached: no view can reach memory another tensor may now use
    expect(r.disposed).toBe(true);
    expectError(() => r.toArraySync(), TensorkernError, 'ERR_TK_DISPOSED', /disposed/);
    const mine = new Float32Array(256 * 256);
    const t = Tensor.from(mine, [256, 256]);
    t.dispose();
    expect(mine.length).toBe(256 * 256);
    const small = gemmSync(Tensor.from(new Float32Array(16), [4, 4]), Tensor.from(new Float32Array(16), [4, 4]));
    small.dispose();
    expect(hostMemoryStats().inUse).toBe(before.inUse); // below minBytes: a plain typed array
  });

  test('a tensor disposed while an async op writes it: the op completes, and its block is not lent again until then', async () => {
    const n = 512;
    const a = Tensor.from(makeData('float32', n * n, 2).data, [n, n]);
    const expected = gemmSync(a, a);
    const out = Tensor.zeros([n, n]);
    const p = gemm(a, a, { out });
    out.dispose(); // detached now; the op still holds (pins) the block
    const other = Tensor.zeros([n, n]); // must not get the pinned block
    const inUseDuring = hostMemoryStats().inUse;
    await p;
    expect(hostMemoryStats().inUse).toBeLessThanOrEqual(inUseDuring - n * n * 4); // the pinned block came back when the op ended
    expect(bytes(other).every((x) => x === 0)).toBe(true); // nothing wrote into the new tensor's memory
    const again = await gemm(a, a);
    expect(bytes(again).equals(bytes(expected))).toBe(true);
  });

  test('outputs dropped in a synchronous loop come back without dispose() (the collector finds them dead)', () => {
    const a = Tensor.from(makeData('float32', 40000, 3).data, [40000]);
    const s0 = hostMemoryStats();
    for (let i = 0; i < 300; i++) (castSync(a, 'float32').toArraySync() as Float32Array)[0] += 1;
    const s1 = hostMemoryStats();
    console.log(
      `300 undisposed 160 kB outputs in a sync loop: ${s1.hits - s0.hits} hits, ${s1.misses - s0.misses} misses, ${s1.reclaimed - s0.reclaimed} reclaimed; in use ${((s1.inUse - s0.inUse) / 2 ** 20).toFixed(1)} MiB`,
    );
    expect(s1.misses - s0.misses).toBeLessThanOrEqual(80);
    expect(s1.reclaimed - s0.reclaimed).toBeGreaterThan(150);
    expect(s1.inUse - s0.inUse).toBeLessThan(20 * 2 ** 20);
  });

  test('the cap on idle memory, trim, and argument errors', () => {
    const s0 = hostMemoryStats();
    expect(s0.limit).toBe(DEFAULT_LIMIT);
    expect(s0.pooled).toBe(true);
    expect(s0.minBytes).toBe(65536);
    try {
      setHostCacheLimit(0);
      const y = Tensor.zeros([512, 512]);
      y.dispose();
      expect(hostMemoryStats().cached).toBe(0);
      setHostCacheLimit(64 * 2 ** 20);
      Tensor.zeros([512, 512]).dispose();
      expect(hostMemoryStats().cached).toBeGreaterThan(0);
      const ev = hostMemoryStats().evicted;
      trimHostCache();
      expect(hostMemoryStats().cached).toBe(0);
      expect(hostMemoryStats().evicted).toBeGreaterThan(ev);
    } finally {
      setHostCacheLimit(s0.limit);
    }
    expectError(() => setHostCacheLimit(-1), RangeError, 'ERR_OUT_OF_RANGE', /Expected a byte count \(an integer >= 0\) for bytes/);
    expectError(() => setHostCacheLimit(1.5), RangeError, 'ERR_OUT_OF_RANGE', /bytes/);
    expectError(() => setHostCacheLimit('1' as unknown as number), TypeError, 'ERR_INVALID_ARG_TYPE', /bytes/);
  });

  test('TENSORKERN_HOST_CACHE_MB sets the cap; a bad value warns and keeps the default', () => {
    const ok = runNode("process.stdout.write(String(require('tensorkern').hostMemoryStats().limit))", { TENSORKERN_HOST_CACHE_MB: '16' });
    expect(ok.stdout).toBe(String(16 * 2 ** 20));
    const bad = runNode("process.stdout.write(String(require('tensorkern').hostMemoryStats().limit))", {
      TENSORKERN_HOST_CACHE_MB: 'lots',
    });
    expect(Number(bad.stdout)).toBe(DEFAULT_LIMIT);
    expect(bad.stderr).toMatch(/Expected a whole number of MiB \(0 to 2\^30\) for TENSORKERN_HOST_CACHE_MB but received .*"lots"/);
  });

  test('without the collector nudge (TENSORKERN_GC_NUDGE=0), a synchronous loop stays within the cap of lent memory', () => {
    const code = `
      const tk = require('tensorkern');
      const a = tk.Tensor.from(new Float32Array(262144).fill(1), [262144]);
      let peak = 0;
      for (let i = 0; i < 400; i++) { tk.castSync(a, 'float32'); peak = Math.max(peak, tk.hostMemoryStats().inUse); }
      process.stdout.write(JSON.stringify({ peak }));`;
    const r = runNode(code, { TENSORKERN_GC_NUDGE: '0', TENSORKERN_HOST_CACHE_MB: '16' });
    expect(r.stderr).toBe('');
    const { peak } = JSON.parse(r.stdout) as { peak: number };
    console.log(`no nudge: 400 undisposed 1 MiB outputs, peak pooled memory in use ${(peak / 2 ** 20).toFixed(0)} MiB (cap 256 MiB)`);
    expect(peak).toBeLessThanOrEqual(258 * 2 ** 20);
  });

  test('worker threads allocate, drop and exit; the process carries on', () => {
    const code = `
      const { Worker } = require('worker_threads');
      const src = "const tk = require(" + JSON.stringify(require.resolve('tensorkern')) + "); const a = tk.Tensor.from(new Float32Array(65536).fill(2), [256, 256]); let s = 0; for (let i = 0; i < 50; i++) { const y = tk.gemmSync(a, a); s += y.toArraySync()[0]; if (i % 2) y.dispose(); } require('worker_threads').parentPort.postMessage(s);";
      const tk = require('tensorkern');
      (async () => {
        const sums = await Promise.all([0, 1, 2].map(() => new Promise((res, rej) => { const w = new Worker(src, { eval: true }); w.on('message', res); w.on('error', rej); })));
        await new Promise((r) => setTimeout(r, 50));
        const a = tk.Tensor.from(new Float32Array(65536).fill(1), [256, 256]);
        const y = await tk.gemm(a, a);
        process.stdout.write(JSON.stringify({ sums, y: y.toArraySync()[0] }));
      })();`;
    const r = runNode(code);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { sums: number[]; y: number };
    expect(out.sums).toEqual([50 * 1024, 50 * 1024, 50 * 1024]);
    expect(out.y).toBe(256);
  });

  const moving = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
  (moving ? test : test.skip)('where ArrayBuffer.prototype.transfer exists, a pooled buffer transfers by copy', () => {
    const y = Tensor.zeros([256, 256]);
    const buf = y.toArraySync().buffer as ArrayBuffer & { transfer(): ArrayBuffer };
    new Float32Array(buf)[0] = 7;
    const moved = buf.transfer();
    expect(new Float32Array(moved)[0]).toBe(7);
    expect(buf.byteLength).toBe(256 * 256 * 4); // the original stays: the pool still owns it
  });
  if (!moving)
    console.log(
      `SKIP the transfer() test: this runtime (Node ${process.versions.node}) has no ArrayBuffer.prototype.transfer, so nothing can move a pooled buffer`,
    );
});
