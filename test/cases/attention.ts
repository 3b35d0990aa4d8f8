// attention correctness cases and their inputs (test/attention.test.ts, test/gpu/attention.test.ts). The case
// type, flops and bytes and the bench's shapes are bench/cases/attention.ts.
import type { DType, TypedArray } from '../../lib/dtype';
import { AttentionCase, attentionCase as mk } from '../../bench/cases/attention';
import { makeData, rng } from '../helpers/data';
import { AttnRefInput, AttnRefOutput, refAttention } from '../reference/attention';

export * from '../../bench/cases/attention';

/** Correctness cases: GQA / MQA, Sq != Sk, every mask broadcast shape, kvLengths, decode, odd D, dtypes. */
export function attentionTestCases(): AttentionCase[] {
  const f = 'float32' as const;
  const cases: AttentionCase[] = [
    mk({ B: 1, Hq: 1, Hkv: 1, Sq: 1, Sk: 1, D: 8, dtype: f }),
    mk({ B: 2, Hq: 4, Hkv: 4, Sq: 37, Sk: 53, D: 64, dtype: f }),
    mk({ B: 2, Hq: 4, Hkv: 4, Sq: 37, Sk: 53, D: 64, dtype: f, causal: true }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 300, Sk: 300, D: 64, dtype: f, causal: true }),
    mk({ B: 1, Hq: 8, Hkv: 2, Sq: 65, Sk: 65, D: 32, dtype: f, causal: true }),
    mk({ B: 2, Hq: 9, Hkv: 3, Sq: 20, Sk: 33, D: 16, dtype: f }),
    mk({ B: 1, Hq: 9, Hkv: 3, Sq: 50, Sk: 50, D: 24, dtype: f, causal: true }),
    mk({ B: 2, Hq: 4, Hkv: 1, Sq: 13, Sk: 70, D: 40, dtype: f }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 7, Sk: 100, D: 32, dtype: f, causal: true }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 100, Sk: 30, D: 32, dtype: f, causal: true }), // queries 0..69 see no key
    mk({ B: 2, Hq: 6, Hkv: 2, Sq: 19, Sk: 45, D: 24, dtype: f, layout: 'bshd', causal: true }),
    mk({ B: 1, Hq: 3, Hkv: 3, Sq: 60, Sk: 130, D: 8, dtype: f, layout: 'bshd' }),
    // D: 8 / 24 / 128, and sizes that fill no vector
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 33, Sk: 77, D: 128, dtype: f, causal: true }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 9, Sk: 31, D: 5, dtype: f }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 9, Sk: 31, D: 33, dtype: f, causal: true }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 20, Sk: 200, D: 8, dtype: f }),
    // scale and softcap
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 30, Sk: 40, D: 16, dtype: f, scale: 1.5 }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 30, Sk: 40, D: 16, dtype: f, scale: 2, softcap: 3, causal: true }),
    // masks of each broadcast shape
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'bool', shape: [21, 67] } }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'int8', shape: [2, 1, 21, 67] } }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'float', shape: [1, 4, 21, 67] } }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'float', shape: [2, 4, 21, 67] }, causal: true }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'bool', shape: [2, 1, 1, 67] } }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'int8', shape: [4, 21, 1] } }), // whole rows masked
    mk({ B: 2, Hq: 2, Hkv: 2, Sq: 5, Sk: 9, D: 8, dtype: f, mask: { kind: 'float', shape: [1, 1, 1, 9] }, layout: 'bshd' }),
    // kvLengths, without and with causal (then aligned to the valid length)
    mk({ B: 3, Hq: 2, Hkv: 1, Sq: 11, Sk: 40, D: 16, dtype: f, kvLengths: [0, 17, 40] }),
    mk({ B: 2, Hq: 2, Hkv: 2, Sq: 5, Sk: 40, D: 16, dtype: f, kvLengths: [12, 40], causal: true }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 30, Sk: 30, D: 32, dtype: f, kvLengths: [10, 30], causal: true }),
    mk({ B: 2, Hq: 2, Hkv: 1, Sq: 30, Sk: 30, D: 32, dtype: f, kvLengths: [25, 3], mask: { kind: 'bool', shape: [2, 1, 30, 30] } }),
    // decode: Sq 1..4 against a long cache; the long ones take the split-keys (flash-decoding) path
    mk({ B: 2, Hq: 8, Hkv: 2, Sq: 1, Sk: 1000, D: 64, dtype: f }),
    mk({ B: 1, Hq: 4, Hkv: 1, Sq: 1, Sk: 4099, D: 64, dtype: f }),
    mk({ B: 1, Hq: 4, Hkv: 1, Sq: 4, Sk: 3000, D: 32, dtype: f, causal: true, kvLengths: [2900] }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 2, Sk: 5000, D: 16, dtype: f, mask: { kind: 'float', shape: [1, 1, 2, 5000] } }),
    // the decode kernel (<= 8 rows per kv head, no mask): head-dim tails, strided bshd rows, a row
    // per query position with its own causal end (top-left: query 0 sees one key), kvLengths
    mk({ B: 1, Hq: 4, Hkv: 1, Sq: 1, Sk: 700, D: 33, Dv: 20, dtype: f, layout: 'bshd' }),
    mk({ B: 2, Hq: 4, Hkv: 1, Sq: 2, Sk: 300, D: 48, dtype: f, causal: true, causalOffset: 0, kvLengths: [300, 5] }),
    // ONNX Attention: V's head dim unlike Q / K's (with GQA, layouts, masks, kvLengths, decode)
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 23, Sk: 41, D: 16, Dv: 24, dtype: f }),
    mk({ B: 1, Hq: 6, Hkv: 2, Sq: 50, Sk: 50, D: 32, Dv: 8, dtype: f, causal: true }),
    mk({ B: 2, Hq: 4, Hkv: 1, Sq: 9, Sk: 70, D: 8, Dv: 40, dtype: f, layout: 'bshd', mask: { kind: 'bool', shape: [9, 70] } }),
    mk({ B: 2, Hq: 2, Hkv: 1, Sq: 30, Sk: 30, D: 24, Dv: 5, dtype: f, causal: true, kvLengths: [30, 11] }),
    mk({ B: 1, Hq: 8, Hkv: 2, Sq: 1, Sk: 2000, D: 64, Dv: 96, dtype: f }),
    mk({ B: 1, Hq: 3, Hkv: 3, Sq: 70, Sk: 90, D: 128, Dv: 64, dtype: f, layout: 'bshd', causal: true, causalOffset: 5 }),
    // causal offsets: top-left (0, ONNX without past), the past length, negative, every key, with kvLengths
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 40, Sk: 70, D: 16, dtype: f, causal: true, causalOffset: 0 }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 60, Sk: 25, D: 16, dtype: f, causal: true, causalOffset: 0, layout: 'bshd' }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 33, Sk: 33, D: 8, dtype: f, causal: true, causalOffset: -7 }),
    mk({ B: 2, Hq: 2, Hkv: 1, Sq: 20, Sk: 50, D: 16, dtype: f, causal: true, causalOffset: 12, kvLengths: [50, 25] }),
    mk({ B: 1, Hq: 4, Hkv: 1, Sq: 2, Sk: 3000, D: 32, dtype: f, causal: true, causalOffset: 1500 }),
    // rank-1 masks ([Sk], broadcast over batch, heads and queries) and masks shorter than Sk
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'bool', shape: [67] } }),
    mk({ B: 2, Hq: 2, Hkv: 2, Sq: 13, Sk: 40, D: 16, dtype: f, mask: { kind: 'float', shape: [40] }, causal: true }),
    mk({ B: 2, Hq: 4, Hkv: 2, Sq: 21, Sk: 67, D: 16, dtype: f, mask: { kind: 'bool', shape: [2, 1, 21, 50] } }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 30, Sk: 100, D: 16, dtype: f, mask: { kind: 'float', shape: [30, 70] }, causal: true, causalOffset: 60 }),
    mk({ B: 1, Hq: 2, Hkv: 2, Sq: 2, Sk: 3000, D: 16, dtype: f, mask: { kind: 'int8', shape: [2900] } }),
    // empty
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 3, Sk: 0, D: 8, dtype: f }),
    mk({ B: 1, Hq: 2, Hkv: 1, Sq: 0, Sk: 5, D: 8, dtype: f }),
  ];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    cases.push(mk({ B: 2, Hq: 4, Hkv: 4, Sq: 37, Sk: 53, D: 64, dtype }));
    cases.push(mk({ B: 1, Hq: 8, Hkv: 2, Sq: 65, Sk: 65, D: 24, dtype, causal: true }));
    cases.push(mk({ B: 1, Hq: 4, Hkv: 2, Sq: 19, Sk: 45, D: 40, dtype, layout: 'bshd', mask: { kind: 'float', shape: [19, 45] } }));
    cases.push(mk({ B: 2, Hq: 4, Hkv: 1, Sq: 1, Sk: 1000, D: 64, dtype, kvLengths: [1000, 321] }));
    cases.push(
      mk({ B: 1, Hq: 4, Hkv: 2, Sq: 40, Sk: 60, D: 32, Dv: 48, dtype, causal: true, causalOffset: 0, mask: { kind: 'bool', shape: [60] } }),
    );
  }
  return cases;
}

