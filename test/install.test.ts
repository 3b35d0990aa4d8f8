// The release as users get it: scripts/release/build.js stages every package (the main one and one per binary),
// scripts/release/publish.js publishes them to a verdaccio registry started on loopback for this test (no uplink:
// nothing leaves the machine; the two runtime dependencies are published to it from node_modules), and
// `npm install tensorkern` in empty projects, with no compiler on PATH, must give
//   - a linux-x64 CPU user the main package and @tensorkern/linux-x64-gnu only, running an op through require,
//     import and the CLI, and whyNoGpu() naming the CUDA package;
//   - a GPU user who adds @tensorkern/linux-x64-gnu-cuda that build (TENSORKERN_VARIANT=cuda here: no driver);
//   - an arm64 user (`--cpu=arm64`, run under qemu with Debian's arm64 node) @tensorkern/linux-arm64-gnu on NEON;
//   - a user who omitted optional dependencies an error naming the package to add.
// The x64 CPU binary is the one this test run loaded; the CUDA one is prebuilds/linux-x64/ when a CUDA build made it
// (npm run release:build / build:prebuild), the arm64 one build-arm64/ (scripts/cross-arm64.sh): each is left out,
// with the reason printed, when absent.
import { ChildProcess, SpawnSyncReturns, execFileSync, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { nativeFile } from '../lib/binding';
import { testIf } from './helpers/backends';
import { ROOT } from './helpers/child';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { npmCli } = require('../scripts/release/npm.js') as { npmCli(): string };

interface ManifestEntry {
  name: string;
  variant: string;
  dir: string;
  tarball: string;
  size: number;
  unpackedSize: number;
}
interface Manifest {
  version: string;
  packages: ManifestEntry[];
  skipped: { name: string; why: string }[];
}

const linuxX64 = process.platform === 'linux' && process.arch === 'x64';
const sanitizer = process.env.TK_SANITIZER;
const MAX_CPU_INSTALL_MB = 8; // main + the x64 CPU package, unpacked: "a few MB"
const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** The size of an ELF64 section by name (0 when absent or not ELF64 little-endian). */
function elfSectionBytes(file: string, name: string): number {
  const b = fs.readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) return 0;
  const shoff = Number(b.readBigUInt64LE(0x28)),
    shentsize = b.readUInt16LE(0x3a),
    shnum = b.readUInt16LE(0x3c),
    shstrndx = b.readUInt16LE(0x3e);
  const strOff = Number(b.readBigUInt64LE(shoff + shstrndx * shentsize + 0x18));
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * shentsize;
    const n = b.readUInt32LE(h);
    const end = b.indexOf(0, strOff + n);
    if (b.toString('latin1', strOff + n, end) === name) return Number(b.readBigUInt64LE(h + 0x20));
  }
  return 0;
}

