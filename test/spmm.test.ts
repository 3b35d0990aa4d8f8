// spmm on every CPU kernel family this machine has, against the float64 reference: random odd shapes
// (column tiles and tails, empty rows, one very long row, empty matrices, N = 1, int64 indices,
// alpha / beta / c, in place), every real matrix of ../shared/data/sparse, and the SparseMatrix
// constructors, MatrixMarket reading and writing, and prepare().
import { gzipSync } from 'zlib';
import { SparseMatrix, Tensor, spmm, spmmSync } from '../lib';
import { loadRealMatrix, randomSparse, realMatrixFiles, SPARSE_DIR, spmmTestCases } from './cases/spmm';
import { cpuIsas, printSkip, reportMissingIsas, withIsa } from './helpers/backends';
import { makeData } from './helpers/data';
import { describe, test } from './helpers/runner';
import { refSpmm } from './reference/spmm';

const abs = Math.abs; // module binding: global lookups are slow in jest's sandbox

/** Each output within the float32 summation bound (row length + 4) * 2^-24 * sum |terms|. */
function check(a: SparseMatrix, got: Tensor, ref: ReturnType<typeof refSpmm>, n: number, what: string): void {
  const y = got.toArraySync() as Float32Array;
  expect(y.length).toBe(ref.y.length);
  let worst = 0,
    at = -1;
  for (let r = 0; r < a.rows; r++) {
    const len = Number(a.rowPtr[r + 1]) - Number(a.rowPtr[r]);
    for (let j = 0; j < n; j++) {
      const i = r * n + j;
      const tol = (len + 4) * 2 ** -24 * ref.mag[i] + 1e-37;
      const ratio = abs(y[i] - ref.y[i]) / tol;
      if (!(ratio <= worst)) {
        worst = ratio;
        at = i;
      }
    }
  }
  if (!(worst <= 1)) throw new Error(`${what}: out[${at}] = ${y[at]}, reference ${ref.y[at]} (${worst.toFixed(2)}x the tolerance)`);
}

function dense(rows: number, n: number, seed: number): { t: Tensor; v: Float64Array } {
  const d = makeData('float32', rows * n, seed);
  return { t: Tensor.from(d.data, [rows, n]), v: d.values };
}

const isas = cpuIsas();
reportMissingIsas('spmm');

describe('spmm vs the float64 reference', () => {
  for (const cs of spmmTestCases()) {
    test(`spmm cpu ${cs.name}, N = ${cs.ns.join('/')}`, async () => {
      const a = cs.a();
      for (const n of cs.ns) {
        const b = dense(a.cols, n, n + 1);
        const ref = refSpmm(a, b.v, n);
        for (const isa of isas) {
          await withIsa(isa, async () => {
            check(a, spmmSync(a, b.t), ref, n, `${cs.name} N=${n} ${isa} sync`);
            check(a, await spmm(a, b.t), ref, n, `${cs.name} N=${n} ${isa} async`);
          });
        }
      }
    });
  }

  test('spmm cpu alpha, beta, c and in-place out = c, 200x150 5%, N = 70', async () => {
    const a = randomSparse(200, 150, 0.05, 8);
    const n = 70;
    const b = dense(150, n, 9);
    const c = dense(200, n, 10);
    const ref = refSpmm(a, b.v, n, { alpha: -1.5, beta: 0.25, c: c.v });
    for (const isa of isas) {
      await withIsa(isa, async () => {
        check(a, await spmm(a, b.t, { alpha: -1.5, beta: 0.25, c: c.t }), ref, n, `alpha/beta ${isa}`);
        const inplace = Tensor.from(Float32Array.from(c.t.toArraySync() as Float32Array), [200, n]);
        const got = await spmm(a, b.t, { alpha: -1.5, beta: 0.25, c: inplace, out: inplace });
        expect(got).toBe(inplace);
        check(a, inplace, ref, n, `in place ${isa}`);
      });
    }
  });

  test('spmm cpu beta = 0 ignores NaN in c, and out given', async () => {
    const a = randomSparse(20, 20, 0.2, 11);
    const b = dense(20, 9, 12);
    const c = Tensor.from(new Float32Array(20 * 9).fill(NaN), [20, 9]);
    const out = Tensor.zeros([20, 9]);
    expect(await spmm(a, b.t, { c, beta: 0, out })).toBe(out);
    check(a, out, refSpmm(a, b.v, 9), 9, 'beta 0');
  });
});

describe('spmm on the real matrices of ../shared/data/sparse', () => {
  const files = realMatrixFiles();
  if (files.length === 0) {
    printSkip(`spmm real matrices: ${SPARSE_DIR} is absent`);
  }
  for (const f of files) {
    test(`spmm cpu ${f} (pattern entries get values from row and column), N = 1 and 19`, async () => {
      const a = loadRealMatrix(f);
      for (const n of [1, 19]) {
        const b = dense(a.cols, n, 13);
        const ref = refSpmm(a, b.v, n);
        for (const isa of isas) await withIsa(isa, async () => check(a, await spmm(a, b.t), ref, n, `${f} N=${n} ${isa}`));
      }
    });
  }
});

