// Devices: discovery, the default device (TENSORKERN_DEVICE), selection and whyNoGpu().
import { native, nativeFile, NativeProbe } from './binding';
import { TensorkernError, describe, invalidArg } from './errors';
import { cpuOnlyReason } from './platform';
import { PACKAGE_VERSION } from './root';

/** Where a tensor lives: the host, or CUDA device N. */
export type Device = 'cpu' | `cuda:${number}`;
/** What a caller may ask for: 'auto' = the default device; 'cuda' = the first usable GPU. */
export type DeviceSpec = Device | 'cuda' | 'auto';

export interface CpuDeviceInfo {
  kind: 'cpu';
  id: 'cpu';
  /**
   * The CPU's name as the OS gives it (/proc/cpuinfo "model name", what lscpu shows); CPUID's brand
   * string where the OS gives none.
   */
  name: string;
  /**
   * CPUID's brand string (x86-64; '' elsewhere). Virtual machines may set it apart from the OS's name
   * (e.g. "AMD EPYC" vs "Oxide Virtual Turin-like Processor"): `tensorkern info` shows both then.
   */
  brand: string;
  vendor: string;
  /** The kernel family in use ('avx512', 'avx2', 'neon', 'scalar'). */
  isa: string;
  /** The best family this CPU supports (isa differs only under TENSORKERN_ISA). */
  bestIsa: string;
  /** CPU features detected (CPUID / HWCAP, with OS support checked). */
  features: string[];
  /** Threads the compute pool uses now (setNumThreads / TENSORKERN_NUM_THREADS). */
  threads: number;
  physicalCores: number;
  logicalCpus: number;
}

export interface CudaDeviceInfo {
  kind: 'cuda';
  id: Device;
  index: number;
  name: string;
  /** "major.minor", e.g. "9.0". */
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
  sharedMemoryPerBlock: number;
  l2CacheBytes: number;
  /** CUDA version the driver supports, e.g. "13.0". */
  driverVersion: string;
  /** CUDA runtime this build links, e.g. "13.0". */
  runtimeVersion: string;
}

export type DeviceInfo = CpuDeviceInfo | CudaDeviceInfo;

let probed: NativeProbe | undefined;
/** The native probe, taken once (CUDA probing can take a while on first use). */
export function probe(): NativeProbe {
  return (probed ??= native.runtime.probe());
}

function cudaVersion(v: number): string {
  return v ? `${Math.floor(v / 1000)}.${Math.floor((v % 1000) / 10)}` : 'none';
}

export function usableCudaIndices(): number[] {
  return probe()
    .cuda.devices.filter((d) => d.usable)
    .map((d) => d.index);
}

/** The CPU and every usable CUDA device. */
export function devices(): DeviceInfo[] {
  const p = probe();
  const cpu: CpuDeviceInfo = {
    kind: 'cpu',
    id: 'cpu',
    name: cpuName(p.cpu.osModel, p.cpu.brand),
    brand: p.cpu.brand,
    vendor: p.cpu.vendor,
    isa: currentIsa(),
    bestIsa: p.cpu.bestIsa,
    features: Object.entries(p.cpu.features)
      .filter(([, on]) => on)
      .map(([k]) => k),
    threads: native.runtime.getNumThreads(),
    physicalCores: p.cpu.physicalCores,
    logicalCpus: p.cpu.logicalCpus,
  };
  const gpus: CudaDeviceInfo[] = p.cuda.devices
    .filter((d) => d.usable)
    .map((d) => ({
      kind: 'cuda',
      id: `cuda:${d.index}` as Device,
      index: d.index,
      name: d.name,
      computeCapability: `${d.ccMajor}.${d.ccMinor}`,
      totalMemory: d.totalMemory,
      multiprocessors: d.multiprocessors,
      sharedMemoryPerBlock: d.smemPerBlockOptin,
      l2CacheBytes: d.l2Bytes,
      driverVersion: cudaVersion(p.cuda.driverVersion),
      runtimeVersion: cudaVersion(p.cuda.runtimeVersion),
    }));
  return [cpu, ...gpus];
}

