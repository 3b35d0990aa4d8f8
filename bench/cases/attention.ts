// attention cases: the case type, the pairs of positions a case attends, its useful flops and bytes, and
// the bench's shapes (bench/attention.ts, bench/attention_cuda.ts). The correctness cases are
// test/cases/attention.ts.
import type { DType } from '../../lib/dtype';

/** bool: a 'bool' tensor (Uint8Array 0 / 1); int8: boolean in an int8 tensor; float: additive. */
export type MaskKind = 'bool' | 'int8' | 'float';

export interface AttentionCase {
  name: string;
  B: number;
  Hq: number;
  Hkv: number;
  Sq: number;
  Sk: number;
  D: number;
  /** V's head dim (default D). */
  Dv?: number;
  dtype: DType;
  layout?: 'bhsd' | 'bshd';
  causal?: boolean;
  /** With causal: query i sees keys j <= i + causalOffset (default bottom-right). */
  causalOffset?: number;
  scale?: number;
  softcap?: number;
  /** Shape of the mask tensor (broadcast to [B, Hq, Sq, Sk]) and its kind. */
  mask?: { kind: MaskKind; shape: number[] };
  kvLengths?: number[];
}

/** Visible (query, key) pairs of one head of batch entry b (no mask). */
export function visiblePairs(c: Pick<AttentionCase, 'Sq' | 'Sk' | 'causal' | 'causalOffset' | 'kvLengths'>, b = 0): number {
  const L = c.kvLengths ? c.kvLengths[b] : c.Sk;
  if (!c.causal) return c.Sq * L;
  const off = c.causalOffset ?? L - c.Sq;
  let n = 0;
  for (let i = 0; i < c.Sq; i++) n += Math.max(0, Math.min(L, i + off + 1));
  return n;
}

export function attentionFlops(c: AttentionCase): number {
  let pairs = 0;
  for (let b = 0; b < c.B; b++) pairs += visiblePairs(c, b);
  return 2 * (c.D + (c.Dv ?? c.D)) * c.Hq * pairs;
}

export function attentionBytes(c: AttentionCase): number {
  const el = c.dtype === 'float32' ? 4 : 2;
  const Dv = c.Dv ?? c.D;
  return el * c.B * (c.Hq * c.Sq * (c.D + Dv) + c.Hkv * c.Sk * (c.D + Dv));
}

export function caseName(c: Omit<AttentionCase, 'name'>): string {
  const extras = [
    c.layout === 'bshd' ? 'bshd' : '',
    c.causal ? (c.causalOffset !== undefined ? `causal(offset ${c.causalOffset})` : 'causal') : '',
    c.scale !== undefined ? `scale=${c.scale}` : '',
    c.softcap !== undefined ? `softcap=${c.softcap}` : '',
    c.mask ? `${c.mask.kind}-mask[${c.mask.shape.join(',')}]` : '',
    c.kvLengths ? `kvLengths=[${c.kvLengths.join(',')}]` : '',
  ].filter(Boolean);
  return `attention ${c.dtype} B${c.B} H${c.Hq}/${c.Hkv} ${c.Sq}x${c.Sk} D${c.D}${c.Dv !== undefined ? ` Dv${c.Dv}` : ''}${extras.length ? ' ' + extras.join(' ') : ''}`;
}

/** A case named from its fields. */
export function attentionCase(c: Omit<AttentionCase, 'name'>): AttentionCase {
  return { name: caseName(c), ...c };
}

/** Bench cases (B = 1, D = 64): H = 8 and 16, S = 512..2048, causal and not; decode shapes (D = 128). */
export function attentionBenchCases(sizes?: number[]): AttentionCase[] {
  const cases: AttentionCase[] = [];
  for (const S of sizes ?? [512, 1024, 2048])
    for (const H of [8, 16])
      for (const causal of [false, true]) cases.push(attentionCase({ B: 1, Hq: H, Hkv: H, Sq: S, Sk: S, D: 64, dtype: 'float32', causal }));
  cases.push(attentionCase({ B: 1, Hq: 32, Hkv: 8, Sq: 1, Sk: 4096, D: 128, dtype: 'float32' }));
  cases.push(attentionCase({ B: 1, Hq: 8, Hkv: 1, Sq: 1, Sk: 32768, D: 128, dtype: 'float32' })); // MQA: one tile, keys split across threads
  cases.push(attentionCase({ B: 1, Hq: 32, Hkv: 8, Sq: 4, Sk: 16384, D: 128, dtype: 'float32', causal: true }));
  return cases;
}
