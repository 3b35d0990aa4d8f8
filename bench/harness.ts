// The bench harness: interleaved timing (every implementation runs once per round, so machine noise
// hits them alike), median of the rounds after warm-up, machine info, a progress line, and a table.
import * as os from 'os';
import { devices, getNumThreads, whyNoGpu } from '../lib';
import { nativeInfo, version } from '../lib/version';

export interface Impl {
  name: string;
  /** One timed run (synchronous). */
  run: () => void;
  /** Runs at most this many rounds (slow baselines). */
  maxRuns?: number;
  /** Untimed runs before the first timed one (default: the measure's warmup). */
  warmup?: number;
}

/** An implementation for measureAsync: its run may return a promise (awaited, inside the timing). */
export interface AsyncImpl {
  name: string;
  run: () => unknown;
  maxRuns?: number;
  warmup?: number;
}

/** The name of the default-form implementation (no `out`, default threads, result dropped) in every bench. */
export const DEFAULT_FORM = 'tensorkern-default';
/**
 * Untimed runs of the default form before timing: its first outputs of a size are fresh memory until the
 * warm host cache has blocks of that size in circulation (about eight outputs; lib/host-memory.ts). The
 * tables report the steady state; that one-time cost is the cache's warm-up, not a per-call cost.
 */
export const DEFAULT_FORM_WARMUP = 12;

/**
 * The table cell of the default form: its rate, and its time as a multiple of the `out`-reusing call's
 * (the fresh-output cost a caller pays for not passing `out`; 1.00x = none).
 */
export function defaultFormCell(rate: number, defaultS: number, outS: number, digits = 1): string {
  return `${rate.toFixed(digits)} (${(defaultS / outS).toFixed(2)}x out's time)`;
}

export interface Timing {
  name: string;
  medianS: number;
  minS: number;
  runs: number;
}

export interface MeasureOptions {
  warmup?: number;
  minRuns?: number;
  maxRuns?: number;
  /** Keep adding rounds until this many seconds were spent (after minRuns). */
  minTime?: number;
}

function now(): number {
  return Number(process.hrtime.bigint()) / 1e9;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Before each timed run an implementation runs untimed for at least this long: thread pools spin for
 * a while after their work (OpenMP's GOMP_SPINCOUNT, OpenBLAS's thread timeout, our own pool's brief
 * spin) and a spinning pool steals cores from whatever runs next; the warm-up also wakes the
 * implementation's own threads and keeps the cores at speed. Sleeping instead would let cores drop
 * to a lower clock, which penalizes short memory-bound runs.
 */
export const WARM_MS = 10;

/**
 * The timing policy, shared by measure and measureAsync: it yields the index of the implementation
 * to run next and its caller runs it (synchronously, or awaiting it), so the policy is written once.
 * Round-robin, so slow drifts of the machine hit every implementation alike.
 */
function* schedule(impls: AsyncImpl[], o: MeasureOptions): Generator<number, Timing[], void> {
  const warmup = o.warmup ?? 1,
    minRuns = o.minRuns ?? 5,
    maxRuns = o.maxRuns ?? 50,
    minTime = o.minTime ?? 0.5;
  for (let i = 0; i < impls.length; i++) {
    const n = impls[i].warmup ?? warmup;
    for (let w = 0; w < Math.min(n, impls[i].maxRuns ?? n); w++) yield i;
  }
  const times: number[][] = impls.map(() => []);
  const t0 = now();
  let warmTime = 0;
  for (let round = 0; round < maxRuns; round++) {
    for (let i = 0; i < impls.length; i++) {
      if (times[i].length >= (impls[i].maxRuns ?? Infinity)) continue;
      if (impls.length > 1 && (times[i].length === 0 || times[i][times[i].length - 1] < WARM_MS / 1000)) {
        const w = now();
        do yield i;
        while (now() - w < WARM_MS / 1000);
        warmTime += now() - w;
      }
      const s = now();
      yield i;
      times[i].push(now() - s);
    }
    if (round + 1 >= minRuns && now() - t0 - warmTime >= minTime) break;
  }
  return impls.map((impl, i) => ({ name: impl.name, medianS: median(times[i]), minS: Math.min(...times[i]), runs: times[i].length }));
}

/** Times each (synchronous) implementation, round-robin, so slow drifts of the machine hit them alike. */
export function measure(impls: Impl[], o: MeasureOptions = {}): Timing[] {
  const it = schedule(impls, o);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) return r.value;
    impls[r.value].run();
  }
}

/** measure for implementations that return promises (onnxruntime's run): the same policy, each run awaited. */
export async function measureAsync(impls: AsyncImpl[], o: MeasureOptions = {}): Promise<Timing[]> {
  const it = schedule(impls, o);
  for (let r = it.next(); ; r = it.next()) {
    if (r.done) return r.value;
    await impls[r.value].run();
  }
}

export interface MachineInfo {
  date: string;
  tensorkern: string;
  node: string;
  os: string;
  cpu: { model: string; brand: string; isa: string; features: string[]; threads: number; physicalCores: number; logicalCpus: number };
  gpus: { name: string; computeCapability: string; memory: number; driver: string; runtime: string }[];
  whyNoGpu: string | null;
  native: ReturnType<typeof nativeInfo>;
}

export function machineInfo(): MachineInfo {
  const ds = devices();
  const cpu = ds[0].kind === 'cpu' ? ds[0] : undefined;
  return {
    date: new Date().toISOString(),
    tensorkern: version,
    node: process.versions.node,
    os: `${os.type()} ${os.release()} ${process.arch}`,
    cpu: {
      model: cpu?.name ?? 'unknown',
      brand: cpu?.brand ?? '',
      isa: cpu?.isa ?? 'unknown',
      features: cpu?.features ?? [],
      threads: getNumThreads(),
      physicalCores: cpu?.physicalCores ?? 0,
      logicalCpus: cpu?.logicalCpus ?? 0,
    },
    gpus: ds.flatMap((d) =>
      d.kind === 'cuda'
        ? [
            {
              name: d.name,
              computeCapability: d.computeCapability,
              memory: d.totalMemory,
              driver: d.driverVersion,
              runtime: d.runtimeVersion,
            },
          ]
        : [],
    ),
    whyNoGpu: whyNoGpu(),
    native: nativeInfo(),
  };
}

/** A one-line progress display on a terminal; one line per step otherwise (CI logs). */
export class Progress {
  private readonly tty = !!process.stderr.isTTY;
  constructor(private readonly total: number) {}
  step(i: number, label: string): void {
    const msg = `[${i + 1}/${this.total}] ${label}`;
    process.stderr.write(this.tty ? `\r\x1b[K${msg}` : `${msg}\n`);
  }
  done(): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
  }
}

/** Left-aligned text table. */
export function formatTable(header: string[], rows: string[][]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => (c ?? '').padEnd(w[i]))
      .join('  ')
      .trimEnd();
  return [line(header), line(w.map((n) => '-'.repeat(n))), ...rows.map(line)].join('\n');
}
