// The Hadamard rotation of int4 quantization (docs/design.md, Data conventions): a block-diagonal Walsh–Hadamard
// transform of the K dimension, applied to the weights at quantize time and to the activations
// inside the fused quantize of w4a4Matmul. H (normalized, 1/sqrt(B) H_B per block) is symmetric and
// orthonormal, so (x H)(w H)^T = x w^T exactly in real arithmetic; it spreads an outlier channel
// over B channels before the 4-bit scale is taken.
//
// Block size B: the largest power of two dividing the group size (K for per-channel weights),
// capped at 256. Rotation stays inside each group, so group scales still describe their own
// channels; K need not be a power of two (K = 96 with groups of 32 rotates in blocks of 32; an
// odd multiple of 2 rotates in blocks of 2). The 256 cap bounds the transform's cost (8 butterfly
// stages per value) while spreading each outlier over 256 channels.
//
// The float32 arithmetic is part of the contract, so every backend quantizes the same rotated
// values: butterflies for h = 1, 2, 4, ... < B over (a, b) -> (a + b, a - b), each rounded to float32,
// then a multiply by fround(1 / sqrt(B)).

export const MAX_ROTATION_BLOCK = 256;

/** The rotation block for a group size (the whole K for per-channel weights). */
export function rotationBlock(groupSize: number): number {
  let b = 1;
  while (b < MAX_ROTATION_BLOCK && groupSize % (2 * b) === 0) b *= 2;
  return b;
}

const fround = Math.fround,
  sqrt = Math.sqrt;

/** In place: rotates v[offset, offset + K) in blocks of `block` (float32 arithmetic, see above). */
export function hadamardRotate(v: Float32Array, offset: number, K: number, block: number): void {
  const c = fround(1 / sqrt(block));
  for (let b0 = offset; b0 < offset + K; b0 += block) {
    for (let h = 1; h < block; h *= 2) {
      for (let i = b0; i < b0 + block; i += 2 * h) {
        for (let j = i; j < i + h; j++) {
          const p = v[j],
            q = v[j + h];
          v[j] = p + q; // Float32Array stores round to float32
          v[j + h] = p - q;
        }
      }
    }
    for (let j = b0; j < b0 + block; j++) v[j] = v[j] * c;
  }
}
