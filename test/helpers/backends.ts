// Which backends this machine can run, for "every backend x every case" suites. A backend that is
// absent is reported once with its reason, never silently dropped.
import { devices, setCpuIsa, whyNoGpu } from '../../lib';
import { TestFn, describe, test } from './runner';

/** Prints a skip reason where jest cannot swallow it (it hides console output of skipped suites). */
export function printSkip(what: string): void {
  process.stderr.write(`SKIP ${what}\n`);
}

const ORDER = ['scalar', 'avx2', 'avx512'] as const;
export type CpuIsa = (typeof ORDER)[number] | 'neon';

/** The CPU kernel families this CPU can run (each test runs them all, capping with setCpuIsa). */
export function cpuIsas(): CpuIsa[] {
  const best = devices()[0].kind === 'cpu' ? (devices()[0] as { bestIsa: string }).bestIsa : 'scalar';
  if (best === 'neon') return ['scalar', 'neon'];
  const upto = ORDER.indexOf(best as (typeof ORDER)[number]);
  return ORDER.slice(0, upto + 1);
}

const reported = new Set<string>();
/** Prints, once per suite, the kernel families this machine cannot exercise. */
export function reportMissingIsas(suite: string): void {
  const have = cpuIsas();
  const missing = (process.arch === 'arm64' ? ['neon'] : ['avx2', 'avx512']).filter((x) => !have.includes(x as CpuIsa));
  const key = `${suite}:${missing.join(',')}`;
  if (missing.length && !reported.has(key)) {
    reported.add(key);
    printSkip(`${suite} on ${missing.join(', ')}: this CPU lacks it (best: ${have[have.length - 1]})`);
  }
}

/** Runs fn with the CPU kernels capped at `isa`, restoring 'auto' afterwards. */
export async function withIsa<T>(isa: CpuIsa, fn: () => T | Promise<T>): Promise<T> {
  const got = setCpuIsa(isa);
  if (got !== isa) throw new Error(`setCpuIsa(${isa}) gave ${got}`);
  try {
    return await fn();
  } finally {
    setCpuIsa('auto');
  }
}

/** null when a CUDA device is usable, else why not (printed by GPU suites that skip). */
export function gpuSkipReason(): string | null {
  return devices().some((d) => d.kind === 'cuda') ? null : `no usable CUDA device: ${whyNoGpu()}`;
}

/** describe() for GPU suites: runs them on a GPU, else skips them and prints why. */
export function describeGpu(name: string, fn: () => void): void {
  const reason = gpuSkipReason();
  if (reason === null) {
    describe(name, fn);
    return;
  }
  printSkip(`${name}: ${reason}`);
  describe.skip(name, fn);
}

/** test, or test.skip with the reason printed, by a condition known when the suite is defined. */
export function testIf(cond: boolean, reason: string): TestFn {
  if (!cond) printSkip(reason);
  return cond ? test : test.skip;
}
