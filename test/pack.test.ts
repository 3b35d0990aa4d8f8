// The published package: `npm pack`, then install the tarball offline into an empty folder with no
// compiler on PATH, and run an op there through require, import and the CLI. The install must take
// the prebuilt binary (node-gyp-build finds prebuilds/<platform>-<arch>/) and compile nothing.
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

/** A package folder to pack: the repository when it has prebuilds, else a staged copy using the local build. */
function packageDir(tmp: string): { dir: string; how: string } {
  const pre = path.join(ROOT, 'prebuilds', target);
  if (fs.existsSync(pre) && fs.readdirSync(pre).some((f) => f.endsWith('.node'))) {
    return { dir: ROOT, how: `the repository with ${path.relative(ROOT, pre)} (npm run build:prebuild)` };
  }
  const stage = path.join(tmp, 'stage');
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of pkg.files) {
    const src = path.join(ROOT, entry);
    if (entry.startsWith('prebuilds') || !fs.existsSync(src)) continue;
    fs.cpSync(src, path.join(stage, entry), { recursive: true });
  }
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(stage, 'package.json'));
  fs.mkdirSync(path.join(stage, 'prebuilds', target), { recursive: true });
  fs.copyFileSync(nativeFile, path.join(stage, 'prebuilds', target, 'tensorkern.node'));
  return { dir: stage, how: `a staged copy with ${path.relative(ROOT, nativeFile)} as its prebuild (run \`npm run build:prebuild\` to pack the real one)` };
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
testIf(linux && !sanitizer, sanitizer ? `pack/install test under ${sanitizer}: the instrumented binary only loads with the sanitizer runtime preloaded, which a user's install does not have` : 'pack/install test: needs Linux (the prebuilt binaries are linux-x64)')('the packed tarball installs offline with no compiler and runs a GEMM', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tk-pack-'));
  const { dir, how } = packageDir(tmp);
  const npm = npmCli();
  const packed = execFileSync(process.execPath, [npm, 'pack', '--ignore-scripts', '--json', '--pack-destination', tmp], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const info = JSON.parse(packed)[0] as { filename: string; size: number; unpackedSize: number; files: { path: string }[] };
  const tarball = path.join(tmp, info.filename);
  console.log(`pack: ${info.filename} ${(info.size / 1e6).toFixed(2)} MB packed, ${(info.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${info.files.length} files; from ${how}`);
  const files = info.files.map((f) => f.path);
  expect(files).toEqual(expect.arrayContaining(['package.json', 'dist/lib/index.js', 'dist/lib/index.mjs', 'dist/lib/index.d.ts', 'dist/lib/cli/main.js', `prebuilds/${target}/tensorkern.node`, 'binding.gyp', 'native/sources.json']));
  expect(files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/'))).toBe(false);

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
  const deps = Object.entries((JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);
  const warm = spawnSync(process.execPath, [npm, 'cache', 'add', ...deps.map(([n, v]) => `${n}@${v}`)], { encoding: 'utf8' });
  if (warm.status !== 0) {
    console.log(`SKIP the offline install: npm could not cache the dependencies (${deps.map(([n]) => n).join(', ')}) from the registry:\n${warm.stderr}`);
    return;
  }
  const install = spawnSync(process.execPath, [npm, 'install', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, env, encoding: 'utf8' });
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
  const installed = path.join(app, 'node_modules', 'tensorkern');
  expect(fs.existsSync(path.join(installed, 'build'))).toBe(false); // nothing was compiled

  const code = `
    const tk = require('tensorkern');
    (async () => {
      const y = await tk.cast(tk.Tensor.from([1, 2.5, -3.75], [3]), 'bfloat16');
      const g = await tk.gemm(tk.Tensor.from([1, 2, 3, 4, 5, 6], [2, 3]), tk.Tensor.from([1, 0, 0, 1, 1, 1], [3, 2]));
      const esm = await import('tensorkern');
      process.stdout.write(JSON.stringify({ bits: Array.from(await y.toArray()), gemm: Array.from(await g.toArray()), file: tk.nativeInfo().file, esm: typeof esm.gemm }));
    })();`;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: app, env, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { bits: number[]; gemm: number[]; file: string; esm: string };
  expect(out.bits).toEqual([0x3f80, 0x4020, 0xc070]);
  expect(out.gemm).toEqual([4, 5, 10, 11]);
  expect(out.file).toBe(path.join(fs.realpathSync(installed), 'prebuilds', target, 'tensorkern.node'));
  expect(out.esm).toBe('function');

  const cli = spawnSync(path.join(app, 'node_modules', '.bin', 'tensorkern'), ['info'], { cwd: app, env, encoding: 'utf8' });
  expect(cli.status).toBe(0);
  expect(cli.stdout).toContain('tensorkern ');
  fs.rmSync(tmp, { recursive: true, force: true });
}, 180000);
