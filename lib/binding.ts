// Loads the native addon and declares its interface. The only module that touches the addon.
//
// Resolution: TENSORKERN_BINARY (an explicit .node path), else the installed platform package that fits
// (@tensorkern/linux-x64-gnu, ...; the CUDA build first when an NVIDIA driver is present, lib/platform.ts),
// else node-gyp-build's search of the package root: build/Release (a source build), then
// prebuilds/<platform>-<arch>/. A failure names what was looked for and where, and what to do.
import * as fs from 'fs';
import * as path from 'path';
import { TensorkernError } from './errors';
import { PLATFORM_PACKAGES, Target, glibcVersion, hostTarget, packagesFor, platformCandidates, targetName } from './platform';
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

/** A native op: one params object, read by name (native/napi/params.h), and whether to run off the event loop. */
type Op<P> = <A extends boolean>(params: P, async: A) => AsyncResult<A>;

/** ops.gemm: alpha * op(a) @ op(b) + beta * c + bias (native/ops/gemm/gemm.h). */
export interface NativeGemmParams {
  a: NativeTensor;
  b: NativeTensor;
  c?: NativeTensor;
  bias?: NativeTensor;
  out: NativeTensor;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  /** Host tensors computed on this CUDA device (copied in and out); -1 / absent: where the tensors are. */
  runDevice?: number;
  allowTf32?: boolean;
  /** Weights packed by gemmPackB in `packedLayout` (b stays their source, read when the layout does not serve the call). */
  packed?: NativeTensor;
  packedLayout?: string;
}

/** ops.spmm: alpha * A @ b + beta * c, A in CSR (native/ops/spmm/spmm.h). */
export interface NativeSpmmParams {
  rowPtr: NativeTensor;
  colIdx: NativeTensor;
  values: NativeTensor;
  rows: number;
  cols: number;
  b: NativeTensor;
  c?: NativeTensor;
  out: NativeTensor;
  alpha: number;
  beta: number;
  /** The CUDA device host tensors run on (-1 / absent: where b is). */
  runDevice?: number;
  /** The CUDA kernel: 0 auto, 1 csr, 2 blocked, 3 tiles. */
  kernel?: number;
  /** The matrix's device copies (a CUDA run needs them). */
  devForm?: NativeSpmmDevForm;
}

/** ops.attention (native/ops/attention/attention.h). */
export interface NativeAttentionParams {
  q: NativeTensor;
  k: NativeTensor;
  v: NativeTensor;
  mask?: NativeTensor;
  kvLengths?: NativeTensor;
  out: NativeTensor;
  lse?: NativeTensor;
  causal: boolean;
  /** [B, S, H, D] layout (default 'bhsd'). */
  bshd?: boolean;
  scale: number;
  /** 0 / absent: no soft-capping. */
  softcap?: number;
  /** An integer; absent / null: the bottom-right default. */
  causalOffset?: number | null;
  /** A float32 CPU tensor for the score matrix at stage qkStage (0..3: attention.h QkStage). */
  qkOut?: NativeTensor;
  qkStage?: number;
}

/** ops.linearAttention (native/ops/linear_attention/linear_attention.h). */
export interface NativeLinearAttentionParams {
  q: NativeTensor;
  k: NativeTensor;
  v: NativeTensor;
  /** float32 [H] host values in (0, 1]; absent: 1. */
  decay?: NativeTensor;
  /** float32 [B, H, D, Dv]: the KV state carried in, and where the state after the last token goes. */
  state?: NativeTensor;
  stateOut?: NativeTensor;
  out: NativeTensor;
  /** Default true. */
  causal?: boolean;
  bshd?: boolean;
  /** Default 1. */
  scale?: number;
}

/** ops.w4a4: W4A4 / W4A8 / weight-only (actBits 4 / 8 / 0) matmul (native/ops/w4a4/w4a4.h). */
/** The quantized matmuls' shared epilogue: out = alpha * y + bias + beta * c (lib/ops/quant-common.ts). */
export interface NativeEpilogueParams {
  out: NativeTensor;
  bias?: NativeTensor;
  c?: NativeTensor;
  alpha?: number;
  beta?: number;
}

