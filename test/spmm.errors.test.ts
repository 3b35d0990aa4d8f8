// spmm and SparseMatrix bad input: each a clear error naming the argument, what was expected and what
// was received -- and the native layer, called directly with inconsistent arrays, reports instead of
// reading out of bounds.
import { SparseMatrix, Tensor, spmm, spmmSync } from '../lib';
import { native } from '../lib/binding';
import { expectError, expectReject } from './helpers/errors';
import { describe, test } from './helpers/runner';

const csr = (o: Partial<{ rowPtr: unknown; colIdx: unknown; values: unknown; shape: unknown }>) => () =>
  SparseMatrix.fromCsr({ rowPtr: [0, 1, 2], colIdx: [0, 1], values: [1, 2], shape: [2, 2], ...o } as never);

describe('SparseMatrix.fromCsr bad input', () => {
  test('rowPtr not non-decreasing', () => {
    expectError(
      csr({ rowPtr: [0, 2, 1, 3], colIdx: [0, 1, 0], values: [1, 2, 3], shape: [3, 2] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a value >= rowPtr[1] = 2 (rowPtr must be non-decreasing) for rowPtr[2] but received 1',
    );
  });
  test('rowPtr not ending at nnz, not starting at 0, wrong length', () => {
    expectError(
      csr({ rowPtr: [0, 1, 1] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 2 (the number of nonzeros, the length of colIdx) for rowPtr[2] but received 1',
    );
    expectError(csr({ rowPtr: [1, 1, 2] }), RangeError, 'ERR_INVALID_ARG_VALUE', 'Expected 0 for rowPtr[0] but received 1');
    expectError(
      csr({ rowPtr: [0, 2] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected length 3 (rows + 1) for rowPtr but received length 2',
    );
  });
  test('a column index out of range or negative', () => {
    expectError(
      csr({ colIdx: [0, 2] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a column index in [0, 2) (row 1) for colIdx[1] but received 2',
    );
    expectError(
      csr({ colIdx: new Int32Array([-1, 0]) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a column index in [0, 2) (row 0) for colIdx[0] but received -1',
    );
  });
  test('lengths that disagree', () => {
    expectError(
      csr({ values: [1, 2, 3] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected length 2 (the length of colIdx) for values but received length 3',
    );
    expectError(
      csr({ rowPtr: new BigInt64Array([0n, 1n, 2n]), colIdx: new Int32Array([0, 1]) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      /Expected a BigInt64Array \(the type of rowPtr\) for colIdx but received an instance of Int32Array/,
    );
  });
  test('a BigInt beyond the safe range', () => {
    expectError(
      csr({ rowPtr: new BigInt64Array([0n, 1n, 2n]), colIdx: new BigInt64Array([0n, 2n ** 60n]) }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected an index within the safe integer range (|x| <= 2^53 - 1) for colIdx[1] but received 1152921504606846976n',
    );
  });
  test('wrong types and shapes', () => {
    expectError(
      csr({ colIdx: new Float32Array(2) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected an Int32Array, a BigInt64Array or an array of integers for csr.colIdx but received an instance of Float32Array (length 2)',
    );
    expectError(csr({ shape: [2] }), TypeError, 'ERR_INVALID_ARG_TYPE', 'Expected a [rows, cols] array for csr.shape but received [2]');
    expectError(
      csr({ shape: [2, -1] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative safe integer for csr.shape[1] but received -1',
    );
    expectError(
      csr({ values: ['x', 1] }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a number for csr.values[0] but received type string ("x")',
    );
    expectError(
      () => SparseMatrix.fromCsr({ rowPtr: [0], colIdx: [], values: [], shape: [0, 0], extra: 1 } as never),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /only the keys rowPtr, colIdx, values, shape/,
    );
  });
  test('fromCoo: an index out of range, lengths that disagree', () => {
    expectError(
      () => SparseMatrix.fromCoo({ rowIdx: [0, 3], colIdx: [0, 0], values: [1, 1], shape: [3, 3] }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a row index in [0, 3) for coo.rowIdx[1] but received 3',
    );
    expectError(
      () => SparseMatrix.fromCoo({ rowIdx: [0], colIdx: [0, 0], values: [1, 1], shape: [3, 3] }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected length 2 (the length of coo.values) for coo.rowIdx but received length 1',
    );
  });
  test('fromDense: rank, dtype, threshold', () => {
    expectError(
      () => SparseMatrix.fromDense(Tensor.from(new Float32Array(8), [2, 2, 2])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor for tensor but received shape [2, 2, 2]',
    );
    expectError(
      () => SparseMatrix.fromDense(Tensor.from(new Int32Array(4), [2, 2])),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32, float16 or bfloat16 tensor for tensor but received an int32 tensor',
    );
    expectError(
      () => SparseMatrix.fromDense(Tensor.from(new Float32Array(4), [2, 2]), { threshold: -1 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a non-negative number for options.threshold but received -1',
    );
  });
  test('prepare: unknown format', () => {
    expectError(
      () => SparseMatrix.fromCsr({ rowPtr: [0], colIdx: [], values: [], shape: [0, 0] }).prepare({ format: 'bsr' as never }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected 'auto', 'csr' or 'blocked' for options.format but received type string ("bsr")`,
    );
  });
});

describe('fromMatrixMarket bad input (errors carry the line number)', () => {
  const mm = (s: string) => () => SparseMatrix.fromMatrixMarket(s);
  test('a truncated file', () => {
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 3 4\n1 1 1\n2 2 2\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 4 entries for MatrixMarket input (line 4) but received a file that ends after 2 (truncated)',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n% only a comment\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a size line for MatrixMarket input (line 3) but received the end of the input',
    );
  });
  test('malformed header, size line, index, value, extra entries', () => {
    expectError(
      mm('%MatrixMarket matrix coordinate real general\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected a "%%MatrixMarket matrix <format> <field> <symmetry>" header for MatrixMarket input \(line 1\)/,
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate complex general\n1 1 1\n1 1 1 0\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /field real, integer or pattern \(complex is not supported\) for MatrixMarket input \(line 1\) but received "complex"/,
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 x 1\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a size line "rows cols entries" for MatrixMarket input (line 2) but received "3 x 1"',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n4 1 1\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a row index in [1, 3] for MatrixMarket input (line 4) but received 4',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 3 2\n1 1 1\n2 0 1\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a column index in [1, 3] for MatrixMarket input (line 4) but received 0',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 3 1\n\n1 1 abc\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a real value for MatrixMarket input (line 4) but received "abc"',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate integer general\n3 3 1\n1 1 1.5\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected an integer value for MatrixMarket input (line 3) but received "1.5"',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real general\n3 3 1\n1 1 1\n2 2 2\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      `Expected exactly 1 entries (the size line's count) for MatrixMarket input (line 4) but received more: "2 2 2"`,
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real symmetric\n2 3 1\n1 1 1\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a square matrix for symmetric storage for MatrixMarket input (line 2) but received 2 x 3',
    );
    expectError(
      mm('%%MatrixMarket matrix coordinate real skew-symmetric\n2 2 1\n1 1 1\n'),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected no diagonal entry in a skew-symmetric matrix for MatrixMarket input (line 3) but received (1, 1)',
    );
  });
  test('corrupt gzip and a wrong input type', () => {
    expectError(
      () => SparseMatrix.fromMatrixMarket(Buffer.from([0x1f, 0x8b, 1, 2, 3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      /^Expected valid gzip data for MatrixMarket input but received gzip data that does not decompress/,
    );
    expectError(
      () => SparseMatrix.fromMatrixMarket(42 as never),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a string, a Buffer or a Uint8Array (gzip accepted) for MatrixMarket input but received 42',
    );
  });
});

describe('spmm bad input', () => {
  const a = SparseMatrix.fromCsr({ rowPtr: [0, 1, 2], colIdx: [0, 2], values: [1, 2], shape: [2, 3] });
  const b = Tensor.zeros([3, 4]);
  test("B's rows differ from A's columns", async () => {
    expectError(
      () => spmmSync(a, Tensor.zeros([2, 4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 3 rows (the columns of a, 2x3) for b but received shape [2, 4]',
    );
    await expectReject(
      () => spmm(a, Tensor.zeros([4, 4])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 3 rows (the columns of a, 2x3) for b but received shape [4, 4]',
    );
  });
  test('wrong a, b dtype and rank, c / out shapes, beta without c, overlapping out', () => {
    expectError(() => spmmSync({} as never, b), TypeError, 'ERR_INVALID_ARG_TYPE', 'Expected a SparseMatrix for a but received an object');
    expectError(
      () => spmmSync(a, Tensor.zeros([3, 4], { dtype: 'float16' })),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for b but received a float16 tensor',
    );
    expectError(
      () => spmmSync(a, Tensor.zeros([3])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected a rank-2 tensor [cols, N] for b but received shape [3]',
    );
    expectError(
      () => spmmSync(a, b, { c: Tensor.zeros([2, 5]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected shape [2, 4] for options.c but received shape [2, 5]',
    );
    expectError(
      () => spmmSync(a, b, { out: Tensor.zeros([2, 4], { dtype: 'int32' }) }),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'Expected a float32 tensor for options.out but received an int32 tensor',
    );
    expectError(
      () => spmmSync(a, b, { beta: 2 }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected 0 when no c is given (beta scales c) for options.beta but received 2',
    );
    expectError(
      () => spmmSync(a, b, { alpha: 4e38 }),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'Expected a number a float32 can hold (|alpha| <= 3.4028234663852886e+38) for options.alpha but received 4e+38',
    );
    const storage = new Float32Array(12);
    expectError(
      () => spmmSync(a, Tensor.from(storage, [3, 4]), { out: Tensor.from(storage.subarray(0, 8), [2, 4]) }),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected memory that does not overlap b for options.out but received an overlapping tensor',
    );
  });
});

/** Errors thrown by the addon itself come from its realm: checked by name and code, not instanceof. */
function expectNative(fn: () => unknown, message: string): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeDefined();
  expect((err as Error).name).toBe('RangeError');
  expect((err as { code?: string }).code).toBe('ERR_INVALID_ARG_VALUE');
  expect((err as Error).message).toBe(message);
}

describe('the native spmm called directly with inconsistent arrays reports, never reads out of bounds', () => {
  const t = (data: Int32Array | BigInt64Array | Float32Array, dtype: number) => ({ dtype, shape: [data.length], data });
  const b = { dtype: 0, shape: [3, 8], data: new Float32Array(24) };
  const out = () => ({ dtype: 0, shape: [2, 8], data: new Float32Array(16) });
  const call =
    (rp: Int32Array | BigInt64Array, ci: Int32Array | BigInt64Array, dt = 5) =>
    () =>
      native.ops.spmm(
        {
          rowPtr: t(rp, dt),
          colIdx: t(ci, dt),
          values: t(new Float32Array(ci.length), 0),
          rows: 2,
          cols: 3,
          b,
          out: out(),
          alpha: 1,
          beta: 0,
        },
        false,
      );
  test('column index out of range (int32 and int64), negative', () => {
    expectNative(call(new Int32Array([0, 1, 2]), new Int32Array([0, 3])), 'Expected colIdx in [0, 3) but colIdx[1] = 3 (row 1)');
    expectNative(call(new Int32Array([0, 1, 2]), new Int32Array([-5, 0])), 'Expected colIdx in [0, 3) but colIdx[0] = -5 (row 0)');
    expectNative(
      call(new BigInt64Array([0n, 1n, 2n]), new BigInt64Array([0n, 2n ** 40n]), 6),
      'Expected colIdx in [0, 3) but colIdx[1] = 1099511627776 (row 1)',
    );
  });
  test('rowPtr decreasing inside, or not ending at nnz, or a length mismatch', () => {
    expectNative(
      call(new Int32Array([0, 5, 2]), new Int32Array([0, 1])),
      'Expected rowPtr non-decreasing within [0, nnz] but rowPtr[0] = 0 and rowPtr[1] = 5',
    );
    expectNative(call(new Int32Array([0, 1, 3]), new Int32Array([0, 1])), 'Expected rowPtr[2] = 2 (the number of nonzeros) but received 3');
    expectNative(call(new Int32Array([0, 1]), new Int32Array([0, 1])), 'Expected rowPtr of shape [3] but received [2]');
    expectNative(
      () =>
        native.ops.spmm(
          {
            rowPtr: t(new Int32Array([0, 1, 2]), 5),
            colIdx: t(new Int32Array([0, 1]), 5),
            values: t(new Float32Array(3), 0),
            rows: 2,
            cols: 3,
            b,
            out: out(),
            alpha: 1,
            beta: 0,
          },
          false,
        ),
      'Expected values of shape [2] (the length of colIdx) but received [3]',
    );
  });
  test('a matrix whose arrays were modified after construction is caught at spmm', async () => {
    const m = SparseMatrix.fromCsr({
      rowPtr: new Int32Array([0, 1, 2]),
      colIdx: new Int32Array([0, 1]),
      values: new Float32Array([1, 1]),
      shape: [2, 3],
    });
    (m.colIdx as Int32Array)[1] = 99;
    await expectReject(
      () => spmm(m, Tensor.zeros([3, 70])),
      RangeError,
      'ERR_INVALID_ARG_VALUE',
      'Expected colIdx in [0, 3) but colIdx[1] = 99 (row 1)',
    );
  });
});
