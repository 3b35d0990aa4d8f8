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
  spmm,
  spmmSync,
  SparseMatrix,
  attention,
  attentionSync,
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
