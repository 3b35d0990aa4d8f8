// SparseMatrix: an immutable CSR matrix (docs/design.md, Data conventions) -- rowPtr of rows + 1 entries and colIdx as
// Int32Array or BigInt64Array, float32 values, columns sorted within each row. Every constructor
// checks every index before anything reads through it.
import { invalidArg, withArticle } from '../errors';
import { fromHalfBits } from '../half';
import { Tensor, checkTensor } from '../tensor';
import { checkOptions, shapeStr } from '../validate';
import { Csr, IndexArray, IndexInput, checkCsr, checkSparseShape, cooToCsr, indexArray, indexReader, valueArray } from './csr';
import { formatMatrixMarket, parseMatrixMarket } from './matrix-market';
import { BlockedInfo, buildBlocked } from './blocked';
import { DeviceSpec, defaultDevice } from '../device';

export type { IndexArray, IndexInput } from './csr';

export interface CsrInit {
  rowPtr: IndexInput;
  colIdx: IndexInput;
  values: Float32Array | readonly number[];
  shape: readonly [number, number] | number[];
}

export interface CooInit {
  rowIdx: IndexInput;
  colIdx: IndexInput;
  values: Float32Array | readonly number[];
  shape: readonly [number, number] | number[];
  /** Store the result with BigInt64Array indices. Default: only when a size needs them. */
  int64?: boolean;
}

export interface RowStats {
  rows: number;
  nnz: number;
  /** Entries in the shortest and the longest row. */
  min: number;
  max: number;
  mean: number;
  /** Standard deviation of the row lengths. */
  std: number;
  /** Rows with no entry. */
  empty: number;
}

export interface PrepareOptions {
  /** 'csr' (what the CPU kernels use), 'blocked' (16x8 dense blocks, the tensor-core form), or 'auto'. */
  format?: 'auto' | 'csr' | 'blocked';
  /** For 'blocked': reorder rows so rows with similar columns share blocks (fewer blocks). Default true. */
  reorder?: boolean;
  /** Where the matrix will be multiplied; 'auto' picks for the default device. */
  device?: 'cpu' | 'cuda' | 'auto';
}

/** The matrix's arrays on one CUDA device (internal: spmm passes them to the kernels). */
export interface DeviceArrays {
  rowPtr: Tensor;
  colIdx: Tensor;
  values: Tensor;
  blocked?: { perm: Tensor; panelPtr: Tensor; blockCol: Tensor; blockValues: Tensor; info: BlockedInfo };
}

export interface PrepareInfo {
  format: 'csr' | 'blocked';
  /** Why this format was chosen. */
  reason: string;
  /** Bytes the representation occupies. */
  bytes: number;
  /** For 'blocked': the block shape, count, the fraction of stored block entries that are nonzeros. */
  blocked?: BlockedInfo;
}

const CREATE = Symbol('tensorkern.sparse');
/** Block fill from which the GPU uses the blocked form (native/ops/spmm/spmm_configs.h kBlockedMinFill). */
export const BLOCKED_MIN_FILL = 0.125;

