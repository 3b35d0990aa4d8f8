// Jazzer.js target: the JS CSR checks (lib/sparse/csr.ts, what SparseMatrix.fromCsr runs) on CSR
// triples built from any bytes: shapes, rowPtr / colIdx as Int32Array, BigInt64Array or number[]
// (any values, including NaN, fractions and beyond 2^53), values. Only documented errors may be
// thrown; an accepted matrix must be well-formed with every row's entries kept (sorted by column).
'use strict';
const { dist, expectDocumented, check } = require('./common');
const { checkSparseShape, indexArray, valueArray, checkCsr } = dist('sparse/csr.js');

class Reader {
  constructor(data) { this.d = data; this.i = 0; }
  byte() { return this.i < this.d.length ? this.d[this.i++] : 0; }
  int(lo, hi) { return lo + (this.byte() | (this.byte() << 8)) % (hi - lo + 1); }
  any() { // a number of every interesting kind
    switch (this.byte() % 8) {
      case 0: return -1;
      case 1: return 2 ** 31;
      case 2: return 2 ** 53 + 2;
      case 3: return NaN;
      case 4: return 0.5;
      case 5: return -(2 ** 31) - 1;
      default: return this.int(-3, 40);
    }
  }
}

module.exports.fuzz = function fuzz(data) {
  const rd = new Reader(data);
  const rows = rd.byte() % 16 === 0 ? rd.any() : rd.int(0, 12);
  const cols = rd.byte() % 16 === 0 ? rd.any() : rd.int(0, 12);
  const kind = rd.byte() % 4; // Int32Array, BigInt64Array, number[], mixed
  const nnz = rd.int(0, 24);
  const rpLen = rd.byte() % 8 === 0 ? rd.int(0, 16) : (Number.isSafeInteger(rows) && rows >= 0 && rows < 64 ? rows + 1 : 1);
  // A valid-looking rowPtr (non-decreasing cuts of nnz) that the bytes then bend.
  const cuts = Array.from({ length: rpLen }, () => rd.int(0, nnz)).sort((a, b) => a - b);
  if (rpLen > 0) { cuts[0] = 0; cuts[rpLen - 1] = nnz; }
  const ci = Array.from({ length: nnz }, () => rd.int(0, Math.max(0, Math.min(cols, 20) - 1)));
  for (let k = rd.byte() % 4; k > 0; k--) {
    const arr = rd.byte() & 1 ? cuts : ci;
    if (arr.length) arr[rd.int(0, arr.length - 1)] = rd.any();
  }
  const toIdx = (a, wide) => {
    if (kind === 2 || (kind === 3 && !wide)) return a;
    if (kind === 1 || wide) {
      if (!a.every(Number.isSafeInteger)) return a; // BigInt cannot hold them: the number[] form
      const b = BigInt64Array.from(a, (x) => BigInt(x));
      if (rd.byte() % 8 === 0 && b.length) b[0] = 2n ** 62n; // beyond the safe range
      return b;
    }
    return Int32Array.from(a);
  };
  const vals = Array.from({ length: rd.byte() % 8 === 0 ? rd.int(0, 24) : nnz }, () => rd.int(-4, 4));
  const shape = rd.byte() % 16 === 0 ? [rows] : [rows, cols];
  let given; // the column indices as handed over (Int32Array.from turns NaN into 0, 2^31 into -2^31)
  const m = expectDocumented(() => {
    const [r, c] = checkSparseShape(shape, 'csr.shape');
    const rowPtr = indexArray(toIdx(cuts, false), 'csr.rowPtr', kind === 1);
    given = toIdx(ci, kind === 3);
    const colIdx = indexArray(given, 'csr.colIdx', rowPtr instanceof BigInt64Array);
    return checkCsr(r, c, rowPtr, colIdx, valueArray(rd.byte() & 1 ? Float32Array.from(vals) : vals, 'csr.values'));
  });
  if (!m) return;
  check(m.rowPtr.length === m.rows + 1 && m.colIdx.length === m.values.length, 'lengths');
  check(Number(m.rowPtr[0]) === 0 && Number(m.rowPtr[m.rows]) === m.colIdx.length, 'rowPtr ends');
  for (let r = 0; r < m.rows; r++) {
    const b = Number(m.rowPtr[r]), e = Number(m.rowPtr[r + 1]);
    check(b <= e, 'rowPtr decreases');
    const before = [], after = [];
    for (let p = b; p < e; p++) {
      const c = Number(m.colIdx[p]);
      check(Number.isInteger(c) && c >= 0 && c < m.cols, `column ${c} out of range`);
      check(p === b || c >= Number(m.colIdx[p - 1]), 'row not sorted');
      after.push(`${c}:${m.values[p]}`);
      before.push(`${Number(given[p])}:${Math.fround(vals[p])}`);
    }
    check(before.sort().join() === after.sort().join(), `row ${r} entries changed`);
  }
};