describe('SparseMatrix', () => {
  test('fromCsr sorts unsorted columns within rows, values follow', () => {
    const m = SparseMatrix.fromCsr({ rowPtr: [0, 3, 3, 5], colIdx: [4, 0, 2, 1, 0], values: [1, 2, 3, 4, 5], shape: [3, 5] });
    expect(Array.from(m.colIdx as Int32Array)).toEqual([0, 2, 4, 0, 1]);
    expect(Array.from(m.values)).toEqual([2, 3, 1, 5, 4]);
    expect(m.nnz).toBe(5);
    expect(m.shape).toEqual([3, 5]);
    expect(m.indexType).toBe('int32');
  });

  test('fromCsr keeps typed arrays without copying when sorted; BigInt64Array gives int64', () => {
    const rowPtr = new Int32Array([0, 1, 2]);
    const colIdx = new Int32Array([1, 0]);
    const values = new Float32Array([1, 2]);
    const m = SparseMatrix.fromCsr({ rowPtr, colIdx, values, shape: [2, 2] });
    expect(m.rowPtr).toBe(rowPtr);
    expect(m.colIdx).toBe(colIdx);
    const w = SparseMatrix.fromCsr({ rowPtr: new BigInt64Array([0n, 1n, 2n]), colIdx: new BigInt64Array([1n, 0n]), values, shape: [2, 2] });
    expect(w.indexType).toBe('int64');
    expect(Array.from(w.toDense().toArraySync() as Float32Array)).toEqual([0, 1, 2, 0]);
  });

  test('fromCoo sums duplicates and sorts', () => {
    const m = SparseMatrix.fromCoo({ rowIdx: [2, 0, 2, 0, 2], colIdx: [1, 3, 1, 0, 0], values: [1, 2, 3, 4, 5], shape: [3, 4] });
    expect(Array.from(m.rowPtr as Int32Array)).toEqual([0, 2, 2, 4]);
    expect(Array.from(m.colIdx as Int32Array)).toEqual([0, 3, 0, 1]);
    expect(Array.from(m.values)).toEqual([4, 2, 5, 4]);
    expect(SparseMatrix.fromCoo({ rowIdx: [0], colIdx: [0], values: [1], shape: [1, 1], int64: true }).indexType).toBe('int64');
  });

  test('fromDense keeps |v| > threshold; toDense inverts it', () => {
    const d = Float32Array.from([0, 0.5, -2, 0, 0.01, 0, 3, 0, 0, 0, 0, -0.2]);
    const m = SparseMatrix.fromDense(Tensor.from(d, [3, 4]));
    expect(m.nnz).toBe(5);
    expect(Array.from(m.toDense().toArraySync() as Float32Array)).toEqual(Array.from(d));
    const t = SparseMatrix.fromDense(Tensor.from(d, [3, 4]), { threshold: 0.1 });
    expect(Array.from(t.values)).toEqual([0.5, -2, 3, Math.fround(-0.2)]);
  });

  test('rowStats', () => {
    const m = SparseMatrix.fromCsr({ rowPtr: [0, 3, 3, 4, 4], colIdx: [0, 1, 2, 1], values: [1, 1, 1, 1], shape: [4, 3] });
    expect(m.rowStats()).toEqual({ rows: 4, nnz: 4, min: 0, max: 3, mean: 1, std: Math.sqrt(10 / 4 - 1), empty: 2 });
  });

  test('prepare: auto and csr report CSR; blocked holds every entry in 16x8 blocks, reordering lowers the block count', () => {
    // Rows alternate between two column patterns far apart: in order every 16-row panel touches both
    // groups; sorted, each panel touches one.
    const ri: number[] = [],
      ci: number[] = [],
      v: number[] = [];
    for (let r = 0; r < 64; r++) for (let k = 0; k < 3; k++) (ri.push(r), ci.push((r % 2 ? 104 : 0) + k * 8 + (r % 8)), v.push(r + k / 4));
    const m = SparseMatrix.fromCoo({ rowIdx: ri, colIdx: ci, values: v, shape: [64, 128] });
    expect(m.prepare({ device: 'cpu' }).format).toBe('csr');
    expect(m.prepare({ format: 'csr' }).bytes).toBe(m.rowPtr.byteLength + m.colIdx.byteLength + m.values.byteLength);
    const plain = m.prepare({ format: 'blocked', reorder: false }).blocked!;
    const sorted = m.prepare({ format: 'blocked' }).blocked!;
    expect(plain.blocks).toBe(4 * 6);
    expect(sorted.reordered).toBe(true);
    expect(sorted.blocks).toBe(4 * 3);
    expect(sorted.blocksUnordered).toBe(plain.blocks);
    for (const b of [plain, sorted]) {
      const dense = new Float32Array(64 * 128);
      for (let p = 0; p + 1 < b.panelPtr.length; p++) {
        for (let k = b.panelPtr[p]; k < b.panelPtr[p + 1]; k++) {
          for (let i = 0; i < 16; i++)
            for (let j = 0; j < 8; j++) {
              const row = p * 16 + i;
              if (row < 64) dense[b.perm[row] * 128 + b.blockCol[k] + j] += b.blockValues[(k * 16 + i) * 8 + j];
            }
        }
      }
      expect(Array.from(dense)).toEqual(Array.from(m.toDense().toArraySync() as Float32Array));
      expect(b.fill).toBeCloseTo(m.nnz / (b.blocks * 128), 12);
    }
    expect(m.prepare({ format: 'blocked' })).toBe(m.prepare({ format: 'blocked' })); // cached
  });
});

