#!/usr/bin/env node
// npm run build:prebuild: prebuilds/<platform>-<arch>/tensorkern.node via prebuildify (--napi --strip),
// built by cmake-js (CPU + CUDA when nvcc is found; TK_CUDA=OFF|ON forces it). The build happens in
// build-prebuild/ so the development build in build/ is untouched.
//   TK_PTXAS_VERBOSE=1  registers/spills of every kernel (-Xptxas -v), for scripts/ptxas-report.js
'use strict';
const fs = require('fs');
const path = require('path');
const prebuildify = require('prebuildify');

const root = path.join(__dirname, '..');
const staging = path.join(root, 'build-prebuild');
fs.mkdirSync(staging, { recursive: true });
fs.rmSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true, force: true });

prebuildify(
  {
    cwd: staging,
    out: root,
    name: 'tensorkern',
    napi: true,
    strip: true,
    nodeGyp: path.join(__dirname, 'cmake-js-gyp.js'),
    targets: [{ runtime: 'node', target: process.versions.node }],
  },
  (err) => {
    if (err) {
      console.error(`prebuild failed: ${err.message}`);
      process.exit(1);
    }
    const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
    for (const f of fs.readdirSync(dir)) {
      console.log(`prebuild: ${path.relative(root, path.join(dir, f))} (${(fs.statSync(path.join(dir, f)).size / 1e6).toFixed(1)} MB)`);
    }
  },
);
