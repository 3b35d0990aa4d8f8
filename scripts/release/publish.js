#!/usr/bin/env node
// npm run release:publish -- [--dir release] [--allow-missing] [-- <npm publish options>]
// Publishes what scripts/release/build.js made: the platform packages first, the main package last (so an
// install never sees tensorkern before its binaries). Options after a second `--` go to every `npm publish`
// (e.g. --registry http://127.0.0.1:4873/ --tag next --dry-run). The main package names every platform package
// as an optional dependency: publishing it while one of them is missing from the folder would leave that
// platform to a source build, so it is refused unless --allow-missing.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { npmCli } = require('./npm');

const root = path.join(__dirname, '..', '..');

function main() {
  const argv = process.argv.slice(2);
  const split = argv.indexOf('--');
  const own = split < 0 ? argv : argv.slice(0, split);
  const npmArgs = split < 0 ? [] : argv.slice(split + 1);
  let dir = path.join(root, 'release');
  let allowMissing = false;
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--dir') dir = path.resolve(own[++i] ?? '');
    else if (own[i] === '--allow-missing') allowMissing = true;
    else throw new Error(`unknown argument ${own[i]} (npm publish options go after a second --)`);
  }
  const file = path.join(dir, 'manifest.json');
  if (!fs.existsSync(file)) throw new Error(`${file} does not exist: run npm run release:build first`);
  const manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  if (manifest.skipped.length && !allowMissing) {
    throw new Error(
      `not built, so not publishable: ${manifest.skipped.map((s) => `${s.name} (${s.why})`).join('; ')}; ` +
        'build them (or pass --allow-missing)',
    );
  }
  const npm = npmCli();
  for (const m of manifest.packages) {
    console.log(`release: publishing ${m.name}@${manifest.version} (${path.basename(m.tarball)})`);
    const access = m.name.startsWith('@') ? ['--access', 'public'] : [];
    const r = spawnSync(process.execPath, [npm, 'publish', m.tarball, ...access, ...npmArgs], { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm publish ${m.tarball} exited with ${r.status ?? r.signal}`);
  }
  console.log(`release: published ${manifest.packages.length} packages`);
}

try {
  main();
} catch (e) {
  console.error(`release:publish failed: ${e.message}`);
  process.exit(1);
}
