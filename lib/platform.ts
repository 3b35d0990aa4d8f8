// The per-platform binary packages: their names, which one fits this machine, and where they are installed.
//
// The main package lists every CPU package in `optionalDependencies`, each with `os` / `cpu` / `libc`, so npm
// fetches only the one that fits. The CUDA build (CPU + CUDA kernels, a superset) is a separate package a GPU user
// adds; the loader prefers it when an NVIDIA driver is present. scripts/release/ builds and publishes them;
// scripts/install.js and lib/binding.ts find them. No module here touches the addon.
import * as fs from 'fs';
import * as path from 'path';

export type Libc = 'glibc' | 'musl';
export type Variant = 'cpu' | 'cuda';

/** One published binary package. */
export interface PlatformPackage {
  /** npm name, e.g. '@tensorkern/linux-x64-gnu'. */
  name: string;
  os: NodeJS.Platform;
  cpu: string;
  /** Linux only: which C library the binary links. */
  libc?: Libc;
  variant: Variant;
  /** One line for the package's description. */
  what: string;
}

export const SCOPE = '@tensorkern';

/** The packages a release builds (scripts/release/build.js), in the order they are listed. */
export const PLATFORM_PACKAGES: readonly PlatformPackage[] = [
  {
    name: `${SCOPE}/linux-x64-gnu`,
    os: 'linux',
    cpu: 'x64',
    libc: 'glibc',
    variant: 'cpu',
    what: 'x86-64 Linux (glibc), CPU kernels (AVX-512, AVX2, scalar; picked at run time)',
  },
  {
    name: `${SCOPE}/linux-x64-gnu-cuda`,
    os: 'linux',
    cpu: 'x64',
    libc: 'glibc',
    variant: 'cuda',
    what: 'x86-64 Linux (glibc), CPU kernels and CUDA kernels (sm_75, sm_80, sm_90a; CUDA runtime linked statically)',
  },
  {
    name: `${SCOPE}/linux-arm64-gnu`,
    os: 'linux',
    cpu: 'arm64',
    libc: 'glibc',
    variant: 'cpu',
    what: 'AArch64 Linux (glibc), CPU kernels (NEON)',
  },
];

/** The target a binary must fit. */
export interface Target {
  platform: NodeJS.Platform;
  arch: string;
  libc?: Libc;
}

/** The glibc version this process runs on ('' on musl; undefined off Linux or when the report fails). */
export function glibcVersion(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
    return report?.header?.glibcVersionRuntime ?? '';
  } catch {
    return undefined;
  }
}

/** Which C library this process runs on (Linux). */
export function hostLibc(): Libc | undefined {
  const g = glibcVersion();
  return g === undefined ? undefined : g ? 'glibc' : 'musl';
}

export function hostTarget(): Target {
  return { platform: process.platform, arch: process.arch, libc: hostLibc() };
}

/** 'linux-x64-gnu', 'linux-arm64-musl', 'darwin-arm64', ...: the name suffix a package for `t` has. */
export function targetName(t: Target): string {
  const base = `${t.platform}-${t.arch}`;
  if (t.platform !== 'linux') return base;
  return `${base}-${t.libc === 'musl' ? 'musl' : 'gnu'}`;
}

/** The published packages that fit `t`, CUDA first when `preferCuda`, else the CPU one first. */
export function packagesFor(t: Target, preferCuda: boolean): PlatformPackage[] {
  const fit = PLATFORM_PACKAGES.filter((p) => p.os === t.platform && p.cpu === t.arch && (p.libc === undefined || p.libc === t.libc));
  const rank = (p: PlatformPackage) => (p.variant === 'cuda') === preferCuda;
  return [...fit.filter(rank), ...fit.filter((p) => !rank(p))];
}

/** Where the NVIDIA kernel driver announces itself; its presence means a GPU the CUDA build can use. */
export const NVIDIA_DRIVER_FILE = '/proc/driver/nvidia/version';

