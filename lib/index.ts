// tensorkern: the public surface. Everything a user can import is exported here, and only here.
export { Tensor } from './tensor';
export type { TensorOptions } from './tensor';
export type { ArrayOf, DType, DTypeArrays, TypedArray } from './dtype';
export type { Device, DeviceSpec, DeviceInfo, CpuDeviceInfo, CudaDeviceInfo } from './device';
export { devices, defaultDevice, whyNoGpu, setNumThreads, getNumThreads, setCpuIsa, memoryInfo } from './device';
export { TensorkernError } from './errors';
export type { TensorkernErrorCode } from './errors';
export { OpGraph, recordGraph } from './graph';
export { cast, castSync } from './ops/cast';
export type { CastOptions } from './ops/cast';
export {
  rmsNorm,
  rmsNormSync,
  rope,
  ropeSync,
  silu,
  siluSync,
  swiglu,
  swigluSync,
  add,
  addSync,
  softmax,
  softmaxSync,
  embedding,
  embeddingSync,
  argmax,
  argmaxSync,
  topk,
  topkSync,
  kvAppend,
  kvAppendSync,
} from './ops/block';
export type {
  RmsNormOptions,
  RopeOptions,
  OutOptions,
  EmbeddingOptions,
  ArgmaxOptions,
  TopkOptions,
  TopkResult,
  KvAppendOptions,
} from './ops/block';
export { gemm, gemmSync } from './ops/gemm';
export type { GemmOptions } from './ops/gemm';
export { PackedWeights, packWeights, packWeightsSync } from './ops/packed-weights';
export type { PackWeightsOptions } from './ops/packed-weights';
export { spmm, spmmSync } from './ops/spmm';
export type { SpmmOptions } from './ops/spmm';
export { SparseMatrix } from './sparse/sparse-matrix';
export type { CsrInit, CooInit, RowStats, PrepareOptions, PrepareInfo, IndexArray, IndexInput } from './sparse/sparse-matrix';
export type { BlockedInfo } from './sparse/blocked';
export { attention, attentionSync } from './ops/attention';
export type { AttentionOptions, AttentionResult, QkStage } from './ops/attention';
export { linearAttention, linearAttentionSync } from './ops/linear-attention';
export type { LinearAttentionOptions, LinearAttentionResult } from './ops/linear-attention';
export { monarchMatmul, monarchMatmulSync, projectMonarch, projectMonarchSync } from './ops/monarch';
export type { MonarchOptions, ProjectMonarchOptions, MonarchFactors } from './ops/monarch';
export { int8Matmul, int8MatmulSync, quantizeWeightsInt8, quantizeWeightsInt8Sync } from './ops/int8mm';
export type { Int8MatmulOptions, QuantizeWeightsInt8Options } from './ops/int8mm';
export { Int8Weights } from './quant/int8-weights';
export {
  quantizeWeightsInt4,
  quantizeWeightsInt4Sync,
  w4a4Matmul,
  w4a4MatmulSync,
  w4a8Matmul,
  w4a8MatmulSync,
  int4Matmul,
  int4MatmulSync,
  quantizeActivationsInt4,
  selectOutlierChannels,
} from './ops/w4a4';
export type { QuantizeWeightsInt4Options, W4A4MatmulOptions, QuantizedActivations } from './ops/w4a4';
export { Int4Weights } from './quant/int4-weights';
export { bitMatmul, bitMatmulSync } from './ops/bitmm';
export type { BitMatmulOptions } from './ops/bitmm';
export { BitPlanes, packBits, quantizeBits } from './quant/bit-planes';
export type { BitFormat, BitPlanesOptions } from './quant/bit-planes';
export type { MatMulNBitsInput } from './quant/int4-weights';
export { lutMatmul, lutMatmulSync, quantizeWeights, quantizeWeightsSync } from './ops/lut';
export type { LutMatmulOptions, QuantizeWeightsOptions } from './ops/lut';
export { LowBitWeights } from './quant/low-bit-weights';
export { float32ToFloat16Bits, float16BitsToFloat32, float32ToBFloat16Bits, bfloat16BitsToFloat32, toHalfBits, fromHalfBits } from './half';
export { version, nativeInfo } from './version';
export { hostMemoryStats, setHostCacheLimit, trimHostCache } from './host-memory';
export type { HostMemoryStats } from './host-memory';
