// CSR construction: index arrays checked before anything reads through them, column indices sorted
// within each row (a copy is made only when some row is unsorted), COO triplets sorted and their
// duplicates summed. Shared by every SparseMatrix constructor.
import { TensorkernError, invalidArg } from '../errors';

export type IndexArray = Int32Array | BigInt64Array;
export type IndexInput = IndexArray | readonly number[];

export interface Csr {
  rows: number;
  cols: number;
  rowPtr: IndexArray;
  colIdx: IndexArray;
  values: Float32Array;
}

const INT32_MAX = 2 ** 31 - 1;

export function checkSparseShape(shape: unknown, name: string): [number, number] {
  if (!Array.isArray(shape) || shape.length !== 2) throw invalidArg(name, 'a [rows, cols] array', shape);
  shape.forEach((d, i) => {
    if (typeof d !== 'number') throw invalidArg(`${name}[${i}]`, 'a non-negative integer', d);
    if (!Number.isSafeInteger(d) || d < 0) throw invalidArg(`${name}[${i}]`, 'a non-negative safe integer', d, 'range');
  });
  return [shape[0], shape[1]];
}

/** An index array as given (Int32Array / BigInt64Array kept as they are; number[] becomes Int32Array). */
export function indexArray(v: unknown, name: string, wide: boolean): IndexArray {
  if (v instanceof Int32Array || v instanceof BigInt64Array) return v;
  if (Array.isArray(v)) {
    const out = wide ? new BigInt64Array(v.length) : new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number') throw invalidArg(`${name}[${i}]`, 'a number', x);
      if (!Number.isSafeInteger(x)) throw invalidArg(`${name}[${i}]`, 'a safe integer', x, 'range');
      if (!wide && (x > INT32_MAX || x < -INT32_MAX - 1)) return indexArray(v, name, true);
      out[i] = (wide ? BigInt(x) : x) as never;
    }
    return out;
  }
  throw invalidArg(name, 'an Int32Array, a BigInt64Array or an array of integers', v);
}

export function valueArray(v: unknown, name: string): Float32Array {
  if (v instanceof Float32Array) return v;
  if (Array.isArray(v) || v instanceof Float64Array) {
    const out = new Float32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (typeof x !== 'number') throw invalidArg(`${name}[${i}]`, 'a number', x);
      out[i] = x;
    }
    return out;
  }
  throw invalidArg(name, 'a Float32Array or an array of numbers', v);
}

/** Reads index i as a number, rejecting BigInts beyond the safe range (they cannot index JS arrays). */
export function indexReader(a: IndexArray, name: string): (i: number) => number {
  if (a instanceof Int32Array) return (i) => a[i];
  const maxSafe = BigInt(Number.MAX_SAFE_INTEGER);
  return (i) => {
    const x = a[i];
    if (x > maxSafe || x < -maxSafe)
      throw invalidArg(`${name}[${i}]`, 'an index within the safe integer range (|x| <= 2^53 - 1)', `${x}n`, 'range', { described: true });
    return Number(x);
  };
}

/**
 * Checks a CSR triple against its shape: rowPtr of length rows + 1, starting at 0, non-decreasing,
 * ending at nnz = colIdx.length = values.length; every column index in [0, cols). Returns the
 * matrix, with each row's columns sorted (its values moved alike) when they were not.
 */