export interface NativeW4A4Params extends NativeEpilogueParams {
  x: NativeTensor;
  w: NativeTensor;
  scales: NativeTensor;
  zeroPoints?: NativeTensor;
  outlierChannels?: NativeTensor;
  outlierWeights?: NativeTensor;
  outlierScales?: NativeTensor;
  groupSize: number;
  rotateBlock: number;
  actBits: number;
  /** x is pre-quantized int8 with these per-row scales. */
  xScales?: NativeTensor;
}

/** ops.int8mm: W8A8 (LLM.int8()) matmul; packed: w packed by gemmPackB (transB) in packedLayout (stale: w is read). */
export interface NativeInt8MmParams extends NativeEpilogueParams {
  x: NativeTensor;
  w: NativeTensor;
  scales: NativeTensor;
  packed?: NativeTensor;
  packedLayout?: string;
  /** > 0; Infinity: no outlier columns. */
  threshold: number;
}

/** What the library's functions call (native/ops/<op>/<op>_napi.cc). */
export interface NativeOps {
  cast: Op<{ src: NativeTensor; dst: NativeTensor }>;
  gemm: Op<NativeGemmParams>;
  /** The CPU kernels' packing of op(B) [K, N] of a dtype code: its layout name ('' when none) and size. */
  gemmPackLayout(dtype: number, K: number, N: number): { layout: string; bytes: number };
  gemmPackB: Op<{ b: NativeTensor; transB: boolean; dst: NativeTensor; layout: string }>;
  spmm: Op<NativeSpmmParams>;
  attention: Op<NativeAttentionParams>;
  linearAttention: Op<NativeLinearAttentionParams>;
  w4a4: Op<NativeW4A4Params>;
  /** Monarch matmul (native/ops/monarch/monarch.h): out = x @ M^T, M from block-diagonal w1 [k, q, p] and w2 [l, s, r]. */
  monarch: Op<{ x: NativeTensor; w1: NativeTensor; w2: NativeTensor; out: NativeTensor }>;
  /** The closest Monarch factors of w [nOut, nIn] into float32 w1, w2, and the relative error into err [1]. */
  monarchProject: Op<{ w: NativeTensor; blocks: number; w1: NativeTensor; w2: NativeTensor; err: NativeTensor }>;
  /** W8A8 matmul (native/ops/int8mm/int8mm.h): x float32 [M, K] quantized per row inside, w int8 [N, K], outlier columns in float32. */
  int8mm: Op<NativeInt8MmParams>;
  /** Bit-plane matmul (native/ops/bitmm/bitmm.h): a [M, ba, W] . b [N, bb, W]^T as int32, or float32 with scales + epilogue. */
  bitmm: Op<
    NativeEpilogueParams & {
      a: NativeTensor;
      b: NativeTensor;
      aFormat: number;
      bFormat: number;
      K: number;
      aScales?: NativeTensor;
      bScales?: NativeTensor;
    }
  >;
  /** The per-row contract quantizer (activations; weight groups): q int8 [M, K] values, scales float32 [M]. */
  w4a4QuantizeRows: Op<{ x: NativeTensor; q: NativeTensor; scales: NativeTensor; bits: number; rotateBlock: number }>;
  /** Any-bit weights by lookup tables (native/ops/lut/lut.h): planes / scales in LowBitWeights' layout. */
  lutMatmul: Op<
    { x: NativeTensor; planes: NativeTensor; scales: NativeTensor; N: number; bits: number; groupSize: number } & NativeEpilogueParams
  >;
  lutQuantize: Op<{ w: NativeTensor; planes: NativeTensor; scales: NativeTensor; bits: number; groupSize: number }>;
  /** Transformer block ops (native/ops/block/block.h); positions / ids / position: int32 host tensors read at run time. */
  rmsNorm: Op<{ x: NativeTensor; weight: NativeTensor; out: NativeTensor; eps: number }>;
  rope: Op<{ x: NativeTensor; positions?: NativeTensor; start: number; theta: number; half: boolean; out: NativeTensor }>;
  silu: Op<{ x: NativeTensor; out: NativeTensor }>;
  swiglu: Op<{ gate: NativeTensor; up: NativeTensor; out: NativeTensor }>;
  add: Op<{ a: NativeTensor; b: NativeTensor; out: NativeTensor }>;
  softmax: Op<{ x: NativeTensor; out: NativeTensor }>;
  embedding: Op<{ table: NativeTensor; ids: NativeTensor; out: NativeTensor }>;
  argmax: Op<{ x: NativeTensor; out: NativeTensor }>;
  topk: Op<{ x: NativeTensor; k: number; values: NativeTensor; indices: NativeTensor }>;
  kvAppend: Op<{ cache: NativeTensor; x: NativeTensor; position?: NativeTensor; start: number; seqDim: number }>;
}