export function nvidiaDriverPresent(): boolean {
  try {
    return fs.existsSync(NVIDIA_DRIVER_FILE);
  } catch {
    return false;
  }
}

/**
 * TENSORKERN_VARIANT: 'cpu' or 'cuda' picks that package first; unset or 'auto' prefers the CUDA build when an
 * NVIDIA driver is present. Anything else is an error naming the variable.
 */
export function preferCuda(env: NodeJS.ProcessEnv, driverPresent: () => boolean = nvidiaDriverPresent): boolean {
  const v = env.TENSORKERN_VARIANT;
  if (v === undefined || v === '' || v === 'auto') return driverPresent();
  if (v === 'cuda') return true;
  if (v === 'cpu') return false;
  throw new Error(`TENSORKERN_VARIANT must be 'auto', 'cpu' or 'cuda', got "${v}"`);
}

/** A platform package looked for: its binary when installed and of the right version, else why not. */
export interface Candidate {
  pkg: PlatformPackage;
  file?: string;
  why?: string;
}

/** Resolves `name`'s package.json the way require() would from `root` (the tensorkern package folder). */
function resolvePackageJson(name: string, root: string): string | undefined {
  try {
    return require.resolve(`${name}/package.json`, { paths: [root] });
  } catch {
    return undefined;
  }
}

/** The packages that fit this machine, in the order the loader tries them, each found or not (and why not). */
export function platformCandidates(root: string, version: string, env: NodeJS.ProcessEnv = process.env): Candidate[] {
  return packagesFor(hostTarget(), preferCuda(env)).map((pkg): Candidate => {
    const pj = resolvePackageJson(pkg.name, root);
    if (!pj) return { pkg, why: 'not installed' };
    let got: string | undefined;
    try {
      got = (JSON.parse(fs.readFileSync(pj, 'utf8')) as { version?: string }).version;
    } catch (e) {
      return { pkg, why: `unreadable ${pj} (${(e as Error).message})` };
    }
    if (got !== version) return { pkg, why: `${path.dirname(pj)} is version ${got}, tensorkern ${version} needs ${version}` };
    const file = path.join(path.dirname(pj), 'tensorkern.node');
    if (!fs.existsSync(file)) return { pkg, why: `${path.dirname(pj)} has no tensorkern.node` };
    return { pkg, file };
  });
}

/** The package a loaded binary came from, when it came from one. */
export function packageOf(file: string): PlatformPackage | undefined {
  const dir = path.basename(path.dirname(file));
  const scope = path.basename(path.dirname(path.dirname(file)));
  return PLATFORM_PACKAGES.find((p) => p.name === `${scope}/${dir}`);
}

/**
 * Why a CPU-only binary runs no GPU op, and how to get the CUDA build: the install command where a CUDA package
 * exists for this machine, else the source build.
 */
export function cpuOnlyReason(file: string, version: string, driverPresent: boolean = nvidiaDriverPresent()): string {
  const from = packageOf(file);
  const loaded = `the loaded tensorkern binary is the CPU-only build (${from ? from.name : file})`;
  const cuda = packagesFor(hostTarget(), true).find((p) => p.variant === 'cuda');
  if (!cuda) {
    return (
      `${loaded}, and no prebuilt CUDA build exists for ${targetName(hostTarget())}: build one in a clone of the tensorkern ` +
      'repository with `npm run build:cuda` (needs nvcc and cmake) and set TENSORKERN_BINARY to its build/Release/tensorkern.node'
    );
  }
  const install = `\`npm install ${cuda.name}@${version}\``;
  return driverPresent
    ? `an NVIDIA driver is present (${NVIDIA_DRIVER_FILE}), but ${loaded}: install the CUDA build with ${install}; ` +
        'the loader prefers it when a driver is present (TENSORKERN_VARIANT=cuda forces it)'
    : `${loaded}, and no NVIDIA driver was found (${NVIDIA_DRIVER_FILE}); on a machine with an NVIDIA GPU, install the CUDA build with ${install}`;
}