/** The binaries to package, each with where it came from, or why it is left out. */
function binaries(): { args: string[]; notes: string[] } {
  const args = ['--x64-cpu', nativeFile];
  const notes = [`linux-x64-gnu: ${path.relative(ROOT, nativeFile)} (the binary this test run loaded)`];
  const cuda = path.join(ROOT, 'prebuilds', 'linux-x64', 'tensorkern.node');
  if (fs.existsSync(cuda) && elfSectionBytes(cuda, '.nv_fatbin') > 0) {
    args.push('--x64-cuda', cuda);
    notes.push(`linux-x64-gnu-cuda: ${path.relative(ROOT, cuda)} (built ${fs.statSync(cuda).mtime.toISOString()})`);
  } else {
    args.push('--skip', 'linux-x64-gnu-cuda');
    notes.push(`SKIP linux-x64-gnu-cuda: no CUDA build at ${path.relative(ROOT, cuda)} (npm run build:prebuild with nvcc; CI makes one)`);
  }
  const arm = path.join(ROOT, 'build-arm64', 'tensorkern.node');
  if (fs.existsSync(arm)) {
    args.push('--arm64', arm);
    notes.push(`linux-arm64-gnu: ${path.relative(ROOT, arm)} (built ${fs.statSync(arm).mtime.toISOString()})`);
  } else {
    args.push('--skip', 'linux-arm64-gnu');
    notes.push(`SKIP linux-arm64-gnu: no ${path.relative(ROOT, arm)} (bash scripts/cross-arm64.sh; CI makes one)`);
  }
  return { args, notes };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** verdaccio on 127.0.0.1, storing in `dir`, no uplinks; resolves once it answers /-/ping. */
async function startRegistry(dir: string): Promise<{ url: string; proc: ChildProcess; log: () => string }> {
  const port = await freePort();
  const config = path.join(dir, 'config.yaml');
  fs.writeFileSync(
    config,
    [
      `storage: ${path.join(dir, 'storage')}`,
      'auth:',
      '  htpasswd:',
      `    file: ${path.join(dir, 'htpasswd')}`,
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $authenticated',
      'log: { type: stdout, format: pretty, level: warn }',
      '',
    ].join('\n'),
  );
  const bin = require.resolve('verdaccio/bin/verdaccio', { paths: [ROOT] });
  const proc = spawn(process.execPath, [bin, '--config', config, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = `http://127.0.0.1:${port}/`;
  for (let i = 0; i < 300; i++) {
    if (proc.exitCode !== null) throw new Error(`verdaccio exited with ${proc.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}-/ping`)).ok) return { url, proc, log: () => out };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  proc.kill();
  throw new Error(`verdaccio did not answer within 30 s:\n${out}`);
}

/** A user on the registry (verdaccio's htpasswd), and an npmrc that uses its token. */
async function npmrcFor(url: string, dir: string): Promise<string> {
  const res = await fetch(`${url}-/user/org.couchdb.user:tk`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'tk', password: 'tk-install-test' }),
  });
  const body = (await res.json()) as { token?: string };
  if (!body.token) throw new Error(`verdaccio did not create the user: ${res.status} ${JSON.stringify(body)}`);
  const file = path.join(dir, 'npmrc');
  const host = url.replace(/^http:/, '');
  fs.writeFileSync(file, `registry=${url}\n${host}:_authToken=${body.token}\nupdate-notifier=false\nfund=false\naudit=false\n`);
  return file;
}