export function checkCsr(rows: number, cols: number, rowPtr: IndexArray, colIdx: IndexArray, values: Float32Array): Csr {
  if (rowPtr instanceof BigInt64Array !== colIdx instanceof BigInt64Array) {
    throw invalidArg('colIdx', `a ${rowPtr.constructor.name} (the type of rowPtr)`, colIdx);
  }
  if (rowPtr.length !== rows + 1)
    throw invalidArg('rowPtr', `length ${rows + 1} (rows + 1)`, `length ${rowPtr.length}`, 'value', { described: true });
  const nnz = colIdx.length;
  if (values.length !== nnz)
    throw invalidArg('values', `length ${nnz} (the length of colIdx)`, `length ${values.length}`, 'value', { described: true });
  const rp = indexReader(rowPtr, 'rowPtr');
  const ci = indexReader(colIdx, 'colIdx');
  if (rp(0) !== 0) throw invalidArg('rowPtr[0]', '0', rp(0), 'value');
  if (rp(rows) !== nnz) throw invalidArg(`rowPtr[${rows}]`, `${nnz} (the number of nonzeros, the length of colIdx)`, rp(rows), 'value');
  let unsorted = false;
  for (let r = 0; r < rows; r++) {
    const b = rp(r),
      e = rp(r + 1);
    if (e < b) throw invalidArg(`rowPtr[${r + 1}]`, `a value >= rowPtr[${r}] = ${b} (rowPtr must be non-decreasing)`, e, 'value');
    if (e > nnz) throw invalidArg(`rowPtr[${r + 1}]`, `a value <= ${nnz} (the number of nonzeros)`, e, 'value');
    let prev = -1;
    for (let p = b; p < e; p++) {
      const c = ci(p);
      if (!(c >= 0 && c < cols)) throw invalidArg(`colIdx[${p}]`, `a column index in [0, ${cols}) (row ${r})`, c, 'range');
      if (c < prev) unsorted = true;
      prev = c;
    }
  }
  if (!unsorted) return { rows, cols, rowPtr, colIdx, values };
  const col2 = colIdx instanceof Int32Array ? new Int32Array(colIdx) : new BigInt64Array(colIdx);
  const val2 = new Float32Array(values);
  const order: number[] = [];
  for (let r = 0; r < rows; r++) {
    const b = rp(r),
      e = rp(r + 1);
    order.length = 0;
    for (let p = b; p < e; p++) order.push(p);
    order.sort((x, y) => ci(x) - ci(y) || x - y);
    order.forEach((src, i) => {
      col2[b + i] = colIdx[src];
      val2[b + i] = values[src];
    });
  }
  return { rows, cols, rowPtr, colIdx: col2, values: val2 };
}

/**
 * A typed array whose size comes from the caller's shape (O(rows) arrays of a CSR): V8 throws a bare
 * RangeError when it is beyond its limit or the memory ("Invalid typed array length", "Array buffer
 * allocation failed"); that becomes the documented ERR_TK_OUT_OF_MEMORY (found by fuzzing the
 * MatrixMarket reader with a size line of 10^15 rows).
 */
function allocate<T>(what: string, length: number, make: (length: number) => T): T {
  try {
    return make(length);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new TensorkernError(
      'ERR_TK_OUT_OF_MEMORY',
      `Expected memory for ${what} (${length} entries) but it could not be allocated: ${e.message}`,
    );
  }
}

/**
 * Builds CSR from triplets (any order): counting sort by row, sort by column within rows, duplicates
 * summed. Indices are checked first. Int64 indices are used when nnz or a dimension needs them or
 * `wide` asks for them.
 */
export function cooToCsr(
  rows: number,
  cols: number,
  ri: (i: number) => number,
  ci: (i: number) => number,
  values: Float32Array,
  wide: boolean,
  names = ['rowIdx', 'colIdx'],
): Csr {
  const n = values.length;
  const counts = allocate('the row counts', rows + 1, (k) => new Float64Array(k));
  for (let i = 0; i < n; i++) {
    const r = ri(i),
      c = ci(i);
    if (!(r >= 0 && r < rows)) throw invalidArg(`${names[0]}[${i}]`, `a row index in [0, ${rows})`, r, 'range');
    if (!(c >= 0 && c < cols)) throw invalidArg(`${names[1]}[${i}]`, `a column index in [0, ${cols})`, c, 'range');
    counts[r + 1]++;
  }
  for (let r = 0; r < rows; r++) counts[r + 1] += counts[r];
  const next = allocate('the row cursors', rows, (k) => new Float64Array(k));
  next.set(counts.subarray(0, rows));
  const perm = new Float64Array(n);
  for (let i = 0; i < n; i++) perm[next[ri(i)]++] = i;
  const big = wide || n > INT32_MAX || rows > INT32_MAX || cols > INT32_MAX;
  const rowPtr = allocate('rowPtr', rows + 1, (k) => (big ? new BigInt64Array(k) : new Int32Array(k)));
  const colList: number[] = [];
  const valList: number[] = [];
  const seg: number[] = [];
  for (let r = 0; r < rows; r++) {
    seg.length = 0;
    for (let p = counts[r]; p < counts[r + 1]; p++) seg.push(perm[p]);
    seg.sort((x, y) => ci(x) - ci(y) || x - y);
    let last = -1;
    for (const i of seg) {
      const c = ci(i);
      if (c === last)
        valList[valList.length - 1] += values[i]; // duplicates summed (in float64, then stored as float32)
      else {
        colList.push(c);
        valList.push(values[i]);
        last = c;
      }
    }
    rowPtr[r + 1] = (big ? BigInt(colList.length) : colList.length) as never;
  }
  const colIdx = big ? BigInt64Array.from(colList, (x) => BigInt(x)) : Int32Array.from(colList);
  return { rows, cols, rowPtr, colIdx, values: Float32Array.from(valList) };
}