/** Devices, threads, host memory and op graphs. */
export interface NativeRuntime {
  DeviceBuffer: new (device: number, bytes: number) => NativeDeviceBuffer;
  Graph: new () => NativeGraph;
  /** Routes the ops called until graphEnd() into `graph` (recorded, not run). */
  graphBegin(graph: NativeGraph): void;
  graphEnd(): void;
  probe(): NativeProbe;
  memInfo(device: number): { free: number; total: number; inUse: number };
  /** Zero-fills a device tensor (stream-ordered, returns at once). */
  zero(dst: NativeTensor): void;
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
  /**
   * Whether bfloat16 products run on vdpbf16ps ('on') or widened to float32 FMAs ('off'); 'auto' = what pays on this
   * core (native/core/cpu_features.h). Returns whether vdpbf16ps is now used (false without AVX512_BF16).
   */
  setBf16Dot(mode: 'auto' | 'on' | 'off'): boolean;
}

/** An op with more than one kernel, as the debug hooks name it. */
export type NativeHookedOp = 'gemm' | 'spmm' | 'attention' | 'w4a4' | 'linearAttention' | 'monarch' | 'int8mm' | 'lut' | 'bitmm';

/** Test and bench hooks, one signature for every op (native/core/op_hooks.h). */
export interface NativeDebug {
  /**
   * Forces an op's kernel path on 'cpu' or 'cuda' ('auto' = its own choice) and a split count (0 = automatic) where the
   * path splits; returns the path in use. gemm: 'auto' | 'wide' | 'split' | 'xeon' on the CPU (the AVX-512 block configs),
   * 'auto' | 'sm90' | 'sm80' | 'simt' (splits 0..64) on CUDA; attention on CUDA: 'auto' (= 'decode': the split-KV decode
   * kernel for decode shapes, else sm80) | 'sm90' (opt-in: wgmma + TMA on compute capability 9.0) | 'decode' | 'sm80' |
   * 'simt' (splits 0..128); w4a4 on CUDA: 'auto' | 's4' | 'int8' | 'simt'; everything else 'auto'.
   */
  setPath(op: NativeHookedOp, device: 'cpu' | 'cuda', path: string, splits?: number): string;
  /** The kernel the op last ran there ('' before any): what its dispatch ran, recorded as it ran. */
  lastKernel(op: NativeHookedOp, device: 'cpu' | 'cuda'): string;
  /** The GPU fault suite's hook: a sticky CUDA error on purpose ('trap'). */
  injectFault(device: number, kind: string): void;
}