describe('MatrixMarket', () => {
  test('coordinate real general round trip: toMatrixMarket then fromMatrixMarket gives the same matrix', () => {
    const a = randomSparse(57, 31, 0.2, 14);
    const text = a.toMatrixMarket({ comment: 'written by a test\nsecond line' });
    expect(text.split('\n')[1]).toBe('% written by a test');
    for (const input of [text, Buffer.from(text), gzipSync(Buffer.from(text)), new Uint8Array(gzipSync(Buffer.from(text)))]) {
      const b = SparseMatrix.fromMatrixMarket(input);
      expect(b.shape).toEqual(a.shape);
      expect(Array.from(b.rowPtr as Int32Array)).toEqual(Array.from(a.rowPtr as Int32Array));
      expect(Array.from(b.colIdx as Int32Array)).toEqual(Array.from(a.colIdx as Int32Array));
      expect(Array.from(b.values)).toEqual(Array.from(a.values)); // exact: shortest float32 decimals
    }
  });

  test('symmetric and skew-symmetric storage are expanded; pattern entries are 1; comments and blank lines skipped', () => {
    const sym = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate real symmetric\n% c\n\n3 3 3\n1 1 2.5\n3 1 -1\n3 2 4e-1\n');
    expect(Array.from(sym.toDense().toArraySync() as Float32Array)).toEqual([2.5, 0, -1, 0, 0, Math.fround(0.4), -1, Math.fround(0.4), 0]);
    const skew = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate integer skew-symmetric\n2 2 1\n2 1 3\n');
    expect(Array.from(skew.toDense().toArraySync() as Float32Array)).toEqual([0, -3, 3, 0]);
    const pat = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix coordinate pattern general\n2 3 2\n1 3\n2 1\n');
    expect(Array.from(pat.toDense().toArraySync() as Float32Array)).toEqual([0, 0, 1, 1, 0, 0]);
    const dup = SparseMatrix.fromMatrixMarket('%%matrixmarket MATRIX Coordinate Real General\n1 1 2\n1 1 1.5\n1 1 1\n');
    expect(Array.from(dup.values)).toEqual([2.5]);
  });

  test('array format: general column-major, symmetric lower triangle, zeros dropped', () => {
    const g = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix array real general\n2 3\n1\n2\n0\n4\n5\n6\n');
    expect(Array.from(g.toDense().toArraySync() as Float32Array)).toEqual([1, 0, 5, 2, 4, 6]);
    expect(g.nnz).toBe(5);
    const s = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix array real symmetric\n3 3\n1\n2\n3\n4\n5\n6\n');
    expect(Array.from(s.toDense().toArraySync() as Float32Array)).toEqual([1, 2, 3, 2, 4, 5, 3, 5, 6]);
    const k = SparseMatrix.fromMatrixMarket('%%MatrixMarket matrix array integer skew-symmetric\n3 3\n1\n2\n3\n');
    expect(Array.from(k.toDense().toArraySync() as Float32Array)).toEqual([0, -1, -2, 1, 0, -3, 2, 3, 0]);
  });

  test('the real files read with their documented sizes (symmetric ones expanded)', () => {
    const files = realMatrixFiles();
    if (files.length === 0) return printSkip(`MatrixMarket real files: ${SPARSE_DIR} is absent`);
    const expectRows: Record<string, number> = {
      'wing.mtx.gz': 62032,
      '4elt.mtx.gz': 15606,
      'astro-ph.mtx.gz': 16706,
      'PGPgiantcompo.mtx.gz': 10680,
      'wiki-Vote.mtx.gz': 8298,
      'bayer10.mtx.gz': 13436,
      'rajat01.mtx.gz': 6833,
      'bcsstk13.mtx.gz': 2003,
    };
    for (const f of files) {
      const m = loadRealMatrix(f);
      if (expectRows[f] !== undefined) expect(m.rows).toBe(expectRows[f]);
      const st = m.rowStats();
      if (f === 'rajat01.mtx.gz') expect(st.max).toBe(1442);
      if (f === 'astro-ph.mtx.gz') expect(st.empty).toBe(660);
      // Expanded symmetric storage is symmetric in its pattern.
      if (f === 'wing.mtx.gz') expect(m.nnz).toBe(2 * 121544);
    }
  });
});
