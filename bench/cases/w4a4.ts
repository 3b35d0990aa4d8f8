// W4A4 cases: the case type, its ops() (2 M N K integer multiply-adds) and bytes() (float32 x and out,
// 4-bit weights, scales), and the bench's shapes (bench/w4a4.ts). The correctness cases are test/cases/w4a4.ts.

export interface W4A4Case {
  name: string;
  M: number;
  N: number;
  K: number;
  groupSize: number | 'channel';
  rotate?: boolean;
  bits: 4 | 8;
  outliers?: number[];
  withBias?: boolean;
}

export function w4a4Ops(c: { M: number; N: number; K: number }): number {
  return 2 * c.M * c.N * c.K;
}

export function w4a4Bytes(c: { M: number; N: number; K: number; groupSize: number | 'channel' }): number {
  const G = c.groupSize === 'channel' ? 1 : c.K / c.groupSize;
  return 4 * c.M * c.K + (c.N * c.K) / 2 + 4 * c.N * G + 4 * c.M * c.N;
}

function name(c: Omit<W4A4Case, 'name'>): string {
  const g = c.groupSize === 'channel' ? 'channel' : `g${c.groupSize}`;
  const extras = [c.rotate ? 'hadamard' : '', c.outliers?.length ? `outliers=${c.outliers.length}` : '', c.withBias ? 'bias' : '']
    .filter(Boolean)
    .join(' ');
  return `w${4}a${c.bits} ${c.M}x${c.N}x${c.K} ${g}${extras ? ' ' + extras : ''}`;
}

/** A case named from its fields. */
export const w4a4Case = (c: Omit<W4A4Case, 'name'>): W4A4Case => ({ name: name(c), ...c });

/** Bench shapes: the 4096 cube (prefill) and decode rows M = 1, 8 with N = K = 4096. */
export function w4a4BenchCases(sizes: number[]): W4A4Case[] {
  const out: W4A4Case[] = [];
  for (const s of sizes) {
    out.push(w4a4Case({ M: s, N: s, K: s, groupSize: 128, bits: 4 }));
    out.push(w4a4Case({ M: s, N: s, K: s, groupSize: 'channel', bits: 4 }));
  }
  for (const M of [1, 8]) out.push(w4a4Case({ M, N: 4096, K: 4096, groupSize: 128, bits: 4 }));
  return out;
}
