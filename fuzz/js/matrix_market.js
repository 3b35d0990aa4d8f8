// Jazzer.js target: the MatrixMarket reader (SparseMatrix.fromMatrixMarket's parser) on any bytes,
// given as a Buffer (gzip detected) or as the UTF-8 text. It may only throw the library's documented
// errors; what it accepts must be a well-formed CSR (rowPtr non-decreasing from 0 to nnz, column
// indices in range, strictly increasing within each row: duplicates summed) that writes back to
// MatrixMarket text and reads back to the same matrix.
'use strict';
const zlib = require('zlib');
const { dist, expectDocumented, check } = require('./common');
const { parseMatrixMarket, formatMatrixMarket } = dist('sparse/matrix-market.js');

function checkCsr(m) {
  const { rows, cols, rowPtr, colIdx, values } = m;
  check(Number.isSafeInteger(rows) && rows >= 0 && Number.isSafeInteger(cols) && cols >= 0, `bad shape ${rows} x ${cols}`);
  check(rowPtr.length === rows + 1 && values.length === colIdx.length, 'array lengths');
  check(Number(rowPtr[0]) === 0 && Number(rowPtr[rows]) === colIdx.length, 'rowPtr ends');
  for (let r = 0; r < rows; r++) {
    const b = Number(rowPtr[r]), e = Number(rowPtr[r + 1]);
    check(b <= e, `rowPtr decreases at row ${r}`);
    for (let p = b; p < e; p++) {
      const c = Number(colIdx[p]);
      check(c >= 0 && c < cols, `column ${c} out of range`);
      check(p === b || c > Number(colIdx[p - 1]), `row ${r} not strictly increasing`);
    }
  }
}

function sameCsr(a, b) {
  check(a.rows === b.rows && a.cols === b.cols && a.colIdx.length === b.colIdx.length, 'round trip changed the shape or nnz');
  for (let i = 0; i <= a.rows; i++) check(Number(a.rowPtr[i]) === Number(b.rowPtr[i]), 'round trip changed rowPtr');
  for (let i = 0; i < a.colIdx.length; i++) {
    check(Number(a.colIdx[i]) === Number(b.colIdx[i]), 'round trip changed colIdx');
    check(Object.is(a.values[i], b.values[i]) || (Number.isNaN(a.values[i]) && Number.isNaN(b.values[i])), `round trip changed value ${a.values[i]} -> ${b.values[i]}`);
  }
}

// A size line may declare any rows / cols: the CSR then needs O(rows) memory and time by design (a
// 40-byte file can ask for 10^7 empty rows). Inputs declaring more than 2^20 are left out so that the
// fuzzer's memory limit flags real blow-ups only; test/fuzz-regressions.test.ts checks that sizes
// beyond memory give the documented ERR_TK_OUT_OF_MEMORY.
const MAX_DECLARED = 2 ** 20;
function declaresHuge(data) {
  let text;
  try {
    text = (data[0] === 0x1f && data[1] === 0x8b ? zlib.gunzipSync(data) : data).toString('utf8');
  } catch {
    return false;
  }
  for (const line of text.split('\n').slice(1)) {
    const t = line.trim();
    if (t === '' || t.startsWith('%')) continue;
    const toks = t.split(/\s+/);
    return toks.slice(0, 2).some((x) => /^\d+$/.test(x) && Number(x) > MAX_DECLARED);
  }
  return false;
}

module.exports.fuzz = function fuzz(data) {
  if (declaresHuge(data)) return;
  const input = data.length > 0 && data[0] & 1 ? data.toString('utf8') : data;
  const m = expectDocumented(() => parseMatrixMarket(input));
  if (!m) return;
  checkCsr(m);
  const again = expectDocumented(() => parseMatrixMarket(formatMatrixMarket(m)));
  check(again !== undefined, 'what the writer wrote does not read back');
  sameCsr(m, again);
};