/** A case's q / k (or, with E = Dv, v and out) shape for H heads and S positions in its layout. */
export function attentionShape(c: AttentionCase, H: number, S: number, E = c.D): number[] {
  return c.layout === 'bshd' ? [c.B, S, H, E] : [c.B, H, S, E];
}

export interface AttentionData {
  /** The reference's input (decoded float64 values) and its output. */
  input: AttnRefInput;
  ref: AttnRefOutput;
  /** q / k / v storage in the case's dtype. */
  data: { q: TypedArray; k: TypedArray; v: TypedArray };
  /** The mask's storage, when the case has one. */
  mask?: { data: Uint8Array | Int8Array | Float32Array; dtype: DType; shape: number[] };
  /** max |finite additive mask value| (the score error bound's term). */
  maskMax: number;
}

/** Deterministic inputs of a case, with the float64 reference (shared by the CPU and GPU suites). */
export function attentionData(c: AttentionCase, seed: number): AttentionData {
  const n = (H: number, S: number, E = c.D) => c.B * H * S * E;
  const qd = makeData(c.dtype, n(c.Hq, c.Sq), seed),
    kd = makeData(c.dtype, n(c.Hkv, c.Sk), seed + 1),
    vd = makeData(c.dtype, n(c.Hkv, c.Sk, c.Dv ?? c.D), seed + 2);
  let mask: AttentionData['mask'];
  let maskVals: AttnRefInput['mask'];
  let maskMax = 0;
  if (c.mask) {
    const len = c.mask.shape.reduce((a, b) => a * b, 1);
    const r = rng(seed + 3);
    const values = new Float64Array(len);
    if (c.mask.kind !== 'float') {
      const d = c.mask.kind === 'bool' ? new Uint8Array(len) : new Int8Array(len);
      // int8 masks: any nonzero byte attends
      for (let i = 0; i < len; i++)
        values[i] = d[i] = r() < 0.75 ? (c.mask.kind === 'bool' ? 1 : 1 + Math.floor(r() * 100) * (r() < 0.5 ? -1 : 1)) : 0;
      mask = { data: d, dtype: c.mask.kind, shape: c.mask.shape };
    } else {
      const d = new Float32Array(len);
      for (let i = 0; i < len; i++) values[i] = d[i] = r() < 0.1 ? -Infinity : Math.fround(r() * 4 - 3); // the stored float32
      for (const x of values) if (x !== -Infinity) maskMax = Math.max(maskMax, Math.abs(x));
      mask = { data: d, dtype: 'float32', shape: c.mask.shape };
    }
    maskVals = { values, shape: c.mask.shape, bool: c.mask.kind !== 'float' };
  }
  const input: AttnRefInput = {
    q: qd.values,
    k: kd.values,
    v: vd.values,
    B: c.B,
    Hq: c.Hq,
    Hkv: c.Hkv,
    Sq: c.Sq,
    Sk: c.Sk,
    D: c.D,
    Dv: c.Dv,
    layout: c.layout,
    causal: c.causal,
    causalOffset: c.causalOffset,
    scale: c.scale,
    softcap: c.softcap,
    mask: maskVals,
    kvLengths: c.kvLengths,
  };
  return { input, ref: refAttention(input), data: { q: qd.data, k: kd.data, v: vd.data }, mask, maskMax };
}
