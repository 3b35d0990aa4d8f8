// SpMM cases shared by the tests and the bench: random matrices of a given density, the real
// matrices of ../shared/data/sparse (pattern files get deterministic values), and N values.
import * as fs from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { SparseMatrix } from '../../lib/sparse/sparse-matrix';
import { PACKAGE_ROOT } from '../../lib/root';

const imul = Math.imul;

/** Deterministic random CSR: each entry present with probability `density`, values in [-1, 1). */
export function randomSparse(rows: number, cols: number, density: number, seed: number, opts: { int64?: boolean } = {}): SparseMatrix {
  let s = seed >>> 0 || 1;
  const th = density * 4294967296;
  const rowPtr = new Int32Array(rows + 1);
  const colList: number[] = [];
  const valList: number[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      s = (imul(s, 1664525) + 1013904223) >>> 0;
      if (s < th) {
        colList.push(c);
        s = (imul(s, 1664525) + 1013904223) >>> 0;
        valList.push((s / 4294967296) * 2 - 1);
      }
    }
    rowPtr[r + 1] = colList.length;
  }
  const values = Float32Array.from(valList);
  if (opts.int64) {
    return SparseMatrix.fromCsr({ rowPtr: BigInt64Array.from(rowPtr, (x) => BigInt(x)), colIdx: BigInt64Array.from(colList, (x) => BigInt(x)), values, shape: [rows, cols] });
  }
  return SparseMatrix.fromCsr({ rowPtr, colIdx: Int32Array.from(colList), values, shape: [rows, cols] });
}

export const SPARSE_DIR = path.join(PACKAGE_ROOT, '..', 'shared', 'data', 'sparse');

/** The real matrices (file names), biggest-first order is not implied. Empty when the folder is absent. */
export function realMatrixFiles(): string[] {
  if (!fs.existsSync(SPARSE_DIR)) return [];
  return fs.readdirSync(SPARSE_DIR).filter((f) => f.endsWith('.mtx.gz')).sort();
}

/**
 * A real matrix as read by fromMatrixMarket. Pattern matrices (all ones after reading) get
 * deterministic values instead, a function of the entry's row and column: ones would hide
 * mistakes in which value goes with which column.
 */
export function loadRealMatrix(file: string): SparseMatrix {
  const text = gunzipSync(fs.readFileSync(path.join(SPARSE_DIR, file))).toString('utf8');
  const m = SparseMatrix.fromMatrixMarket(text);
  if (!/^%%MatrixMarket\s+matrix\s+\S+\s+pattern/i.test(text)) return m;
  const values = new Float32Array(m.nnz);
  for (let r = 0; r < m.rows; r++) {
    for (let p = Number(m.rowPtr[r]); p < Number(m.rowPtr[r + 1]); p++) {
      values[p] = (((r * 7 + Number(m.colIdx[p]) * 13) % 17) - 8) / 8;
    }
  }
  return SparseMatrix.fromCsr({ rowPtr: m.rowPtr, colIdx: m.colIdx, values, shape: [m.rows, m.cols] });
}

export interface SpmmBenchCase {
  name: string;
  /** Builds the matrix (random ones are generated, real ones read). */
  matrix: () => SparseMatrix;
  ns: number[];
  real: boolean;
}

/** The bench's table: random 8192^2 at 1% and 10%, and every real matrix present. */
export function spmmBenchCases(ns: number[]): SpmmBenchCase[] {
  const cases: SpmmBenchCase[] = [
    { name: 'random 8192x8192 1%', matrix: () => randomSparse(8192, 8192, 0.01, 1), ns, real: false },
    { name: 'random 8192x8192 10%', matrix: () => randomSparse(8192, 8192, 0.1, 2), ns, real: false },
  ];
  for (const f of realMatrixFiles()) cases.push({ name: f.replace('.mtx.gz', ''), matrix: () => loadRealMatrix(f), ns, real: true });
  return cases;
}

export function spmmFlops(nnz: number, n: number): number {
  return 2 * nnz * n;
}

/**
 * The least memory traffic of one product: A's indices and values and row pointers read once, each
 * distinct column's row of B read once, out written once (and read for write-allocate, which we do
 * not count).
 */
export function spmmBytes(m: SparseMatrix, n: number): number {
  const idx = m.indexType === 'int64' ? 8 : 4;
  const used = new Uint8Array(m.cols);
  for (let p = 0; p < m.nnz; p++) used[Number(m.colIdx[p])] = 1;
  let distinct = 0;
  for (let c = 0; c < m.cols; c++) distinct += used[c];
  return m.nnz * (idx + 4) + (m.rows + 1) * idx + distinct * n * 4 + m.rows * n * 4;
}

/** The test suites' table (CPU: test/spmm.test.ts, GPU: test/gpu/spmm.test.ts). */
export interface SpmmTestCase {
  name: string;
  a: () => SparseMatrix;
  ns: number[];
}

function longRow(): SparseMatrix {
  // Row 3 holds 5000 entries, the others one or none: a single row longer than a thread's share.
  const rows = 9, cols = 6000;
  const ri: number[] = [], ci: number[] = [], v: number[] = [];
  for (let c = 0; c < 5000; c++) (ri.push(3), ci.push((c * 7) % cols), v.push(((c % 11) - 5) / 5));
  ri.push(0, 8), ci.push(1, 5999), v.push(0.5, -2);
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
    { name: 'no nonzeros 50x40', a: () => SparseMatrix.fromCsr({ rowPtr: new Int32Array(51), colIdx: new Int32Array(0), values: new Float32Array(0), shape: [50, 40] }), ns: [1, 64] },
    { name: '0 rows', a: () => SparseMatrix.fromCsr({ rowPtr: [0], colIdx: [], values: [], shape: [0, 40] }), ns: [8] },
    { name: '0 cols', a: () => SparseMatrix.fromCsr({ rowPtr: [0, 0, 0], colIdx: [], values: [], shape: [2, 0] }), ns: [8] },
  ];
}
