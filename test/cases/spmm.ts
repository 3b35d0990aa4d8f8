// SpMM correctness cases (test/spmm.test.ts). The random and real matrices, flops and bytes and the bench's
// cases are bench/cases/spmm.ts.
import { SparseMatrix } from '../../lib/sparse/sparse-matrix';
import { loadRealMatrix, randomSparse, realMatrixFiles } from '../../bench/cases/spmm';

export * from '../../bench/cases/spmm';

/** The test suites' table (CPU: test/spmm.test.ts, GPU: test/gpu/spmm.test.ts). */
export interface SpmmTestCase {
  name: string;
  a: () => SparseMatrix;
  ns: number[];
}

function longRow(): SparseMatrix {
  // Row 3 holds 5000 entries, the others one or none: a single row longer than a thread's share.
  const rows = 9,
    cols = 6000;
  const ri: number[] = [],
    ci: number[] = [],
    v: number[] = [];
  for (let c = 0; c < 5000; c++) (ri.push(3), ci.push((c * 7) % cols), v.push(((c % 11) - 5) / 5));
  (ri.push(0, 8), ci.push(1, 5999), v.push(0.5, -2));
  return SparseMatrix.fromCoo({ rowIdx: ri, colIdx: ci, values: v, shape: [rows, cols] });
}

export function spmmTestCases(): SpmmTestCase[] {
  return [
    { name: '1x1 dense', a: () => randomSparse(1, 1, 1, 3), ns: [1, 8, 9] },
    { name: '7x13 30%', a: () => randomSparse(7, 13, 0.3, 4), ns: [1, 3, 8, 17] },
    { name: '33x300 5%', a: () => randomSparse(33, 300, 0.05, 5), ns: [7, 64, 65, 130] },
    { name: '1000x1000 1% (empty rows)', a: () => randomSparse(1000, 1000, 0.001, 6), ns: [1, 33, 64, 257] },
    { name: '1000x700 10% int64 indices', a: () => randomSparse(1000, 700, 0.1, 7, { int64: true }), ns: [5, 64, 100] },
    { name: 'one very long row', a: longRow, ns: [1, 16, 72] },
    {
      name: 'no nonzeros 50x40',
      a: () =>
        SparseMatrix.fromCsr({ rowPtr: new Int32Array(51), colIdx: new Int32Array(0), values: new Float32Array(0), shape: [50, 40] }),
      ns: [1, 64],
    },
    { name: '0 rows', a: () => SparseMatrix.fromCsr({ rowPtr: [0], colIdx: [], values: [], shape: [0, 40] }), ns: [8] },
    { name: '0 cols', a: () => SparseMatrix.fromCsr({ rowPtr: [0, 0, 0], colIdx: [], values: [], shape: [2, 0] }), ns: [8] },
  ];
}
