#!/usr/bin/env node
// Stands in for node-gyp under prebuildify (scripts/prebuild.js): prebuildify runs
//   <this> rebuild --target=... --devdir=... --arch=... --release
// in a staging folder and then takes build/Release/*.node from there. We build with cmake-js from the
// package root into that folder instead, so CUDA goes in when nvcc is present (node-gyp's build is
// CPU-only) and the repository's own build/ is left alone.
'use strict';
const { spawnSync } = require('child_process');
const path = require('path');

const root = path.join(__dirname, '..');
const args = process.argv.slice(2);
if (args[0] !== 'rebuild') {
  console.error(`cmake-js-gyp: only "rebuild" is supported, got ${args.join(' ')}`);
  process.exit(2);
}
const debug = args.includes('--debug');
const cmakeJs = require.resolve('cmake-js/bin/cmake-js', { paths: [root] });
const defs = [`--CDTK_CUDA=${process.env.TK_CUDA || 'AUTO'}`];
if (process.env.TK_PTXAS_VERBOSE === '1') defs.push('--CDTK_PTXAS_VERBOSE=ON');
if (process.env.TK_CUDA_ARCHS) defs.push(`--CDTK_CUDA_ARCHS=${process.env.TK_CUDA_ARCHS}`);
const cmd = [cmakeJs, 'rebuild', '-d', root, '-O', path.join(process.cwd(), 'build'), ...defs];
if (debug) cmd.push('-D');
// cmake-js builds serially unless told: one job per CPU (TK_BUILD_JOBS overrides).
cmd.push('-p', process.env.TK_BUILD_JOBS || String(require('os').availableParallelism?.() ?? require('os').cpus().length));
const r = spawnSync(process.execPath, cmd, { stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
