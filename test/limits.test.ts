// Size limits: byte counts that overflow, shapes past 2^31 elements, and BigInt indices beyond the
// safe range are rejected before anything is allocated or read, with a RangeError naming the argument; and a
// tensor past 2^31 elements that does fit is indexed with 64-bit offsets (a GEMM over one, checked exactly).
import { constants as bufferConstants } from 'buffer';
import { SparseMatrix, Tensor, float32ToBFloat16Bits, gemm } from '../lib';
import { native } from '../lib/binding';
import { DTYPES } from '../lib/dtype';
import { expectError } from './helpers/errors';

const sanitizer = process.env.TK_SANITIZER;

describe('byte counts that overflow are rejected before allocation', () => {
  test('shapes whose element count passes 2^53', () => {
    for (const shape of [
      [2 ** 30, 2 ** 30],
      [2 ** 27, 2 ** 27, 2],
      [3, 2 ** 52],
    ]) {
      expectError(() => Tensor.zeros(shape), RangeError, 'ERR_OUT_OF_RANGE', /at most 2\^53 - 1 elements/);
    }
  });

  test('shapes whose storage is beyond the largest typed array (checked before the constructor runs)', () => {
    const max = bufferConstants.MAX_LENGTH;
    const t0 = Date.now();
    for (const [shape, dtype] of [
      [[max + 1], 'int8'],
      [[2 ** 50], 'float32'],
      [[2 ** 51], 'int64'],
      [[2 ** 51, 3], 'bfloat16'],
    ] as const) {
      expectError(
        () => Tensor.zeros(shape as unknown as number[], { dtype }),
        RangeError,
        'ERR_OUT_OF_RANGE',
        /largest typed array.*for shape but received/,
      );
    }
    expect(Date.now() - t0).toBeLessThan(1000); // nothing was allocated or zeroed
  });

  test('the native side re-checks: element counts past 2^53 and byte counts against the buffer, before any read', () => {
    const f32 = DTYPES.float32.code,
      i64 = DTYPES.int64.code;
    const tiny = new Float32Array(4);
    const call = (src: object) => () =>
      native.ops.cast({ src: src as never, dst: { dtype: DTYPES.float16.code, shape: [4], data: new Uint16Array(4) } }, false);
    expect(call({ dtype: f32, shape: [2 ** 40, 2 ** 40], data: tiny })).toThrow(/2\^53 elements/);
    expect(call({ dtype: i64, shape: [2 ** 52, 2 ** 52], data: new BigInt64Array(4) })).toThrow(/2\^53 elements/);
    expect(call({ dtype: f32, shape: [2 ** 31, 2], data: tiny })).toThrow(/Expected 17179869184 bytes .* but received 16/);
    expect(call({ dtype: f32, shape: [2 ** 53 + 2], data: tiny })).toThrow(/non-negative integer|2\^53/);
  });
});

describe('BigInt indices beyond the safe integer range', () => {
  const big = [2n ** 53n, 2n ** 62n, -(2n ** 60n)];
  test('fromCsr / fromCoo reject them, naming the array and the index', () => {
    for (const v of big) {
      expectError(
        () =>
          SparseMatrix.fromCsr({
            shape: [2, 3],
            rowPtr: new BigInt64Array([0n, 1n, 2n]),
            colIdx: new BigInt64Array([0n, v]),
            values: new Float32Array(2),
          }),
        RangeError,
        'ERR_OUT_OF_RANGE',
        /colIdx\[1\]/,
      );
      expectError(
        () =>
          SparseMatrix.fromCsr({
            shape: [2, 3],
            rowPtr: new BigInt64Array([0n, v, 2n]),
            colIdx: new BigInt64Array([0n, 1n]),
            values: new Float32Array(2),
          }),
        RangeError,
        'ERR_OUT_OF_RANGE',
        /rowPtr\[1\]/,
      );
      expectError(
        () =>
          SparseMatrix.fromCoo({
            shape: [2, 3],
            rowIdx: new BigInt64Array([v]),
            colIdx: new BigInt64Array([0n]),
            values: new Float32Array(1),
          }),
        RangeError,
        'ERR_OUT_OF_RANGE',
        /rowIdx\[0\]/,
      );
    }
  });

  test('the native SpMM re-checks int64 indices (an array changed after fromCsr) and reports the bad entry', () => {
    const m = SparseMatrix.fromCsr({
      shape: [2, 3],
      rowPtr: new BigInt64Array([0n, 1n, 2n]),
      colIdx: new BigInt64Array([0n, 2n]),
      values: new Float32Array([1, 2]),
    });
    const b = Tensor.from(new Float32Array(6), [3, 2]);
    for (const v of [2n ** 53n, 2n ** 62n, -1n, 3n]) {
      (m.colIdx as BigInt64Array)[1] = v;
      expect(() => require('../lib').spmmSync(m, b)).toThrow(/colIdx/);
    }
  });
});

describe('tensors past 2^31 elements', () => {
  const skip = sanitizer ? `under ${sanitizer} (a 4 GB operand with shadow memory is too slow there)` : null;
  (skip ? test.skip : test)('a bf16 GEMM over a [65537, 32768] weight (2^31 + 32768 elements) is exact at the far end', async () => {
    const K = 65537,
      N = 32768;
    const w = Tensor.zeros([K, N], { dtype: 'bfloat16' });
    const wv = w.toArraySync() as Uint16Array;
    // Small integers (exact in bf16 and in a float32 sum) in the first row and the last two, the last
    // one lying wholly past element 2^31.
    const rowsUsed = [0, K - 2, K - 1],
      xs = [1, 2, 3];
    const val = (r: number, j: number) => ((r + j * 7) % 9) - 4;
    for (const r of rowsUsed) for (let j = 0; j < N; j += 61) wv[r * N + j] = float32ToBFloat16Bits(val(r, j));
    const x = Tensor.zeros([1, K], { dtype: 'bfloat16' });
    const xv = x.toArraySync() as Uint16Array;
    rowsUsed.forEach((r, i) => (xv[r] = float32ToBFloat16Bits(xs[i])));
    const out = (await gemm(x, w)).toArraySync() as Float32Array;
    let bad = 0;
    for (let j = 0; j < N; j++) {
      const want = j % 61 === 0 ? rowsUsed.reduce((s, r, i) => s + xs[i] * val(r, j), 0) : 0;
      if (out[j] !== want) bad++;
    }
    expect(bad).toBe(0);
  });
  if (skip) console.log(`SKIP the 2^31-element GEMM ${skip}`);
});
