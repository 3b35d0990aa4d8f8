#!/usr/bin/env node
// npm's install step for tensorkern. Nothing to do when a prebuilt binary fits: the platform package npm
// installed next to it (@tensorkern/linux-x64-gnu, ...; lib/platform.ts) or prebuilds/. Otherwise a source
// build by node-gyp-build (python3, make and a C++17 compiler). An install for another platform (npm's
// --os / --cpu / --libc, e.g. a container image's node_modules made on a build host) builds nothing here.
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
let platform;
try {
  platform = require(path.join(root, 'dist', 'lib', 'platform.js'));
} catch {
  // A clone before its first TypeScript build: no platform packages to look for, build from source.
}

const want = { os: process.env.npm_config_os, cpu: process.env.npm_config_cpu, libc: process.env.npm_config_libc };
const libc = platform ? platform.hostLibc() : undefined;
const other =
  (want.os && want.os !== process.platform) || (want.cpu && want.cpu !== process.arch) || (want.libc && libc && want.libc !== libc);
if (other) {
  const t = [want.os || process.platform, want.cpu || process.arch, want.libc].filter(Boolean).join('-');
  console.log(`tensorkern: installing for ${t}, not this machine (${process.platform}-${process.arch}): nothing to build here`);
  process.exit(0);
}

if (platform && !process.env.TENSORKERN_BINARY) {
  const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
  let found;
  try {
    found = platform.platformCandidates(root, version, process.env).find((c) => c.file);
  } catch (e) {
    console.error(`tensorkern: ${e.message}`);
    process.exit(1);
  }
  if (found) {
    console.log(`tensorkern: using the prebuilt binary of ${found.pkg.name}`);
    process.exit(0);
  }
}

// prebuilds/ or an existing build/Release, else `node-gyp rebuild`.
const r = spawnSync(process.execPath, [require.resolve('node-gyp-build/bin.js', { paths: [root] })], { cwd: root, stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
