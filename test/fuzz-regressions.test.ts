// Regression tests for what the fuzzers found (fuzz/RESULTS.md): each reproduces the input that
// failed, through the public API, and checks the documented outcome.
import * as fs from 'fs';
import * as path from 'path';
import { Int4Weights, SparseMatrix, Tensor, TensorkernError, spmm } from '../lib';
import { cpuIsas, reportMissingIsas, withIsa } from './helpers/backends';

const expectThrow = (fn: () => unknown, cls: Function, code: string, re: RegExp) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as { code?: string }).code).toBe(code);
  expect((err as Error).message).toMatch(re);
};

describe('fuzz regressions: MatrixMarket', () => {
  test('-0 is written as -0 and reads back as -0 (fuzz matrix_market: the round trip lost the sign)', () => {
    const a = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 .5\n3 2 -0\n');
    expect(Object.is(a.values[1], -0)).toBe(true);
    const text = a.toMatrixMarket();
    expect(text).toContain('3 2 -0\n');
    expect(Object.is(SparseMatrix.fromMatrixMarket(text).values[1], -0)).toBe(true);
  });

  test('an entry count the input cannot hold is a RangeError before any allocation (fuzz matrix_market: Invalid typed array length)', () => {
    const input = '%%MatrixMarket matrix coordinate real general\n3 3 2444444444444444\n1 2 1.5\n3 2 225';
    expectThrow(
      () => SparseMatrix.fromMatrixMarket(input),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /Expected 2444444444444444 entries .*line 2.* room for at most 8 more \(truncated\)/,
    );
    expectThrow(
      () => SparseMatrix.fromMatrixMarket(Buffer.from('%%MatrixMarket matrix array real general\n100000 100000\n1\n')),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /truncated/,
    );
    // The committed reproducer (fuzz/corpus/matrix_market/huge-entries.mtx) says the same.
    const file = path.join(__dirname, '..', 'fuzz', 'corpus', 'matrix_market', 'huge-entries.mtx');
    expectThrow(() => SparseMatrix.fromMatrixMarket(fs.readFileSync(file)), RangeError, 'ERR_INVALID_ARG_VALUE', /truncated/);
  });

  test('a row count beyond memory is ERR_TK_OUT_OF_MEMORY, not a bare RangeError', () => {
    expectThrow(
      () => SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate real general\n9007199254740990 3 0\n'),
      TensorkernError,
      'ERR_TK_OUT_OF_MEMORY',
      /^Expected memory for the row counts \(9007199254740991 entries\)/,
    );
    expectThrow(
      () => SparseMatrix.fromCoo({ rowIdx: [], colIdx: [], values: [], shape: [2 ** 53 - 1, 1] }),
      TensorkernError,
      'ERR_TK_OUT_OF_MEMORY',
      /could not be allocated/,
    );
  });
});

describe('fuzz regressions: Int4Weights.fromBuffer', () => {
  test('a header whose sizes pass 2^32 bytes is truncated, not wrapped (pad4 was 32-bit)', () => {
    const b = new Uint8Array(32);
    const dv = new DataView(b.buffer);
    [0x34574b54, 1, 2 ** 30, 8, 8, 1, 0, 0].forEach((v, i) => dv.setUint32(4 * i, v, true));
    expectThrow(
      () => Int4Weights.fromBuffer(b),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected 8589934624 bytes for N=1073741824, K=8, groupSize=8 .* \(truncated\)/,
    );
  });
});

describe('fuzz regressions: SpMM', () => {
  // fuzz_spmm (UBSan): with cols = 0, B has no storage and the kernels formed d.b + n0 from a null
  // pointer for every column tile past the first. The product is alpha * 0 + beta * c.
  reportMissingIsas('fuzz regressions: SpMM');
  test.each(cpuIsas())('0 columns, N = 300, with and without c (%s)', async (isa) => {
    await withIsa(isa, async () => {
      const a = SparseMatrix.fromCsr({ rowPtr: [0, 0, 0, 0], colIdx: [], values: [], shape: [3, 0] });
      const b = Tensor.from(new Float32Array(0), [0, 300]);
      const y = await spmm(a, b);
      expect(y.shape).toEqual([3, 300]);
      expect(Array.from((await y.toArray()) as Float32Array).every((v) => v === 0)).toBe(true);
      const c = Tensor.from(
        Float32Array.from({ length: 900 }, (_, i) => (i % 7) - 3),
        [3, 300],
      );
      const z = (await (await spmm(a, b, { c, beta: 2 })).toArray()) as Float32Array;
      expect(Array.from(z)).toEqual(Array.from({ length: 900 }, (_, i) => 2 * ((i % 7) - 3)));
    });
  });
});
