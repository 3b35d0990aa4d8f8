// The published package: `npm pack` (its size per part, within 60 MB unpacked, no test code), then install the
// tarball offline with --ignore-scripts into an empty folder with no compiler on PATH, and run an op there
// through require, import and the CLI: the loader finds prebuilds/<platform>-<arch>/ with no install step. A
// package with no binary that fits fails to load with an error naming the exact command to run.
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeFile } from '../lib/binding';
import { testIf } from './helpers/backends';
import { ROOT } from './helpers/child';

const target = `${process.platform}-${process.arch}`;

function npmCli(): string {
  const candidates = [
    process.env.npm_execpath,
    path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'),
  ];
  const found = candidates.find((c) => c && c.endsWith('.js') && fs.existsSync(c));
  if (!found) throw new Error(`cannot find npm-cli.js (looked at ${candidates.join(', ')})`);
  return found;
}

/** A copy of the package's files (package.json `files`), without prebuilds/. */
function stageWithoutPrebuilds(stage: string): void {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of pkg.files) {
    const src = path.join(ROOT, entry);
    if (entry.startsWith('prebuilds') || !fs.existsSync(src)) continue;
    fs.cpSync(src, path.join(stage, entry), { recursive: true });
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(stage, 'package.json'));
}

/** A package folder to pack: the repository when it has prebuilds, else a staged copy using the local build. */
function packageDir(tmp: string): { dir: string; how: string } {
  const pre = path.join(ROOT, 'prebuilds', target);
  if (fs.existsSync(pre) && fs.readdirSync(pre).some((f) => f.endsWith('.node'))) {
    return { dir: ROOT, how: `the repository with ${path.relative(ROOT, pre)} (npm run build:prebuild)` };
  }
  const stage = path.join(tmp, 'stage');
  stageWithoutPrebuilds(stage);
  fs.mkdirSync(path.join(stage, 'prebuilds', target), { recursive: true });
  fs.copyFileSync(nativeFile, path.join(stage, 'prebuilds', target, 'tensorkern.node'));
  return {
    dir: stage,
    how: `a staged copy with ${path.relative(ROOT, nativeFile)} as its prebuild (run \`npm run build:prebuild\` to pack the real one)`,
  };
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: { path: string; size: number }[];
}

