// Loads the native addon and declares its interface. The only module that touches the addon.
//
// Resolution: TENSORKERN_BINARY (an explicit .node path), else node-gyp-build's search of the package
// root: build/Release (a local source build), then prebuilds/<platform>-<arch>/ (the shipped binaries).
// A failure names what was looked for and where, and what to do, in the manner of sharp.
import * as fs from 'fs';
import * as path from 'path';
import { TensorkernError } from './errors';
import { PACKAGE_ROOT } from './root';

/** A tensor as the addon sees it (native/napi/tensor_arg.h). Exactly one of data / buffer. */
export interface NativeTensor {
  dtype: number;
  shape: number[];
  data?: ArrayBufferView;
  buffer?: NativeDeviceBuffer;
}

/** A sparse matrix's arrays on a CUDA device: CSR, and the blocked form when it was built. */
export interface NativeSpmmDevForm {
  rowPtr: NativeTensor;
  colIdx: NativeTensor;
  values: NativeTensor;
  perm?: NativeTensor;
  panelPtr?: NativeTensor;
  blockCol?: NativeTensor;
  blockValues?: NativeTensor;
}

export interface NativeDeviceBuffer {
  readonly bytes: number;
  readonly device: number;
  readonly released: boolean;
  release(): void;
}

export interface NativeCudaDevice {
  index: number;
  name: string;
  ccMajor: number;
  ccMinor: number;
  totalMemory: number;
  multiprocessors: number;
  smemPerBlockOptin: number;
  smemPerSm: number;
  l2Bytes: number;
  clockKhz: number;
  memoryClockKhz: number;
  memoryBusBits: number;
  usable: boolean;
  unusableWhy: string;
}

export interface NativeProbe {
  cpu: {
    vendor: string;
    /** CPUID's brand string (x86-64), '' elsewhere. */
    brand: string;
    /** The OS's name for the CPU (/proc/cpuinfo "model name"), '' where it gives none. */
    osModel: string;
    logicalCpus: number;
    physicalCores: number;
    bestIsa: string;
    activeIsa: string;
    features: Record<string, boolean>;
  };
  cuda: {
    built: boolean;
    runtimeVersion: number;
    driverVersion: number;
    whyNoGpu: string;
    devices: NativeCudaDevice[];
  };
  build: { cuda: boolean; cudaArchitectures: string; compiler: string; napiVersion: number };
  dtypes: { code: number; name: string; bits: number }[];
}

/** The warm host-memory cache as the addon reports it (lib/host-memory.ts adds minBytes for hostMemoryStats()). */
export interface NativeHostPoolStats {
  /** Cap on idle cached bytes (setHostCacheLimit / TENSORKERN_HOST_CACHE_MB; default 1/16 of RAM, 64 MiB..1 GiB). */
  limit: number;
  /** Idle bytes held mapped for reuse. */
  cached: number;
  /** Bytes of pooled memory held by live tensors, running ops and their workspaces. */
  inUse: number;
  cachedBlocks: number;
  inUseBlocks: number;
  /** Allocations served from the cache / by mapping fresh memory. */
  hits: number;
  misses: number;
  /** Bytes given back to the OS (past the cap, idle for 30 s, or trimHostCache()). */
  evicted: number;
  /** Blocks taken back from outputs the garbage collector found dead (the rest come back by dispose() or Node's finalizers). */
  reclaimed: number;
  /** False where the runtime forbids external ArrayBuffers (V8 sandbox): outputs are then plain typed arrays. */
  pooled: boolean;
}

/** An op graph (native/napi/graph.h): recorded op closures, replayed by one call. */
export interface NativeGraph {
  run(async: true): Promise<void>;
  run(async: false): void;
  dispose(): void;
  readonly length: number;
  readonly names: string[];
  /** Nanoseconds the last replay took (-1 before the first). */
  readonly lastRunNs: number;
}

/** What an op with an `async` flag returns: a Promise when async, else nothing (failures throw). */
export type AsyncResult<A extends boolean> = A extends true ? Promise<void> : void;