/**
 * @internal The name users see for the CPU: the OS's (what lscpu and /proc/cpuinfo show, so the two
 * can be compared), else CPUID's brand string, else 'unknown CPU'.
 */
export function cpuName(osModel: string, brand: string): string {
  return osModel.trim() || brand.trim() || 'unknown CPU';
}

/** @internal How `tensorkern info` and the benches label the CPU: the name, and the brand string where it differs. */
export function cpuLabel(cpu: { name: string; brand: string }): string {
  const brand = cpu.brand.trim();
  return brand && brand !== cpu.name ? `${cpu.name} [CPUID: ${brand}]` : cpu.name;
}

let isaNow: string | undefined;
function currentIsa(): string {
  return (isaNow ??= probe().cpu.activeIsa);
}

/**
 * Caps the CPU kernel family ('auto' | 'scalar' | 'avx2' | 'avx512' | 'neon'), for testing every
 * kernel path on one machine. Returns the family now in use (never above what the CPU has).
 */
export function setCpuIsa(isa: 'auto' | 'scalar' | 'avx2' | 'avx512' | 'neon'): string {
  const allowed = ['auto', 'scalar', 'avx2', 'avx512', 'neon'];
  if (typeof isa !== 'string' || !allowed.includes(isa)) {
    throw invalidArg('isa', `one of ${allowed.join(', ')}`, isa, typeof isa === 'string' ? 'value' : 'type');
  }
  isaNow = native.runtime.setIsaCap(isa);
  return isaNow;
}

const DEVICE_RE = /^cuda:(0|[1-9][0-9]{0,3})$/;

function parseSpec(spec: unknown, name: string): DeviceSpec {
  if (spec === 'cpu' || spec === 'cuda' || spec === 'auto' || (typeof spec === 'string' && DEVICE_RE.test(spec))) {
    return spec as DeviceSpec;
  }
  throw invalidArg(name, `'auto', 'cpu', 'cuda' or 'cuda:N'`, spec, typeof spec === 'string' ? 'value' : 'type');
}

function noGpu(asked: string, source: string): TensorkernError {
  return new TensorkernError('ERR_TK_NO_GPU', `${source} asks for ${asked}, but no GPU can be used: ${gpuReason()}`);
}

function gpuReason(): string {
  const p = probe();
  if (!p.build.cuda) return cpuOnlyReason(nativeFile, PACKAGE_VERSION);
  return p.cuda.whyNoGpu || 'no usable CUDA device';
}

/** Resolves a device request to a concrete device; CUDA requests that cannot be met throw ERR_TK_NO_GPU. */
export function resolveDevice(spec: unknown, name = 'device'): Device {
  const s = parseSpec(spec, name);
  if (s === 'auto') return defaultDevice();
  if (s === 'cpu') return 'cpu';
  const usable = usableCudaIndices();
  if (s === 'cuda') {
    if (usable.length === 0) throw noGpu(`'cuda'`, name);
    return `cuda:${usable[0]}`;
  }
  const idx = Number(s.slice(5));
  if (!usable.includes(idx)) {
    if (usable.length === 0) throw noGpu(`'${s}'`, name);
    throw new TensorkernError(
      'ERR_TK_NO_GPU',
      `${name} asks for '${s}', but the usable CUDA devices are ${usable.map((i) => `cuda:${i}`).join(', ')}`,
    );
  }
  return s;
}

function envDevice(): DeviceSpec | undefined {
  const v = process.env.TENSORKERN_DEVICE;
  if (v === undefined || v === '') return undefined;
  try {
    return parseSpec(v, 'TENSORKERN_DEVICE');
  } catch {
    throw invalidArg('TENSORKERN_DEVICE', `'auto', 'cpu', 'cuda' or 'cuda:N'`, `"${v}"`, 'value', { described: true });
  }
}

/**
 * The device ops use when neither an option nor an input tensor says otherwise: TENSORKERN_DEVICE
 * when set (a CUDA request that cannot be met throws ERR_TK_NO_GPU, never a silent CPU run), else
 * the first usable CUDA device, else the CPU. Read on every call, so the variable may change.
 */
