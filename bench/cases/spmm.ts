// SpMM cases: random matrices of a given density, the real matrices of ../shared/data/sparse (pattern
// files get deterministic values), flops and bytes, and the bench's cases (bench/spmm.ts, bench/spmm_cuda.ts).
// The correctness table is test/cases/spmm.ts.
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
    return SparseMatrix.fromCsr({
      rowPtr: BigInt64Array.from(rowPtr, (x) => BigInt(x)),
      colIdx: BigInt64Array.from(colList, (x) => BigInt(x)),
      values,
      shape: [rows, cols],
    });
  }
  return SparseMatrix.fromCsr({ rowPtr, colIdx: Int32Array.from(colList), values, shape: [rows, cols] });
}

export const SPARSE_DIR = path.join(PACKAGE_ROOT, '..', 'shared', 'data', 'sparse');

/** The real matrices (file names), biggest-first order is not implied. Empty when the folder is absent. */
export function realMatrixFiles(): string[] {
  if (!fs.existsSync(SPARSE_DIR)) return [];
  return fs
    .readdirSync(SPARSE_DIR)
    .filter((f) => f.endsWith('.mtx.gz'))
    .sort();
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