export interface NativeBinding {
  DeviceBuffer: new (device: number, bytes: number) => NativeDeviceBuffer;
  Graph: new () => NativeGraph;
  /** Routes the ops called until graphEnd() into `graph` (recorded, not run). */
  graphBegin(graph: NativeGraph): void;
  graphEnd(): void;
  probe(): NativeProbe;
  memInfo(device: number): { free: number; total: number; inUse: number };
  /** Test hook: provokes a sticky CUDA error on purpose ('trap'). */
  injectFault(device: number, kind: string): void;
  /**
   * An ArrayBuffer of `bytes` over pooled memory (contents undefined; zeroed V8 memory where the runtime refuses external
   * buffers). warmOnly: undefined rather than mapping fresh memory when no idle or reclaimable block of that size is there.
   */
  hostAlloc(bytes: number, warmOnly?: false): ArrayBuffer;
  hostAlloc(bytes: number, warmOnly: true): ArrayBuffer | undefined;
  /** Gives a pooled buffer's memory back now, detaching it; false when it is not pooled memory or already detached. */
  hostRelease(buffer: ArrayBuffer): boolean;
  hostPoolStats(): NativeHostPoolStats;
  hostPoolSetLimit(bytes: number): void;
  hostPoolTrim(): void;
  /** Takes back the blocks of that size class whose outputs the collector has found dead; returns how many. */
  hostReclaim(bytes: number): number;
  getNumThreads(): number;
  setNumThreads(n: number): void;
  defaultNumThreads(): number;
  /** Caps the kernel ISA ('auto' | 'scalar' | 'avx2' | 'avx512' | 'neon'); returns the ISA now in use. */
  setIsaCap(isa: string): string;
  /** Zero-fills a device tensor (stream-ordered, returns at once). */
  zero(dst: NativeTensor): void;
  cast(src: NativeTensor, dst: NativeTensor, async: true): Promise<void>;
  cast(src: NativeTensor, dst: NativeTensor, async: false): void;
  /** runDevice: host tensors computed on that CUDA device (copied in and out); -1 / absent: where the tensors are. */
  /** packed / packedLayout: weights packed by gemmPackB (b is their source, read when the layout does not serve the call). */
  gemm(
    a: NativeTensor,
    b: NativeTensor,
    c: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
    async: true,
    runDevice?: number,
    allowTf32?: boolean,
    packed?: NativeTensor,
    packedLayout?: string,
  ): Promise<void>;
  gemm(
    a: NativeTensor,
    b: NativeTensor,
    c: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
    async: false,
    runDevice?: number,
    allowTf32?: boolean,
    packed?: NativeTensor,
    packedLayout?: string,
  ): void;
  /** The CPU kernels' packing of op(B) [K, N] of a dtype code: its layout name ('' when none) and size. */
  gemmPackLayout(dtype: number, K: number, N: number): { layout: string; bytes: number };
  gemmPackB(b: NativeTensor, transB: boolean, dst: NativeTensor, layout: string, async: true): Promise<void>;
  gemmPackB(b: NativeTensor, transB: boolean, dst: NativeTensor, layout: string, async: false): void;
  /** Caps the CUDA gemm kernel tier ('auto' | 'sm90' | 'sm80' | 'simt') and forces split-K slices (0 = automatic); tests and benches. */
  gemmCudaSetPath(tier: string, splits: number): void;
  /** The kernel the last CUDA gemm ran ('' before any). */
  gemmCudaLastKernel(): string;
  /** cuBLAS, the GPU gemm bench baseline (dlopen). */
  cublasLoad(): { available: boolean; path: string; version: string; why: string };
  /** cuSPARSE (dlopen), the GPU spmm baseline. */
  cusparseLoad(): { available: boolean; path: string; version: string; why: string };
  /** Seconds per run (CUDA events) of cusparseSpMM (CSR x row-major dense) on device tensors. */
  cusparseSpmmTime(
    rowPtr: NativeTensor,
    colIdx: NativeTensor,
    values: NativeTensor,
    rows: number,
    cols: number,
    b: NativeTensor,
    out: NativeTensor,
    warmup: number,
    runs: number,
  ): number[];
  /** Seconds per run (CUDA events) of a gemm on device tensors by 'tensorkern' or 'cublas'. */
  gpuGemmTime(
    which: string,
    a: NativeTensor,
    b: NativeTensor,
    out: NativeTensor,
    transA: boolean,
    transB: boolean,
    allowTf32: boolean,
    warmup: number,
    runs: number,
  ): number[];
  /** The plain-loop baseline (sync, CPU, float32 or int32 out). */
  gemmPlain(
    a: NativeTensor,
    b: NativeTensor,
    c: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    transA: boolean,
    transB: boolean,
    alpha: number,
    beta: number,
  ): void;
  /** The CPU kernel gemm would use for this dtype code and row count. */
  gemmKernel(dtype: number, m: number, transB: boolean): string;
  /** Testing / bench hook: the AVX-512 GEMM block configs ('auto' | 'wide' | 'split'); returns those in use. */
  gemmSetBlocks(mode: string): string;
  /** runDevice: the CUDA device host tensors run on (-1: where b is); kernel: 0 auto, 1 csr, 2 blocked, 3 tiles; devForm: the matrix's device copies. */
  spmm(
    rowPtr: NativeTensor,
    colIdx: NativeTensor,
    values: NativeTensor,
    rows: number,
    cols: number,
    b: NativeTensor,
    c: NativeTensor | undefined,
    out: NativeTensor,
    alpha: number,
    beta: number,
    async: true,
    runDevice?: number,
    kernel?: number,
    devForm?: NativeSpmmDevForm,
  ): Promise<void>;
  spmm(
    rowPtr: NativeTensor,
    colIdx: NativeTensor,
    values: NativeTensor,
    rows: number,
    cols: number,
    b: NativeTensor,
    c: NativeTensor | undefined,
    out: NativeTensor,
    alpha: number,
    beta: number,
    async: false,
    runDevice?: number,
    kernel?: number,
    devForm?: NativeSpmmDevForm,
  ): void;
  /** The kernel the last CUDA spmm ran and why ('' before any). */
  spmmCudaLastKernel(): string;
  /** Seconds per run (CUDA events) of spmm on device tensors, the plan built once: the bench. */
  spmmCudaTime(
    rowPtr: NativeTensor,
    colIdx: NativeTensor,
    values: NativeTensor,
    rows: number,
    cols: number,
    b: NativeTensor,
    c: NativeTensor | undefined,
    out: NativeTensor,
    alpha: number,
    beta: number,
    kernel: number,
    devForm: NativeSpmmDevForm,
    warmup: number,
    runs: number,
  ): number[];
  /** The bench's hand-written-loop baseline (sync, CPU). */
  spmmPlain(
    rowPtr: NativeTensor,
    colIdx: NativeTensor,
    values: NativeTensor,
    rows: number,
    cols: number,
    b: NativeTensor,
    c: NativeTensor | undefined,
    out: NativeTensor,
    alpha: number,
    beta: number,
  ): void;
  /** The CPU SpMM kernel for N columns on the active ISA. */
  spmmKernel(n: number): string;
  /** librsb, the SpMM bench baseline (dlopen). */
  rsbLoad(threads: number): { available: boolean; path: string; version: string; why: string };
  rsbPrepare(rowPtr: NativeTensor, colIdx: NativeTensor, values: NativeTensor, rows: number, cols: number): number;
  rsbSpmm(handle: number, b: NativeTensor, out: NativeTensor): void;
  rsbFree(handle: number): void;
  /** Loads the bench baselines (dlopen) for `threads` threads and says which are available. */
  baselines(
    threads: number,
  ): Record<'onednn' | 'onednnMatmul' | 'openblas', { available: boolean; path: string; version: string; why: string }>;
  baselineGemm(name: string, a: NativeTensor, b: NativeTensor, out: NativeTensor, transA: boolean, transB: boolean): void;
  attention(
    q: NativeTensor,
    k: NativeTensor,
    v: NativeTensor,
    mask: NativeTensor | undefined,
    kvLengths: NativeTensor | undefined,
    out: NativeTensor,
    lse: NativeTensor | undefined,
    causal: boolean,
    bshd: boolean,
    scale: number,
    softcap: number,
    causalOffset: number | null,
    qkOut: NativeTensor | undefined,
    qkStage: number,
    async: true,
  ): Promise<void>;
  attention(
    q: NativeTensor,
    k: NativeTensor,
    v: NativeTensor,
    mask: NativeTensor | undefined,
    kvLengths: NativeTensor | undefined,
    out: NativeTensor,
    lse: NativeTensor | undefined,
    causal: boolean,
    bshd: boolean,
    scale: number,
    softcap: number,
    causalOffset: number | null,
    qkOut: NativeTensor | undefined,
    qkStage: number,
    async: false,
  ): void;
  /** The unfused baseline (sync, CPU, float32 'bhsd', no mask): GEMM -> softmax -> GEMM with an Sq x Sk buffer. */
  attentionPlain(q: NativeTensor, k: NativeTensor, v: NativeTensor, out: NativeTensor, causal: boolean, scale: number): void;
  /** The CPU attention kernel family in use for this dtype code. */
  attentionKernel(dtype: number): string;
  /**
   * Caps the CUDA attention kernel tier and forces KV splits (0 = automatic); tests and benches. Tiers: 'sm90' (opt-in: the
   * wgmma + TMA kernel on compute capability 9.0 for the prefill shapes it takes, else as 'decode'), 'auto' = 'decode' (the
   * split-KV decode kernel for decode shapes, else sm80), 'sm80' (mma.sync), 'simt' (exact fp32).
   */
  attentionCudaSetPath(kernel: string, splits: number): void;
  /** The kernel the last CUDA attention ran ('' before any). */
  attentionCudaLastKernel(): string;
  /** Seconds per run (CUDA events) of attention on device tensors ('bhsd') by 'tensorkern' or the 'cublas' materialized baseline. */
  gpuAttentionTime(
    which: string,
    q: NativeTensor,
    k: NativeTensor,
    v: NativeTensor,
    out: NativeTensor,
    causal: boolean,
    scale: number,
    warmup: number,
    runs: number,
  ): number[];
  /** Seconds for one multi-threaded read of every float (memory bandwidth probe). */
  memRead(data: NativeTensor): number;
  /** Transformer block ops (native/ops/block/block.h); positions / ids / position: int32 host tensors read at run time. */
  rmsNorm<A extends boolean>(x: NativeTensor, weight: NativeTensor, out: NativeTensor, eps: number, async: A): AsyncResult<A>;
  rope<A extends boolean>(
    x: NativeTensor,
    positions: NativeTensor | undefined,
    start: number,
    theta: number,
    half: boolean,
    out: NativeTensor,
    async: A,
  ): AsyncResult<A>;
  silu<A extends boolean>(x: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  swiglu<A extends boolean>(gate: NativeTensor, up: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  add<A extends boolean>(a: NativeTensor, b: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  softmax<A extends boolean>(x: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  embedding<A extends boolean>(table: NativeTensor, ids: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  argmax<A extends boolean>(x: NativeTensor, out: NativeTensor, async: A): AsyncResult<A>;
  topk<A extends boolean>(x: NativeTensor, k: number, values: NativeTensor, indices: NativeTensor, async: A): AsyncResult<A>;
  kvAppend<A extends boolean>(
    cache: NativeTensor,
    x: NativeTensor,
    position: NativeTensor | undefined,
    start: number,
    seqDim: number,
    async: A,
  ): AsyncResult<A>;
  /** W4A4 / W4A8 / weight-only (actBits 4 / 8 / 0) matmul: native/ops/w4a4/w4a4.h. */
  w4a4(
    x: NativeTensor,
    w: NativeTensor,
    scales: NativeTensor,
    zeroPoints: NativeTensor | undefined,
    outlierChannels: NativeTensor | undefined,
    outlierWeights: NativeTensor | undefined,
    outlierScales: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    groupSize: number,
    rotateBlock: number,
    actBits: number,
    async: true,
    xScales?: NativeTensor,
  ): Promise<void>;
  w4a4(
    x: NativeTensor,
    w: NativeTensor,
    scales: NativeTensor,
    zeroPoints: NativeTensor | undefined,
    outlierChannels: NativeTensor | undefined,
    outlierWeights: NativeTensor | undefined,
    outlierScales: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    groupSize: number,
    rotateBlock: number,
    actBits: number,
    async: false,
    xScales?: NativeTensor,
  ): void;
  /** The plain-loop W4A4 baseline (sync, CPU). */
  w4a4Plain(
    x: NativeTensor,
    w: NativeTensor,
    scales: NativeTensor,
    zeroPoints: NativeTensor | undefined,
    outlierChannels: NativeTensor | undefined,
    outlierWeights: NativeTensor | undefined,
    outlierScales: NativeTensor | undefined,
    bias: NativeTensor | undefined,
    out: NativeTensor,
    groupSize: number,
    rotateBlock: number,
    actBits: number,
  ): void;
  /** The per-row contract quantizer (activations; weight groups): q int8 [M, K] values, scales float32 [M]. */
  w4a4QuantizeRows(x: NativeTensor, q: NativeTensor, scales: NativeTensor, bits: number, rotateBlock: number, async?: false): void;
  w4a4QuantizeRows(x: NativeTensor, q: NativeTensor, scales: NativeTensor, bits: number, rotateBlock: number, async: true): Promise<void>;
  /** The CPU kernel the w4a4 op uses for these parameters. */
  w4a4Kernel(actBits: number, m: number, k: number, groupSize: number): string;
  /** Forces the CUDA w4a4 kernel ('auto' | 's4' | 'int8' | 'simt'); tests and benches. */
  w4a4CudaSetPath(path: string): void;
  /** The kernel the last CUDA w4a4 call ran ('' before any). */
  w4a4CudaLastKernel(): string;
}

export interface LoadedBinding {
  binding: NativeBinding;
  /** The .node file that was loaded. */
  file: string;
}

/** 'glibc X.Y', 'musl', or 'n/a' off Linux (used in load-failure messages and `tensorkern info`). */
export function libc(): string {
  if (process.platform !== 'linux') return 'n/a';
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    const g = report?.header?.glibcVersionRuntime;
    return g ? `glibc ${g}` : 'musl';
  } catch {
    return 'unknown';
  }
}

function loadFailure(root: string, file: string | undefined, cause: unknown): TensorkernError {
  const target = `${process.platform}-${process.arch}`;
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  const lines = [
    'tensorkern could not load its native addon.',
    `  Needed: a binary for platform ${process.platform}, arch ${process.arch}, libc ${libc()}, ` +
      `Node ${process.versions.node} (N-API ${process.versions.napi ?? '?'}; the addon needs N-API >= 8).`,
    file
      ? `  Found ${file}, but loading it failed: ${reason}`
      : `  Looked in ${path.join(root, 'build', 'Release')} (a source build) and ` +
        `${path.join(root, 'prebuilds', target)} (prebuilt binaries): nothing fits. (${reason})`,
    '  What to do:',
    `  - Prebuilt binaries ship for linux-x64 (glibc). Anywhere else, build one from source: in your project folder run ` +
      '`npm rebuild tensorkern --ignore-scripts=false` (needs python3, make and a C++17 compiler; `--ignore-scripts=false` ' +
      'because an install with --ignore-scripts, or ignore-scripts=true in .npmrc, skips that build and would skip the rebuild too).',
    '  - Set TENSORKERN_BINARY to the path of a tensorkern .node file to load that one.',
  ];
  return new TensorkernError('ERR_TK_NATIVE_LOAD', lines.join('\n'), { cause });
}

/** Loads the addon for a package rooted at `root` (exported for tests of the failure message). */
export function loadBinding(root: string, env: NodeJS.ProcessEnv = process.env): LoadedBinding {
  let file: string | undefined = env.TENSORKERN_BINARY || undefined;
  try {
    if (file) {
      file = path.resolve(file);
      if (!fs.existsSync(file)) throw new Error(`TENSORKERN_BINARY points at ${file}, which does not exist`);
    } else {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const gypBuild = require('node-gyp-build') as { path(dir: string): string };
      file = gypBuild.path(root);
    }
  } catch (e) {
    throw loadFailure(root, env.TENSORKERN_BINARY ? file : undefined, e);
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    if (typeof binding.probe !== 'function') throw new Error('the file is not a tensorkern addon');
    return { binding, file };
  } catch (e) {
    throw loadFailure(root, file, e);
  }
}

const loaded = loadBinding(PACKAGE_ROOT);

export const native: NativeBinding = loaded.binding;
export const nativeFile: string = loaded.file;