/** The bench baselines (native/bench; loaded with dlopen where third-party). */
export interface NativeBench {
  /** The plain-loop GEMM (sync, CPU, float32 or int32 out). */
  gemmPlain(p: NativeGemmParams): void;
  /** The hand-written-loop SpMM (sync, CPU). */
  spmmPlain(p: NativeSpmmParams): void;
  /** Seconds per run (CUDA events) of spmm on device tensors, the plan built once. */
  spmmCudaTime(p: NativeSpmmParams, warmup: number, runs: number): number[];
  /** The unfused attention (sync, CPU, float32 'bhsd', no mask): GEMM -> softmax -> GEMM with an Sq x Sk buffer. */
  attentionPlain(p: NativeAttentionParams): void;
  /** Seconds per run (CUDA events) of attention on device tensors ('bhsd') by 'tensorkern' or the 'cublas' materialized baseline. */
  gpuAttentionTime(which: string, p: NativeAttentionParams, warmup: number, runs: number): number[];
  /** The plain-loop W4A4 (sync, CPU). */
  w4a4Plain(p: NativeW4A4Params): void;
  /** cuBLAS, the GPU gemm baseline (dlopen). */
  cublasLoad(): { available: boolean; path: string; version: string; why: string };
  /** Seconds per run (CUDA events) of a gemm on device tensors by 'tensorkern' or 'cublas' (cuBLAS: no c, bias, alpha 1, beta 0). */
  gpuGemmTime(which: string, p: NativeGemmParams, warmup: number, runs: number): number[];
  /** cuSPARSE (dlopen), the GPU spmm baseline. */
  cusparseLoad(): { available: boolean; path: string; version: string; why: string };
  /** Seconds per run (CUDA events) of cusparseSpMM (CSR x row-major dense) on device tensors. */
  cusparseSpmmTime(
    p: { rowPtr: NativeTensor; colIdx: NativeTensor; values: NativeTensor; rows: number; cols: number; b: NativeTensor; out: NativeTensor },
    warmup: number,
    runs: number,
  ): number[];
  /** Loads the CPU baselines (dlopen) for `threads` threads and says which are available. */
  baselines(
    threads: number,
  ): Record<'onednn' | 'onednnMatmul' | 'openblas', { available: boolean; path: string; version: string; why: string }>;
  baselineGemm(name: string, a: NativeTensor, b: NativeTensor, out: NativeTensor, transA: boolean, transB: boolean): void;
  /** Seconds for one multi-threaded read of every float (memory bandwidth probe). */
  memRead(data: NativeTensor): number;
  /** librsb, the SpMM baseline (dlopen). */
  rsbLoad(threads: number): { available: boolean; path: string; version: string; why: string };
  rsbPrepare(rowPtr: NativeTensor, colIdx: NativeTensor, values: NativeTensor, rows: number, cols: number): number;
  rsbSpmm(handle: number, b: NativeTensor, out: NativeTensor): void;
  rsbFree(handle: number): void;
}

/** The addon's exports, in four groups (native/napi/register.h). */
export interface NativeBinding {
  ops: NativeOps;
  runtime: NativeRuntime;
  debug: NativeDebug;
  bench: NativeBench;
}

export interface LoadedBinding {
  binding: NativeBinding;
  /** The .node file that was loaded. */
  file: string;
}

/** 'glibc X.Y', 'musl', or 'n/a' off Linux (used in load-failure messages and `tensorkern info`). */
export function libc(): string {
  const g = glibcVersion();
  return g === undefined ? (process.platform === 'linux' ? 'unknown' : 'n/a') : g ? `glibc ${g}` : 'musl';
}