/** A PATH holding only node and sh: no cc, c++, make, cmake, python or nvcc. */
function bareBin(tmp: string): string {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

function check(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed (${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function duBytes(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : fs.lstatSync(p).size;
  }
  return n;
}

const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;

const OP_SCRIPT = `
const tk = require('tensorkern');
(async () => {
  const g = await tk.gemm(tk.Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), tk.Tensor.from([1, 0, 0, 1, 1, 1], [3, 2]));
  const y = await tk.cast(tk.Tensor.from([1, 2.5, -3.75], [3]), 'bfloat16');
  const esm = await import('tensorkern');
  const e = await esm.gemm(esm.Tensor.from([1, 2, 3, 4], [2, 2]), esm.Tensor.from([1, 0, 0, 1], [2, 2]));
  const cpu = tk.devices().find((d) => d.kind === 'cpu');
  process.stdout.write(JSON.stringify({ gemm: Array.from(await g.toArray()), bits: Array.from(await y.toArray()),
    esmGemm: Array.from(await e.toArray()), native: tk.nativeInfo(), isa: cpu.isa, arch: process.arch, why: tk.whyNoGpu() }));
})().catch((e) => { console.error(e); process.exit(1); });`;

interface OpResult {
  gemm: number[];
  bits: number[];
  esmGemm: number[];
  native: { file: string; package: string | null; cuda: boolean };
  isa: string;
  arch: string;
  why: string | null;
}

function expectOps(out: OpResult): void {
  expect(out.gemm).toEqual([4, 5, 10, 11]);
  expect(out.bits).toEqual([0x3f80, 0x4020, 0xc070]);
  expect(out.esmGemm).toEqual([1, 2, 3, 4]);
}

testIf(
  linuxX64 && !sanitizer,
  sanitizer
    ? `install test under ${sanitizer}: the instrumented binary only loads with the sanitizer runtime preloaded, which a user's install does not have`
    : 'install test: the release packages are built on linux-x64',
)(
  'npm install tensorkern from a loopback registry picks the platform package: x64 CPU, x64 + CUDA, arm64 under qemu',
  async () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-install-'));
    const npm = npmCli();
    const { args, notes } = binaries();
    console.log(`install test: binaries\n  ${notes.join('\n  ')}`);
    const release = path.join(tmp, 'release');
    check(
      spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'release', 'build.js'), '--out', release, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
      }),
      'scripts/release/build.js',
    );
    const manifest = JSON.parse(fs.readFileSync(path.join(release, 'manifest.json'), 'utf8')) as Manifest;
    const entry = (name: string) => manifest.packages.find((p) => p.name === name);
    const main = entry('tensorkern')!;
    const cpuPkg = entry('@tensorkern/linux-x64-gnu')!;

    // The main package: JS, types, the sources for a source build, no binary, no test code.
    const listed = JSON.parse(
      execFileSync(process.execPath, [npm, 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: main.dir, encoding: 'utf8' }),
    )[0] as { files: { path: string }[] };
    const files = listed.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lib/index.js',
        'dist/lib/index.mjs',
        'dist/lib/index.d.ts',
        'dist/lib/cli/main.js',
        'dist/lib/platform.js',
        'scripts/install.js',
        'binding.gyp',
        'native/sources.json',
      ]),
    );
    expect(
      files.filter((f) => f.endsWith('.node') || f.startsWith('test/') || f.startsWith('dist/test/') || /\.test\.[jt]s$/.test(f)),
    ).toEqual([]);
    const mainPj = JSON.parse(fs.readFileSync(path.join(main.dir, 'package.json'), 'utf8')) as {
      optionalDependencies: Record<string, string>;
      devDependencies?: unknown;
    };
    expect(mainPj.optionalDependencies).toEqual({ '@tensorkern/linux-x64-gnu': version, '@tensorkern/linux-arm64-gnu': version });
    expect(mainPj.devDependencies).toBeUndefined();
    const cpuPj = JSON.parse(fs.readFileSync(path.join(cpuPkg.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect([cpuPj.os, cpuPj.cpu, cpuPj.libc]).toEqual([['linux'], ['x64'], ['glibc']]);

    const reg = await startRegistry(tmp);
    try {
      const npmrc = await npmrcFor(reg.url, tmp);
      const env: NodeJS.ProcessEnv = {
        HOME: tmp,
        PATH: bareBin(tmp),
        npm_config_userconfig: npmrc,
        npm_config_cache: path.join(tmp, 'npm-cache'),
      };
      for (const tool of ['cc', 'gcc', 'c++', 'g++', 'clang', 'make', 'cmake', 'nvcc', 'python3']) {
        expect([tool, spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env }).status]).not.toEqual([tool, 0]);
      }
      const npmRun = (cwd: string, a: string[]) =>
        check(spawnSync(process.execPath, [npm, ...a], { cwd, env, encoding: 'utf8' }), `npm ${a.join(' ')}`);

      // The runtime dependencies, from node_modules into the registry.
      for (const dep of Object.keys(
        (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: object }).dependencies,
      )) {
        const tgz = JSON.parse(
          npmRun(tmp, ['pack', '--json', '--ignore-scripts', '--pack-destination', tmp, path.join(ROOT, 'node_modules', dep)]),
        )[0] as {
          filename: string;
        };
        npmRun(tmp, ['publish', path.join(tmp, tgz.filename)]);
      }
      const pub = spawnSync(
        process.execPath,
        [path.join(ROOT, 'scripts', 'release', 'publish.js'), '--dir', release, ...(manifest.skipped.length ? ['--allow-missing'] : [])],
        {
          cwd: tmp,
          env,
          encoding: 'utf8',
        },
      );
      console.log(check(pub, 'scripts/release/publish.js').trim());

      // npm 11 runs a dependency's install script only when the project allows it (allowScripts).
      const app = (name: string, allowScripts = false) => {
        const dir = path.join(tmp, name);
        fs.mkdirSync(dir);
        const pj = { name, private: true, version: '1.0.0', ...(allowScripts ? { allowScripts: { tensorkern: true } } : {}) };
        fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pj));
        return dir;
      };
      const installed = (dir: string) =>
        fs.existsSync(path.join(dir, 'node_modules', '@tensorkern'))
          ? fs.readdirSync(path.join(dir, 'node_modules', '@tensorkern')).sort()
          : [];
      const runOps = (dir: string, extra: NodeJS.ProcessEnv = {}, cmd: string[] = [process.execPath]) => {
        const r = spawnSync(cmd[0], [...cmd.slice(1), '-e', OP_SCRIPT], { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8' });
        expect(r.stderr).toBe('');
        return JSON.parse(check(r, 'the op script')) as OpResult;
      };
      const report: string[] = [];

      // 1. A CPU user on linux-x64: install scripts on (the default), nothing compiled.
      const cpuApp = app('cpu-user');
      const log1 = npmRun(cpuApp, ['install', 'tensorkern']);
      expect(installed(cpuApp)).toEqual(['linux-x64-gnu']);
      expect(fs.existsSync(path.join(cpuApp, 'node_modules', 'tensorkern', 'build'))).toBe(false);
      const cpuOut = runOps(cpuApp);
      expectOps(cpuOut);
      expect(cpuOut.native.package).toBe('@tensorkern/linux-x64-gnu');
      expect(cpuOut.native.cuda).toBe(false);
      expect(cpuOut.why).toContain(`npm install @tensorkern/linux-x64-gnu-cuda@${version}`);
      const cli = spawnSync(path.join(cpuApp, 'node_modules', '.bin', 'tensorkern'), ['info'], { cwd: cpuApp, env, encoding: 'utf8' });
      expect(check(cli, 'tensorkern info')).toContain('tensorkern ');
      const onDisk = duBytes(path.join(cpuApp, 'node_modules', 'tensorkern')) + duBytes(path.join(cpuApp, 'node_modules', '@tensorkern'));
      report.push(
        `x64 CPU user: npm install tensorkern -> tensorkern + @tensorkern/linux-x64-gnu: download ${mb(main.size + cpuPkg.size)} ` +
          `(${mb(main.size)} + ${mb(cpuPkg.size)}), ${mb(onDisk)} on disk; npm said: ` +
          `${log1.trim().split('\n').join(' / ')}; whyNoGpu(): ${cpuOut.why}`,
      );
      expect(onDisk / 1e6).toBeLessThanOrEqual(MAX_CPU_INSTALL_MB);

      // 2. A GPU user adds the CUDA build; with no driver here, TENSORKERN_VARIANT=cuda makes the loader take it.
      const cudaPkg = entry('@tensorkern/linux-x64-gnu-cuda');
      if (cudaPkg) {
        const gpuApp = app('gpu-user', true);
        const log2 = npmRun(gpuApp, ['install', 'tensorkern', '@tensorkern/linux-x64-gnu-cuda', '--foreground-scripts']);
        expect(log2).toContain('tensorkern: using the prebuilt binary of @tensorkern/linux-x64-gnu');
        expect(installed(gpuApp)).toEqual(['linux-x64-gnu', 'linux-x64-gnu-cuda']);
        const gpuOut = runOps(gpuApp, { TENSORKERN_VARIANT: 'cuda' });
        expectOps(gpuOut);
        expect(gpuOut.native.package).toBe('@tensorkern/linux-x64-gnu-cuda');
        expect(gpuOut.native.cuda).toBe(true);
        expect(gpuOut.why === null || !gpuOut.why.includes('CPU-only build')).toBe(true);
        report.push(
          `x64 GPU user: + @tensorkern/linux-x64-gnu-cuda: download ${mb(cudaPkg.size)} (${mb(cudaPkg.unpackedSize)} unpacked); ` +
            `TENSORKERN_VARIANT=cuda loads it; whyNoGpu(): ${gpuOut.why}`,
        );
      } else {
        console.log(`SKIP the GPU user's install: ${manifest.skipped.find((s) => s.name.endsWith('-cuda'))?.why}`);
      }

      // 3. An arm64 user: resolved for arm64 here, run under qemu with Debian's arm64 node.
      const armPkg = entry('@tensorkern/linux-arm64-gnu');
      const sysroot = path.join(ROOT, 'build-arm64', 'sysroot');
      const qemu = spawnSync('/bin/sh', ['-c', 'command -v qemu-aarch64-static || command -v qemu-aarch64'], {
        encoding: 'utf8',
      }).stdout.trim();
      if (armPkg) {
        const armApp = app('arm64-user', true);
        const log3 = npmRun(armApp, ['install', 'tensorkern', '--cpu=arm64', '--os=linux', '--libc=glibc', '--foreground-scripts']);
        expect(log3).toContain('tensorkern: installing for linux-arm64-glibc, not this machine (linux-x64): nothing to build here');
        expect(installed(armApp)).toEqual(['linux-arm64-gnu']);
        const armNode = path.join(sysroot, 'usr', 'bin', 'node');
        if (qemu && fs.existsSync(armNode)) {
          const armOut = runOps(armApp, {}, [qemu, '-L', sysroot, armNode]);
          expectOps(armOut);
          expect(armOut.arch).toBe('arm64');
          expect(armOut.native.package).toBe('@tensorkern/linux-arm64-gnu');
          expect(armOut.isa).toBe('neon');
          report.push(
            `arm64 user: npm install tensorkern --cpu=arm64 -> @tensorkern/linux-arm64-gnu: download ${mb(armPkg.size)} ` +
              `(${mb(armPkg.unpackedSize)} unpacked); install script said: ${(log3.match(/tensorkern: [^\n]*/) ?? ['(nothing)'])[0]}; ` +
              `under qemu: arch ${armOut.arch}, ISA ${armOut.isa}, ops correct`,
          );
        } else {
          console.log(
            `SKIP running the arm64 install under qemu: ${qemu ? `no arm64 node at ${armNode} (bash scripts/arm64-node.sh)` : 'no qemu-aarch64'}`,
          );
        }
      } else {
        console.log(`SKIP the arm64 user's install: ${manifest.skipped.find((s) => s.name.endsWith('arm64-gnu'))?.why}`);
      }

      // 4. Optional dependencies omitted (and install scripts off): the load error names the package to add.
      const bareApp = app('no-optional');
      npmRun(bareApp, ['install', 'tensorkern', '--omit=optional', '--ignore-scripts']);
      expect(installed(bareApp)).toEqual([]);
      const r4 = spawnSync(
        process.execPath,
        ['-e', "try { require('tensorkern') } catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message })) }"],
        { cwd: bareApp, env, encoding: 'utf8' },
      );
      const err = JSON.parse(r4.stdout) as { code: string; message: string };
      expect(err.code).toBe('ERR_TK_NATIVE_LOAD');
      expect(err.message).toContain('@tensorkern/linux-x64-gnu not installed');
      expect(err.message).toContain(`npm install @tensorkern/linux-x64-gnu@${version}`);
      expect(err.message).toContain('npm rebuild tensorkern --ignore-scripts=false');

      console.log(`install test (${reg.url}):\n  ${report.join('\n  ')}`);
    } finally {
      reg.proc.kill();
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  },
  300000,
);
