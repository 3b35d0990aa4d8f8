// Types for mixed.js (a plain CommonJS module so plain node scripts can use it too).
export interface MixedOp {
  name: string;
  sync(): ArrayBufferView;
  async(): Promise<ArrayBufferView>;
}
export function makeOps(tk: unknown, opts?: { seed?: number; scale?: number }): MixedOp[];
export function sameBits(a: ArrayBufferView, b: ArrayBufferView): boolean;
export function rng(seed: number): () => number;