function pack(npm: string, dir: string, dest: string): Packed {
  const out = execFileSync(process.execPath, [npm, 'pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out)[0] as Packed;
}

/** Bytes per part of the package: the native binary (its CUDA device code and the rest), JS, native sources, other. */
function sizeTable(p: Packed, nodeFile: string | undefined): string {
  const parts = new Map<string, number>();
  const add = (k: string, n: number) => parts.set(k, (parts.get(k) ?? 0) + n);
  for (const f of p.files) {
    if (f.path.startsWith('prebuilds/')) add('prebuilds/ (native binary)', f.size);
    else if (f.path.startsWith('dist/')) add('dist/ (JavaScript, types)', f.size);
    else if (f.path.startsWith('native/')) add('native/ (sources, for builds from source)', f.size);
    else add('other (package.json, README, build files)', f.size);
  }
  const rows = [...parts].map(([k, n]) => `  ${k}: ${(n / 1e6).toFixed(2)} MB`);
  if (nodeFile) {
    // The CUDA kernels are the .nv_fatbin section of the ELF binary (compressed fatbins, one per .cu file).
    const fat = elfSectionBytes(nodeFile, '.nv_fatbin');
    if (fat > 0)
      rows.push(
        `    of which CUDA device code (.nv_fatbin): ${(fat / 1e6).toFixed(2)} MB, CPU code and data: ${((fs.statSync(nodeFile).size - fat) / 1e6).toFixed(2)} MB`,
      );
  }
  return rows.join('\n');
}

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

/** A PATH holding only node and sh: no cc, c++, make, cmake, python or nvcc. */
function bareBin(tmp: string): string {
  const bin = path.join(tmp, 'bin');
  fs.mkdirSync(bin);
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  return bin;
}

const linux = process.platform === 'linux';
const sanitizer = process.env.TK_SANITIZER;
const MAX_UNPACKED_MB = 60;

testIf(
  linux && !sanitizer,
  sanitizer
    ? `pack/install test under ${sanitizer}: the instrumented binary only loads with the sanitizer runtime preloaded, which a user's install does not have`
    : 'pack/install test: needs Linux (the prebuilt binaries are linux-x64)',
)(
  'the packed tarball installs offline with --ignore-scripts and no compiler, and runs an op through require, import and the CLI',
  () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pack-'));
    const { dir, how } = packageDir(tmp);
    const npm = npmCli();
    const info = pack(npm, dir, tmp);
    const tarball = path.join(tmp, info.filename);
    const nodeFile = dir === ROOT ? path.join(ROOT, 'prebuilds', target, 'tensorkern.node') : nativeFile;
    console.log(
      `pack: ${info.filename} ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked (limit ${MAX_UNPACKED_MB} MB), ${info.files.length} files; from ${how}\n${sizeTable(info, nodeFile)}`,
    );
    expect(info.unpackedSize / 1e6).toBeLessThanOrEqual(MAX_UNPACKED_MB);
    const files = info.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/lib/index.js',
        'dist/lib/index.mjs',
        'dist/lib/index.d.ts',
        'dist/lib/cli/main.js',
        `prebuilds/${target}/tensorkern.node`,
        'binding.gyp',
        'native/sources.json',
      ]),
    );
    expect(
      files.filter((f) => f.startsWith('test/') || f.startsWith('dist/test/') || f.startsWith('node_modules/') || /\.test\.[jt]s$/.test(f)),
    ).toEqual([]);

    const app = path.join(tmp, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
    const env: NodeJS.ProcessEnv = { HOME: process.env.HOME, PATH: bareBin(tmp), npm_config_update_notifier: 'false' };
    for (const tool of ['cc', 'gcc', 'c++', 'g++', 'clang', 'make', 'cmake', 'nvcc', 'python3']) {
      expect([tool, spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env }).status]).not.toEqual([tool, 0]);
    }
    // The dependencies' packuments and tarballs must be in npm's cache for an offline install; a fresh machine's
    // `npm install` from the lockfile caches the tarballs but not the packuments, so add them (this is the one step
    // that uses the registry; the install itself stays offline).
    const deps = Object.entries(
      (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies,
    );
    const warm = spawnSync(process.execPath, [npm, 'cache', 'add', ...deps.map(([n, v]) => `${n}@${v}`)], { encoding: 'utf8' });
    if (warm.status !== 0) {
      console.log(
        `SKIP the offline install: npm could not cache the dependencies (${deps.map(([n]) => n).join(', ')}) from the registry:\n${warm.stderr}`,
      );
      return;
    }
    // --ignore-scripts: no install step runs at all (teams that do not allow-list install scripts install this way).
    const install = spawnSync(process.execPath, [npm, 'install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', tarball], {
      cwd: app,
      env,
      encoding: 'utf8',
    });
    if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
    const installed = path.join(app, 'node_modules', 'tensorkern');
    expect(fs.existsSync(path.join(installed, 'build'))).toBe(false); // nothing was compiled

    const code = `
    const tk = require('tensorkern');
    (async () => {
      const y = await tk.cast(tk.Tensor.from([1, 2.5, -3.75], [3]), 'bfloat16');
      const g = await tk.gemm(tk.Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), tk.Tensor.from([1, 0, 0, 1, 1, 1], [3, 2]));
      const esm = await import('tensorkern');
      const e = await esm.gemm(esm.Tensor.from([1, 2, 3, 4], [2, 2]), esm.Tensor.from([1, 0, 0, 1], [2, 2]));
      process.stdout.write(JSON.stringify({ bits: Array.from(await y.toArray()), gemm: Array.from(await g.toArray()), esmGemm: Array.from(await e.toArray()), file: tk.nativeInfo().file }));
    })();`;
    const r = spawnSync(process.execPath, ['-e', code], { cwd: app, env, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout) as { bits: number[]; gemm: number[]; esmGemm: number[]; file: string };
    expect(out.bits).toEqual([0x3f80, 0x4020, 0xc070]);
    expect(out.gemm).toEqual([4, 5, 10, 11]);
    expect(out.esmGemm).toEqual([1, 2, 3, 4]);
    expect(out.file).toBe(path.join(fs.realpathSync(installed), 'prebuilds', target, 'tensorkern.node'));

    const cli = spawnSync(path.join(app, 'node_modules', '.bin', 'tensorkern'), ['info'], { cwd: app, env, encoding: 'utf8' });
    expect(cli.status).toBe(0);
    expect(cli.stdout).toContain('tensorkern ');

    // Where no prebuilt binary fits (here: a package without prebuilds/), loading fails with an error that
    // says exactly what to run.
    const bare = path.join(tmp, 'bare');
    stageWithoutPrebuilds(bare);
    const info2 = pack(npm, bare, tmp);
    const app2 = path.join(tmp, 'app2');
    fs.mkdirSync(app2);
    fs.writeFileSync(path.join(app2, 'package.json'), JSON.stringify({ name: 'app2', private: true, version: '1.0.0' }));
    const install2 = spawnSync(
      process.execPath,
      [npm, 'install', '--offline', '--ignore-scripts', '--no-audit', '--no-fund', path.join(tmp, info2.filename)],
      { cwd: app2, env, encoding: 'utf8' },
    );
    if (install2.status !== 0) throw new Error(`npm install (no prebuilds) failed:\n${install2.stdout}\n${install2.stderr}`);
    const r2 = spawnSync(
      process.execPath,
      ['-e', "try { require('tensorkern') } catch (e) { process.stdout.write(JSON.stringify({ code: e.code, message: e.message })) }"],
      { cwd: app2, env, encoding: 'utf8' },
    );
    const err = JSON.parse(r2.stdout) as { code: string; message: string };
    expect(err.code).toBe('ERR_TK_NATIVE_LOAD');
    expect(err.message).toContain('npm rebuild tensorkern --ignore-scripts=false');
    expect(err.message).toContain(path.join(fs.realpathSync(path.join(app2, 'node_modules', 'tensorkern')), 'prebuilds', target));
    fs.rmSync(tmp, { recursive: true, force: true });
  },
  240000,
);