export class SparseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** rows + 1 offsets into colIdx / values. Treat as read-only. */
  readonly rowPtr: IndexArray;
  /** Column of each entry, sorted within each row. Treat as read-only. */
  readonly colIdx: IndexArray;
  readonly values: Float32Array;
  private prepared = new Map<string, PrepareInfo>();
  /** Device copies of the arrays, per device ('cuda:0' ...), uploaded on first use (see deviceArrays). */
  private onDevice = new Map<string, DeviceArrays>();

  private constructor(token: symbol, m: Csr) {
    if (token !== CREATE) throw new TypeError('Use SparseMatrix.fromCsr, fromCoo, fromDense or fromMatrixMarket');
    this.rows = m.rows;
    this.cols = m.cols;
    this.rowPtr = m.rowPtr;
    this.colIdx = m.colIdx;
    this.values = m.values;
  }

  get nnz(): number {
    return this.colIdx.length;
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  /** 'int32' or 'int64': the type of rowPtr and colIdx. */
  get indexType(): 'int32' | 'int64' {
    return this.rowPtr instanceof BigInt64Array ? 'int64' : 'int32';
  }

  /**
   * From CSR arrays. Typed arrays are used as they are (no copy) unless a row's columns need sorting;
   * do not modify them afterwards (spmm re-checks every index, so a change becomes an error, not a crash).
   */
  static fromCsr(init: CsrInit): SparseMatrix {
    const o = checkOptions<CsrInit>(init, 'csr', ['rowPtr', 'colIdx', 'values', 'shape']);
    const [rows, cols] = checkSparseShape(o.shape, 'csr.shape');
    const wide = o.rowPtr instanceof BigInt64Array || o.colIdx instanceof BigInt64Array;
    const rowPtr = indexArray(o.rowPtr, 'csr.rowPtr', wide);
    const colIdx = indexArray(o.colIdx, 'csr.colIdx', wide || rowPtr instanceof BigInt64Array);
    const values = valueArray(o.values, 'csr.values');
    return new SparseMatrix(CREATE, checkCsr(rows, cols, rowPtr, colIdx, values));
  }

  /** From (row, column, value) triplets in any order; duplicates are summed. */
  static fromCoo(init: CooInit): SparseMatrix {
    const o = checkOptions<CooInit>(init, 'coo', ['rowIdx', 'colIdx', 'values', 'shape', 'int64']);
    const [rows, cols] = checkSparseShape(o.shape, 'coo.shape');
    const values = valueArray(o.values, 'coo.values');
    const ri = indexArray(o.rowIdx, 'coo.rowIdx', false);
    const ci = indexArray(o.colIdx, 'coo.colIdx', false);
    for (const [a, n] of [
      [ri, 'coo.rowIdx'],
      [ci, 'coo.colIdx'],
    ] as const) {
      if (a.length !== values.length)
        throw invalidArg(n, `length ${values.length} (the length of coo.values)`, `length ${a.length}`, 'value', { described: true });
    }
    if (o.int64 !== undefined && typeof o.int64 !== 'boolean') throw invalidArg('coo.int64', 'a boolean', o.int64);
    const wide = o.int64 ?? (ri instanceof BigInt64Array || ci instanceof BigInt64Array);
    return new SparseMatrix(
      CREATE,
      cooToCsr(rows, cols, indexReader(ri, 'coo.rowIdx'), indexReader(ci, 'coo.colIdx'), values, wide, ['coo.rowIdx', 'coo.colIdx']),
    );
  }

  /** The entries of a rank-2 float tensor with |v| > threshold (default 0: every nonzero). */
  static fromDense(t: Tensor, opts?: { threshold?: number }): SparseMatrix {
    const T = checkTensor(t, 'tensor');
    const o = checkOptions<{ threshold: number }>(opts, 'options', ['threshold']);
    if (T.ndim !== 2) throw invalidArg('tensor', 'a rank-2 tensor', `shape ${shapeStr(T.shape)}`, 'value', { described: true });
    if (T.device !== 'cpu')
      throw invalidArg('tensor', 'a CPU tensor (move it with tensor.to("cpu"))', `a tensor on ${T.device}`, 'value', { described: true });
    const th = o.threshold ?? 0;
    if (typeof th !== 'number') throw invalidArg('options.threshold', 'a number', th);
    if (!(th >= 0)) throw invalidArg('options.threshold', 'a non-negative number', th, 'range');
    let data: Float32Array;
    if (T.dtype === 'float32') data = T.toArraySync() as Float32Array;
    else if (T.dtype === 'float16' || T.dtype === 'bfloat16')
      data = Float32Array.from(fromHalfBits(T.toArraySync() as Uint16Array, T.dtype));
    else throw invalidArg('tensor', 'a float32, float16 or bfloat16 tensor', `${withArticle(T.dtype)} tensor`, 'type', { described: true });
    const [rows, cols] = T.shape;
    const rowPtr = new Int32Array(rows + 1);
    const colList: number[] = [];
    const valList: number[] = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const v = data[r * cols + c];
        if (Math.abs(v) > th || Number.isNaN(v)) {
          colList.push(c);
          valList.push(v);
        }
      }
      rowPtr[r + 1] = colList.length;
    }
    return new SparseMatrix(CREATE, { rows, cols, rowPtr, colIdx: Int32Array.from(colList), values: Float32Array.from(valList) });
  }

  /**
   * From MatrixMarket text or bytes (gzip accepted): coordinate real / integer / pattern (pattern
   * entries become 1), array real / integer; general, symmetric (both triangles stored after
   * reading), skew-symmetric. Errors name the line.
   */
  static fromMatrixMarket(input: string | Uint8Array): SparseMatrix {
    return new SparseMatrix(CREATE, parseMatrixMarket(input));
  }

  /** MatrixMarket coordinate real general text; values written as the shortest exact float32 decimal. */
  toMatrixMarket(opts?: { comment?: string }): string {
    const o = checkOptions<{ comment: string }>(opts, 'options', ['comment']);
    if (o.comment !== undefined && typeof o.comment !== 'string') throw invalidArg('options.comment', 'a string', o.comment);
    return formatMatrixMarket(this, o.comment);
  }

  /** The dense [rows, cols] float32 tensor (for small matrices and tests). */
  toDense(): Tensor {
    if (this.rows * this.cols > 2 ** 31)
      throw invalidArg('matrix', 'at most 2^31 dense elements', `${this.rows} x ${this.cols}`, 'range', { described: true });
    const d = new Float32Array(this.rows * this.cols);
    for (let r = 0; r < this.rows; r++) {
      for (let p = Number(this.rowPtr[r]); p < Number(this.rowPtr[r + 1]); p++) d[r * this.cols + Number(this.colIdx[p])] += this.values[p];
    }
    return Tensor.from(d, [this.rows, this.cols]);
  }

  /** Row-length statistics: what decides how a matrix should be split and stored. */
  rowStats(): RowStats {
    const n = this.rows;
    let min = n ? Infinity : 0,
      max = 0,
      sum = 0,
      sq = 0,
      empty = 0;
    for (let r = 0; r < n; r++) {
      const len = Number(this.rowPtr[r + 1]) - Number(this.rowPtr[r]);
      min = Math.min(min, len);
      max = Math.max(max, len);
      sum += len;
      sq += len * len;
      if (len === 0) empty++;
    }
    const mean = n ? sum / n : 0;
    return { rows: n, nnz: this.nnz, min, max, mean, std: n ? Math.sqrt(Math.max(0, sq / n - mean * mean)) : 0, empty };
  }

  /**
   * The arrays on a CUDA device, uploaded once and kept (freed with the matrix, or by releaseDevice());
   * with `blocked`, also the blocked form. Internal: spmm uses it.
   */
  deviceArrays(device: string, blocked: BlockedInfo | undefined): DeviceArrays {
    let d = this.onDevice.get(device);
    const idx = this.indexType;
    const up = (a: Int32Array | BigInt64Array | Float32Array, dtype: 'int32' | 'int64' | 'float32') =>
      Tensor.from(a, [a.length], { dtype, device: device as DeviceSpec });
    if (!d) {
      d = { rowPtr: up(this.rowPtr, idx), colIdx: up(this.colIdx, idx), values: up(this.values, 'float32') };
      this.onDevice.set(device, d);
    }
    if (blocked && d.blocked?.info !== blocked) {
      if (d.blocked) for (const t of [d.blocked.perm, d.blocked.panelPtr, d.blocked.blockCol, d.blocked.blockValues]) t.dispose();
      d.blocked = {
        perm: up(blocked.perm, 'int32'),
        panelPtr: up(blocked.panelPtr, 'int32'),
        blockCol: up(blocked.blockCol, 'int32'),
        blockValues: up(blocked.blockValues, 'float32'),
        info: blocked,
      };
    }
    return d;
  }

  /** Frees the device copies spmm made of this matrix (they are made again when needed). */
  releaseDevice(): void {
    for (const d of this.onDevice.values()) {
      for (const t of [d.rowPtr, d.colIdx, d.values]) t.dispose();
      if (d.blocked) for (const t of [d.blocked.perm, d.blocked.panelPtr, d.blocked.blockCol, d.blocked.blockValues]) t.dispose();
    }
    this.onDevice.clear();
  }

  /**
   * Builds (and caches) the representation a backend multiplies with and says what it chose. The CPU
   * kernels use CSR as it is; 'blocked' builds 16x8 dense blocks (the GPU tensor-core form, SMaT), rows
   * reordered by similarity unless `reorder: false`.
   */
  prepare(opts?: PrepareOptions): PrepareInfo {
    const o = checkOptions<PrepareOptions>(opts, 'options', ['format', 'reorder', 'device']);
    const format = o.format ?? 'auto';
    if (!['auto', 'csr', 'blocked'].includes(format))
      throw invalidArg('options.format', "'auto', 'csr' or 'blocked'", format, typeof format === 'string' ? 'value' : 'type');
    if (o.reorder !== undefined && typeof o.reorder !== 'boolean') throw invalidArg('options.reorder', 'a boolean', o.reorder);
    const device = o.device ?? 'auto';
    if (!['auto', 'cpu', 'cuda'].includes(device))
      throw invalidArg('options.device', "'auto', 'cpu' or 'cuda'", device, typeof device === 'string' ? 'value' : 'type');
    const reorder = o.reorder ?? true;
    const key = `${format}:${reorder}:${device}`;
    const hit = this.prepared.get(key);
    if (hit) return hit;
    const csrBytes = this.rowPtr.byteLength + this.colIdx.byteLength + this.values.byteLength;
    let info: PrepareInfo;
    if (format === 'blocked') {
      const b = buildBlocked(this, reorder);
      info = { format: 'blocked', reason: 'requested', bytes: b.bytes, blocked: b };
    } else if (format === 'csr') {
      info = { format: 'csr', reason: 'requested', bytes: csrBytes };
    } else if (device === 'cuda' || (device === 'auto' && defaultDevice() !== 'cpu')) {
      // On a GPU the blocked form feeds the tensor-core kernel (SMaT) when enough of its block entries
      // are nonzeros; spmm's 'auto' then weighs it against CSR and the dense-tile kernel by N.
      const b = buildBlocked(this, reorder);
      if (b.fill >= BLOCKED_MIN_FILL) {
        info = {
          format: 'blocked',
          reason: `GPU: block fill ${b.fill.toFixed(3)} >= ${BLOCKED_MIN_FILL} (tensor cores over the nonzero 16x8 blocks)`,
          bytes: b.bytes,
          blocked: b,
        };
      } else {
        info = {
          format: 'csr',
          reason: `GPU: block fill ${b.fill.toFixed(3)} < ${BLOCKED_MIN_FILL}: CSR kernel (warp per row group)`,
          bytes: csrBytes,
        };
      }
    } else {
      // 'auto' on the CPU: the CPU kernels stream CSR.
      info = { format: 'csr', reason: 'the CPU kernels use CSR directly (row-parallel, split by nonzeros)', bytes: csrBytes };
    }
    this.prepared.set(key, info);
    return info;
  }
}