export function defaultDevice(): Device {
  const env = envDevice();
  if (env !== undefined && env !== 'auto') return resolveDevice(env, 'TENSORKERN_DEVICE');
  const usable = usableCudaIndices();
  return usable.length > 0 ? `cuda:${usable[0]}` : 'cpu';
}

/** Why ops do not run on a GPU by default, or null when they do. */
export function whyNoGpu(): string | null {
  const env = process.env.TENSORKERN_DEVICE;
  if (usableCudaIndices().length > 0) {
    return env === 'cpu' ? 'TENSORKERN_DEVICE=cpu selects the CPU' : null;
  }
  return gpuReason();
}

/** Parses 'cpu' / 'cuda:N' into the native device index (-1 = host). */
export function deviceIndex(d: Device): number {
  return d === 'cpu' ? -1 : Number(d.slice(5));
}

/** Sets the number of CPU compute threads (1..4096) for ops started after the call. */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number') throw invalidArg('n', 'an integer from 1 to 4096', n);
  if (!Number.isInteger(n) || n < 1 || n > 4096) throw invalidArg('n', 'an integer from 1 to 4096', n, 'range');
  native.runtime.setNumThreads(n);
}

/** The number of CPU compute threads ops use. */
export function getNumThreads(): number {
  return native.runtime.getNumThreads();
}

/**
 * A CUDA device's memory: free and total as the driver reports them, and inUse, the bytes of tensorkern's
 * pool held by live device tensors and running ops (freed blocks stay cached in the pool for reuse, so free
 * does not rise when a tensor is disposed; inUse does fall).
 */
export function memoryInfo(device: DeviceSpec = 'cuda'): { free: number; total: number; inUse: number } {
  const d = resolveDevice(device);
  if (d === 'cpu') throw invalidArg('device', 'a CUDA device', device, 'value');
  return native.runtime.memInfo(deviceIndex(d));
}

function checkEnv(): void {
  const t = process.env.TENSORKERN_NUM_THREADS;
  if (t !== undefined && t !== '' && !(/^[1-9][0-9]{0,3}$/.test(t) && Number(t) <= 4096)) {
    process.emitWarning(
      `Expected an integer from 1 to 4096 for TENSORKERN_NUM_THREADS but received "${t}"; using ${native.runtime.defaultNumThreads()} threads`,
      { code: 'TENSORKERN_BAD_ENV' },
    );
  }
  const nice = process.env.TENSORKERN_POOL_NICE;
  if (nice !== undefined && nice !== '' && !(/^[0-9]{1,2}$/.test(nice) && Number(nice) <= 19)) {
    process.emitWarning(`Expected an integer from 0 to 19 for TENSORKERN_POOL_NICE but received ${describe(nice)}; using 10`, {
      code: 'TENSORKERN_BAD_ENV',
    });
  }
  const cache = process.env.TENSORKERN_HOST_CACHE_MB;
  if (cache !== undefined && cache !== '' && !(/^[0-9]{1,10}$/.test(cache) && Number(cache) <= 2 ** 30)) {
    process.emitWarning(
      `Expected a whole number of MiB (0 to 2^30) for TENSORKERN_HOST_CACHE_MB but received ${describe(cache)}; using the default cap`,
      { code: 'TENSORKERN_BAD_ENV' },
    );
  }
  const isa = process.env.TENSORKERN_ISA;
  if (isa !== undefined && isa !== '' && !['auto', 'scalar', 'avx2', 'avx512', 'neon'].includes(isa)) {
    process.emitWarning(`Expected one of auto, scalar, avx2, avx512, neon for TENSORKERN_ISA but received ${describe(isa)}; ignoring it`, {
      code: 'TENSORKERN_BAD_ENV',
    });
  }
  const bf16 = process.env.TENSORKERN_BF16_DOT;
  if (bf16 !== undefined && bf16 !== '' && !['auto', 'on', 'off'].includes(bf16)) {
    process.emitWarning(`Expected one of auto, on, off for TENSORKERN_BF16_DOT but received ${JSON.stringify(bf16)}; ignoring it`, {
      code: 'TENSORKERN_BAD_ENV',
    });
  }
}
checkEnv();
