#!/usr/bin/env node
// Compiles lib/ to dist/ (CommonJS + .d.ts), adds the ES module entry, marks the CLI executable.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const tsc = require.resolve('typescript/bin/tsc', { paths: [root] });
fs.rmSync(path.join(root, 'dist'), { recursive: true, force: true });
try {
  execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
} catch {
  console.error('build-ts: tsc failed (errors above)');
  process.exit(1);
}
for (const f of ['index.mjs', 'index.d.mts']) {
  const src = fs.readFileSync(path.join(root, 'lib', 'esm', f), 'utf8').replace(/'\.\.\/index\.js'/g, "'./index.js'");
  fs.writeFileSync(path.join(root, 'dist', 'lib', f), src);
}
fs.chmodSync(path.join(root, 'dist', 'lib', 'cli', 'main.js'), 0o755);
