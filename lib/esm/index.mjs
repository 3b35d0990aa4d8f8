// ES module entry: the CommonJS build re-exported by name. test/exports.test.ts checks that this list
// and the CommonJS exports agree.
import cjs from '../index.js';

export const {
  Tensor,
  devices,
  defaultDevice,
  whyNoGpu,
  setNumThreads,
  getNumThreads,
  setCpuIsa,
  memoryInfo,
  TensorkernError,
  cast,
  castSync,
  gemm,
  gemmSync,
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
  Int4Weights,
  float32ToFloat16Bits,
  float16BitsToFloat32,
  float32ToBFloat16Bits,
  bfloat16BitsToFloat32,
  toHalfBits,
  fromHalfBits,
  version,
  nativeInfo,
} = cjs;
export default cjs;
