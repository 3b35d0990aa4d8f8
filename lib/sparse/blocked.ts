// The blocked form of a sparse matrix (SMaT, PAPERS.md): rows grouped into panels of 16, each panel's
// nonzeros stored as dense 16x8 blocks (the m16n8 tensor-core fragment), one per distinct 8-column
// group the panel touches. The fewer blocks, the less wasted tensor-core work, so rows can be
// reordered so that rows touching the same column groups share a panel.
//
// Reordering here sorts rows by their column-group pattern (lexicographically, longest patterns of a
// run first) and is kept only when it lowers the block count. Built on the host; the GPU path uploads it.
import { invalidArg } from '../errors';

export const BLOCK_ROWS = 16;
export const BLOCK_COLS = 8;

export interface BlockedInfo {
  blockShape: [number, number];
  blocks: number;
  /** nnz / (blocks * 128): the fraction of stored block entries that are real nonzeros. */
  fill: number;
  /** Blocks with rows in their original order, for comparison. */
  blocksUnordered: number;
  reordered: boolean;
  bytes: number;
  /** Row i of the blocked matrix is row perm[i] of the original. */
  perm: Int32Array;
  /** Panel p's blocks are panelPtr[p] .. panelPtr[p + 1]. */
  panelPtr: Int32Array;
  /** The first column of each block. */
  blockCol: Int32Array;
  /** 16 x 8 row-major values per block. */
  blockValues: Float32Array;
}

interface CsrLike {
  rows: number;
  cols: number;
  rowPtr: Int32Array | BigInt64Array;
  colIdx: Int32Array | BigInt64Array;
  values: Float32Array;
}

function groupsOf(m: CsrLike, r: number): number[] {
  const g: number[] = [];
  for (let p = Number(m.rowPtr[r]); p < Number(m.rowPtr[r + 1]); p++) {
    const b = Math.floor(Number(m.colIdx[p]) / BLOCK_COLS);
    if (g.length === 0 || g[g.length - 1] !== b) g.push(b); // columns are sorted within rows
  }
  return g;
}

function countBlocks(order: Int32Array, groups: number[][]): number {
  let blocks = 0;
  const seen = new Set<number>();
  for (let p = 0; p < order.length; p += BLOCK_ROWS) {
    seen.clear();
    for (let i = p; i < Math.min(p + BLOCK_ROWS, order.length); i++) for (const g of groups[order[i]]) seen.add(g);
    blocks += seen.size;
  }
  return blocks;
}

function compareGroups(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return b.length - a.length;
}

export function buildBlocked(m: CsrLike, reorder: boolean): BlockedInfo {
  const groups = Array.from({ length: m.rows }, (_, r) => groupsOf(m, r));
  const identity = Int32Array.from({ length: m.rows }, (_, i) => i);
  const blocksUnordered = countBlocks(identity, groups);
  let perm = identity;
  if (reorder) {
    const sorted = Int32Array.from(identity).sort((x, y) => compareGroups(groups[x], groups[y]) || x - y);
    if (countBlocks(sorted, groups) < blocksUnordered) perm = sorted;
  }
  const blocks = perm === identity ? blocksUnordered : countBlocks(perm, groups);
  const valueBytes = blocks * BLOCK_ROWS * BLOCK_COLS * 4;
  if (valueBytes > 2 ** 31) {
    throw invalidArg(
      'matrix',
      'a matrix whose 16x8 blocks fit in 2 GiB (use the CSR format)',
      `${blocks} blocks (${(valueBytes / 2 ** 30).toFixed(1)} GiB)`,
      'range',
      { described: true },
    );
  }
  const panels = Math.ceil(m.rows / BLOCK_ROWS);
  const panelPtr = new Int32Array(panels + 1);
  const blockCol = new Int32Array(blocks);
  const blockValues = new Float32Array(blocks * BLOCK_ROWS * BLOCK_COLS);
  let nb = 0;
  const slot = new Map<number, number>();
  for (let pn = 0; pn < panels; pn++) {
    slot.clear();
    const base = pn * BLOCK_ROWS;
    const all = new Set<number>();
    for (let i = base; i < Math.min(base + BLOCK_ROWS, m.rows); i++) for (const g of groups[perm[i]]) all.add(g);
    for (const g of [...all].sort((x, y) => x - y)) {
      slot.set(g, nb);
      blockCol[nb++] = g * BLOCK_COLS;
    }
    for (let i = base; i < Math.min(base + BLOCK_ROWS, m.rows); i++) {
      const r = perm[i];
      for (let p = Number(m.rowPtr[r]); p < Number(m.rowPtr[r + 1]); p++) {
        const c = Number(m.colIdx[p]);
        const b = slot.get(Math.floor(c / BLOCK_COLS)) as number;
        blockValues[(b * BLOCK_ROWS + (i - base)) * BLOCK_COLS + (c % BLOCK_COLS)] += m.values[p];
      }
    }
    panelPtr[pn + 1] = nb;
  }
  const nnz = m.colIdx.length;
  return {
    blockShape: [BLOCK_ROWS, BLOCK_COLS],
    blocks,
    fill: blocks ? nnz / (blocks * BLOCK_ROWS * BLOCK_COLS) : 0,
    blocksUnordered,
    reordered: perm !== identity,
    bytes: perm.byteLength + panelPtr.byteLength + blockCol.byteLength + blockValues.byteLength,
    perm,
    panelPtr,
    blockCol,
    blockValues,
  };
}