function packageVersion(root: string): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** What to do when nothing loads: the platform package to install, or the source build (with Alpine's packages on musl). */
export function loadRemedies(version: string, target: Target = hostTarget()): string[] {
  const pkgs = packagesFor(target, false);
  const source =
    'build one from source: in your project folder run `npm rebuild tensorkern --ignore-scripts=false` (needs python3, make ' +
    'and a C++17 compiler' +
    (target.libc === 'musl' ? '; on Alpine: `apk add build-base python3 linux-headers`' : '') +
    '; `--ignore-scripts=false` because an install with --ignore-scripts, or ignore-scripts=true in .npmrc, skips that build ' +
    'and would skip the rebuild too; npm 11 also skips it for a dependency the project has not allowed, see `npm install-scripts`).';
  if (pkgs.length === 0) {
    return [
      `  - No prebuilt binary is published for ${targetName(target)} (prebuilt: ${PLATFORM_PACKAGES.filter((p) => p.variant === 'cpu')
        .map((p) => targetName({ platform: p.os, arch: p.cpu, libc: p.libc }))
        .join(', ')}); ${source}`,
    ];
  }
  const cpu = pkgs.find((p) => p.variant === 'cpu') ?? pkgs[0];
  return [
    `  - \`npm install tensorkern\` installs ${cpu.name} by itself (an optional dependency for this platform); ` +
      'if it is missing (an install with --omit=optional or --no-optional, or from a lockfile made on another platform), ' +
      `add it: \`npm install ${cpu.name}@${version}\`.`,
    `  - Or ${source}`,
  ];
}

function loadFailure(root: string, tried: string[], file: string | undefined, cause: unknown): TensorkernError {
  const target = `${process.platform}-${process.arch}`;
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  const version = packageVersion(root);
  const lines = [
    'tensorkern could not load its native addon.',
    `  Needed: a binary for platform ${process.platform}, arch ${process.arch}, libc ${libc()}, ` +
      `Node ${process.versions.node} (N-API ${process.versions.napi ?? '?'}; the addon needs N-API >= 8).`,
    ...(tried.length ? [`  Platform packages: ${tried.join('; ')}.`] : []),
    file
      ? `  Found ${file}, but loading it failed: ${reason}`
      : `  Looked in ${path.join(root, 'build', 'Release')} (a source build) and ` +
        `${path.join(root, 'prebuilds', target)} (prebuilt binaries): nothing fits. (${reason})`,
    '  What to do:',
    ...loadRemedies(version),
    '  - Set TENSORKERN_BINARY to the path of a tensorkern .node file to load that one.',
  ];
  return new TensorkernError('ERR_TK_NATIVE_LOAD', lines.join('\n'), { cause });
}

/**
 * Loads the addon for a package rooted at `root` (exported for tests of the failure message): TENSORKERN_BINARY,
 * else the platform packages that fit (lib/platform.ts: the CUDA build first when an NVIDIA driver is present or
 * TENSORKERN_VARIANT=cuda), else node-gyp-build's search of build/Release and prebuilds/.
 */
export function loadBinding(root: string, env: NodeJS.ProcessEnv = process.env): LoadedBinding {
  const tried: string[] = [];
  const open = (file: string): LoadedBinding => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const binding = require(file) as NativeBinding;
    if (typeof binding.runtime?.probe !== 'function') throw new Error('the file is not a tensorkern addon');
    return { binding, file };
  };
  let file: string | undefined = env.TENSORKERN_BINARY || undefined;
  try {
    if (file) {
      file = path.resolve(file);
      if (!fs.existsSync(file)) throw new Error(`TENSORKERN_BINARY points at ${file}, which does not exist`);
    } else {
      // A platform package whose binary does not load (a CUDA build on too old a glibc, a damaged file) gives way
      // to the next one; what happened is in the error if none loads.
      for (const c of platformCandidates(root, packageVersion(root), env)) {
        if (!c.file) {
          tried.push(`${c.pkg.name} ${c.why}`);
          continue;
        }
        try {
          return open(c.file);
        } catch (e) {
          tried.push(`${c.pkg.name} failed to load ${c.file}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
        }
      }
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const gypBuild = require('node-gyp-build') as { path(dir: string): string };
      file = gypBuild.path(root);
    }
  } catch (e) {
    throw loadFailure(root, tried, env.TENSORKERN_BINARY ? file : undefined, e);
  }
  try {
    return open(file);
  } catch (e) {
    throw loadFailure(root, tried, file, e);
  }
}

const loaded = loadBinding(PACKAGE_ROOT);

export const native: NativeBinding = loaded.binding;
export const nativeFile: string = loaded.file;
