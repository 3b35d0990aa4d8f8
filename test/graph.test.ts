// Op graphs: a recorded sequence replays the same numbers as the ops called one by one (float64
// reference), follows new contents of the bound tensors, refuses what it cannot replay safely, and
// fails with the failing step named.
import { OpGraph, Tensor, TensorkernError, gemm, gemmSync, recordGraph } from '../lib';
import { rng } from './helpers/data';
import { refGemm } from './reference/gemm';

function randn(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

/** y = relu-free two-layer chain in float64: (x W1^T) W2^T. */
function refChain(x: Float32Array, w1: Float32Array, w2: Float32Array, M: number, K: number, H: number, N: number): Float64Array {
  const h = refGemm({ a: x, b: w1, aShape: [M, K], bShape: [H, K], transB: true }).out;
  return refGemm({ a: h, b: w2, aShape: [M, H], bShape: [N, H], transB: true }).out;
}

function expectClose(got: Float32Array, want: Float64Array, tol: number): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  expect(worst).toBeLessThan(tol);
}

describe('recordGraph', () => {
  const M = 3,
    K = 37,
    H = 29,
    N = 41;
  const w1 = randn(H * K, 1),
    w2 = randn(N * H, 2);
  const W1 = Tensor.from(w1, [H, K]),
    W2 = Tensor.from(w2, [N, H]);

  test('records without computing, replays the chain, and follows new input contents', async () => {
    const x = randn(M * K, 3);
    const X = Tensor.from(x, [M, K]);
    const g = recordGraph(() => {
      const h = gemmSync(X, W1, { transB: true });
      return { h, y: gemmSync(h, W2, { transB: true }) };
    });
    expect(g).toBeInstanceOf(OpGraph);
    expect(g.length).toBe(2);
    expect(g.ops).toEqual(['tensorkern:gemm', 'tensorkern:gemm']);
    expect(g.lastRunNs).toBe(-1);
    g.run();
    expectClose(g.result.y.toArraySync() as Float32Array, refChain(x, w1, w2, M, K, H, N), 1e-5);
    expect(g.lastRunNs).toBeGreaterThan(0);
    // New contents of the bound input: the replay reads them.
    const x2 = randn(M * K, 4);
    (X.toArraySync() as Float32Array).set(x2);
    await g.runAsync();
    expectClose(g.result.y.toArraySync() as Float32Array, refChain(x2, w1, w2, M, K, H, N), 1e-5);
    g.dispose();
    expect(g.disposed).toBe(true);
    expect(() => g.run()).toThrow(expect.objectContaining({ code: 'ERR_TK_DISPOSED' }));
  });

  test('an awaited op, a nested recording and an async callback are refused', async () => {
    const X = Tensor.from(randn(M * K, 5), [M, K]);
    let pending: Promise<unknown> | undefined;
    const g = recordGraph(() => {
      pending = gemm(X, W1, { transB: true });
    });
    expect(g.length).toBe(0);
    await expect(pending).rejects.toThrow(/gemmSync.*recordGraph/);
    expect(() => recordGraph(() => gemm(X, W1, { transB: true }))).toThrow(/synchronous function/);
    expect(() => recordGraph(() => recordGraph(() => 1))).toThrow(/do not nest/);
    expect(() => recordGraph((async () => gemmSync(X, W1, { transB: true })) as () => unknown)).toThrow(/synchronous function/);
    expect(() => recordGraph(42 as unknown as () => void)).toThrow(/fn/);
    // After the refusals, Sync ops run again (nothing left recording).
    const y = gemmSync(X, W1, { transB: true });
    expect(y.toArraySync()[0]).not.toBeNaN();
  });

  test('a callback that throws leaves nothing recording', () => {
    const X = Tensor.from(randn(M * K, 6), [M, K]);
    expect(() =>
      recordGraph(() => {
        gemmSync(X, W1, { transB: true });
        gemmSync(X, W2, { transB: true }); // K != H: a shape error at recording
      }),
    ).toThrow(/op\(b\)|rows/);
    const y = gemmSync(X, W1, { transB: true });
    const want = refGemm({ a: X.toArraySync() as Float32Array, b: w1, aShape: [M, K], bShape: [H, K], transB: true }).out;
    expectClose(y.toArraySync() as Float32Array, want, 1e-5);
  });

  test('a disposed bound tensor stops the replay before anything runs', () => {
    // 128 x 128 float32 = 64 KiB: a pooled output, detached by dispose().
    const A = Tensor.from(randn(128 * 128, 7), [128, 128]);
    const g = recordGraph(() => gemmSync(A, A));
    g.run();
    g.result.dispose();
    let err: unknown;
    try {
      g.run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TensorkernError);
    expect((err as TensorkernError).code).toBe('ERR_TK_DISPOSED');
    g.dispose();
  });

  test('a replay in flight refuses another until it settles', async () => {
    const A = Tensor.from(randn(256 * 256, 8), [256, 256]);
    const g = recordGraph(() => gemmSync(A, A));
    const p = g.runAsync(); // the first replay has no timing yet: it takes the worker hop
    expect(() => g.run()).toThrow(/not running/);
    expect(() => g.dispose()).toThrow(/not running/);
    await p;
    g.run();
    const want = refGemm({
      a: A.toArraySync() as Float32Array,
      b: A.toArraySync() as Float32Array,
      aShape: [256, 256],
      bShape: [256, 256],
    }).out;
    expectClose(g.result.toArraySync() as Float32Array, want, 1e-4);
    g.dispose();
  });
});
