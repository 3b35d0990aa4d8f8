#!/usr/bin/env node
// npm run release:build: every package of a release, built into one folder (default release/):
//   packages/<dir>/   the package folders: tensorkern (JS, types, sources, no binary) and one per binary
//                     (lib/platform.ts PLATFORM_PACKAGES: linux-x64-gnu, linux-x64-gnu-cuda, linux-arm64-gnu)
//   tarballs/*.tgz    `npm pack` of each; scripts/release/publish.js publishes them
//   manifest.json     name, version, tarball, sizes; platform packages first, the main package last
// Binaries: linux-x64-gnu from node-gyp (incremental, the repository's build/), linux-x64-gnu-cuda from
// cmake-js with CUDA (scripts/prebuild.js; needs nvcc), linux-arm64-gnu cross-compiled (scripts/cross-arm64.sh;
// needs g++-aarch64-linux-gnu). A binary that cannot be built here is skipped, with the reason, unless
// --require-all. --x64-cpu FILE / --x64-cuda FILE / --arm64 FILE take an already built binary instead.
'use strict';
const { execFileSync, spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { npmCli } = require('./npm');

const root = path.join(__dirname, '..', '..');

function parseArgs(argv) {
  const o = { out: path.join(root, 'release'), requireAll: false, files: {}, skip: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--out') o.out = path.resolve(val());
    else if (a === '--require-all') o.requireAll = true;
    else if (a === '--x64-cpu') o.files['linux-x64-gnu'] = path.resolve(val());
    else if (a === '--x64-cuda') o.files['linux-x64-gnu-cuda'] = path.resolve(val());
    else if (a === '--arm64') o.files['linux-arm64-gnu'] = path.resolve(val());
    else if (a === '--skip') for (const s of val().split(',')) o.skip.add(s);
    else throw new Error(`unknown argument ${a} (see the head of scripts/release/build.js)`);
  }
  return o;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited with ${r.status ?? r.signal}`);
}

function which(tool) {
  return spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim() || undefined;
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp) return process.env.npm_config_node_gyp;
  const bundled = path.join(
    path.dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  if (fs.existsSync(bundled)) return bundled;
  return require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
}

const jobs = String(require('os').availableParallelism?.() ?? require('os').cpus().length);

/** Each binary: how to build it here, or why it cannot be. Returns the built file. */
const builders = {
  'linux-x64-gnu'() {
    if (process.platform !== 'linux' || process.arch !== 'x64') return { skip: 'not an x86-64 Linux host' };
    const configured = fs.existsSync(path.join(root, 'build', 'Makefile'));
    run(process.execPath, [nodeGyp(), configured ? 'build' : 'rebuild', '-j', jobs]);
    return { file: path.join(root, 'build', 'Release', 'tensorkern.node'), strip: 'strip' };
  },
  'linux-x64-gnu-cuda'() {
    if (process.platform !== 'linux' || process.arch !== 'x64') return { skip: 'not an x86-64 Linux host' };
    const nvcc = which('nvcc') || (fs.existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : undefined);
    if (!nvcc) return { skip: 'no nvcc (the CUDA compiler) on PATH or in /usr/local/cuda/bin' };
    const env = { ...process.env, TK_CUDA: 'ON', PATH: `${process.env.PATH}:${path.dirname(nvcc)}` };
    run(process.execPath, [path.join(root, 'scripts', 'prebuild.js')], { env });
    return { file: path.join(root, 'prebuilds', 'linux-x64', 'tensorkern.node') }; // prebuildify strips it
  },
  'linux-arm64-gnu'() {
    const cxx = process.env.AARCH64_CXX || 'aarch64-linux-gnu-g++';
    if (!which(cxx)) return { skip: `no ${cxx} (apt-get install g++-aarch64-linux-gnu)` };
    run('bash', [path.join(root, 'scripts', 'cross-arm64.sh')]);
    return { file: path.join(root, 'build-arm64', 'tensorkern.node') }; // stripped by the script
  },
};

function writeJson(file, obj) {
  fs.writeFileSync(file, `${JSON.stringify(obj, null, 2)}\n`);
}

/** The main package: the repository's package.json `files` (no binaries), with the platform packages as optional dependencies. */
function stageMain(dir, pkg, platformNames) {
  for (const entry of pkg.files) {
    const src = path.join(root, entry);
    if (!fs.existsSync(src)) throw new Error(`package.json files lists ${entry}, which does not exist (run npm run build:ts first)`);
    fs.cpSync(src, path.join(dir, entry), { recursive: true });
  }
  const out = { ...pkg };
  delete out.devDependencies;
  out.scripts = { install: pkg.scripts.install };
  out.optionalDependencies = Object.fromEntries(platformNames.map((n) => [n, pkg.version]));
  writeJson(path.join(dir, 'package.json'), out);
}

function stagePlatform(dir, p, pkg, binary, strip) {
  const bin = path.join(dir, 'tensorkern.node');
  fs.copyFileSync(binary, bin);
  if (strip) run(strip, ['--strip-unneeded', bin]);
  const out = {
    name: p.name,
    version: pkg.version,
    description: `The prebuilt tensorkern binary for ${p.what}. Install tensorkern, which picks this package by itself.`,
    license: pkg.license,
    os: [p.os],
    cpu: [p.cpu],
    ...(p.libc ? { libc: [p.libc] } : {}),
    main: 'tensorkern.node',
    files: ['tensorkern.node', 'README.md', 'LICENSE'],
  };
  writeJson(path.join(dir, 'package.json'), out);
  fs.copyFileSync(path.join(root, 'LICENSE'), path.join(dir, 'LICENSE'));
  const use =
    p.variant === 'cuda'
      ? `A GPU user adds it next to tensorkern (\`npm install tensorkern ${p.name}\`); the loader prefers it when an NVIDIA driver is present, and TENSORKERN_VARIANT=cpu|cuda picks one.`
      : '`npm install tensorkern` installs it by itself on this platform (an optional dependency with `os` / `cpu` / `libc`).';
  fs.writeFileSync(
    path.join(dir, 'README.md'),
    `# ${p.name}\n\nThe prebuilt native binary of [tensorkern](https://www.npmjs.com/package/tensorkern) for ${p.what}.\n\n${use}\n`,
  );
}

function pack(dir, dest) {
  const out = execFileSync(process.execPath, [npmCli(), 'pack', '--ignore-scripts', '--json', '--pack-destination', dest], {
    cwd: dir,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out)[0];
}

const mb = (n) => `${(n / 1e6).toFixed(2)} MB`;

function main() {
  const o = parseArgs(process.argv.slice(2));
  const { PLATFORM_PACKAGES } = require(path.join(root, 'dist', 'lib', 'platform.js'));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  fs.rmSync(o.out, { recursive: true, force: true });
  const pkgDir = path.join(o.out, 'packages');
  const tarDir = path.join(o.out, 'tarballs');
  fs.mkdirSync(tarDir, { recursive: true });

  const manifest = { version: pkg.version, packages: [], skipped: [] };
  for (const p of PLATFORM_PACKAGES) {
    const id = p.name.split('/')[1];
    let built;
    if (o.skip.has(id)) built = { skip: '--skip' };
    else if (o.files[id]) built = fs.existsSync(o.files[id]) ? { file: o.files[id] } : { skip: `${o.files[id]} does not exist` };
    else built = builders[id]();
    if (built.skip) {
      if (o.requireAll) throw new Error(`${p.name}: cannot be built here: ${built.skip}`);
      console.log(`release: SKIP ${p.name}: ${built.skip}`);
      manifest.skipped.push({ name: p.name, why: built.skip });
      continue;
    }
    const dir = path.join(pkgDir, id);
    fs.mkdirSync(dir, { recursive: true });
    stagePlatform(dir, p, pkg, built.file, built.strip);
    const info = pack(dir, tarDir);
    manifest.packages.push({
      name: p.name,
      variant: p.variant,
      dir,
      tarball: path.join(tarDir, info.filename),
      size: info.size,
      unpackedSize: info.unpackedSize,
    });
  }
  // Every platform package is listed, built here or not: a release publishes all of them (scripts/release/publish.js
  // refuses a main package whose optional dependencies are missing from the folder unless told otherwise).
  const cpuNames = PLATFORM_PACKAGES.filter((p) => p.variant === 'cpu').map((p) => p.name);
  const mainDir = path.join(pkgDir, 'tensorkern');
  fs.mkdirSync(mainDir, { recursive: true });
  stageMain(mainDir, pkg, cpuNames);
  const info = pack(mainDir, tarDir);
  manifest.packages.push({
    name: pkg.name,
    variant: 'main',
    dir: mainDir,
    tarball: path.join(tarDir, info.filename),
    size: info.size,
    unpackedSize: info.unpackedSize,
  });
  writeJson(path.join(o.out, 'manifest.json'), manifest);

  console.log(`release: ${pkg.name} ${pkg.version} in ${path.relative(process.cwd(), o.out) || '.'}`);
  for (const m of manifest.packages)
    console.log(`release:   ${m.name.padEnd(30)} ${mb(m.size).padStart(9)} packed ${mb(m.unpackedSize).padStart(9)} unpacked`);
  for (const s of manifest.skipped) console.log(`release:   ${s.name.padEnd(30)} not built: ${s.why}`);
}

try {
  main();
} catch (e) {
  console.error(`release:build failed: ${e.message}`);
  process.exit(1);
}
